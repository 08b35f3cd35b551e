"""The access matrix, generated from the URL configuration.

Every URL pattern that takes an object id is requested by every role, for GET and POST,
against an object the role is expected to reach (its own, its linked child's, its team's)
and against a foreign one (another family's, another team's), and a missing id. The
expected answer on the own object is declared below per view; a foreign object must answer
exactly like a missing one (404 for a signed-in user on a GET), so a guessed id never
confirms that anything exists. A view that takes an id and is not declared here fails
`test_every_view_with_an_id_is_declared`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Role
from alerts.services import alert_raise
from symptoms import services
from tests.conftest import verified_client
from tests.factories import (
    CaregiverLinkFactory,
    CareTeamFactory,
    PatientFactory,
    StaffFactory,
    UserFactory,
)
from treatment.models import ClinicVisit
from treatment.services import feed_create
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous", "patient", "caregiver", "caregiver_expired", "caregiver_revoked",
    "nurse", "other_team_nurse", "clinician", "team_admin", "deactivated",
)
SIGNED_OUT = 302  # to the sign-in page
DENIED = 404


@dataclass
class View:
    kind: str  # which object the id names: patient, check_in, team, link, user, alert
    get: dict[str, int] = field(default_factory=dict)
    post: dict[str, int] = field(default_factory=dict)

    def expected(self, role: str, method: str) -> int:
        if role in ("anonymous", "deactivated"):
            return SIGNED_OUT
        return (self.get if method == "GET" else self.post).get(role, DENIED)


STAFF_OK = {"nurse": 200, "clinician": 200, "team_admin": 200}
FAMILY_OK = {"patient": 200, "caregiver": 200}
NOT_ALLOWED = 405  # a read-only view refuses POST before it looks anything up

VIEWS: dict[str, View] = {
    "patient_detail": View(
        "patient", get={**STAFF_OK, "patient": 302, "caregiver": 302},
        post={r: NOT_ALLOWED for r in ROLES},
    ),
    "invitation_create": View(
        "patient", get={"nurse": 200, "team_admin": 200}, post={"nurse": 200, "team_admin": 200}
    ),
    "patient_create": View(
        "team", get={"nurse": 200, "team_admin": 200}, post={"nurse": 200, "team_admin": 200}
    ),
    "staff_invitation_create": View("team", get={"team_admin": 200}, post={"team_admin": 200}),
    "team_people": View("team", get={"team_admin": 200}, post={r: NOT_ALLOWED for r in ROLES}),
    "caregiver_link_revoke": View(
        "link", get={r: NOT_ALLOWED for r in ROLES}, post={"nurse": 302, "team_admin": 302}
    ),
    "user_deactivate": View(
        "user", get={r: NOT_ALLOWED for r in ROLES}, post={"team_admin": 302}
    ),
    # Without the POST field `team` (the matrix posts nothing), a redirect with a message.
    "enrolment_code_create": View(
        "user", get={r: NOT_ALLOWED for r in ROLES}, post={"team_admin": 302}
    ),
    "team_settings": View("team", get={"team_admin": 200}, post={"team_admin": 400}),
    "membership_remove": View(
        "membership", get={r: NOT_ALLOWED for r in ROLES}, post={"team_admin": 302}
    ),
    "patient_access_log": View(
        "patient", get={"team_admin": 200}, post={r: NOT_ALLOWED for r in ROLES}
    ),
    "check_in_new": View(
        "patient",
        get={**FAMILY_OK, "nurse": 200, "clinician": 200},
        # An empty form is refused with the form's errors.
        post={"patient": 400, "caregiver": 400, "nurse": 400, "clinician": 400},
    ),
    "check_in_neuro": View(
        "patient",
        get={**FAMILY_OK, "nurse": 200, "clinician": 200},
        # An empty form is refused: the neuro-only page needs the check.
        post={"patient": 400, "caregiver": 400, "nurse": 400, "clinician": 400},
    ),
    "check_in_history": View(
        "patient", get={**FAMILY_OK, **STAFF_OK}, post={r: NOT_ALLOWED for r in ROLES}
    ),
    "check_in_result": View(
        "check_in", get={**FAMILY_OK, **STAFF_OK}, post={r: NOT_ALLOWED for r in ROLES}
    ),
    "export_csv": View(
        "patient", get={**FAMILY_OK, **STAFF_OK}, post={r: NOT_ALLOWED for r in ROLES}
    ),
    "export_json": View(
        "patient", get={**FAMILY_OK, **STAFF_OK}, post={r: NOT_ALLOWED for r in ROLES}
    ),
    "patient_timeline": View("patient", get=STAFF_OK, post={r: NOT_ALLOWED for r in ROLES}),
    "patient_thresholds": View(
        "patient", get={"nurse": 200, "clinician": 200},
        post={"nurse": 400, "clinician": 400},
    ),
    # Alerts (nursing/views.py): staff pages; nurses and clinicians act on them.
    "alert_detail": View("alert", get=STAFF_OK, post={r: NOT_ALLOWED for r in ROLES}),
    "alert_acknowledge": View(
        "alert", get={r: NOT_ALLOWED for r in ROLES}, post={"nurse": 302, "clinician": 302}
    ),
    "alert_resolve": View(
        "alert", get={r: NOT_ALLOWED for r in ROLES},
        # An empty POST is sent back to the alert with "Choose an outcome".
        post={"nurse": 302, "clinician": 302},
    ),
    # The treatment plan (treatment/views.py): staff of the team see it; nurses and
    # clinicians change it and book visits (an empty form is refused with its errors).
    "treatment_plan": View("patient", get=STAFF_OK, post={"nurse": 400, "clinician": 400}),
    "clinic_visit_add": View(
        "patient", get={"nurse": 200, "clinician": 200}, post={"nurse": 400, "clinician": 400}
    ),
    "clinic_visit_cancel": View(
        "visit", get={r: NOT_ALLOWED for r in ROLES}, post={"nurse": 302, "clinician": 302}
    ),
    # Calendar feeds: staff of the team and the family make and switch them off.
    "calendar_feed_create": View(
        "patient", get={r: NOT_ALLOWED for r in ROLES}, post={**FAMILY_OK, **STAFF_OK}
    ),
    "calendar_feed_revoke": View(
        "feed", get={r: NOT_ALLOWED for r in ROLES},
        post={"patient": 302, "caregiver": 302, "nurse": 302, "clinician": 302,
              "team_admin": 302},
    ),
    # Bag changes (treatment/bag_change_views.py). An empty POST is "Bag changed now": staff
    # of the team record it; the family only where the plan says a trained caregiver changes
    # the bag (not the world's plan), and team admins never: 403 with who does.
    "bag_changes": View(
        "patient", get={**FAMILY_OK, **STAFF_OK},
        post={"nurse": 302, "clinician": 302, "patient": 403, "caregiver": 403,
              "team_admin": 403},
    ),
    # Cancel a wrong record: nurses and clinicians; without a record's id, 400.
    "bag_change_cancel": View(
        "patient", get={r: NOT_ALLOWED for r in ROLES},
        post={"nurse": 400, "clinician": 400, "patient": 403, "caregiver": 403,
              "team_admin": 403},
    ),
}
# URL patterns with an argument that is not an object id, and why they are not in the matrix.
NOT_OBJECT_IDS = {
    "invitation_accept": "takes a secret token; tests/accounts/test_invitations.py",
    "password_reset_confirm": "Django's signed reset token",
    "calendar_feed": "a secret token, no sign-in; tests/treatment/test_feeds.py",
}


def _patterns(resolvers=None, prefix=""):
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # the admin site: superusers only, behind OTPAdminSite
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.pattern.converters:
            yield entry.name, list(entry.pattern.converters)


def test_every_view_with_an_id_is_declared():
    found = {name for name, _ in _patterns()}
    undeclared = found - set(VIEWS) - set(NOT_OBJECT_IDS)
    assert not undeclared, f"declare the expected access of {sorted(undeclared)} in VIEWS"
    stale = set(VIEWS) - found
    assert not stale, f"VIEWS names views that no longer exist: {sorted(stale)}"


@pytest.fixture
def world(db):
    """Team A: an adult patient with a login, a child with caregivers (active, expired,
    revoked), a nurse, a clinician, a team admin. Team B: a nurse and a patient."""
    team, other = CareTeamFactory(), CareTeamFactory()
    adult = PatientFactory(care_team=team, user=UserFactory(role=Role.PATIENT))
    child = PatientFactory(care_team=team)
    stranger = PatientFactory(care_team=other, user=UserFactory(role=Role.PATIENT))
    link = CaregiverLinkFactory(patient=child)
    now = timezone.now()
    expired = CaregiverLinkFactory(patient=child, ends_at=now - timedelta(minutes=1))
    revoked = CaregiverLinkFactory(patient=child, revoked_at=now - timedelta(minutes=1))
    foreign_link = CaregiverLinkFactory(patient=stranger)
    nurse = StaffFactory(team=team)
    users = {
        "patient": adult.user,
        "caregiver": link.caregiver,
        "caregiver_expired": expired.caregiver,
        "caregiver_revoked": revoked.caregiver,
        "nurse": nurse,
        "other_team_nurse": StaffFactory(team=other),
        "clinician": StaffFactory(team=team, role=Role.CLINICIAN),
        "team_admin": StaffFactory(team=team, role=Role.TEAM_ADMIN),
        "deactivated": UserFactory(role=Role.PATIENT),
    }

    def check_in(patient):
        return services.check_in_record(
            patient=patient, recorded_by=nurse if patient.care_team == team else
            users["other_team_nurse"], data=parse_check_in({"temperature_c": 36.8}),
            submission_key=uuid.uuid4(),
        )[0]

    own_check_in = {"adult": check_in(adult), "child": check_in(child)}
    alerts = {patient.pk: alert_raise(patient=patient, severity="red", findings=[],
                                      rules_version="v1", now=now)
              for patient in (adult, child, stranger)}
    visits = {patient.pk: ClinicVisit.objects.create(
        patient=patient, starts_at=now + timedelta(days=3), added_by=nurse)
        for patient in (adult, child, stranger)}
    feeds = {patient.pk: feed_create(patient=patient, by=nurse)[0]
             for patient in (adult, child, stranger)}
    return {
        "team": team, "other": other, "adult": adult, "child": child, "stranger": stranger,
        "link": link, "foreign_link": foreign_link, "users": users,
        "own_check_in": own_check_in, "foreign_check_in": check_in(stranger),
        "alerts": alerts, "visits": visits, "feeds": feeds,
    }


def _client(world, role: str) -> Client:
    if role == "anonymous":
        return Client()
    user = world["users"][role]
    client = verified_client(user)
    if role == "deactivated":
        user.is_active = False
        user.save()
    return client


def _own(world, role: str, kind: str) -> int:
    family_child = role.startswith("caregiver")
    patient = world["child"] if family_child else world["adult"]
    return {
        "patient": patient.pk,
        "check_in": world["own_check_in"]["child" if family_child else "adult"].pk,
        "team": world["team"].pk,
        "link": world["link"].pk,
        "user": world["users"]["caregiver"].pk,
        "membership": world["users"]["nurse"].memberships.get().pk,
        "alert": world["alerts"][patient.pk].pk,
        "visit": world["visits"][patient.pk].pk,
        "feed": world["feeds"][patient.pk].pk,
    }[kind]


def _foreign(world, role: str, kind: str) -> int:
    """Another family's object for patients and caregivers; another team's for staff."""
    if role == "patient":
        patient, check_in = world["child"], world["own_check_in"]["child"]
    elif role.startswith("caregiver") or role == "other_team_nurse":
        patient, check_in = world["adult"], world["own_check_in"]["adult"]
    else:
        patient, check_in = world["stranger"], world["foreign_check_in"]
    theirs = role == "other_team_nurse"
    return {
        "patient": patient.pk,
        "check_in": check_in.pk,
        "team": (world["team"] if theirs else world["other"]).pk,
        "link": (world["link"] if theirs else world["foreign_link"]).pk,
        "user": (world["users"]["caregiver"] if theirs
                 else world["users"]["other_team_nurse"]).pk,
        "membership": (world["users"]["nurse"] if theirs
                       else world["users"]["other_team_nurse"]).memberships.get().pk,
        "alert": world["alerts"][patient.pk].pk,
        "visit": world["visits"][patient.pk].pk,
        "feed": world["feeds"][patient.pk].pk,
    }[kind]


def _request(client: Client, method: str, name: str, pk: int) -> int:
    url = reverse(name, args=[pk])
    return (client.get(url) if method == "GET" else client.post(url, {})).status_code


CASES = [(name, role, method) for name in VIEWS for role in ROLES for method in ("GET", "POST")]


@pytest.mark.parametrize(("name", "role", "method"), CASES)
def test_access_matrix(world, name, role, method):
    view = VIEWS[name]
    client = _client(world, role)
    missing = _request(client, method, name, 2_000_000_000)
    foreign = _request(client, method, name, _foreign(world, role, view.kind))
    # Foreign first: a state-changing POST on the own object must not run before it.
    own = _request(client, method, name, _own(world, role, view.kind))
    assert own == view.expected(role, method), f"{role} {method} own {name}"
    assert foreign == missing, f"{role} {method} foreign {name} differs from a missing id"
    if role not in ("anonymous", "deactivated"):
        assert foreign in (DENIED, NOT_ALLOWED), f"{role} {method} foreign {name}"
