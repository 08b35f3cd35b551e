"""The check-in form, its result page and the history, as patients and caregivers meet them."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from symptoms.models import CheckIn, RecordedAs
from tests.factories import CaregiverLinkFactory

pytestmark = pytest.mark.django_db


def submit(client, patient, **fields):
    payload = {"submission_key": str(uuid.uuid4()), "unit": "c", **fields}
    return client.post(reverse("check_in_new", args=[patient.pk]), payload)


def result_page(client, response):
    assert response.status_code == 302, getattr(response, "context", None) and response.context[
        "form"].errors
    return client.get(response["Location"])


def field_errors(response, name):
    return " ".join(response.context["form"].errors.get(name, []))


# ------------------------------------------------------------------ saving and stamps

def test_patient_records_a_green_check_in(as_user, patient):
    client = as_user(patient.user)
    page = result_page(client, submit(client, patient, temperature="36.8"))
    check_in = CheckIn.objects.get()
    assert check_in.severity == "green"
    assert check_in.temperature_c == Decimal("36.8")
    assert check_in.recorded_as == RecordedAs.PATIENT
    assert check_in.recorded_by == patient.user
    assert check_in.rules_version == "v2"  # clinical-rules.md "Version 2": new results are v2
    assert "Thank you, your check-in is recorded." in page.content.decode()


def test_caregiver_check_in_is_stamped_as_caregiver(as_user, caregiver, child):
    client = as_user(caregiver)
    result_page(client, submit(client, child, temperature="36.9"))
    check_in = CheckIn.objects.get()
    assert check_in.patient == child
    assert check_in.recorded_as == RecordedAs.CAREGIVER
    assert check_in.recorded_by == caregiver


def test_nurse_enters_a_check_in_after_a_phone_call(as_user, nurse, patient):
    client = as_user(nurse)
    form = client.get(reverse("check_in_new", args=[patient.pk]))
    assert "on the patient's behalf" in form.content.decode()
    result_page(client, submit(client, patient, temperature="37.9"))
    check_in = CheckIn.objects.get()
    assert check_in.recorded_as == RecordedAs.STAFF_PHONE
    assert check_in.recorded_by == nurse
    assert check_in.severity == "red"


def test_double_submit_makes_one_check_in(as_user, patient):
    client = as_user(patient.user)
    key = str(uuid.uuid4())
    first = submit(client, patient, temperature="38.2", submission_key=key)
    second = submit(client, patient, temperature="38.2", submission_key=key)
    assert CheckIn.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_findings_keep_rule_values_and_words(as_user, patient):
    client = as_user(patient.user)
    submit(client, patient, temperature="38.1")
    (finding,) = CheckIn.objects.get().findings
    assert finding["rule"] == "temperature_high"
    assert finding["values"]["temperature_c"] == 38.1
    assert "38.1" in finding["text"]
    assert "37.5" in finding["text"]


def test_the_thresholds_in_force_are_stored_with_the_check_in(as_user, patient):
    patient.thresholds = {"fever_high_c": "37.2"}
    patient.save()
    client = as_user(patient.user)
    submit(client, patient, temperature="37.3")
    check_in = CheckIn.objects.get()
    assert check_in.severity == "red"
    assert check_in.ruleset["fever_high_c"] == 37.2


def test_a_symptom_answered_none_is_reported_and_one_left_unanswered_is_not(as_user, patient):
    # clinical-rules.md: "none" (0) answered is reported; only an unanswered question is not.
    client = as_user(patient.user)
    submit(client, patient, temperature="36.8", symptom_headache="0", symptom_nausea="2")
    assert CheckIn.objects.get().symptoms == {"headache": 0, "nausea": 2}


def test_no_grade_is_preselected_on_the_form(as_user, patient):
    # "Not answered" is where every symptom starts (and a mistaken tap can go back to it);
    # "None" is never chosen for the patient.
    page = as_user(patient.user).get(reverse("check_in_new", args=[patient.pk])).content.decode()
    checked = re.findall(r'name="symptom_fatigue"[^>]*value="([^"]*)"[^>]*checked', page)
    assert checked == [""]
    assert "Not answered" in page


def test_worsening_is_judged_against_the_previous_check_in(as_user, patient):
    client = as_user(patient.user)
    submit(client, patient, symptom_cough="1")
    submit(client, patient, symptom_cough="3")
    latest = CheckIn.objects.order_by("-pk").first()
    rules = {f["rule"] for f in latest.findings}
    assert {"cough", "worsening"} <= rules
    assert latest.severity == "red"


# ------------------------------------------------------------------ what the patient is told

def test_red_result_shows_the_24_hour_line_as_a_tel_link(as_user, patient):
    client = as_user(patient.user)
    page = result_page(client, submit(client, patient, temperature="37.6")).content.decode()
    assert "Call your 24-hour hospital line now" in page
    number = patient.care_team.line_phone
    assert f'href="tel:{number.replace(" ", "")}"' in page
    advice = page.split('data-severity="red"', 1)[1]
    assert "tel:999" not in advice  # not an emergency: no "Call 999 now"


def test_emergency_says_call_999_first(as_user, patient):
    client = as_user(patient.user)
    page = result_page(client, submit(client, patient, symptom_seizure="1")).content.decode()
    advice = page.split('data-severity="red"', 1)[1]
    assert advice.index('href="tel:999"') < advice.index("Call your 24-hour hospital line now")
    assert "</a> now." in advice.split('href="tel:999"')[1][:40]


def test_emergency_number_is_the_teams_setting(as_user, patient):
    team = patient.care_team
    team.emergency_number = "112"
    team.save()
    client = as_user(patient.user)
    page = result_page(client, submit(client, patient, symptom_chest_pain="3")).content.decode()
    advice = page.split('data-severity="red"', 1)[1]
    assert 'href="tel:112"' in advice
    assert "tel:999" not in page


def test_pump_problem_says_do_not_change_the_settings(as_user, patient):
    client = as_user(patient.user)
    page = result_page(client, submit(client, patient, pump="alarm")).content.decode()
    assert "Do not change the pump settings" in page


def test_amber_result_says_the_team_will_look_today(as_user, patient):
    client = as_user(patient.user)
    page = result_page(client, submit(client, patient, temperature="36.9",
                                      symptom_headache="2")).content.decode()
    assert "Your care team will look at this today." in page
    assert "If you feel worse, call" in page
    assert CheckIn.objects.get().severity == "amber"


def test_green_result_gives_self_care_advice_where_the_catalogue_has_it(as_user, patient):
    client = as_user(patient.user)
    page = result_page(client, submit(client, patient, symptom_nausea="1")).content.decode()
    from triage.catalogue import SYMPTOMS_BY_CODE

    advice = SYMPTOMS_BY_CODE["nausea"].advice
    assert advice
    assert advice in page


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"temperature": "29.9"}, "temperature", "please check the reading"),
        ({"temperature": "45.1"}, "temperature", "please check the reading"),
        ({"temperature": "abc"}, "temperature", "Enter a number"),
        ({"temperature": "NaN"}, "temperature", "Enter a number"),
        ({"temperature": "inf"}, "temperature", "Enter a number"),
        ({"temperature": "1e999"}, "temperature", "Enter a number"),
        ({"temperature": "98.6"}, "temperature", "Did you mean °F?"),
        ({"temperature": "200", "unit": "f"}, "temperature", "please check the reading"),
        ({"stools_above_baseline": "-1"}, "stools_above_baseline", "please check the reading"),
        ({"stools_above_baseline": "51"}, "stools_above_baseline", "please check the reading"),
        ({"stools_above_baseline": "2.5"}, "stools_above_baseline", "whole number"),
        ({"vomiting_episodes_24h": "-3"}, "vomiting_episodes_24h", "please check the reading"),
        ({"vomiting_episodes_24h": "1e999"}, "vomiting_episodes_24h", "Enter a whole number"),
        ({"spo2": "49"}, "spo2", "please check the reading"),
        ({"spo2": "101"}, "spo2", "please check the reading"),
        ({"systolic_bp": "39"}, "systolic_bp", "please check the reading"),
        ({"systolic_bp": "251"}, "systolic_bp", "please check the reading"),
        ({"heart_rate": "19"}, "heart_rate", "please check the reading"),
        ({"heart_rate": "lots"}, "heart_rate", "Enter a whole number"),
        ({"pump": "exploded"}, "pump", "Select a valid choice"),
        ({"symptom_headache": "5"}, "symptom_headache", "Select a valid choice"),
        ({"notes": "x" * 2001}, "notes", "2000"),
        ({"notes": "nul \x00 byte"}, "notes", "Null characters are not allowed"),
        ({"taken_at": "yesterday-ish"}, "taken_at", "Enter a valid date/time"),
    ],
)
def test_bad_input_names_the_field_keeps_the_rest_and_stores_nothing(
    as_user, patient, fields, field, message
):
    client = as_user(patient.user)
    kept = {"notes": "kept text"} if "notes" not in fields else {"temperature": "36.6"}
    response = submit(client, patient, **kept, **fields)
    assert response.status_code == 400
    assert message.lower() in field_errors(response, field).lower()
    assert CheckIn.objects.count() == 0
    # What was typed elsewhere comes back on the page.
    for name, value in kept.items():
        assert response.context["form"][name].value() == value


def test_fahrenheit_is_converted_and_shown_in_celsius(as_user, patient):
    client = as_user(patient.user)
    page = result_page(client, submit(client, patient, temperature="100.4", unit="f"))
    check_in = CheckIn.objects.get()
    assert check_in.temperature_c == Decimal("38.0")
    assert check_in.severity == "red"
    assert "38.0 °C" in page.content.decode()


def test_empty_check_in_is_refused_with_a_clear_message(as_user, patient):
    client = as_user(patient.user)
    response = submit(client, patient)
    assert response.status_code == 400
    assert "Nothing was filled in" in " ".join(response.context["form"].non_field_errors())
    assert not CheckIn.objects.exists()


def test_a_reading_in_the_future_is_refused(as_user, patient):
    client = as_user(patient.user)
    later = (timezone.now() + timedelta(hours=3)).astimezone(patient.tz)
    response = submit(client, patient, temperature="36.8",
                      taken_at=later.strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 400
    assert "future" in field_errors(response, "taken_at")
    assert not CheckIn.objects.exists()


def test_an_earlier_reading_is_stored_in_the_patients_time_zone(as_user, patient):
    patient.time_zone = "America/New_York"
    patient.save()
    client = as_user(patient.user)
    earlier = (timezone.now() - timedelta(hours=2)).astimezone(patient.tz)
    submit(client, patient, temperature="36.8", taken_at=earlier.strftime("%Y-%m-%dT%H:%M"))
    stored = CheckIn.objects.get().recorded_at
    assert abs(stored - earlier.replace(second=0, microsecond=0)) < timedelta(seconds=1)


# ------------------------------------------------------------------ who may

def test_caregiver_whose_link_has_expired_is_refused(as_user, child):
    link = CaregiverLinkFactory(patient=child, ends_at=timezone.now() - timedelta(minutes=1))
    client = as_user(link.caregiver)
    assert client.get(reverse("check_in_new", args=[child.pk])).status_code == 404
    assert submit(client, child, temperature="38.5").status_code == 404
    assert not CheckIn.objects.exists()


def test_view_only_caregiver_cannot_record_but_sees_history(as_user, child):
    link = CaregiverLinkFactory(patient=child, may_log=False)
    client = as_user(link.caregiver)
    assert submit(client, child, temperature="36.8").status_code == 404
    assert client.get(reverse("check_in_history", args=[child.pk])).status_code == 200


def test_patient_cannot_record_or_read_for_another_patient(as_user, patient, child):
    client = as_user(patient.user)
    assert submit(client, child, temperature="36.8").status_code == 404
    assert client.get(reverse("check_in_history", args=[child.pk])).status_code == 404


def test_another_familys_check_in_result_is_404(as_user, patient, caregiver):
    client = as_user(patient.user)
    submit(client, patient, temperature="38.0")
    check_in = CheckIn.objects.get()
    response = as_user(caregiver).get(reverse("check_in_result", args=[check_in.pk]))
    assert response.status_code == 404


def test_other_team_nurse_gets_404_everywhere(as_user, other_team_nurse, patient):
    client = as_user(other_team_nurse)
    for name in ("check_in_new", "check_in_history"):
        assert client.get(reverse(name, args=[patient.pk])).status_code == 404
    assert submit(client, patient, temperature="38").status_code == 404


def test_reusing_a_submission_key_for_another_patient_is_refused(as_user, caregiver, child,
                                                                 patient):
    key = str(uuid.uuid4())
    submit(as_user(patient.user), patient, temperature="36.5", submission_key=key)
    response = submit(as_user(caregiver), child, temperature="36.5", submission_key=key)
    assert response.status_code == 404
    assert CheckIn.objects.count() == 1


# ------------------------------------------------------------------ history

def test_history_lists_newest_first_with_severity(as_user, patient):
    client = as_user(patient.user)
    submit(client, patient, temperature="36.5")
    submit(client, patient, temperature="38.4")
    page = client.get(reverse("check_in_history", args=[patient.pk]))
    rows = list(page.context["page"])
    assert [r.severity for r in rows] == ["red", "green"]
    chart = page.context["chart"]
    assert [p["c"] for p in chart["points"]] == [36.5, 38.4]
    assert chart["high"] == 37.5
    assert chart["low"] == 36.0


def test_caregiver_with_two_children_switches_between_them(as_user, caregiver, child, team):
    from tests.factories import PatientFactory

    sibling = PatientFactory(care_team=team, display_name="Leo Jones")
    CaregiverLinkFactory(patient=sibling, caregiver=caregiver)
    client = as_user(caregiver)
    page = client.get(reverse("check_in_history", args=[child.pk]))
    assert [p.pk for p in page.context["others"]] == [sibling.pk]
    assert reverse("check_in_history", args=[sibling.pk]) in page.content.decode()
