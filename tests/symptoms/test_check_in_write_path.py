"""The check-in write path keeps every valid reading (issue 10, kind 1): thresholds that
contradict each other, resends with a changed reading, implausible times, the same answers
through every entry point, and the 72 h look-back across clock changes."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views.defaults import server_error

from accounts.models import CareTeam, Patient
from symptoms import services
from symptoms.models import CheckIn, ThresholdChange
from symptoms.thresholds import ruleset_for_patient, threshold_conflicts
from tests.factories import PatientFactory
from triage.rules import OverridesRefused, RuleSet, evaluate
from triage.validation import CheckInData, CheckInInvalid, parse_check_in

db = pytest.mark.django_db


def form(**fields) -> dict:
    return {"submission_key": str(uuid.uuid4()), "unit": "c", **fields}


def post_check_in(client, patient, payload):
    return client.post(reverse("check_in_new", args=[patient.pk]), payload)


# 3. Thresholds that contradict each other ---------------------------------------------------

def _contradict(patient, team_value: dict, patient_value: dict) -> None:
    """Store a team's and a patient's thresholds that each passed when saved, then the
    team clears its own (as the admin site or an old version could)."""
    CareTeam.objects.filter(pk=patient.care_team_id).update(thresholds=team_value)
    Patient.objects.filter(pk=patient.pk).update(thresholds=patient_value)
    CareTeam.objects.filter(pk=patient.care_team_id).update(thresholds={})
    patient.refresh_from_db()
    patient.care_team.refresh_from_db()


CONTRADICTIONS = [
    # (team before clearing, patient, a check-in, the severity the stricter value gives)
    ({"diarrhoea_amber": 2}, {"diarrhoea_red": 3}, {"stools_above_baseline": 3}, "red"),
    ({"vomiting_amber": 1}, {"vomiting_red": 1}, {"vomiting_episodes_24h": 1}, "red"),
    ({"spo2_amber_below": 98}, {"spo2_red_below": 97}, {"spo2": 96}, "red"),
    ({"symptoms": {"headache": {"amber": 1}}}, {"symptoms": {"headache": {"red": 1}}},
     {"symptoms": {"headache": 1}}, "red"),
]


@db
@pytest.mark.parametrize(("team_value", "patient_value", "reading", "severity"), CONTRADICTIONS)
def test_contradicting_thresholds_never_refuse_a_check_in_and_the_stricter_value_wins(
    patient, team_value, patient_value, reading, severity
):
    _contradict(patient, team_value, patient_value)
    assert threshold_conflicts(patient)  # staff are told
    check_in, created = services.check_in_record(
        patient=patient, recorded_by=patient.user, data=parse_check_in(reading),
        submission_key=uuid.uuid4(),
    )
    assert created
    assert check_in.severity == severity


@db
def test_the_issue_example_through_every_page(as_user, nurse, patient):
    _contradict(patient, {"diarrhoea_amber": 2}, {"diarrhoea_red": 3})
    patient_client = as_user(patient.user)
    response = post_check_in(patient_client, patient, form(stools_above_baseline="3"))
    assert response.status_code == 302
    assert CheckIn.objects.get().severity == "red"
    assert patient_client.get(response["Location"]).status_code == 200
    assert patient_client.get(reverse("check_in_history", args=[patient.pk])).status_code == 200
    staff = as_user(nurse)
    for name in ("patient_timeline", "patient_thresholds"):
        page = staff.get(reverse(name, args=[patient.pk]))
        assert page.status_code == 200
        assert "Thresholds that contradict each other" in page.content.decode()
        assert "diarrhoea_amber 4 is above diarrhoea_red 3" in page.content.decode()


@db
@pytest.mark.parametrize("stored", [
    {"fever_high_c": "45.0"}, {"fever_high_c": "hot"}, {"nonsense": 1},
    {"symptoms": {"seizure": {"red": None}}}, {"symptoms": "all"}, ["not", "a", "mapping"],
])
def test_malformed_or_loosening_stored_team_thresholds_fall_back_to_the_default(patient, stored):
    CareTeam.objects.filter(pk=patient.care_team_id).update(thresholds=stored)
    patient.care_team.refresh_from_db()
    ruleset = ruleset_for_patient(patient)
    assert ruleset.fever_high_c == RuleSet.default().fever_high_c
    assert ruleset.symptoms["seizure"].red == RuleSet.default().symptoms["seizure"].red
    assert threshold_conflicts(patient)
    check_in, _ = services.check_in_record(
        patient=patient, recorded_by=patient.user, data=parse_check_in({"temperature_c": 37.6}),
        submission_key=uuid.uuid4())
    assert check_in.severity == "red"


@db
def test_a_team_change_that_would_contradict_a_patient_is_refused_naming_the_patient(
    team_admin, nurse, patient
):
    services.thresholds_set(changed_by=team_admin, team=patient.care_team, reason="unit policy",
                            overrides={"diarrhoea_amber": 2})
    patient.care_team.refresh_from_db()
    services.thresholds_set(changed_by=nurse, patient=patient, reason="consultant",
                            overrides={"diarrhoea_red": 3})
    with pytest.raises(OverridesRefused) as refused:
        services.thresholds_set(changed_by=team_admin, team=patient.care_team,
                                reason="back to defaults", overrides={})
    assert patient.hospital_number in str(refused.value)
    patient.care_team.refresh_from_db()
    assert patient.care_team.thresholds == {"diarrhoea_amber": 2}


@db
def test_a_patient_change_that_would_contradict_the_team_is_refused(team_admin, nurse, patient):
    services.thresholds_set(changed_by=team_admin, team=patient.care_team, reason="policy",
                            overrides={"spo2_red_below": 94})
    patient.refresh_from_db()
    with pytest.raises(OverridesRefused):
        services.thresholds_set(changed_by=nurse, patient=patient, reason="x",
                                overrides={"spo2_emergency_below": 95})
    assert Patient.objects.get(pk=patient.pk).thresholds == {}


@pytest.fixture
def admin_client_2fa(as_user, team):
    from accounts.models import Role
    from tests.factories import StaffFactory

    user = StaffFactory(email="root@example.org", role=Role.TEAM_ADMIN, team=team,
                        is_staff=True, is_superuser=True)
    return as_user(user)


def admin_save(client, url: str, **changes) -> tuple[int, dict]:
    """Open an admin change page and save it with `changes`, as a person would."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data: dict[str, object] = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    data.update(changes)
    data["_save"] = "Save"
    response = client.post(url, data)
    errors = response.context["adminform"].form.errors if response.status_code == 200 else {}
    return response.status_code, errors


@db
@pytest.mark.parametrize(("value", "saved"), [
    ({"fever_high_c": "45.0"}, False),
    ({"fever_high_c": 37.0}, True),
    ({"symptoms": {"seizure": {"red": None}}}, False),
    ({"diarrhoea_amber": 5}, False),
    ({}, True),
])
def test_the_admin_site_checks_team_thresholds(admin_client_2fa, patient, value, saved):
    url = reverse("admin:accounts_careteam_change", args=[patient.care_team_id])
    status, errors = admin_save(admin_client_2fa, url, thresholds=json.dumps(value))
    assert (status == 302) is saved, errors
    if not saved:
        assert "thresholds" in errors
    patient.care_team.refresh_from_db()
    assert (patient.care_team.thresholds == value) is saved


@db
def test_the_admin_site_refuses_team_thresholds_that_contradict_a_patient(admin_client_2fa,
                                                                          patient):
    Patient.objects.filter(pk=patient.pk).update(thresholds={"diarrhoea_red": 3})
    CareTeam.objects.filter(pk=patient.care_team_id).update(thresholds={"diarrhoea_amber": 2})
    url = reverse("admin:accounts_careteam_change", args=[patient.care_team_id])
    status, errors = admin_save(admin_client_2fa, url, thresholds="{}")
    assert status == 200
    assert patient.hospital_number in str(errors["thresholds"])
    status, errors = admin_save(admin_client_2fa, url, thresholds='{"diarrhoea_amber": 3}')
    assert status == 302, errors


@db
def test_the_admin_site_checks_patient_thresholds(admin_client_2fa, patient):
    url = reverse("admin:accounts_patient_change", args=[patient.pk])
    status, errors = admin_save(admin_client_2fa, url,
                                thresholds=json.dumps({"fever_high_c": "39.0"}))
    assert status == 200
    assert "thresholds" in errors
    status, errors = admin_save(admin_client_2fa, url,
                                thresholds=json.dumps({"fever_high_c": "37.2"}))
    assert status == 302, errors
    patient.refresh_from_db()
    assert patient.thresholds == {"fever_high_c": "37.2"}


def test_the_error_page_gives_the_call_advice_without_the_database():
    # No database marker: any query here would fail the test.
    request = RequestFactory().get("/check-in/")
    response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert "999" in page
    assert "24-hour hospital line" in page
    assert "treatment card" in page


# Patient thresholds: what was decided is stored, never rounded looser -------------------------

@db
def test_a_tightening_equal_to_the_teams_value_is_stored_and_survives_the_team_loosening(
    as_user, clinician, team_admin, patient
):
    services.thresholds_set(changed_by=team_admin, team=patient.care_team, reason="winter",
                            overrides={"fever_high_c": "37.2"})
    response = as_user(clinician).post(
        reverse("patient_thresholds", args=[patient.pk]),
        {"fever_high_c": "37.2", "reason": "neutropenic: keep 37.2 whatever the team does"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.thresholds == {"fever_high_c": "37.2"}
    services.thresholds_set(changed_by=team_admin, team=patient.care_team, reason="spring",
                            overrides={})
    patient.refresh_from_db()
    assert str(ruleset_for_patient(patient).fever_high_c) == "37.2"


@db
@pytest.mark.parametrize("field", ["spo2_amber_below", "spo2_red_below", "bp_low_below",
                                   "diarrhoea_red"])
def test_a_whole_number_threshold_with_a_fraction_is_refused_not_rounded(
    as_user, nurse, patient, field
):
    value = {"spo2_amber_below": "95.5", "spo2_red_below": "92.5", "bp_low_below": "90.5",
             "diarrhoea_red": "6.5"}[field]
    response = as_user(nurse).post(reverse("patient_thresholds", args=[patient.pk]),
                                   {field: value, "reason": "tighter"})
    assert response.status_code == 400
    assert "whole number" in " ".join(response.context["form"].errors[field])
    patient.refresh_from_db()
    assert patient.thresholds == {}
    assert not ThresholdChange.objects.exists()


# 4. A resend with a different reading ---------------------------------------------------------

@db
def test_a_resend_with_a_different_reading_is_saved_and_the_same_one_is_not_duplicated(
    as_user, patient
):
    client = as_user(patient.user)
    key = str(uuid.uuid4())
    first = post_check_in(client, patient, {"submission_key": key, "unit": "c",
                                            "temperature": "36.5"})
    again = post_check_in(client, patient, {"submission_key": key, "unit": "c",
                                            "temperature": "36.5"})
    assert first["Location"] == again["Location"]
    assert CheckIn.objects.count() == 1
    changed = post_check_in(client, patient, {"submission_key": key, "unit": "c",
                                              "temperature": "39.9"})
    assert changed.status_code == 302
    assert changed["Location"] != first["Location"]
    assert CheckIn.objects.count() == 2
    saved = CheckIn.objects.get(temperature_c="39.9")
    assert saved.severity == "red"
    assert "24-hour hospital line" in client.get(changed["Location"]).content.decode()
    # The changed form resent once more is still that one check-in.
    changed_again = post_check_in(client, patient, {"submission_key": key, "unit": "c",
                                                    "temperature": "39.9"})
    assert changed_again["Location"] == changed["Location"]
    assert CheckIn.objects.count() == 2


@db
@pytest.mark.parametrize("second", [
    {"temperature_c": 36.5, "symptoms": {"cough": 2}},
    {"temperature_c": 36.5, "pump": "alarm"},
    {"temperature_c": 36.5, "notes": "now shivering"},
    {"temperature_c": 36.5, "recorded_at": "2026-01-01T00:00:00+00:00"},
])
def test_any_changed_field_under_the_same_key_is_a_new_check_in(patient, second):
    key = uuid.uuid4()
    now = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    first, created = services.check_in_record(
        patient=patient, recorded_by=patient.user, data=parse_check_in({"temperature_c": 36.5}),
        submission_key=key, now=now)
    assert created
    other, created = services.check_in_record(
        patient=patient, recorded_by=patient.user, data=parse_check_in(second),
        submission_key=key, now=now + timedelta(minutes=1))
    assert created
    assert other.pk != first.pk


# 5. Implausible times --------------------------------------------------------------------------

@db
@pytest.mark.parametrize("taken_at", ["0001-01-01T00:00", "1900-01-01T00:00",
                                      "9999-12-31T23:59"])
def test_an_implausible_taken_at_is_refused_on_that_field(as_user, patient, taken_at):
    response = post_check_in(as_user(patient.user), patient,
                             form(temperature="38.9", taken_at=taken_at))
    assert response.status_code == 400
    assert response.context["form"].errors["taken_at"]
    assert not CheckIn.objects.exists()


@db
def test_a_reading_more_than_a_week_old_is_refused_and_one_of_yesterday_is_kept(as_user,
                                                                                 patient):
    client = as_user(patient.user)
    local = timezone.now().astimezone(ZoneInfo(patient.time_zone))
    old = (local - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M")
    response = post_check_in(client, patient, form(temperature="38.9", taken_at=old))
    assert response.status_code == 400
    assert "7 days" in " ".join(response.context["form"].errors["taken_at"])
    yesterday = (local - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert post_check_in(client, patient, form(temperature="38.9",
                                               taken_at=yesterday)).status_code == 302


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "1900-01-01T00:00:00+00:00",
                                    "2100-01-01T00:00:00+00:00"])
def test_the_parser_refuses_implausible_years_naming_recorded_at(moment):
    with pytest.raises(CheckInInvalid) as refused:
        parse_check_in({"temperature_c": 37.0, "recorded_at": moment})
    assert "recorded_at" in refused.value.errors


def test_triage_refuses_year_one_instead_of_crashing():
    with pytest.raises(CommandError) as refused:
        call_command("triage", "-", stdin=io.StringIO(json.dumps(
            {"temperature_c": 37.0, "recorded_at": "0001-01-01T00:00:00+00:00"})),
            stdout=io.StringIO())
    assert "recorded_at" in str(refused.value)


# 6. The same answers grade the same through the form and through `triage` ---------------------

SERIES = [
    [{"fatigue": 0}, {"fatigue": 2, "nausea": 2}],
    [{"cough": 0}, {"cough": 2}],
    [{}, {"cough": 3}],
    [{"headache": 1, "nausea": 0}, {"nausea": 2, "headache": 1}],
]


@db
@pytest.mark.parametrize("series", SERIES)
def test_the_form_and_triage_grade_the_same_answers_the_same(as_user, patient, series):
    client = as_user(patient.user)
    start = timezone.now() - timedelta(hours=len(series))
    items = []
    for n, grades in enumerate(series):
        at = (start + timedelta(hours=n)).astimezone(ZoneInfo(patient.time_zone))
        fields = {f"symptom_{code}": str(grade) for code, grade in grades.items()}
        response = post_check_in(client, patient, form(
            temperature="36.8", taken_at=at.strftime("%Y-%m-%dT%H:%M"), **fields))
        assert response.status_code == 302
        item = {"temperature_c": 36.8, "recorded_at": at.replace(second=0, microsecond=0)
                .isoformat()}
        if grades:
            item["symptoms"] = grades
        items.append(item)
    out = io.StringIO()
    call_command("triage", "-", stdin=io.StringIO(json.dumps(items)), stdout=out)
    by_triage = [r["severity"] for r in json.loads(out.getvalue())]
    by_form = list(CheckIn.objects.order_by("recorded_at").values_list("severity", flat=True))
    assert by_form == by_triage
    stored = list(CheckIn.objects.order_by("recorded_at").values_list("symptoms", flat=True))
    assert stored == [dict(grades) for grades in series]


def test_the_issue_example_is_red_everywhere():
    first = parse_check_in({"symptoms": {"fatigue": 0},
                            "recorded_at": "2026-03-01T08:00:00+00:00"})
    second = parse_check_in({"symptoms": {"fatigue": 2, "nausea": 2},
                             "recorded_at": "2026-03-02T08:00:00+00:00"})
    assert evaluate(second, [first], RuleSet.default()).severity == "red"


# 8. The 72 h look-back in real time across clock changes --------------------------------------

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Europe/Berlin",
         "America/Santiago"]


def _transitions(zone: ZoneInfo, year: int = 2026) -> list[datetime]:
    """The UTC hours in `year` at which the zone's offset changes."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        moment += timedelta(hours=1)
        now_offset = moment.astimezone(zone).utcoffset()
        if now_offset != offset:
            found.append(moment)
            offset = now_offset
    return found


def _look_back_cases():
    for name in ZONES:
        zone = ZoneInfo(name)
        changes = _transitions(zone)
        assert len(changes) == 2, (name, changes)
        for change in changes:
            yield pytest.param(name, change, id=f"{name}-{change:%Y-%m-%d}")


@pytest.mark.parametrize(("zone_name", "change"), list(_look_back_cases()))
@pytest.mark.parametrize(("after", "worsening"), [(timedelta(hours=71, minutes=30), True),
                                                  (timedelta(hours=72, minutes=30), False)])
def test_the_72_hour_look_back_is_72_real_hours_across_a_clock_change(
    zone_name, change, after, worsening
):
    zone = ZoneInfo(zone_name)
    earlier_utc = change - timedelta(hours=12)
    earlier = CheckInData(recorded_at=earlier_utc.astimezone(zone), symptoms={"cough": 0})
    now = CheckInData(recorded_at=(earlier_utc + after).astimezone(zone), symptoms={"cough": 2})
    result = evaluate(now, [earlier], RuleSet.default())
    assert ("worsening" in {f.rule for f in result.findings}) is worsening


@db
@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize(("after", "worsening"), [(timedelta(hours=71, minutes=30), True),
                                                  (timedelta(hours=72, minutes=30), False)])
def test_the_saved_check_in_looks_back_72_real_hours_in_the_patients_zone(
    team, nurse, zone_name, after, worsening
):
    zone = ZoneInfo(zone_name)
    for change in _transitions(zone):
        patient = PatientFactory(care_team=team, time_zone=zone_name)
        earlier_utc = change - timedelta(hours=12)
        later_utc = earlier_utc + after
        for grade, at in ((0, earlier_utc), (2, later_utc)):
            check_in, _ = services.check_in_record(
                patient=patient, recorded_by=nurse,
                data=CheckInData(recorded_at=at.astimezone(zone), symptoms={"cough": grade}),
                submission_key=uuid.uuid4(), now=at + timedelta(minutes=1))
        assert ("worsening" in {f["rule"] for f in check_in.findings}) is worsening, change


# Input that Python would read but nobody types as a reading (issue 11, "Input") ------------

@db
@pytest.mark.parametrize(("field", "value"), [
    ("stools_above_baseline", "1_0"), ("vomiting_episodes_24h", "1e1"),
    ("temperature", "3_8.5"), ("temperature", "NaN"), ("spo2", "\u0669\u0665"),
    ("heart_rate", "0x50"),
])
def test_numbers_only_in_ascii_digits_on_the_check_in_form(as_user, patient, field, value):
    response = post_check_in(as_user(patient.user), patient, form(**{field: value}))
    assert response.status_code == 400
    kind = "a number" if field == "temperature" else "a whole number"
    assert f"Enter {kind} in digits" in " ".join(response.context["form"].errors[field])
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("text", ["a\u202egnp.exe", "left\u2066right", "bell\u0085", "del\x7f"])
def test_notes_with_invisible_direction_or_c1_controls_are_refused(text):
    with pytest.raises(CheckInInvalid) as refused:
        parse_check_in({"notes": text})
    assert "notes" in refused.value.errors


@db
@pytest.mark.parametrize(("field", "value"), [("diarrhoea_red", "1_0"), ("bp_low_below", "9_5"),
                                              ("fever_high_c", "37.25")])
def test_threshold_numbers_are_refused_rather_than_read_loosely(as_user, nurse, patient, field,
                                                               value):
    response = as_user(nurse).post(reverse("patient_thresholds", args=[patient.pk]),
                                   {field: value, "reason": "tighter"})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    patient.refresh_from_db()
    assert patient.thresholds == {}


@db
def test_triage_with_contradicting_patient_thresholds_judges_stricter_and_says_why(patient):
    _contradict(patient, {"diarrhoea_amber": 2}, {"diarrhoea_red": 3})
    out, err = io.StringIO(), io.StringIO()
    call_command("triage", "-", "--patient", str(patient.pk),
                 stdin=io.StringIO(json.dumps({"stools_above_baseline": 3})), stdout=out,
                 stderr=err)
    assert json.loads(out.getvalue())["severity"] == "red"
    assert "diarrhoea_amber 4 is above diarrhoea_red 3" in err.getvalue()


@db
def test_an_earlier_check_in_given_the_same_time_counts_for_worsening(patient):
    at = "2026-03-02T08:00:00+00:00"
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for grade in (0, 2):
        check_in, _ = services.check_in_record(
            patient=patient, recorded_by=patient.user,
            data=parse_check_in({"symptoms": {"cough": grade}, "recorded_at": at}),
            submission_key=uuid.uuid4(), now=now)
    assert "worsening" in {f["rule"] for f in check_in.findings}
