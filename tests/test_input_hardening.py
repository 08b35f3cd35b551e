"""Hostile input on every form and the triage command: a clear message, never a 500,
nothing stored."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Invitation, Patient, Role
from symptoms.models import CheckIn, ThresholdChange

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
    ("nurse", "patient_create", "team",
     {"display_name": "New", "date_of_birth": "2015-01-01", "hospital_number": "HN-9",
      "time_zone": "Europe/London", "planned_cycles": "2"}, "planned_cycles", Patient),
    ("nurse", "patient_create", "team",
     {"display_name": "New", "date_of_birth": "2015-01-01", "hospital_number": "HN-9",
      "time_zone": "Europe/London", "planned_cycles": "2"}, "display_name", Patient),
    ("nurse", "patient_create", "team",
     {"display_name": "New", "date_of_birth": "2015-01-01", "hospital_number": "HN-9",
      "time_zone": "Europe/London", "planned_cycles": "2"}, "time_zone", Patient),
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
