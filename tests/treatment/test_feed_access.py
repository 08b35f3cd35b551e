"""A calendar feed lives only as long as its maker's access to the patient (trial: a feed
kept answering after the caregiver's link ended, the nurse left the team, or the account
was closed). The feed reads out when a patient is on a home infusion: the same rule as
every page, checked at every fetch (docs/security.md, "Caregiver access ends on time")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CaregiverLink, Membership
from treatment import services


def _path(patient, by) -> str:
    token = services.feed_create(patient=patient, by=by)[1]
    return reverse("calendar_feed", args=[token])


def test_a_caregivers_feed_stops_when_the_link_ends_and_comes_back_with_access(client, child,
                                                                             caregiver):
    path = _path(child, caregiver)
    assert client.get(path).status_code == 200

    link = CaregiverLink.objects.get(caregiver=caregiver, patient=child)
    link.ends_at = timezone.now() - timedelta(minutes=1)
    link.save()
    assert client.get(path).status_code == 404

    link.ends_at = None
    link.revoked_at = timezone.now() - timedelta(minutes=1)
    link.save()
    assert client.get(path).status_code == 404


def test_a_nurses_feed_stops_when_they_leave_the_team(client, child, nurse):
    path = _path(child, nurse)
    assert client.get(path).status_code == 200

    Membership.objects.filter(user=nurse).delete()
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("maker", ["patient_user", "caregiver"])
def test_a_feed_stops_when_its_makers_account_is_closed(client, request, maker):
    user = request.getfixturevalue(maker)
    patient = (request.getfixturevalue("patient") if maker == "patient_user"
               else request.getfixturevalue("child"))
    path = _path(patient, user)
    assert client.get(path).status_code == 200

    user.is_active = False
    user.save()
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("host", ["evil.example"])
def test_the_new_feed_link_follows_site_url_not_the_host_header(as_user, patient, settings,
                                                                host):
    settings.ALLOWED_HOSTS = ["*"]
    settings.SITE_URL = "https://homeline.example.org"
    response = as_user(patient.user).post(reverse("calendar_feed_create", args=[patient.pk]),
                                          HTTP_HOST=host, follow=True)
    url = response.context["url"]
    assert url.startswith("https://homeline.example.org/calendar/")
    assert host not in response.content.decode()
