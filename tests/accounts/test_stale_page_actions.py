"""Forms that edit shared state, submitted from an out-of-date page (issue 10, kind 2):
an action on one object by id that is idempotent is safe from a stale page (nothing else
changes, the first outcome is kept); whole-record forms (team settings, thresholds) carry
what they showed and are refused when stale (test_team_settings_stale_page.py,
tests/symptoms/test_thresholds_stale_page.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import CaregiverLink, Membership

pytestmark = pytest.mark.django_db


def test_revoking_a_caregiver_link_twice_keeps_the_first_end(as_user, team_admin, caregiver,
                                                             child):
    link = CaregiverLink.objects.get(caregiver=caregiver, patient=child)
    admin = as_user(team_admin)
    url = reverse("caregiver_link_revoke", args=[link.pk])
    assert admin.post(url).status_code == 302
    link.refresh_from_db()
    first_end = link.revoked_at
    assert first_end is not None
    # The same button on an older tab: nothing new is written, the first time is kept.
    assert admin.post(url).status_code == 302
    link.refresh_from_db()
    assert link.revoked_at == first_end


def test_removing_a_member_from_an_old_page_touches_nobody_else(as_user, team_admin, nurse,
                                                                clinician, team):
    membership = Membership.objects.get(user=nurse, team=team)
    admin = as_user(team_admin)
    url = reverse("membership_remove", args=[membership.pk])
    assert admin.post(url).status_code == 302
    # Posted again from a page that still lists the nurse: not found, no one else removed.
    assert admin.post(url).status_code == 404
    assert Membership.objects.filter(user=clinician, team=team).exists()
    assert Membership.objects.filter(user=team_admin, team=team).exists()
