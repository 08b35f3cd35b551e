"""Rate limits on sign-in, password reset, invitation acceptance and check-ins."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Role
from symptoms.models import CheckIn

pytestmark = pytest.mark.django_db


def test_sign_in_is_rate_limited_per_address(settings, patient):
    settings.RATE_LOGIN = "3/m"
    client = Client(REMOTE_ADDR="203.0.113.20")
    for n in range(3):
        client.post(reverse("login"), {"username": f"x{n}@example.org", "password": "nope"})
    response = client.post(reverse("login"), {"username": "sam@example.org",
                                              "password": "whatever"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    # Another address is not affected.
    other = Client(REMOTE_ADDR="198.51.100.20")
    assert other.post(reverse("login"), {"username": "a@example.org", "password": "b"}
                      ).status_code == 200


def test_viewing_the_sign_in_page_is_not_limited(settings, db):
    settings.RATE_LOGIN = "1/m"
    client = Client()
    for _ in range(3):
        assert client.get(reverse("login")).status_code == 200


def test_password_reset_is_rate_limited(settings, patient):
    settings.RATE_PASSWORD_RESET = "2/h"
    client = Client()
    for _ in range(2):
        assert client.post(reverse("password_reset"), {"email": "sam@example.org"}
                           ).status_code == 302
    assert client.post(reverse("password_reset"), {"email": "sam@example.org"}
                       ).status_code == 429


def test_invitation_acceptance_is_rate_limited(settings, nurse, child):
    settings.RATE_INVITATION = "2/h"
    services.invitation_create(created_by=nurse, care_team=child.care_team, patient=child,
                               email="dan@example.org", full_name="Dan",
                               role=Role.CAREGIVER, relationship="father")
    client = Client()
    for _ in range(2):
        client.post(reverse("invitation_accept", args=["guess"]), {"full_name": "x"})
    assert client.post(reverse("invitation_accept", args=["guess"])).status_code == 429


def test_check_ins_have_no_rate_limit(as_user, patient):
    # Issue 10: no limiter ever refuses a check-in that passes validation (the check-in
    # limit was removed; tests/faults/test_check_in_faults.py has the cases).
    client = as_user(patient.user)
    url = reverse("check_in_new", args=[patient.pk])
    for _ in range(40):
        response = client.post(url, {"submission_key": str(uuid.uuid4()), "unit": "c",
                                     "temperature": "36.6"})
        assert response.status_code == 302
    assert CheckIn.objects.count() == 40
