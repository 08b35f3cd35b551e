"""Every write path on audited records leaves a history row with who did it.

Paths that write with queryset update() or bulk_create() skip django-simple-history's
signals; these tests fail if a service is changed to one of them."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Role
from symptoms import services
from symptoms.models import CheckIn
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db


def test_accepting_a_patient_invitation_records_the_login_link(client, nurse, child):
    _, token = account_services.invitation_create(
        created_by=nurse, care_team=child.care_team, patient=child, email="maya@example.org",
        full_name="Maya", role=Role.PATIENT,
    )
    user = account_services.invitation_accept(token=token, full_name="Maya",
                                              password="a long pass phrase 9")
    latest = child.history.latest()
    assert latest.user_id == user.pk
    invitation = child.invitations.get()
    assert invitation.history.latest().accepted_user_id == user.pk


def test_revoking_a_link_records_who_did_it(as_user, nurse, caregiver):
    link = caregiver.caregiver_links.get()
    as_user(nurse).post(reverse("caregiver_link_revoke", args=[link.pk]))
    latest = link.history.latest()
    assert latest.revoked_at is not None
    assert latest.history_user_id == nurse.pk
    assert latest.history_type == "~"


def test_threshold_change_records_the_patient_history_and_the_change(nurse, patient):
    services.thresholds_set(changed_by=nurse, reason="consultant", patient=patient,
                            overrides={"fever_high_c": "37.4"})
    assert patient.history.latest().thresholds == {"fever_high_c": "37.4"}


def test_check_in_creation_is_in_its_history(patient):
    check_in, _ = services.check_in_record(
        patient=patient, recorded_by=patient.user, data=parse_check_in({"temperature_c": 37.0}),
        submission_key=uuid.uuid4(),
    )
    assert CheckIn.history.filter(id=check_in.pk, history_type="+").exists()


def test_deactivation_is_in_the_users_history_without_the_password(as_user, team_admin,
                                                                   caregiver):
    as_user(team_admin).post(reverse("user_deactivate", args=[caregiver.pk]),
                             {"team": caregiver.caregiver_links.get().patient.care_team_id})
    latest = caregiver.history.latest()
    assert latest.is_active is False
    assert latest.history_user_id == team_admin.pk
    assert not hasattr(latest, "password")


def test_team_settings_changes_are_recorded(team, team_admin):
    team.line_phone = "01632 960999"
    team._history_user = team_admin
    team.save()
    latest = team.history.latest()
    assert latest.line_phone == "01632 960999"
    assert latest.history_user_id == team_admin.pk
