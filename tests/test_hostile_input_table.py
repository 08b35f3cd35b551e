"""The hostile-input table: every form of the portal and every admin change form, fed
values that must be refused (control characters, text-direction overrides, over-long
text, "1_0" and other numbers Python would read, impossible dates, non-geographic time
zones, duplicates). For each: no HTTP 500, the error on the field, nothing stored.

Both halves are generated, so a new form cannot slip past:
- portal forms: every URL pattern outside the admin is declared in FORMS (with a valid
  submission and the kind of each field) or in NO_FORM with the reason; every Form class
  in the project's modules must be the form of a declared view
  (test_every_url_and_form_is_in_the_table);
- admin: every model registered on the admin site needs an object in ADMIN_OBJECTS; the
  fields of its change form are read from the form itself, and each must be one of the
  strict fields of portal/fields.py (or a choice), whose kind gives the hostile values.

Rows owned by other engineers that still fail are marked xfail(strict=True) with the
owner, so the table turns red when they are fixed and the mark is stale.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.forms import ReadOnlyPasswordHashField
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import enrolment
from accounts import services as account_services
from accounts.models import AccessLog, Invitation, Membership, Patient, Role, User
from accounts.team_views import TeamSettingsForm
from alerts.models import Alert
from alerts.services import alert_raise
from portal import fields as strict
from symptoms import services as check_in_services
from tests.conftest import verified_client
from tests.factories import (
    PASSWORD,
    CaregiverLinkFactory,
    CareTeamFactory,
    PatientFactory,
    StaffFactory,
    UserFactory,
)
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db

ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))

# ---------------------------------------------------------------------------- values


def _text_values(limit: int, *, multiline: bool) -> dict[str, str]:
    values = {
        "nul": "a\x00b",
        "bell (C0)": "a\x07b",
        "escape sequence (C0)": "a\x1b[31mb",
        "delete": "a\x7fb",
        "next line (C1)": "a\x85b",
        "CSI (C1)": "a\x9bb",
        "right-to-left override": "a\u202eb",
        "left-to-right embedding": "a\u202ab",
        "right-to-left isolate": "a\u2067b",
        "pop directional isolate": "a\u2069b",
        f"{limit + 1} characters": "x" * (limit + 1),
    }
    if multiline:
        values["1 MB"] = "x" * 1_000_000
    else:
        values["newline"] = "a\nb"
        values["tab"] = "a\tb"
        values["carriage return"] = "a\rb"
        values["100,000 characters"] = "x" * 100_000
    return values


# Values a loose reading would take as a different number, or as a number at all. ("5.0"
# and a no-break space around "5" are 5 if accepted, so not wrong; the strict fields
# refuse them too, see tests/test_input_hardening.py.)
INTEGER_VALUES = {
    "underscore": "1_0", "plus sign": "+5", "inner space": "1 0",
    "inner no-break space": "1\u00a00", "Arabic-Indic digits": "12".translate(ARABIC_INDIC),
    "full-width digits": "\uff15", "exponent": "1e1", "fraction": "5.5", "hex": "0x5",
    "40 digits": "9" * 40, "NaN": "NaN", "NUL": "5\x00",
}


def _decimal_values(places: int) -> dict[str, str]:
    return {
        f"{places + 1} decimal places": "37." + "5" * (places + 1), "NaN": "NaN",
        "Infinity": "Infinity", "-inf": "-inf", "exponent": "3.7e1", "comma": "37,5",
        "underscore": "3_7", "plus sign": "+37", "40 digits": "9" * 40,
        "Arabic-Indic digits": "37".translate(ARABIC_INDIC), "NUL": "37\x00",
    }


def _iso(day: date) -> str:
    return day.isoformat()


def _date_values(earliest: date | None, latest: date | None) -> dict[str, str]:
    values = {"30 February": "2015-02-30", "no zero padding": "2015-1-1",
              "two-digit year": "15-01-01", "NUL": "2015-01-01\x00", "words": "yesterday"}
    if earliest is None or earliest > date(1, 1, 1):
        values["year 1"] = "0001-01-01"
    if earliest is None or earliest > date(1800, 1, 1):
        values["1800"] = "1800-01-01"
    if latest is None or latest < date(9999, 12, 31):
        values["9999-12-31"] = "9999-12-31"
    if latest is not None and latest < date(9999, 1, 1):
        values["the day after the window"] = _iso(latest + timedelta(days=1))
    if earliest is not None and earliest > date(1, 1, 2):
        values["the day before the window"] = _iso(earliest - timedelta(days=1))
    return values


DOB_WINDOW = (date(1900, 1, 1), date.today())


def _dob_values() -> dict[str, str]:
    return {**_date_values(*DOB_WINDOW), "tomorrow": _iso(date.today() + timedelta(days=1))}


def _infusion_values() -> dict[str, str]:
    today = date.today()
    return {**_date_values(None, None), "in 3 years": _iso(today + timedelta(days=3 * 366)),
            "30 years ago": _iso(today - timedelta(days=30 * 365))}


TIME_ZONE_VALUES = {
    "localtime": "localtime", "Factory": "Factory", "UTC": "UTC", "Etc/GMT+5": "Etc/GMT+5",
    "EST5EDT": "EST5EDT", "old alias GB": "GB", "lower case": "europe/london",
    "NUL": "Europe/London\x00", "path": "../../../etc/passwd", "empty-ish": "\u200b",
}
TIME_VALUES = {"24:00": "24:00", "minute 60": "20:60", "one-digit hour": "7:00",
               "words": "8pm", "NUL": "20:00\x00", "Arabic-Indic": "20:00".translate(ARABIC_INDIC)}
EMAIL_VALUES = {
    "262 characters": "a" * 250 + "@example.org", "NUL": "a\x00b@example.org",
    "right-to-left override": "a\u202eb@example.org", "C1": "a\x85b@example.org",
    "space inside": "a b@example.org", "newline inside": "a@example.org\nb@example.org",
    "two @": "a@b@example.org",
}
JSON_VALUES = {
    "NaN": '{"fever_high_c": NaN}', "Infinity": '{"fever_high_c": Infinity}',
    "NUL escaped": '{"note": "a\\u0000b"}', "right-to-left override": '{"note": "a\u202eb"}',
    "20,000 characters": '{"note": "' + "x" * 20_000 + '"}',
}
DATETIME_LOCAL_VALUES = {
    "year 1": "0001-01-01T10:00", "9999-12-31": "9999-12-31T23:59",
    "30 February": "2026-02-30T10:00", "NUL": "2026-01-01T10:00\x00", "hour 25": "2026-01-01T25:00",
}
PASSWORD_NUL = {"NUL": "long pass\x00phrase 77"}


def values_for(kind: str) -> dict[str, str]:
    """The hostile values for a kind of field ("text:150", "int", "tz", ...)."""
    name, _, arg = kind.partition(":")
    if name == "text":
        return _text_values(int(arg), multiline=False)
    if name == "multiline":
        return _text_values(int(arg), multiline=True)
    if name == "temperature":
        # clinical-rules.md: "Temperatures are kept to one decimal (more are rounded half
        # up)", and a decimal comma is the point of a phone's keyboard in many languages.
        values = _decimal_values(int(arg))
        del values["comma"], values[f"{int(arg) + 1} decimal places"]
        return values
    if name == "password":
        return {**PASSWORD_NUL, **({"1 MB": "x" * 1_000_000} if arg else {})}
    return {
        "email": EMAIL_VALUES, "int": INTEGER_VALUES, "tz": TIME_ZONE_VALUES,
        "time": TIME_VALUES, "dob": _dob_values(), "infusion": _infusion_values(),
        "json": JSON_VALUES, "datetime_local": DATETIME_LOCAL_VALUES,
    }.get(name) or _decimal_values(int(arg))


# ---------------------------------------------------------------------------- the world


@pytest.fixture
def world(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team = CareTeamFactory(name="Haematology Day Unit")
    nurse = StaffFactory(email="nurse@example.org", team=team)
    clinician = StaffFactory(email="doctor@example.org", role=Role.CLINICIAN, team=team)
    team_admin = StaffFactory(email="admin@example.org", role=Role.TEAM_ADMIN, team=team)
    patient = PatientFactory(care_team=team, hospital_number="HN-100",
                             user=UserFactory(email="sam@example.org", role=Role.PATIENT))
    child = PatientFactory(care_team=team, hospital_number="HN-200")
    link = CaregiverLinkFactory(patient=child, caregiver=UserFactory(
        email="rosa@example.org", role=Role.CAREGIVER))
    check_in = check_in_services.check_in_record(
        patient=patient, recorded_by=nurse, data=parse_check_in({"temperature_c": 36.8}),
        submission_key=uuid.uuid4())[0]
    alert = alert_raise(patient=patient, severity="red", findings=[], rules_version="v1",
                        now=timezone.now())
    superuser = User.objects.create_superuser("root@example.org", PASSWORD, full_name="Root")
    return {"team": team, "nurse": nurse, "clinician": clinician, "team_admin": team_admin,
            "patient": patient, "child": child, "link": link, "check_in": check_in,
            "alert": alert, "superuser": superuser, "caregiver": link.caregiver}


# Rows that may change on a refused submission without anything being stored.
NOT_WATCHED = {AccessLog, TOTPDevice, StaticDevice}


def fingerprint() -> dict[str, list[dict[str, Any]]]:
    """Every row of the project's models (and auth, history), to prove nothing changed."""
    watched = [m for m in apps.get_models()
               if m._meta.app_label in {"accounts", "symptoms", "alerts", "notifications", "auth",
                                        "treatment"}
               and m not in NOT_WATCHED and not m._meta.proxy]
    return {m._meta.label: list(m._default_manager.order_by("pk").values()) for m in watched}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


# ---------------------------------------------------------------------------- portal forms


@dataclass
class FormCase:
    """One form of the portal: who fills it in, where, a valid submission (`base`), and
    the kind of each field the table attacks."""

    who: str  # a key of `world`, or "anonymous"
    args: Callable[[dict], list[Any]]
    base: Callable[[dict], dict[str, str]]
    fields: dict[str, str]
    form: str  # the form class (module.Class), or "" for a view without a Django form
    # A valid `base` is answered with this status (and something is stored, unless
    # stores is False).
    ok_status: int = 302
    stores: bool = True
    # "field" or "field/case" -> reason: rows that still fail and whose owner fixes them.
    xfail: dict[str, str] = field(default_factory=dict)

    def xfail_reason(self, field_name: str, case_id: str) -> str | None:
        return self.xfail.get(f"{field_name}/{case_id}") or self.xfail.get(field_name)
    # Fields refused without a form error (the page is sent back with a message):
    # nothing may be stored, and no 500.
    refused_by_message: frozenset[str] = frozenset()
    url_after: Callable[[Client, dict], str] | None = None


def _check_in_base(world: dict) -> dict[str, str]:
    return {"submission_key": str(uuid.uuid4()), "unit": "c", "temperature": "36.8"}


def _check_in_neuro_base(world: dict) -> dict[str, str]:
    from triage.neuro import ICE_TASKS

    return {"submission_key": str(uuid.uuid4()), **{f"ice_{t.code}": "1" for t in ICE_TASKS}}


def _threshold_base(world: dict) -> dict[str, str]:
    return {"fever_high_c": "37.5", "temp_low_c": "36.0", "spo2_red_below": "92",
            "spo2_amber_below": "95", "bp_low_below": "90", "diarrhoea_amber": "4",
            "diarrhoea_red": "7", "vomiting_amber": "2", "vomiting_red": "6",
            "reason": "Seen in clinic"}


def _patient_base(world: dict) -> dict[str, str]:
    return {"display_name": "New Patient", "date_of_birth": "2015-01-01",
            "hospital_number": "HN-900", "time_zone": "Europe/London"}


def _plan_base(world: dict) -> dict[str, str]:
    # The child's plan as stored (cycle 1 has started: its date is kept), with a bag.
    start = world["child"].treatment_plan.cycles.get(number=1).start_date
    return {"planned_cycles": "2", "cycle_1_start": _iso(start), "bag_hours": "48",
            "usual_change_time": "10:00", "changed_by": "day_unit"}


def _visit_base(world: dict) -> dict[str, str]:
    return {"day": _iso(date.today() + timedelta(days=7)), "at": "09:30",
            "place": "Day unit, level 2"}


def _team_settings_base(world: dict) -> dict[str, str]:
    team = world["team"]
    # Settings added later keep the team's value; these are typed in.
    return {**{name: str(getattr(team, name)) for name in TeamSettingsForm.Meta.fields},
            "line_phone": "01632 960000", "emergency_number": "999",
            "time_zone": "Europe/London", "check_in_cutoff": "20:00",
            "red_escalation_minutes": "15", "red_doctor_minutes": "30",
            "amber_escalation_minutes": "240", "duty_email": "duty@example.org",
            "duty_phone": "01632 960001", "escalation_email": "sister@example.org",
            "escalation_phone": "01632 960002", "on_call_doctor_email": "oncall@example.org",
            "on_call_doctor_phone": "01632 960003"}


def _invitation_token(world: dict) -> str:
    if "invitation_token" not in world:
        _, token = account_services.invitation_create(
            created_by=world["nurse"], care_team=world["team"], patient=world["child"],
            email="dad@example.org", full_name="Dad", role=Role.CAREGIVER,
            relationship="father")
        world["invitation_token"] = token
    return world["invitation_token"]


def _invitation_path(client: Client, world: dict) -> str:
    start = reverse("invitation_accept", args=[_invitation_token(world)])
    response = client.get(start)
    # The token may be moved into the session (kept out of logs and Referer).
    return response["Location"] if response.status_code == 302 else start


def _reset_path(client: Client, world: dict) -> str:
    user = world["patient"].user
    start = reverse("password_reset_confirm", args=[
        urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)])
    return client.get(start)["Location"]  # Django moves the token into the session


def _alert_base(world: dict, **extra: str) -> dict[str, str]:
    alert = Alert.objects.get(pk=world["alert"].pk)
    return {"seen_version": str(getattr(alert, "version", 1)), **extra}


FORMS: dict[str, FormCase] = {
    "login": FormCase(
        "anonymous", lambda w: [], lambda w: {"username": "sam@example.org",
                                              "password": PASSWORD},
        {"username": "email", "password": "password:256"}, "accounts.forms.EmailLoginForm",
        stores=False),
    "password_reset": FormCase(
        "anonymous", lambda w: [], lambda w: {"email": "sam@example.org"},
        {"email": "email"}, "accounts.forms.StrictPasswordResetForm", stores=False),
    "password_change": FormCase(
        "patient_user", lambda w: [],
        lambda w: {"old_password": PASSWORD, "new_password1": "another long phrase 88",
                   "new_password2": "another long phrase 88"},
        {"old_password": "password:256", "new_password1": "password:256",
         "new_password2": "password:256"},
        "accounts.forms.StrictPasswordChangeForm"),
    "password_reset_confirm": FormCase(
        "anonymous", lambda w: [],
        lambda w: {"new_password1": "another long phrase 88",
                   "new_password2": "another long phrase 88"},
        {"new_password1": "password:256", "new_password2": "password:256"},
        "accounts.forms.StrictSetPasswordForm",
        url_after=_reset_path),
    "invitation_accept": FormCase(
        "anonymous", lambda w: [_invitation_token(w)],
        lambda w: {"full_name": "Dad Jones", "password1": "long pass phrase 77",
                   "password2": "long pass phrase 77"},
        {"full_name": "text:150", "password1": "password:256", "password2": "password:256"},
        "accounts.forms.AcceptInvitationForm", url_after=_invitation_path),
    "patient_create": FormCase(
        "nurse", lambda w: [w["team"].pk], _patient_base,
        {"display_name": "text:120", "date_of_birth": "dob", "hospital_number": "text:32",
         "time_zone": "tz"},
        "accounts.forms.PatientForm"),
    # The treatment plan and clinic visits (issue 13): the dates in their windows.
    "treatment_plan": FormCase(
        "nurse", lambda w: [w["child"].pk], _plan_base,
        {"planned_cycles": "int", **{f"cycle_{n}_start": "infusion" for n in range(1, 6)},
         "usual_change_time": "time"},
        "treatment.forms.TreatmentPlanForm"),
    "clinic_visit_add": FormCase(
        "nurse", lambda w: [w["child"].pk], _visit_base,
        {"day": "infusion", "at": "time", "place": "text:120"},
        "treatment.forms.ClinicVisitForm"),
    "invitation_create": FormCase(
        "nurse", lambda w: [w["child"].pk],
        lambda w: {"role": "caregiver", "full_name": "Aunt May", "email": "may@example.org",
                   "relationship": "aunt", "may_log": "on"},
        {"full_name": "text:150", "email": "email", "relationship": "text:60"},
        "accounts.forms.InvitationForm"),
    "staff_invitation_create": FormCase(
        "team_admin", lambda w: [w["team"].pk],
        lambda w: {"role": "nurse", "full_name": "Nat Nurse", "email": "nat@example.org"},
        {"full_name": "text:150", "email": "email"}, "accounts.forms.StaffInvitationForm"),
    "team_settings": FormCase(
        "team_admin", lambda w: [w["team"].pk], _team_settings_base,
        {"line_phone": "text:32", "emergency_number": "text:8", "time_zone": "tz",
         "check_in_cutoff": "time", "red_escalation_minutes": "int",
         "red_doctor_minutes": "int", "amber_escalation_minutes": "int",
         "duty_email": "email", "duty_phone": "text:32", "escalation_email": "email",
         "escalation_phone": "text:32", "on_call_doctor_email": "email",
         "on_call_doctor_phone": "text:32", "seen": "text:4000"},
        "accounts.team_views.TeamSettingsForm",
        # The signed token of what the page showed: a damaged one is a stale page (409).
        refused_by_message=frozenset({"seen"})),
    "account_close": FormCase(
        "patient_user", lambda w: [], lambda w: {"reason": "Moving away"},
        {"reason": "multiline:1000"}, "accounts.people_views.ClosureForm"),
    "check_in_new": FormCase(
        "patient_user", lambda w: [w["patient"].pk], _check_in_base,
        {"temperature": "temperature:1", "spo2": "int", "systolic_bp": "int",
         "heart_rate": "int", "stools_above_baseline": "int", "vomiting_episodes_24h": "int",
         "notes": "multiline:2000", "taken_at": "datetime_local"},
        "symptoms.forms.CheckInForm"),
    # The neuro-only check-in (issue 13): the ICE check whole (the patient is an adult), a note.
    "check_in_neuro": FormCase(
        "patient_user", lambda w: [w["patient"].pk], _check_in_neuro_base,
        {"notes": "multiline:2000"}, "symptoms.forms.CheckInForm"),
    "patient_thresholds": FormCase(
        "nurse", lambda w: [w["patient"].pk], _threshold_base,
        {"fever_high_c": "decimal:1", "temp_low_c": "decimal:1", "spo2_red_below": "int",
         "spo2_amber_below": "int", "bp_low_below": "int", "diarrhoea_amber": "int",
         "diarrhoea_red": "int", "vomiting_amber": "int", "vomiting_red": "int",
         "ice_baseline": "int", "capd_baseline": "int",
         "reason": "multiline:1000", "seen": "text:4000"},
        "nursing.threshold_forms.PatientThresholdsForm",
        # The signed token of what the page showed: a damaged one is a stale page (409).
        refused_by_message=frozenset({"seen"})),
    "alert_resolve": FormCase(
        "nurse", lambda w: [w["alert"].pk],
        lambda w: _alert_base(w, outcome="advice_given", note="Called back"),
        {"note": "multiline:2000", "seen_version": "int"}, "",
        refused_by_message=frozenset({"seen_version"})),
    "alert_acknowledge": FormCase(
        "nurse", lambda w: [w["alert"].pk], lambda w: _alert_base(w),
        {"seen_version": "int"}, "", refused_by_message=frozenset({"seen_version"})),
    # "Bag changed now": an empty form records now (treatment/bag_change_views.py).
    "bag_changes": FormCase(
        "nurse", lambda w: [w["patient"].pk], lambda w: {},
        {"changed_at": "datetime_local", "note": "multiline:500"},
        "treatment.bag_change_views.BagChangeForm"),
    "two_factor_verify": FormCase(
        "staff_needing_code", lambda w: [], lambda w: {"token": w["totp"]()},
        {"token": "otp"}, "accounts.forms.TokenForm", stores=False),
    "two_factor_code": FormCase(
        "staff_with_code", lambda w: [], lambda w: {"code": w["enrolment_code"]},
        {"code": "text:20"}, "accounts.views.EnrolmentCodeForm"),
    "two_factor_setup": FormCase(
        "staff_enrolling", lambda w: [], lambda w: {"token": w["totp"]()},
        {"token": "otp"}, "accounts.forms.TokenForm", stores=False),
}

# URL patterns with no form input of their own, and why.
NO_FORM = {
    "home": "a page", "staff_home": "a page", "patient_detail": "a page",
    "check_in_history": "a page", "check_in_result": "a page", "patient_timeline": "a page",
    "export_csv": "a download", "export_json": "a download", "healthz": "a status",
    "alert_list": "a page (its ?page= goes through Django's Paginator)",
    "alert_detail": "a page", "team_people": "a page", "patient_access_log": "a page",
    "caregiver_link_revoke": "a button: the id is in the URL (an int converter)",
    "membership_remove": "a button: the id is in the URL (an int converter)",
    "user_deactivate": "a button: `team` is compared as text with the admin's team ids "
                       "(test_team_of_a_button_is_read_exactly)",
    "enrolment_code_create": "a button: `team` as for user_deactivate",
    "bag_change_cancel": "a button: `bag_change` is read with portal.fields' strict "
                         "integer field and looked up among the patient's own records "
                         "(tests/treatment/test_bag_changes_views.py)",
    "logout": "a button", "password_change_done": "a page", "password_reset_done": "a page",
    "password_reset_complete": "a page",
    "clinic_visit_cancel": "a button: the id is in the URL (an int converter)",
    "calendar_feed_create": "a button: the patient id is in the URL (an int converter)",
    "calendar_feed_revoke": "a button: the id is in the URL (an int converter)",
    "calendar_feed": "a download: the token is only looked up by its SHA-256",
}


# Forms of the project used outside the portal's URL patterns, and where they are tested.
FORMS_ELSEWHERE = {
    "accounts.forms.StrictAdminLoginForm": "the admin site's sign-in (strict email and "
                                           "password boxes); tests/accounts/test_security.py",
}


def _url_names(resolvers=None):
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin" or str(entry.pattern).startswith("bench/"):
                continue  # the admin half is below; bench views exist only in benchmarks
            yield from _url_names(entry.url_patterns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name


def _project_form_classes() -> set[str]:
    """Every Form class defined in a module of the apps (admin forms are the admin half's)."""
    found = set()
    for app in ("accounts", "symptoms", "alerts", "notifications", "nursing", "portal",
                "treatment"):
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if (".migrations" in info.name or ".management" in info.name
                    or info.name.endswith(".admin")):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (isinstance(value, type) and issubclass(value, forms.BaseForm)
                        and value.__module__ == info.name):
                    found.add(f"{info.name}.{value.__name__}")
    return found


def test_every_url_and_form_is_in_the_table():
    names = set(_url_names())
    undeclared = names - set(FORMS) - set(NO_FORM)
    assert not undeclared, f"declare {sorted(undeclared)} in FORMS (a form) or NO_FORM (why not)"
    stale = (set(FORMS) | set(NO_FORM)) - names
    assert not stale, f"the table names views that no longer exist: {sorted(stale)}"
    declared_forms = {case.form for case in FORMS.values() if case.form} | set(FORMS_ELSEWHERE)
    missing = {f for f in _project_form_classes()} - declared_forms
    assert not missing, f"forms without a row in FORMS: {sorted(missing)}"


# Forms built from portal/fields.py: their messages start with the field's label.
STRICT_FORM_MODULES = ("accounts.forms.", "accounts.team_views.", "accounts.people_views.")


def _client_for(world: dict, who: str) -> Client:
    if who == "anonymous":
        return Client()
    if who == "patient_user":
        return verified_client(world["patient"].user)
    if who in ("staff_needing_code", "staff_enrolling", "staff_with_code"):
        user = StaffFactory(team=world["team"])
        client = Client()
        client.force_login(user)
        if who == "staff_with_code":
            world["enrolment_code"] = enrolment.enrolment_code_issue(user=user, issued_by=None)
            return client
        device = TOTPDevice.objects.create(user=user, name="app",
                                           confirmed=who == "staff_needing_code")
        world["totp"] = lambda: f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"  # noqa: E501
        if who == "staff_enrolling":
            # The first enrolment is granted to the invitation's session or by a code
            # (accounts/enrolment.py); here the grant is given directly.
            session = client.session
            session[enrolment.SESSION_KEY] = user.pk
            session.save()
        return client
    return verified_client(world[who])


def _form_errors(response) -> dict[str, Any] | None:
    context = response.context
    if context is None:
        return None
    if "form" in context and hasattr(context["form"], "errors"):
        return context["form"].errors
    if "errors" in context:
        return context["errors"]
    return None


def _submit(world: dict, name: str, change: dict[str, str]):
    """POST the row's valid submission with `change` applied; (response, changed tables).
    The fingerprint is taken after the signed-in user and its setup exist."""
    case = FORMS[name]
    client = _client_for(world, case.who)
    url = (case.url_after(client, world) if case.url_after
           else reverse(name, args=case.args(world)))
    data = {**case.base(world), **change}
    before = fingerprint()
    response = client.post(url, data)
    return response, changed_tables(before, fingerprint())


CASES = [
    pytest.param(name, field_name, kind_id, id=f"{name}.{field_name}-{kind_id}",
                 marks=[pytest.mark.xfail(strict=True, reason=reason)]
                 if (reason := case.xfail_reason(field_name, kind_id)) else [])
    for name, case in FORMS.items()
    for field_name, kind in case.fields.items() if kind != "otp"
    for kind_id in values_for(kind)
]


@pytest.mark.parametrize(("name", "field_name", "kind_id"), CASES)
def test_hostile_value_is_refused_on_its_field(world, name, field_name, kind_id):
    case = FORMS[name]
    value = values_for(case.fields[field_name])[kind_id]
    response, changed = _submit(world, name, {field_name: value})
    assert response.status_code != 500
    if field_name in case.refused_by_message:
        assert not changed, f"something was stored: {changed}"
        return
    assert response.status_code in (200, 400, 429), (
        f"{name}.{field_name} accepted {kind_id!r}: {response.status_code}")
    errors = _form_errors(response)
    assert errors is not None, "the page shows no form errors"
    assert field_name in errors, f"{name}: the error is not on {field_name}: {dict(errors)}"
    assert not changed, f"something was stored: {changed}"
    if case.form.startswith(STRICT_FORM_MODULES):
        label = str(response.context["form"][field_name].label)
        assert any(str(message).startswith(label) for message in errors[field_name]), (
            f"the message does not name {label!r}: {errors[field_name]}")


# Fields that take only one of the values the page offers (or a hidden key): no text.
CHOICE_FIELDS = (forms.BooleanField, forms.NullBooleanField, forms.ChoiceField,
                 forms.UUIDField, forms.ModelChoiceField)


@pytest.mark.parametrize("name", sorted(n for n, c in FORMS.items() if c.form))
def test_every_text_field_of_each_form_is_in_its_row(world, name):
    """A field added to a form is attacked by the table as soon as it exists: every field
    that takes typed text must be declared with its kind."""
    case = FORMS[name]
    client = _client_for(world, case.who)
    url = (case.url_after(client, world) if case.url_after
           else reverse(name, args=case.args(world)))
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    form = page.context["form"]
    assert f"{type(form).__module__}.{type(form).__name__}" == case.form or isinstance(
        form, _import(case.form))
    undeclared = [field_name for field_name, form_field in form.fields.items()
                  if field_name not in case.fields and not isinstance(form_field, CHOICE_FIELDS)]
    assert not undeclared, f"declare the kind of {undeclared} in FORMS[{name!r}].fields"


def _import(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_the_valid_submission_of_each_row_is_accepted(world, name):
    """The table is not vacuous: without the hostile value, each form is accepted (so a
    refusal above is the hostile value's doing)."""
    case = FORMS[name]
    response, changed = _submit(world, name, {})
    assert response.status_code == case.ok_status, _form_errors(response)
    if case.stores:
        assert changed


@pytest.mark.parametrize("name", ["two_factor_verify", "two_factor_setup"])
@pytest.mark.parametrize("variant", ["Arabic-Indic digits", "full-width digits", "NUL",
                                     "underscore"])
def test_one_time_code_only_in_ascii_digits(world, name, variant):
    """The right code written another way is refused: str.isdigit() and int() read
    Arabic-Indic and full-width digits as the same number."""
    case = FORMS[name]
    client = _client_for(world, case.who)
    code = world["totp"]()
    typed = {"Arabic-Indic digits": code.translate(ARABIC_INDIC),
             "full-width digits": code.translate(FULL_WIDTH),
             "NUL": code[:3] + "\x00" + code[3:],
             "underscore": code[:3] + "_" + code[3:]}[variant]
    response = client.post(reverse(name), {"token": typed})
    assert response.status_code == 200
    assert "token" in response.context["form"].errors


def test_next_is_never_reversed_or_followed_off_site(world):
    client = _client_for(world, "nurse")
    for target in ("id", "alert_list", "//evil.example/", "https://evil.example/",
                   "/\\evil.example", "javascript:alert(1)", "a\x00b"):
        alert = Alert.objects.get(pk=world["alert"].pk)
        response = client.post(reverse("alert_acknowledge", args=[alert.pk]),
                               _alert_base(world, next=target))
        assert response.status_code == 302, (target, response.status_code)
        location = response["Location"]
        assert location.startswith("/"), location
        assert not location.startswith(("//", "/\\")), location


@pytest.mark.parametrize("name", ["user_deactivate", "enrolment_code_create"])
def test_team_of_a_button_is_read_exactly(world, name):
    """`team` names the team by its id as the page wrote it; "+7", "07" or "7" in another
    script's digits names no team, and nothing happens."""
    for _ in range(10):
        CareTeamFactory()
    client = _client_for(world, "team_admin")
    team_id = str(world["team"].pk)
    for typed in ("+" + team_id, " " + team_id, "0" + team_id, team_id + "\x00",
                  team_id.translate(ARABIC_INDIC), team_id.translate(FULL_WIDTH)):
        before = fingerprint()
        response = client.post(reverse(name, args=[world["nurse"].pk]), {"team": typed})
        assert response.status_code in (302, 404), (typed, response.status_code)
        assert not changed_tables(before, fingerprint()), typed


# ---------------------------------------------------------------------------- values kept exactly


def test_accepted_values_are_stored_exactly(world):
    """What is accepted is stored as typed: no rounding, no cut, normalised only as the
    sign-in reads it (email case) and as a textarea sends it (CR LF)."""
    client = _client_for(world, "nurse")
    response = client.post(reverse("patient_create", args=[world["team"].pk]), {
        **_patient_base(world), "hospital_number": "hn-901",
        "display_name": "Zoë Ødegård-Ñúñez", "date_of_birth": "1900-01-01"})
    assert response.status_code == 302
    created = Patient.objects.get(hospital_number="HN-901")
    assert (created.date_of_birth, created.display_name) == (
        date(1900, 1, 1), "Zoë Ødegård-Ñúñez")
    admin_client = _client_for(world, "team_admin")
    response = admin_client.post(reverse("staff_invitation_create", args=[world["team"].pk]),
                                 {"role": "nurse", "full_name": "Nat",
                                  "email": "Nat.Nurse@Example.ORG"})
    assert response.status_code == 302
    assert Invitation.objects.filter(email="nat.nurse@example.org").exists()
    closing = _client_for(world, "patient_user")
    reason = "line one\r\n" + "x" * 990
    assert closing.post(reverse("account_close"), {"reason": reason}).status_code == 302
    assert world["patient"].user.closure_requests.get().reason == reason.replace("\r\n", "\n")


def test_threshold_decimal_is_not_rounded(world):
    client = _client_for(world, "nurse")
    response = client.post(reverse("patient_thresholds", args=[world["patient"].pk]),
                           {**_threshold_base(world), "spo2_amber_below": "95.5"})
    stored = Patient.objects.get(pk=world["patient"].pk).thresholds.get("spo2_amber_below")
    if response.status_code == 302:
        assert str(stored) == "95.5", f"saved as {stored!r}"
    else:
        assert response.status_code in (200, 400)
        assert stored is None


# ---------------------------------------------------------------------------- duplicates


def test_duplicates_are_refused_on_the_field(world):
    nurse = _client_for(world, "nurse")
    before = fingerprint()
    # A hospital number is one number whatever its case.
    response = nurse.post(reverse("patient_create", args=[world["team"].pk]),
                          {**_patient_base(world), "hospital_number": "hn-100"})
    assert response.status_code == 200
    assert "hospital_number" in response.context["form"].errors
    assert not changed_tables(before, fingerprint())


# ---------------------------------------------------------------------------- admin


def _admin_objects() -> dict[str, Callable[[dict], Any]]:
    def axes_attempt(world):
        from axes.models import AccessAttempt

        return AccessAttempt.objects.create(username="x@example.org", ip_address="192.0.2.1",
                                            user_agent="t", failures_since_start=1)

    def axes_log(world):
        from axes.models import AccessLog as AxesAccessLog

        return AxesAccessLog.objects.create(username="x@example.org", ip_address="192.0.2.1",
                                            user_agent="t")

    def axes_failure(world):
        from axes.models import AccessFailureLog

        return AccessFailureLog.objects.create(username="x@example.org",
                                               ip_address="192.0.2.1", user_agent="t",
                                               locked_out=False)

    return {
        "auth.Group": lambda w: Group.objects.create(name="Ward"),
        "otp_totp.TOTPDevice": lambda w: TOTPDevice.objects.create(user=w["nurse"], name="app"),
        "otp_static.StaticDevice": lambda w: StaticDevice.objects.create(user=w["nurse"],
                                                                         name="backup"),
        "axes.AccessAttempt": axes_attempt,
        "axes.AccessLog": axes_log,
        "axes.AccessFailureLog": axes_failure,
        "accounts.User": lambda w: w["caregiver"],
        "accounts.CareTeam": lambda w: w["team"],
        "accounts.Patient": lambda w: w["child"],
        "accounts.CaregiverLink": lambda w: w["link"],
        "accounts.Membership": lambda w: Membership.objects.get(user=w["nurse"]),
        "accounts.Invitation": lambda w: Invitation.objects.get(
            token_hash=__import__("accounts.models").models.hash_token(_invitation_token(w))),
        "accounts.AccessLog": lambda w: AccessLog.objects.create(
            user=w["nurse"], patient=w["patient"], action="view", path="/"),
        "treatment.TreatmentCycle": lambda w: w["child"].treatment_plan.cycles.get(number=1),
    }


ADMIN_OBJECTS = _admin_objects()


def test_every_admin_model_is_in_the_table():
    importlib.import_module(settings.ROOT_URLCONF)  # where harden_admin_site() runs
    registered = {model._meta.label for model in admin.site._registry}
    assert registered == set(ADMIN_OBJECTS), (
        f"add to ADMIN_OBJECTS: {sorted(registered - set(ADMIN_OBJECTS))}; "
        f"stale: {sorted(set(ADMIN_OBJECTS) - registered)}")
    for model_admin in admin.site._registry.values():
        assert isinstance(model_admin, strict.StrictAdminMixin), type(model_admin)


def test_every_admin_add_form_has_only_strict_fields(world):
    """The add forms (which differ from the change forms for users) are strict too; the
    values are those the change forms are tested with."""
    client = verified_client(world["superuser"])
    checked = 0
    for model in admin.site._registry:
        page = client.get(reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_add"))
        if page.status_code == 403:  # read-only: written by the app
            continue
        assert page.status_code == 200, model
        for form_field in page.context["adminform"].form.fields.values():
            if isinstance(form_field, forms.CharField) and type(form_field) is forms.CharField \
                    and isinstance(form_field.widget, forms.PasswordInput):
                continue  # Django's two password boxes: hashed, never shown or stored
            _admin_kind(form_field)
        checked += 1
    assert checked >= 8


class _FormReader(HTMLParser):
    """The fields a browser would send from the admin's change form, as the page has them."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.data = form_id, False, []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button",
                                                                      "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.append((a["name"], a.get("value") or ("on" if a.get("type") ==
                                                             "checkbox" else "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.data.append((self._select, a.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            self.data.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)


def _admin_form_data(response, model) -> dict[str, Any]:
    reader = _FormReader(f"{model._meta.model_name}_form")
    reader.feed(response.content.decode())
    data: dict[str, Any] = {}
    for name, value in reader.data:
        data.setdefault(name, []).append(value)
    return data


def _admin_kind(form_field: forms.Field) -> str | None:
    """The kind of hostile values a field of an admin form gets; None for a field that
    only takes one of the values offered (checkbox, choice). AssertionError for a field
    that is not strict."""
    if isinstance(form_field, strict.StrictEmailField):
        return "email"
    if isinstance(form_field, strict.StrictTimeZoneField):
        return "tz"
    if isinstance(form_field, strict.StrictTextField):
        return f"{'multiline' if form_field.multiline else 'text'}:{form_field.max_length}"
    if isinstance(form_field, strict.StrictIntegerField):
        return "int"
    if isinstance(form_field, strict.StrictDecimalField):
        return f"decimal:{form_field.decimal_places}"
    if isinstance(form_field, strict.StrictDateField):
        return "date"
    if isinstance(form_field, strict.StrictSplitDateTimeField):
        return "split"
    if isinstance(form_field, strict.StrictTimeField):
        return "time"
    if isinstance(form_field, strict.StrictJSONField):
        return "json"
    if isinstance(form_field, strict.StrictModelChoiceField
                  | strict.StrictModelMultipleChoiceField):
        return "id"
    if isinstance(form_field, forms.BooleanField | forms.NullBooleanField | forms.ChoiceField
                  | ReadOnlyPasswordHashField):
        return None
    raise AssertionError(f"{type(form_field).__name__} is not a strict field")


def _admin_values(name: str, form_field: forms.Field, kind: str,
                  model_field_value: Any) -> dict[str, dict[str, Any]]:
    """Hostile POST changes for one admin field: case id -> {post key: value}."""
    if kind == "date":
        earliest = strict._bound(form_field.earliest)
        latest = strict._bound(form_field.latest)
        return {k: {name: v} for k, v in _date_values(earliest, latest).items()}
    if kind == "split":
        today = _iso(date.today())
        return {
            "year 1": {f"{name}_0": "0001-01-01", f"{name}_1": "10:00:00"},
            "9999-12-31": {f"{name}_0": "9999-12-31", f"{name}_1": "23:59:59"},
            "30 February": {f"{name}_0": "2026-02-30", f"{name}_1": "10:00:00"},
            "hour 25": {f"{name}_0": today, f"{name}_1": "25:00:00"},
            "NUL in time": {f"{name}_0": today, f"{name}_1": "10:00\x00"},
            "no zero padding": {f"{name}_0": "2026-1-1", f"{name}_1": "10:00:00"},
        }
    if kind == "id":
        other = form_field.queryset.exclude(pk__in=[v for v in [model_field_value] if v])
        other = other.order_by("-pk").first() or form_field.queryset.order_by("-pk").first()
        if other is None:
            return {}  # nothing to choose (no groups yet)
        pk = str(other.pk)
        variants = {"plus sign": "+" + pk, "leading space": " " + pk, "leading zero": "0" + pk,
                    "Arabic-Indic digits": pk.translate(ARABIC_INDIC), "NUL": pk + "\x00"}
        if len(pk) > 1:
            variants["underscore"] = pk[0] + "_" + pk[1:]
        return {k: {name: v} for k, v in variants.items()}
    return {k: {name: v} for k, v in values_for(kind).items()}


@pytest.mark.parametrize("label", sorted(ADMIN_OBJECTS))
def test_admin_change_form_refuses_hostile_values(world, label):
    model = apps.get_model(label)
    obj = ADMIN_OBJECTS[label](world)
    # Enough objects that an id has two digits ("1_0" is read as 10 by int()).
    for _ in range(10):
        CareTeamFactory()
        UserFactory()
    client = verified_client(world["superuser"])
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                  args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    model_admin = admin.site._registry[model]
    request = page.wsgi_request
    if not model_admin.has_change_permission(request, obj):
        before = fingerprint()
        response = client.post(url, {"username": "a\x00b"})
        assert response.status_code == 403
        assert not changed_tables(before, fingerprint())
        return
    form = page.context["adminform"].form
    base = _admin_form_data(page, model)
    # The page as it is must be accepted unchanged (so a refusal is the value's doing).
    response = client.post(url, base)
    assert response.status_code == 302, page.context and response.context[
        "adminform"].form.errors
    failures = []
    for name, form_field in form.fields.items():
        kind = _admin_kind(form_field)
        if kind is None:
            continue
        current = getattr(obj, f"{name}_id", None) if kind == "id" else None
        for case_id, change in _admin_values(name, form_field, kind, current).items():
            before = fingerprint()
            response = client.post(url, {**base, **change})
            problem = None
            if response.status_code == 500:
                problem = "HTTP 500"
            elif response.status_code != 200:
                problem = f"accepted ({response.status_code})"
            elif name not in response.context["adminform"].form.errors:
                problem = f"error not on the field: {response.context['adminform'].form.errors}"
            elif changed_tables(before, fingerprint()):
                problem = "stored"
            elif not any(str(m).startswith(str(form_field.label)) for m in
                         response.context["adminform"].form.errors[name]):
                problem = "the message does not name the field"
            if problem:
                failures.append(f"{label}.{name} {case_id}: {problem}")
    assert not failures, "\n".join(failures)


def test_admin_ids_in_urls_are_read_exactly(world):
    client = verified_client(world["superuser"])
    for _ in range(12):
        CareTeamFactory()
    team = CareTeamFactory()
    assert team.pk >= 10
    odd = str(team.pk)[0] + "_" + str(team.pk)[1:]
    response = client.get(reverse("admin:accounts_careteam_change", args=[odd]))
    assert response.status_code == 302  # "doesn't exist", back to the list
    assert client.get(reverse("admin:accounts_careteam_change",
                              args=[team.pk])).status_code == 200


def test_admin_duplicates_are_refused_on_the_field(world):
    client = verified_client(world["superuser"])
    # An email is one account whatever its case (sign-in ignores case).
    response = client.post(reverse("admin:accounts_user_add"), {
        "email": "NURSE@Example.org", "full_name": "Copy", "role": "nurse",
        "password1": "long pass phrase 77", "password2": "long pass phrase 77"})
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact="nurse@example.org").count() == 1
    # A hospital number is one number in a team whatever its case.
    child = world["child"]
    page = client.get(reverse("admin:accounts_patient_change", args=[child.pk]))
    data = _admin_form_data(page, Patient)
    response = client.post(reverse("admin:accounts_patient_change", args=[child.pk]),
                           {**data, "hospital_number": "hn-100"})
    assert response.status_code == 200
    # The constraint spans team and number: Django reports it for the form, naming both.
    errors = response.context["adminform"].form.errors
    assert "hospital_number" in errors or "Hospital number" in str(errors.get("__all__"))
    assert Patient.objects.get(pk=child.pk).hospital_number == "HN-200"
    # One membership of a person in a team.
    membership = Membership.objects.get(user=world["clinician"])
    page = client.get(reverse("admin:accounts_membership_change", args=[membership.pk]))
    data = _admin_form_data(page, Membership)
    response = client.post(reverse("admin:accounts_membership_change", args=[membership.pk]),
                           {**data, "user": str(world["nurse"].pk)})
    assert response.status_code == 200
    assert Membership.objects.get(pk=membership.pk).user == world["clinician"]


# ---------------------------------------------------------------------------- production


def test_production_settings_parse_as_strictly():
    """Under production settings (Redis cache, no DEBUG) the same layer is in force: every
    admin form is strict, the time-zone list is the geographic one, and a form refuses
    what the table refuses. (Only settings are loaded; no service is contacted.)"""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL",
                                                           "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(DJANGO_ENV="production", DJANGO_SECRET_KEY="p6-" + "0123456789abcdef" * 4,
               REDIS_URL="redis://127.0.0.1:6379/14")
    code = """
import django, json
django.setup()
import portal.urls
from django.contrib import admin
from accounts.forms import InvitationForm
from portal import fields
form = InvitationForm({"role": "caregiver", "full_name": "A\\u202eB", "relationship": "1_0",
                       "email": "a" * 250 + "@example.org"})
form.is_valid()
print(json.dumps({
    "strict_admins": all(isinstance(a, fields.StrictAdminMixin)
                         for a in admin.site._registry.values()),
    "zones": len(fields.geographic_time_zones()),
    "london": "Europe/London" in fields.geographic_time_zones(),
    "localtime": "localtime" in fields.geographic_time_zones(),
    "errors": sorted(form.errors),
}))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent,
                            env=env, text=True, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["strict_admins"] is True
    assert values["zones"] > 300
    assert values["london"] is True
    assert values["localtime"] is False
    assert values["errors"] == ["email", "full_name"]


def test_admin_saves_an_old_stored_date_unchanged_but_refuses_a_new_one(world):
    """The cycle-start window moves with today: a record from years ago can still be
    saved with its date unchanged, but no other date outside the window is accepted."""
    from treatment.models import TreatmentCycle

    cycle = world["child"].treatment_plan.cycles.get(number=1)
    long_ago = date.today() - timedelta(days=6 * 366)
    TreatmentCycle.objects.filter(pk=cycle.pk).update(start_date=long_ago)
    client = verified_client(world["superuser"])
    url = reverse("admin:treatment_treatmentcycle_change", args=[cycle.pk])
    data = _admin_form_data(client.get(url), TreatmentCycle)
    assert data["start_date"] == [long_ago.strftime("%d/%m/%Y")]
    response = client.post(url, data)
    assert response.status_code == 302
    response = client.post(url, {**data, "start_date": _iso(long_ago - timedelta(1))})
    assert response.status_code == 200
    assert "start_date" in response.context["adminform"].form.errors
    assert TreatmentCycle.objects.get(pk=cycle.pk).start_date == long_ago


@pytest.mark.parametrize("name", ["account_close", "check_in_new", "patient_create"])
def test_a_body_over_the_upload_limits_is_a_400_not_a_500(world, name):
    """Past DATA_UPLOAD_MAX_MEMORY_SIZE (a 3 MB field) or DATA_UPLOAD_MAX_NUMBER_FIELDS
    (2,000 fields), Django refuses the request itself: 400, nothing stored."""
    case = FORMS[name]
    for extra in ({"padding": "x" * 3_000_000},
                  {f"f{i}": "1" for i in range(2_000)}):
        client = _client_for(world, case.who)
        url = reverse(name, args=case.args(world))
        before = fingerprint()
        response = client.post(url, {**case.base(world), **extra})
        assert response.status_code == 400
        assert not changed_tables(before, fingerprint())


def test_hostile_query_parameters_never_500(world):
    """The few query parameters (page, since, partial, next) answer a page, never a 500."""
    nurse = _client_for(world, "nurse")
    patient = world["patient"]
    pages = [reverse("alert_list"), reverse("alert_detail", args=[world["alert"].pk]),
             reverse("check_in_history", args=[patient.pk]),
             reverse("patient_timeline", args=[patient.pk])]
    for path in pages:
        for name in ("page", "since", "partial"):
            for value in ("1_0", "NaN", "-1", "9" * 40, "a\x00b", "\u0661", "1e9"):
                response = nurse.get(path, {name: value})
                assert response.status_code == 200, (path, name, value,
                                                     response.status_code)
    for value in ("id", "//evil.example", "a\x00b", "https://evil.example/"):
        response = Client().get(reverse("login"), {"next": value})
        assert response.status_code == 200


# What an add form needs besides the defaults it renders, per model with an add form.
def _add_fill(world: dict) -> dict[str, dict[str, str]]:
    today = date.today()
    return {
        "auth.Group": {"name": "Night shift"},
        "otp_totp.TOTPDevice": {"user": str(world["nurse"].pk), "name": "phone"},
        "otp_static.StaticDevice": {"user": str(world["nurse"].pk), "name": "paper"},
        "accounts.User": {"email": "new.person@example.org", "full_name": "New Person",
                          "role": "nurse", "password1": "long pass phrase 77",
                          "password2": "long pass phrase 77"},
        # (The add pages show "null" in the thresholds box, which the thresholds field
        # refuses: reported to the check-in engineer; "{}" is typed here.)
        "accounts.CareTeam": {"name": "Second team", "line_phone": "01632 960555",
                              "thresholds": "{}"},
        "accounts.Patient": {"care_team": str(world["team"].pk), "display_name": "Ada",
                             "date_of_birth": "2016-03-01", "hospital_number": "HN-777",
                             "time_zone": "Europe/London", "thresholds": "{}"},
        "accounts.CaregiverLink": {"caregiver": str(world["nurse"].pk),
                                   "patient": str(world["patient"].pk),
                                   "relationship": "aunt"},
        "accounts.Membership": {"user": str(world["caregiver"].pk),
                                "team": str(world["team"].pk)},
        "accounts.Invitation": {"email": "inv@example.org", "full_name": "Inv",
                                "role": "nurse", "care_team": str(world["team"].pk),
                                "created_by": str(world["nurse"].pk),
                                "expires_at_0": _iso(today + timedelta(days=2)),
                                "expires_at_1": "10:00:00"},
    }


@pytest.mark.parametrize("label", sorted(ADMIN_OBJECTS))
def test_admin_add_form_refuses_hostile_values(world, label):
    model = apps.get_model(label)
    client = verified_client(world["superuser"])
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    page = client.get(url)
    if page.status_code == 403:
        before = fingerprint()
        assert client.post(url, {"username": "a\x00b"}).status_code == 403
        assert not changed_tables(before, fingerprint())
        return
    fill = _add_fill(world)
    assert label in fill, f"give the values the {label} add form needs in _add_fill"
    base = {**_admin_form_data(page, model), **fill[label]}
    form = page.context["adminform"].form
    failures = []
    for name, form_field in form.fields.items():
        kind = _admin_kind(form_field) if not (
            type(form_field) is forms.CharField
            and isinstance(form_field.widget, forms.PasswordInput)) else "password"
        if kind is None:
            continue
        values = ({k: {name: v} for k, v in PASSWORD_NUL.items()} if kind == "password"
                  else _admin_values(name, form_field, kind, None))
        for case_id, change in values.items():
            before = fingerprint()
            response = client.post(url, {**base, **change})
            if response.status_code == 500:
                failures.append(f"{label}.{name} {case_id}: HTTP 500")
            elif response.status_code != 200:
                failures.append(f"{label}.{name} {case_id}: accepted")
            elif name not in response.context["adminform"].form.errors:
                failures.append(f"{label}.{name} {case_id}: error not on the field")
            elif changed_tables(before, fingerprint()):
                failures.append(f"{label}.{name} {case_id}: stored")
    assert not failures, "\n".join(failures)
    # The base is valid: the refusals above were the hostile values' doing.
    response = client.post(url, base)
    assert response.status_code == 302, response.context and response.context[
        "adminform"].form.errors
    # And the same submission again is a duplicate or a second object, never a 500.
    assert client.post(url, base).status_code in (200, 302)
