"""Downloads of a patient's data, the read log, account closure and deactivation."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccessLog, ClosureRequest
from symptoms import services
from tests.factories import PASSWORD
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db


def record(patient, by, **data):
    check_in, _ = services.check_in_record(
        patient=patient, recorded_by=by, data=parse_check_in(data), submission_key=uuid.uuid4()
    )
    return check_in


def read_csv(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_patient_downloads_their_check_ins_as_csv(as_user, patient):
    record(patient, patient.user, temperature_c=38.2, symptoms={"cough": 2})
    response = as_user(patient.user).get(reverse("export_csv", args=[patient.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    (row,) = read_csv(response)
    assert row["temperature_c"] == "38.2"
    assert row["symptom_cough"] == "2"
    assert row["severity"] == "red"
    assert "temperature_high" in row["rules"]


def test_csv_cells_cannot_become_spreadsheet_formulas(as_user, patient):
    record(patient, patient.user, notes='=HYPERLINK("http://evil.example","click")')
    (row,) = read_csv(as_user(patient.user).get(reverse("export_csv", args=[patient.pk])))
    assert row["notes"].startswith("'=")


def test_caregiver_downloads_everything_held_as_json(as_user, caregiver, child):
    record(child, caregiver, temperature_c=36.9)
    response = as_user(caregiver).get(reverse("export_json", args=[child.pk]))
    data = json.loads(response.content)
    assert data["patient"]["hospital_number"] == child.hospital_number
    assert [link["email"] for link in data["caregivers"]] == [caregiver.email]
    assert data["check_ins"][0]["temperature_c"] == 36.9
    assert data["check_ins"][0]["result"]["severity"] == "green"
    assert data["alerts"] == []


def test_json_export_includes_alerts_and_their_messages(as_user, patient):
    record(patient, patient.user, temperature_c=38.8)
    data = json.loads(as_user(patient.user).get(reverse("export_json", args=[patient.pk]))
                      .content)
    (alert,) = data["alerts"]
    assert alert["severity"] == "red"
    assert alert["state"] == "open"
    assert {m["to"] for m in alert["messages"]} >= {"duty"}


@pytest.mark.parametrize("name", ["export_csv", "export_json"])
def test_exports_of_someone_elses_patient_are_404(as_user, caregiver, patient,
                                                  other_team_nurse, name):
    for user in (caregiver, other_team_nurse):
        assert as_user(user).get(reverse(name, args=[patient.pk])).status_code == 404
    assert not AccessLog.objects.exists()


def test_exports_and_staff_reads_are_logged_with_who_and_where(nurse, patient):
    from tests.conftest import verified_client

    client = verified_client(nurse)
    client.get(reverse("patient_detail", args=[patient.pk]), REMOTE_ADDR="10.1.2.3")
    client.get(reverse("export_csv", args=[patient.pk]), REMOTE_ADDR="10.1.2.3")
    actions = list(AccessLog.objects.order_by("at").values_list("action", "user", "ip_address"))
    assert actions == [("view patient", nurse.pk, "10.1.2.3"),
                       ("export csv", nurse.pk, "10.1.2.3")]


def test_patient_reading_their_own_history_is_not_logged_but_an_export_is(as_user, patient):
    client = as_user(patient.user)
    client.get(reverse("check_in_history", args=[patient.pk]))
    assert not AccessLog.objects.exists()
    client.get(reverse("export_json", args=[patient.pk]))
    assert AccessLog.objects.get().action == "export json"


def test_team_admin_sees_a_patients_access_log(as_user, team_admin, nurse, patient):
    from tests.conftest import verified_client

    verified_client(nurse).get(reverse("check_in_history", args=[patient.pk]))
    page = as_user(team_admin).get(reverse("patient_access_log", args=[patient.pk]))
    assert page.status_code == 200
    assert nurse.full_name in page.content.decode()
    assert "view history" in page.content.decode()


def test_nurse_and_other_team_admin_cannot_see_the_access_log(as_user, nurse, patient,
                                                              other_team):
    from tests.factories import StaffFactory

    outsider_admin = StaffFactory(role="team_admin", team=other_team)
    for user in (nurse, outsider_admin):
        assert as_user(user).get(
            reverse("patient_access_log", args=[patient.pk])).status_code == 404


def test_access_log_rows_cannot_be_changed_in_the_admin(db):
    from django.contrib import admin

    model_admin = admin.site._registry[AccessLog]
    assert not model_admin.has_change_permission(None)
    assert not model_admin.has_delete_permission(None)
    assert not model_admin.has_add_permission(None)


def test_patient_asks_for_the_account_to_be_closed(as_user, patient, team_admin, team):
    client = as_user(patient.user)
    client.post(reverse("account_close"), {"reason": "Treatment finished"})
    request = ClosureRequest.objects.get()
    assert request.user == patient.user
    page = as_user(team_admin).get(reverse("team_people", args=[team.pk])).content.decode()
    assert "Treatment finished" in page


def test_deactivation_ends_the_users_sessions_at_once(as_user, team_admin, caregiver, child):
    signed_in = Client()
    signed_in.post(reverse("login"), {"username": caregiver.email, "password": PASSWORD})
    assert signed_in.get(reverse("check_in_history", args=[child.pk])).status_code == 200
    response = as_user(team_admin).post(reverse("user_deactivate", args=[caregiver.pk]),
                                        {"team": child.care_team_id})
    assert response.status_code == 302
    after = signed_in.get(reverse("check_in_history", args=[child.pk]))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("login"))
    # And the password no longer works.
    again = Client().post(reverse("login"), {"username": caregiver.email, "password": PASSWORD})
    assert again.status_code == 200


def test_team_admin_cannot_deactivate_people_of_another_team(as_user, team_admin,
                                                             other_team_nurse):
    response = as_user(team_admin).post(reverse("user_deactivate", args=[other_team_nurse.pk]),
                                        {"team": other_team_nurse.memberships.get().team_id})
    assert response.status_code == 404
    other_team_nurse.refresh_from_db()
    assert other_team_nurse.is_active


def test_nurse_cannot_deactivate_anyone(as_user, nurse, caregiver):
    assert as_user(nurse).post(reverse("user_deactivate", args=[caregiver.pk])
                               ).status_code == 404


# --- Scope: a team admin acts on active places in their own team only ---------------------

def _people_page(client, team):
    return client.get(reverse("team_people", args=[team.pk]))


def _end_place(client, person, team):
    return client.post(reverse("user_deactivate", args=[person.pk]), {"team": team.pk})


def test_caregiver_whose_link_here_was_revoked_is_out_of_reach_of_this_teams_admin(
        as_user, team_admin, team, child, other_team):
    """Revoked long ago here, now an active caregiver in another team: not in this team's
    people, cannot be deactivated by its admin, keeps the other child."""
    from tests.factories import CaregiverLinkFactory, PatientFactory, UserFactory, revoked_link

    mother = UserFactory(role="caregiver", email="mum@example.org", full_name="Mara Mum")
    revoked_link(caregiver=mother, patient=child)
    elsewhere = PatientFactory(care_team=other_team)
    CaregiverLinkFactory(caregiver=mother, patient=elsewhere)
    client = as_user(team_admin)
    assert "mum@example.org" not in _people_page(client, team).content.decode()
    assert _end_place(client, mother, team).status_code == 404
    mother.refresh_from_db()
    assert mother.is_active
    assert as_user(mother).get(reverse("check_in_history", args=[elsewhere.pk])
                               ).status_code == 200


def test_ended_link_is_not_a_place_either(as_user, team_admin, team, child):
    from tests.factories import UserFactory, expired_link

    dad = UserFactory(role="caregiver", email="dad@example.org")
    expired_link(caregiver=dad, patient=child)
    client = as_user(team_admin)
    assert "dad@example.org" not in _people_page(client, team).content.decode()
    assert _end_place(client, dad, team).status_code == 404


def test_nurse_of_two_teams_keeps_the_other_team(as_user, team_admin, team, other_team,
                                                  other_patient):
    from tests.factories import StaffFactory

    shared = StaffFactory(email="float@example.org", team=team)
    shared.memberships.create(team=other_team)
    client = as_user(team_admin)
    assert "float@example.org" in _people_page(client, team).content.decode()
    response = _end_place(client, shared, team)
    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.is_active
    assert list(shared.memberships.values_list("team", flat=True)) == [other_team.pk]
    page = as_user(shared).get(reverse("patient_detail", args=[other_patient.pk]))
    assert page.status_code == 200
    assert "float@example.org" not in _people_page(client, team).content.decode()


def test_caregiver_of_two_teams_loses_only_this_teams_child(as_user, team_admin, team,
                                                            caregiver, child, other_team):
    from tests.factories import CaregiverLinkFactory, PatientFactory

    elsewhere = PatientFactory(care_team=other_team)
    other_link = CaregiverLinkFactory(caregiver=caregiver, patient=elsewhere)
    assert _end_place(as_user(team_admin), caregiver, team).status_code == 302
    caregiver.refresh_from_db()
    other_link.refresh_from_db()
    assert caregiver.is_active
    assert other_link.revoked_at is None
    assert caregiver.caregiver_links.get(patient=child).revoked_at is not None
    own = as_user(caregiver)
    assert own.get(reverse("check_in_history", args=[child.pk])).status_code == 404
    assert own.get(reverse("check_in_history", args=[elsewhere.pk])).status_code == 200


def test_last_place_ends_the_account_and_its_sessions(as_user, team_admin, team, caregiver,
                                                      child):
    from django.contrib.sessions.models import Session

    signed_in = Client()
    signed_in.post(reverse("login"), {"username": caregiver.email, "password": PASSWORD})
    ClosureRequest.objects.create(user=caregiver, reason="done")
    assert _end_place(as_user(team_admin), caregiver, team).status_code == 302
    caregiver.refresh_from_db()
    assert not caregiver.is_active
    assert ClosureRequest.objects.get().handled_by == team_admin
    remaining = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert str(caregiver.pk) not in remaining
    assert str(team_admin.pk) in remaining


def test_ending_a_place_needs_the_team(as_user, team_admin, caregiver):
    response = as_user(team_admin).post(reverse("user_deactivate", args=[caregiver.pk]))
    assert response.status_code == 302
    caregiver.refresh_from_db()
    assert caregiver.is_active
    assert caregiver.caregiver_links.get().revoked_at is None


def test_admin_of_two_teams_cannot_end_a_place_through_the_wrong_team(
        as_user, team_admin, team, other_team, caregiver):
    """The caregiver is in team A; the admin manages A and B; naming B ends nothing."""
    team_admin.memberships.create(team=other_team)
    response = _end_place(as_user(team_admin), caregiver, other_team)
    assert response.status_code == 404
    caregiver.refresh_from_db()
    assert caregiver.is_active
    assert caregiver.caregiver_links.get().revoked_at is None


def test_team_scoped_reads_fail_closed_without_a_team(db, patient):
    from accounts import access
    from accounts.models import CareTeam, Patient
    from nursing import selectors

    for missing in (None, CareTeam(), Patient.objects.all()):
        with pytest.raises(access.ScopeMissing):
            access.people_of_team(missing)
        with pytest.raises(access.ScopeMissing):
            access.patients_of_team(missing)
        with pytest.raises(access.ScopeMissing):
            selectors.not_checked_in_today(missing)
        with pytest.raises(access.ScopeMissing):
            selectors.links_ending_soon(missing)
    # An empty set of teams is an answer, not a missing scope: nobody.
    assert selectors.not_checked_in_today(CareTeam.objects.none()) == []


def test_ending_a_patients_place_ends_their_login_and_keeps_the_record(
        as_user, team_admin, team, patient):
    kept = record(patient, patient.user, temperature_c=36.8)
    assert patient.user.email in _people_page(as_user(team_admin), team).content.decode()
    assert _end_place(as_user(team_admin), patient.user, team).status_code == 302
    patient.refresh_from_db()
    patient.user.refresh_from_db()
    assert not patient.user.is_active
    # The clinical record and its check-ins stay; only the login ends.
    assert list(patient.check_ins.all()) == [kept]
    assert patient.user_id is not None


def test_a_staff_member_left_with_no_team_is_deactivated(as_user, team_admin, team, nurse):
    assert _end_place(as_user(team_admin), nurse, team).status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert not nurse.memberships.exists()
    assert nurse.history.latest().history_change_reason.startswith("deactivated by")


# --- Exports hold what the requester may see -----------------------------------------------

@pytest.fixture
def crowded_child(child, caregiver, nurse):
    """Maya with Rosa (active), an ended and a revoked caregiver, a nurse's phone check-in,
    a resolved alert with a nurse's note and a threshold change with a reason."""
    from accounts.models import Role
    from alerts.models import Alert
    from symptoms.models import ThresholdChange
    from tests.factories import CaregiverLinkFactory, UserFactory, expired_link, revoked_link

    expired_link(patient=child, caregiver=UserFactory(role=Role.CAREGIVER,
                                                      email="ex.partner@example.org"))
    revoked_link(patient=child, caregiver=UserFactory(role=Role.CAREGIVER,
                                                      email="revoked.gran@example.org"))
    dad = CaregiverLinkFactory(patient=child, relationship="father", caregiver=UserFactory(
        role=Role.CAREGIVER, email="dad.now@example.org", full_name="Dev Dad")).caregiver
    record(child, dad, temperature_c=36.7)
    record(child, nurse, temperature_c=38.9)
    Alert.objects.filter(patient=child).update(outcome_note="Mum anxious; social work aware")
    ThresholdChange.objects.create(patient=child, changed_by=nurse,
                                   reason="Consultant asked: history of febrile seizures",
                                   old={}, new={"temperature_red_c": 37.8})
    return child


FAMILY_SECRETS = ("ex.partner@example.org", "revoked.gran@example.org", "dad.now@example.org",
                  "Mum anxious", "febrile seizures", "Nia Nurse", "Dev Dad",
                  "nurse@example.org")


def test_caregiver_export_holds_the_child_and_their_own_link_only(as_user, caregiver,
                                                                  crowded_child):
    response = as_user(caregiver).get(reverse("export_json", args=[crowded_child.pk]))
    body = response.content.decode()
    for secret in FAMILY_SECRETS:
        assert secret not in body, secret
    data = json.loads(body)
    assert data["view"] == "patient and family"
    assert [(c["email"], c["revoked_at"]) for c in data["caregivers"]] == [(caregiver.email,
                                                                           None)]
    assert len(data["check_ins"]) == 2
    assert {c["recorded_by"] for c in data["check_ins"]} == {
        "a caregiver", "a nurse, after a phone call"}
    (alert,) = data["alerts"]
    assert "outcome_note" not in alert
    assert data["threshold_changes"][0]["new"] == {"temperature_red_c": 37.8}
    assert "reason" not in data["threshold_changes"][0]
    csv_body = b"".join(as_user(caregiver).get(
        reverse("export_csv", args=[crowded_child.pk])).streaming_content).decode()
    for secret in FAMILY_SECRETS:
        assert secret not in csv_body, secret


def test_caregivers_own_check_ins_carry_their_name(as_user, caregiver, child):
    record(child, caregiver, temperature_c=36.6)
    data = json.loads(as_user(caregiver).get(reverse("export_json", args=[child.pk])).content)
    assert data["check_ins"][0]["recorded_by"] == caregiver.full_name


def test_patient_export_holds_their_own_login_and_no_caregivers_emails(as_user, patient,
                                                                       nurse):
    from accounts.models import Role
    from tests.factories import CaregiverLinkFactory, UserFactory

    CaregiverLinkFactory(patient=patient, caregiver=UserFactory(
        role=Role.CAREGIVER, email="partner@example.org"))
    record(patient, nurse, temperature_c=36.5)
    body = as_user(patient.user).get(reverse("export_json", args=[patient.pk])).content.decode()
    assert "partner@example.org" not in body
    assert "Nia Nurse" not in body
    data = json.loads(body)
    assert data["patient"]["login"] == patient.user.email
    assert data["caregivers"] == []


def test_a_second_caregiver_does_not_see_the_patients_login(as_user, patient):
    from accounts.models import Role
    from tests.factories import CaregiverLinkFactory, UserFactory

    partner = CaregiverLinkFactory(patient=patient, caregiver=UserFactory(
        role=Role.CAREGIVER)).caregiver
    body = as_user(partner).get(reverse("export_json", args=[patient.pk])).content.decode()
    assert patient.user.email not in body
    assert json.loads(body)["patient"]["login"] is None


@pytest.mark.parametrize("who", ["nurse", "clinician", "team_admin"])
def test_staff_export_holds_what_the_team_holds(request, as_user, crowded_child, who):
    user = request.getfixturevalue(who)
    response = as_user(user).get(reverse("export_json", args=[crowded_child.pk]))
    data = json.loads(response.content)
    assert data["view"] == "care team"
    emails = {c["email"] for c in data["caregivers"]}
    assert {"rosa@example.org", "ex.partner@example.org", "revoked.gran@example.org",
            "dad.now@example.org"} <= emails
    assert data["alerts"][0]["outcome_note"] == "Mum anxious; social work aware"
    assert "febrile seizures" in data["threshold_changes"][0]["reason"]
    assert "Nia Nurse" in {c["recorded_by"] for c in data["check_ins"]}
    assert AccessLog.objects.filter(user=user, patient=crowded_child,
                                    action="export json").exists()


def test_ended_caregiver_cannot_export(as_user, child):
    from tests.factories import expired_link, revoked_link

    for link in (expired_link(patient=child), revoked_link(patient=child)):
        assert as_user(link.caregiver).get(
            reverse("export_json", args=[child.pk])).status_code == 404


def test_production_keeps_sessions_in_the_database():
    """Ending an account's sessions (services.sessions_end) and an invitation token kept in
    the session both need the database session engine; production's cache is Redis and
    fails open, so sessions there could vanish, or outlive a deactivation unseen."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SECRET_KEY"}}
    env.update(DJANGO_ENV="production", DJANGO_SECRET_KEY="privacy-" + "0123456789abcdef" * 4,
               DJANGO_ALLOWED_HOSTS="homeline.example.org",
               REDIS_URL="redis://127.0.0.1:6379/13")
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c",
         "from django.conf import settings; print(settings.SESSION_ENGINE)"],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "django.contrib.sessions.backends.db"
