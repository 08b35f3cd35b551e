"""The cast: a team with a nurse, an adult patient with a login, a child with a caregiver,
and an outsider team with its own nurse and patient."""

from __future__ import annotations

import os

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role
from tests.factories import (
    CaregiverLinkFactory,
    CareTeamFactory,
    PatientFactory,
    StaffFactory,
    UserFactory,
)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip a test whose outside part is missing on a developer's machine; fail it in CI,
    where nothing may be skipped."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    """Rate-limit counters live in the cache; each test starts from zero. Only our own
    keys are deleted, never the whole Redis database (the broker may share it)."""
    from django.core.cache import caches

    cache = caches["default"]
    if hasattr(cache, "delete_pattern"):  # django-redis: the pattern gets our key prefix
        cache.delete_pattern("*")
    elif type(cache).__name__ == "RedisCache":
        client = cache._cache.get_client(None, write=True)
        keys = list(client.scan_iter(match=f"{cache.key_prefix}:*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def team(db):
    return CareTeamFactory(name="Haematology Day Unit")


@pytest.fixture
def other_team(db):
    return CareTeamFactory(name="Other Hospital Team")


@pytest.fixture
def nurse(team):
    return StaffFactory(email="nurse@example.org", full_name="Nia Nurse", team=team)


@pytest.fixture
def clinician(team):
    return StaffFactory(email="doctor@example.org", role=Role.CLINICIAN, team=team)


@pytest.fixture
def team_admin(team):
    return StaffFactory(email="admin@example.org", role=Role.TEAM_ADMIN, team=team)


@pytest.fixture
def other_team_nurse(other_team):
    return StaffFactory(email="outsider@example.org", team=other_team)


@pytest.fixture
def patient_user(db):
    return UserFactory(email="sam@example.org", full_name="Sam Patel", role=Role.PATIENT)


@pytest.fixture
def patient(team, patient_user):
    return PatientFactory(care_team=team, user=patient_user, display_name="Sam Patel")


@pytest.fixture
def child(team):
    return PatientFactory(care_team=team, display_name="Maya Jones")


@pytest.fixture
def caregiver(child):
    link = CaregiverLinkFactory(
        patient=child,
        caregiver=UserFactory(email="rosa@example.org", full_name="Rosa Jones",
                              role=Role.CAREGIVER),
    )
    return link.caregiver


@pytest.fixture
def other_patient(other_team):
    return PatientFactory(care_team=other_team, display_name="Olu Other")


def verified_client(user) -> Client:
    """A client signed in as `user`, past the second factor for staff."""
    client = Client()
    client.force_login(user)
    if user.needs_two_factor:
        device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=True,
                                                     defaults={"name": "test"})
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def as_user():
    return verified_client
