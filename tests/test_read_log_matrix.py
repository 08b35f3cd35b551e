"""The read log matrix, generated from the URL configuration and the admin registry.

Every named URL pattern declares whether its page writes the read log (AccessLog, through
accounts/audit.py) when care staff open it, and if not, why not. A view that shows a
patient's data to staff must log; a new URL that is not declared here fails
`test_every_url_declares_its_read_log`, and every declared "logs" is proved by a request.
The admin site's models are declared the same way (`ADMIN_READS`), and every one that
holds patient data is proved on its list, change and history pages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import services as account_services
from accounts.models import AccessLog, Role, User
from symptoms import services
from tests.conftest import verified_client
from tests.factories import CaregiverLinkFactory, PatientFactory, StaffFactory, UserFactory
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Logs:
    """GET as `role` on the world's own object of `kind` (None: a URL without an id)
    writes an AccessLog row with `action` for the world's patient."""

    action: str
    kind: str | None
    role: str = "nurse"
    query: str = ""


@dataclass(frozen=True)
class NotLogged:
    why: str


OWN = "the signed-in person's own account; no other person's data"

READS: dict[str, Logs | NotLogged] = {
    # Pages that show a patient's data to staff.
    "staff_home": Logs("view staff home", None),
    "patient_detail": Logs("view patient", "patient"),
    "invitation_create": Logs("invite for patient", "patient"),
    "team_settings": Logs("view team settings", "team", role="team_admin"),
    "team_people": Logs("view people list", "team", role="team_admin"),
    "patient_access_log": Logs("view access log", "patient", role="team_admin"),
    "check_in_new": Logs("open check-in form", "patient"),
    "check_in_neuro": Logs("open check-in form", "patient"),
    "check_in_history": Logs("view history", "patient"),
    "check_in_result": Logs("view check-in", "check_in"),
    "patient_thresholds": Logs("view thresholds", "patient"),
    "patient_timeline": Logs("view timeline", "patient"),
    "export_csv": Logs("export csv", "patient"),
    "export_json": Logs("export json", "patient"),
    "alert_list": Logs("view queue", None),
    "alert_detail": Logs("view alert", "alert"),
    "bag_changes": Logs("view bag changes", "patient"),
    "treatment_plan": Logs("view treatment plan", "patient"),
    "clinic_visit_add": Logs("view treatment plan", "patient"),
    # Pages that do not.
    "home": NotLogged("staff are sent on to staff_home (which logs); a patient or "
                      "caregiver sees their own family's list, which is not a read by others"),
    "patient_create": NotLogged("a blank form for a new patient; saving redirects to "
                                "patient_detail, which logs"),
    "staff_invitation_create": NotLogged("a staff invitation names no patient"),
    "membership_remove": NotLogged("POST only, names staff; redirects to team_settings"),
    "user_deactivate": NotLogged("POST only; redirects to team_people, which logs"),
    "caregiver_link_revoke": NotLogged("POST only; redirects to patient_detail, which logs"),
    "alert_acknowledge": NotLogged("POST only; redirects to the alert or the queue, which "
                                   "log"),
    "alert_resolve": NotLogged("POST only; redirects to the alert or the queue, which log; "
                               "a refused note re-renders the alert page, which logs"),
    "bag_change_cancel": NotLogged("POST only; redirects to bag_changes, which logs; a "
                                   "refusal re-renders that page, which logs"),
    "account_close": NotLogged(OWN),
    "invitation_accept": NotLogged("the invited person's own invitation, before or as they "
                                   "get access; not a read by staff"),
    "healthz": NotLogged("delivery counts and status only; no patient"),
    "login": NotLogged(OWN),
    "logout": NotLogged(OWN),
    "password_change": NotLogged(OWN),
    "password_change_done": NotLogged(OWN),
    "password_reset": NotLogged(OWN),
    "password_reset_done": NotLogged(OWN),
    "password_reset_confirm": NotLogged(OWN),
    "password_reset_complete": NotLogged(OWN),
    "two_factor_setup": NotLogged(OWN),
    "two_factor_verify": NotLogged(OWN),
    "two_factor_code": NotLogged(OWN),
    "enrolment_code_create": NotLogged("POST only; names a member of staff, no patient"),
    "clinic_visit_cancel": NotLogged("POST only; redirects to treatment_plan, which logs"),
    "calendar_feed_create": NotLogged("POST only; for staff the plan page it shows logs, for "
                                      "the family it is their own patient"),
    "calendar_feed_revoke": NotLogged("POST only; redirects to treatment_plan (which logs) "
                                      "or the family's home"),
    "calendar_feed": NotLogged("the family's phone, no sign-in: nobody to log (the feed's "
                               "last_used_at is kept); the path is redacted from logs"),
}
# Benchmark-only URLs exist only with HOMELINE_BENCH_VIEWS=1 (portal/bench_views.py).
BENCH_PREFIX = "bench"

ADMIN_READS: dict[str, str] = {
    # "logs", or why the model's admin pages are not in the read log.
    "accounts.patient": "logs",
    "accounts.user": "logs",
    "accounts.caregiverlink": "logs",
    "accounts.invitation": "logs",
    "accounts.accesslog": "logs",
    "treatment.treatmentcycle": "logs",
    "accounts.careteam": "a team's settings; no patient",
    "accounts.membership": "staff in teams; no patient",
    "auth.group": "permission groups; no patient",
    "otp_totp.totpdevice": "staff authenticators; no patient",
    "otp_static.staticdevice": "staff backup codes; no patient",
    "axes.accessattempt": "sign-in attempts (the name as typed, an address): security, "
                          "not a patient's record",
    "axes.accesslog": "sign-ins (the name, an address): security, not a patient's record",
    "axes.accessfailurelog": "failed sign-ins: security, not a patient's record",
}


def _names(entries=None):
    for entry in get_resolver().url_patterns if entries is None else entries:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # declared per model in ADMIN_READS
            yield from _names(entry.url_patterns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name


def test_every_url_declares_its_read_log():
    found = {name for name in _names() if not name.startswith(BENCH_PREFIX)}
    undeclared = found - set(READS)
    assert not undeclared, f"declare in READS whether {sorted(undeclared)} log reads"
    stale = set(READS) - found
    assert not stale, f"READS names URLs that no longer exist: {sorted(stale)}"


def test_every_admin_model_declares_its_read_log():
    registered = {model._meta.label_lower for model in admin.site._registry}
    undeclared = registered - set(ADMIN_READS)
    assert not undeclared, f"declare in ADMIN_READS whether {sorted(undeclared)} log reads"
    assert not set(ADMIN_READS) - registered


@pytest.fixture
def world(db):
    """A team with a nurse and a team admin; a patient with a login, a caregiver, a red
    check-in (so an open alert), and a pending caregiver invitation."""
    from tests.factories import CareTeamFactory

    team = CareTeamFactory()
    nurse = StaffFactory(team=team)
    team_admin = StaffFactory(team=team, role=Role.TEAM_ADMIN)
    patient = PatientFactory(care_team=team, user=UserFactory(role=Role.PATIENT))
    link = CaregiverLinkFactory(patient=patient)
    check_in, _ = services.check_in_record(
        patient=patient, recorded_by=nurse, data=parse_check_in({"temperature_c": 39.0}),
        submission_key=uuid.uuid4())
    invitation, _ = account_services.invitation_create(
        created_by=nurse, care_team=team, patient=patient, email="uncle@example.org",
        full_name="Uncle", role=Role.CAREGIVER, relationship="uncle")
    return {"team": team, "patient": patient, "link": link, "check_in": check_in,
            "alert": patient.alerts.get(), "invitation": invitation,
            "users": {"nurse": nurse, "team_admin": team_admin}}


def _url(world, name: str, declared: Logs) -> str:
    if declared.kind is None:
        return reverse(name) + declared.query
    obj = {"patient": world["patient"], "check_in": world["check_in"],
           "alert": world["alert"], "team": world["team"]}[declared.kind]
    return reverse(name, args=[obj.pk]) + declared.query


LOGGED = sorted(name for name, declared in READS.items() if isinstance(declared, Logs))


@pytest.mark.parametrize("name", LOGGED)
def test_each_view_that_declares_it_logs_the_read(world, name):
    declared = READS[name]
    user = world["users"][declared.role]
    response = verified_client(user).get(_url(world, name, declared))
    assert response.status_code == 200, f"{name} as {declared.role}"
    row = AccessLog.objects.filter(user=user, patient=world["patient"],
                                   action=declared.action).first()
    assert row is not None, f"{name} did not log {declared.action!r}"
    assert row.path.startswith(_url(world, name, declared).split("?")[0])


def test_queue_live_refresh_logs_too_and_a_refresh_within_the_window_is_one_read(world):
    nurse = world["users"]["nurse"]
    client = verified_client(nurse)
    partial = client.get(reverse("alert_list") + "?partial=1", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert world["patient"].display_name in partial.content.decode()
    rows = AccessLog.objects.filter(user=nurse, patient=world["patient"], action="view queue")
    assert rows.count() == 1
    for _ in range(3):
        client.get(reverse("alert_list") + "?partial=1", HTTP_HX_REQUEST="true")
    assert rows.count() == 1


def test_queue_read_after_the_window_is_logged_again(world):
    import time_machine
    from django.utils import timezone

    from accounts.audit import LIST_READ_WINDOW

    nurse = world["users"]["nurse"]
    client = verified_client(nurse)
    client.get(reverse("alert_list"))
    with time_machine.travel(timezone.now() + LIST_READ_WINDOW + LIST_READ_WINDOW / 10):
        verified_client(nurse).get(reverse("alert_list"))
    assert AccessLog.objects.filter(user=nurse, patient=world["patient"],
                                    action="view queue").count() == 2


def test_every_alert_detail_read_is_logged(world):
    nurse = world["users"]["nurse"]
    client = verified_client(nurse)
    for _ in range(2):
        client.get(reverse("alert_detail", args=[world["alert"].pk]))
    assert AccessLog.objects.filter(user=nurse, action="view alert").count() == 2


def test_another_teams_patients_are_not_in_a_nurses_queue_log(world):
    other = PatientFactory()
    services.check_in_record(patient=other, recorded_by=StaffFactory(team=other.care_team),
                             data=parse_check_in({"temperature_c": 39.0}),
                             submission_key=uuid.uuid4())
    nurse = world["users"]["nurse"]
    verified_client(nurse).get(reverse("alert_list"))
    assert not AccessLog.objects.filter(user=nurse, patient=other).exists()


# --- The admin site -------------------------------------------------------------------------

def _admin_object(world, label: str):
    patient = world["patient"]
    return {
        "accounts.patient": patient,
        "accounts.user": patient.user,
        "accounts.caregiverlink": world["link"],
        "accounts.invitation": world["invitation"],
        "accounts.accesslog": AccessLog.objects.create(
            user=world["users"]["nurse"], patient=patient, action="view patient", path="/"),
        "treatment.treatmentcycle": patient.treatment_plan.cycles.first(),
    }[label]


ADMIN_LOGGED = sorted(label for label, why in ADMIN_READS.items() if why == "logs")


@pytest.mark.parametrize("label", ADMIN_LOGGED)
def test_admin_pages_of_patient_data_log_the_read(world, label):
    superuser = User.objects.create_superuser("root@example.org", "a long root pass 99",
                                              full_name="Root")
    client = verified_client(superuser)
    obj = _admin_object(world, label)
    app, model = label.split(".")
    pages = {
        "admin list": reverse(f"admin:{app}_{model}_changelist"),
        "admin view": reverse(f"admin:{app}_{model}_change", args=[obj.pk]),
        "admin history": reverse(f"admin:{app}_{model}_history", args=[obj.pk]),
    }
    for action, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, f"{label} {action}"
        assert AccessLog.objects.filter(user=superuser, patient=world["patient"],
                                        action=action).exists(), f"{label} {action}"


def test_admin_list_names_only_the_patients_it_shows(world):
    superuser = User.objects.create_superuser("root@example.org", "a long root pass 99",
                                              full_name="Root")
    other = PatientFactory()
    client = verified_client(superuser)
    client.get(reverse("admin:accounts_patient_changelist") + f"?q={other.hospital_number}")
    logged = set(AccessLog.objects.filter(user=superuser, action="admin list")
                 .values_list("patient_id", flat=True))
    assert logged == {other.pk}


def test_reading_a_patients_own_pages_is_still_not_logged(world):
    patient = world["patient"]
    client = verified_client(patient.user)
    client.get(reverse("check_in_history", args=[patient.pk]))
    client.get(reverse("home"))
    assert not AccessLog.objects.filter(user=patient.user).exists()


def test_team_people_logs_only_patients_of_that_team(world):
    other = PatientFactory(user=UserFactory(role=Role.PATIENT))
    admin_user = world["users"]["team_admin"]
    verified_client(admin_user).get(reverse("team_people", args=[world["team"].pk]))
    logged = set(AccessLog.objects.filter(user=admin_user).values_list("patient", flat=True))
    assert logged == {world["patient"].pk}
    assert other.pk not in logged
