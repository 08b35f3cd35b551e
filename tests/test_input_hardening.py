"""Hostile input on the forms and the triage command: a clear message, never a 500,
nothing stored; and the strict fields of portal/fields.py one by one. The table over every
form and admin change form is tests/test_hostile_input_table.py."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django import forms
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Invitation, Patient, Role
from portal import fields as strict
from symptoms.models import CheckIn, ThresholdChange
from treatment.models import TreatmentPlan

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent

HOSTILE = {
    "nan": "NaN",
    "infinity": "Infinity",
    "negative infinity": "-inf",
    "exponent overflow": "1e999999",
    "nul byte": "abc\x00def",
    "oversized text": "x" * 100_000,
}


def check_in_payload(field: str, value: str) -> dict[str, str]:
    return {"submission_key": str(uuid.uuid4()), "unit": "c", "temperature": "36.8",
            field: value}


FORMS = [
    # (who signs in, url name, args from fixtures, base payload, field, count model)
    ("patient", "check_in_new", "patient", {}, "temperature", CheckIn),
    ("patient", "check_in_new", "patient", {}, "spo2", CheckIn),
    ("patient", "check_in_new", "patient", {}, "stools_above_baseline", CheckIn),
    ("patient", "check_in_new", "patient", {}, "notes", CheckIn),
    ("patient", "check_in_new", "patient", {}, "taken_at", CheckIn),
    ("nurse", "patient_thresholds", "patient", {"reason": "r"}, "fever_high_c",
     ThresholdChange),
    ("nurse", "patient_thresholds", "patient", {"fever_high_c": "37.5"}, "reason",
     ThresholdChange),
    ("nurse", "invitation_create", "patient",
     {"role": "caregiver", "full_name": "A", "email": "a@example.org",
      "relationship": "aunt"}, "full_name", Invitation),
    ("nurse", "invitation_create", "patient",
     {"role": "caregiver", "full_name": "A", "email": "a@example.org",
      "relationship": "aunt"}, "email", Invitation),
    ("nurse", "treatment_plan", "patient",
     {"planned_cycles": "2", "changed_by": "day_unit"}, "planned_cycles", TreatmentPlan),
    ("nurse", "patient_create", "team",
     {"display_name": "New", "date_of_birth": "2015-01-01", "hospital_number": "HN-9",
      "time_zone": "Europe/London"}, "display_name", Patient),
    ("nurse", "patient_create", "team",
     {"display_name": "New", "date_of_birth": "2015-01-01", "hospital_number": "HN-9",
      "time_zone": "Europe/London"}, "time_zone", Patient),
    (None, "login", None, {"password": "x"}, "username", None),
    (None, "password_reset", None, {}, "email", None),
]


# Text fields take any text, "NaN" included; numbers, dates, choices and emails take none
# of these values.
TEXT_FIELDS = {"notes", "reason", "full_name", "display_name", "username"}
TEXT_HOSTILE = ("nul byte", "oversized text")
CASES = [
    (*form, kind)
    for form in FORMS
    for kind in sorted(HOSTILE)
    if form[4] not in TEXT_FIELDS or kind in TEXT_HOSTILE
]


@pytest.mark.parametrize(("who", "name", "arg", "base", "field", "model", "kind"), CASES,
                         ids=[f"{c[1]}.{c[4]}-{c[6]}" for c in CASES])
def test_hostile_values_are_refused_on_the_field(
    as_user, client, patient, nurse, team, who, name, arg, base, field, model, kind
):
    signed_in = {"patient": lambda: as_user(patient.user), "nurse": lambda: as_user(nurse),
                 None: lambda: client}[who]()
    args = {"patient": [patient.pk], "team": [team.pk], None: []}[arg]
    before = model.objects.count() if model else 0
    payload = check_in_payload(field, HOSTILE[kind]) if name == "check_in_new" else {
        **base, field: HOSTILE[kind]}
    if name == "patient_thresholds":
        payload = {"fever_high_c": "37.5", "temp_low_c": "36.0", "spo2_red_below": "92",
                   "spo2_amber_below": "95", "bp_low_below": "90", "diarrhoea_amber": "4",
                   "diarrhoea_red": "7", "vomiting_amber": "2", "vomiting_red": "6",
                   "reason": "r", field: HOSTILE[kind]}
    response = signed_in.post(reverse(name, args=args), payload)
    assert response.status_code in (200, 400, 429), response.status_code
    if model is not None:
        assert model.objects.count() == before
    if response.context and "form" in response.context:
        form = response.context["form"]
        assert form.errors, f"{name}.{field} accepted {kind}"
        assert field in form.errors or field == "username", form.errors


def test_invitation_acceptance_refuses_hostile_names(client, nurse, child):
    _, token = account_services.invitation_create(
        created_by=nurse, care_team=child.care_team, patient=child, email="d@example.org",
        full_name="D", role=Role.CAREGIVER, relationship="father")
    # The emailed link puts the token in the session; the form posts to the tokenless page.
    client.get(reverse("invitation_accept", args=[token]))
    for value in (HOSTILE["nul byte"], HOSTILE["oversized text"]):
        response = client.post(reverse("invitation_accept", args=["accept"]),
                               {"full_name": value, "password1": "long pass phrase 77",
                                "password2": "long pass phrase 77"})
        assert response.status_code == 200
        assert response.context["form"].errors["full_name"]
    assert not Invitation.objects.filter(accepted_at__isnull=False).exists()


def test_hostile_ids_in_urls_answer_404_not_500(as_user, nurse):
    client = as_user(nurse)
    for path in ("/patients/99999999999999999999999/", "/patients/0/history/",
                 "/check-ins/18446744073709551616/"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ('{"temperature_c": NaN}', "temperature_c"),
        ('{"temperature_c": Infinity}', "temperature_c"),
        ('{"temperature_c": -Infinity}', "temperature_c"),
        ('{"temperature_c": 1e999999}', "temperature_c"),
        ('{"spo2": 1e999}', "spo2"),
        ('{"notes": "a\\u0000b"}', "notes"),
        ('{"notes": "' + "x" * 5000 + '"}', "notes"),
        ('{"stools_above_baseline": 99999999999999999999999999999}', "stools_above_baseline"),
    ],
)
def test_triage_command_refuses_hostile_input_naming_the_field(document, field):
    result = subprocess.run([sys.executable, "manage.py", "triage", "-"], cwd=ROOT,
                            input=document, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 2, result.stderr
    assert field in result.stderr
    assert "Traceback" not in result.stderr


def test_user_text_is_escaped_where_it_is_shown(as_user, patient, nurse):
    client = as_user(patient.user)
    client.post(reverse("check_in_new", args=[patient.pk]),
                check_in_payload("notes", "<script>alert(1)</script>"))
    check_in = CheckIn.objects.get()
    page = as_user(nurse).get(reverse("check_in_result", args=[check_in.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "Notes: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    export = as_user(nurse).get(reverse("export_json", args=[patient.pk])).content.decode()
    assert "<script>alert(1)</script>" in export  # kept as typed in the record itself


# ---------------------------------------------------------------------------- portal/fields.py
# The strict fields themselves, without HTTP: what each refuses, and that the message names
# the field (and the limit). The table over every form is tests/test_hostile_input_table.py.


class _Everything(forms.Form):
    name = strict.StrictTextField(label="Their name", max_length=150)
    note = strict.StrictTextField(label="Note", max_length=2000, multiline=True,
                                  required=False)
    count = strict.StrictIntegerField(label="Planned cycles", min_value=1, max_value=12)
    level = strict.StrictDecimalField(label="Oxygen: amber below", max_digits=4,
                                      decimal_places=1)
    born = strict.StrictDateField(label="Date of birth", **strict.DATE_RULES["date_of_birth"])
    started = strict.StrictDateField(label="Cycle start",
                                     **strict.DATE_RULES["start_date"])
    zone = strict.StrictTimeZoneField(label="Time zone")
    email = strict.StrictEmailField(label="Email address")


VALID = {"name": "Zoë Ødegård", "note": "", "count": "2", "level": "95.5",
         "born": "2015-01-01", "started": date.today().isoformat(), "zone": "Europe/London",
         "email": "Nurse@Example.ORG"}


def _refusal(field: str, value: str) -> str:
    form = _Everything({**VALID, field: value})
    assert not form.is_valid()
    assert list(form.errors) == [field], form.errors
    return form.errors[field][0]


def test_valid_values_are_kept_exactly():
    form = _Everything({**VALID, "note": "line one\r\nline two\ttab"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "name": "Zoë Ødegård", "note": "line one\nline two\ttab", "count": 2,
        "level": Decimal("95.5"), "born": date(2015, 1, 1), "started": date.today(),
        "zone": "Europe/London", "email": "nurse@example.org"}


@pytest.mark.parametrize("value", ["a\x00b", "a\x07b", "a\x1bb", "a\x7fb", "a\x85b", "a\x9fb",
                                   "a\u202ab", "a\u202eb", "a\u2066b", "a\u2069b", "a\nb",
                                   "a\rb", "a\tb"])
def test_text_refuses_control_and_direction_characters(value):
    assert _refusal("name", value).startswith("Their name: contains")


@pytest.mark.parametrize("value", ["a\x00b", "a\x85b", "a\u202eb", "a\rb", "a\x0bb"])
def test_multiline_text_allows_only_newline_and_tab(value):
    assert _refusal("note", value).startswith("Note: contains")


def test_over_long_text_is_refused_naming_field_and_limit_never_cut():
    message = _refusal("note", "x" * 1_000_000)
    assert message.startswith("Note: at most 2,000 characters; this has 1,000,000.")
    assert _refusal("name", "x" * 151).startswith("Their name: at most 150 characters")
    # The browser must not cut either: no maxlength attribute.
    assert "maxlength" not in str(_Everything()["note"])


@pytest.mark.parametrize("value", ["1_0", "+5", "1 0", "\u0665", "\uff15", "5.0", "1e1",
                                   "0x5", "NaN", "\u00a05", "5\x00", "9" * 40, "--5"])
def test_integer_refuses_what_int_would_read(value):
    assert _refusal("count", value).startswith("Planned cycles:")


def test_integer_range_message_names_the_field():
    assert _refusal("count", "13").startswith("Planned cycles:")


@pytest.mark.parametrize("value", ["95.55", "95,5", "NaN", "Infinity", "-inf", "9.5e1",
                                   "+95.5", "9_5.5", "\u0669\u0665"])
def test_decimal_is_exact_or_refused(value):
    assert _refusal("level", value).startswith("Oxygen: amber below:")


@pytest.mark.parametrize("value", ["0001-01-01", "1800-01-01", "1899-12-31", "9999-12-31",
                                   (date.today() + timedelta(days=1)).isoformat(),
                                   "2015-02-30", "2015-1-1", "15-01-01", "2015/01/01"])
def test_date_of_birth_window(value):
    assert _refusal("born", value).startswith("Date of birth:")


def test_date_of_birth_limits_are_inclusive():
    for value in ("1900-01-01", date.today().isoformat(), "01/02/2015"):
        form = _Everything({**VALID, "born": value})
        assert form.is_valid(), (value, form.errors)


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01",
                                   (date.today() + timedelta(days=3 * 366)).isoformat(),
                                   (date.today() - timedelta(days=6 * 366)).isoformat()])
def test_cycle_start_within_a_few_years(value):
    assert _refusal("started", value).startswith("Cycle start:")


@pytest.mark.parametrize("value", ["localtime", "Factory", "UTC", "GMT", "Etc/GMT+5",
                                   "EST5EDT", "GB", "US/Eastern", "europe/london",
                                   "Europe/Atlantis", "Europe/London\x00"])
def test_time_zone_only_a_place(value):
    assert _refusal("zone", value).startswith("Time zone:")


def test_every_geographic_zone_is_accepted_and_none_other():
    import zoneinfo

    accepted = strict.geographic_time_zones()
    assert "Europe/London" in accepted
    assert "America/Argentina/Buenos_Aires" in accepted
    assert not {"localtime", "Factory", "UTC", "Etc/UTC"} & accepted
    assert accepted <= zoneinfo.available_timezones()


@pytest.mark.parametrize("value", ["a" * 250 + "@example.org", "a b@example.org",
                                   "a\x00b@example.org", "a\u202e@example.org", "a@b@c.org"])
def test_email_refused_naming_the_field(value):
    assert _refusal("email", value).startswith("Email address:")


def test_an_email_of_262_characters_is_a_form_error_not_a_500(as_user, nurse, patient):
    client = as_user(nurse)
    before = Invitation.objects.count()
    response = client.post(reverse("invitation_create", args=[patient.pk]), {
        "role": "caregiver", "full_name": "A", "relationship": "aunt",
        "email": "a" * 250 + "@example.org"})
    assert response.status_code == 200
    assert "254" in response.context["form"].errors["email"][0]
    assert Invitation.objects.count() == before


def test_strict_formfield_covers_every_plain_model_field():
    """ModelForms and the admin get a strict field for each kind of model field."""
    from accounts.models import CareTeam

    kinds = {f.name: type(strict.strict_formfield(f)).__name__
             for f in (Patient._meta.get_fields() + CareTeam._meta.get_fields()
                       + TreatmentPlan._meta.get_fields())
             if getattr(f, "editable", False) and not f.is_relation and not f.primary_key
             and not f.choices}
    assert kinds["date_of_birth"] == "StrictDateField"
    assert kinds["time_zone"] == "StrictTimeZoneField"
    assert kinds["hospital_number"] == "UpperCaseTextField"
    assert kinds["planned_cycles"] == "StrictIntegerField"
    assert kinds["duty_email"] == "StrictEmailField"
    assert kinds["check_in_cutoff"] == "StrictTimeField"
    assert kinds["thresholds"] == "StrictJSONField"
    not_strict = {name: kind for name, kind in kinds.items() if not kind.startswith(
        ("Strict", "UpperCase"))}
    assert not not_strict
