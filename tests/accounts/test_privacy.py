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
from symptoms.validation import parse_check_in
from tests.factories import PASSWORD

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
    assert data["caregivers"][0]["email"] == caregiver.email
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
    response = as_user(team_admin).post(reverse("user_deactivate", args=[caregiver.pk]))
    assert response.status_code == 302
    after = signed_in.get(reverse("check_in_history", args=[child.pk]))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("login"))
    # And the password no longer works.
    again = Client().post(reverse("login"), {"username": caregiver.email, "password": PASSWORD})
    assert again.status_code == 200


def test_team_admin_cannot_deactivate_people_of_another_team(as_user, team_admin,
                                                             other_team_nurse):
    response = as_user(team_admin).post(reverse("user_deactivate", args=[other_team_nurse.pk]))
    assert response.status_code == 404
    other_team_nurse.refresh_from_db()
    assert other_team_nurse.is_active


def test_nurse_cannot_deactivate_anyone(as_user, nurse, caregiver):
    assert as_user(nurse).post(reverse("user_deactivate", args=[caregiver.pk])
                               ).status_code == 404
