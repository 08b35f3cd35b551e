"""The one place that answers "may this user see or act on this patient?".

Every view that takes an id fetches its object through these functions. An object the user
may not see answers 404, exactly like an id that does not exist, so that a guessed id does
not even confirm that a patient exists.

- a patient sees themself;
- a caregiver sees the patients linked to them while the link is active (not revoked, not
  past its end), and may record check-ins only where the link allows it;
- care-team staff (nurse, clinician, team admin) see their teams' patients;
- an inactive user, or anyone not signed in, sees nobody.

It answers about patients and teams only, and imports no app above accounts: check-ins are
reached through `symptoms.access`, alerts through `alerts.access`, each filtered by
`patients_for(user)` here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import CaregiverLink, CareTeam, Patient, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def signed_in(user: User | AnonymousUser) -> bool:
    """Signed in with an active account (an inactive one sees nobody)."""
    return bool(user.is_authenticated and user.is_active)


def teams_for(user: User | AnonymousUser) -> QuerySet[CareTeam]:
    """Care teams whose patients this member of staff looks after."""
    if not signed_in(user) or not user.is_care_staff:
        return CareTeam.objects.none()
    return CareTeam.objects.filter(memberships__user=user)


def patients_for(user: User | AnonymousUser, now: datetime | None = None) -> QuerySet[Patient]:
    """Every patient this user may see."""
    if not signed_in(user):
        return Patient.objects.none()
    if user.is_care_staff:
        return Patient.objects.filter(care_team__memberships__user=user)
    if user.role == Role.PATIENT:
        return Patient.objects.filter(user=user)
    if user.role == Role.CAREGIVER:
        links = CaregiverLink.objects.active(now or timezone.now()).filter(caregiver=user)
        return Patient.objects.filter(pk__in=links.values("patient_id"))
    return Patient.objects.none()


def one_or_404(queryset: QuerySet, object_id: object, what: str):
    """The object with this id from what the user may see, or 404 exactly as for an id
    that does not exist (a malformed id too). Other apps build their `*_for(user, id)` on
    it over a queryset filtered by `patients_for(user)`."""
    try:
        pk = int(str(object_id))
    except ValueError:
        raise Http404(f"No such {what}.") from None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404(f"No such {what}.")
    return found


def patient_for(user: User | AnonymousUser, patient_id: object) -> Patient:
    """The patient with this id if the user may see them; otherwise 404."""
    return one_or_404(patients_for(user).select_related("care_team"), patient_id, "patient")


def may_record_check_in(user: User | AnonymousUser, patient: Patient) -> bool:
    """Whether the user may record a check-in for this patient (already visible to them)."""
    if not signed_in(user):
        return False
    if user.is_care_staff:
        return user.role in (Role.NURSE, Role.CLINICIAN) and teams_for(user).filter(
            pk=patient.care_team_id
        ).exists()
    if user.role == Role.PATIENT:
        return patient.user_id == user.pk
    if user.role == Role.CAREGIVER:
        return (
            CaregiverLink.objects.active()
            .filter(caregiver=user, patient=patient, may_log=True)
            .exists()
        )
    return False


def may_manage_team(user: User | AnonymousUser, team: CareTeam) -> bool:
    """Team settings, staff membership: team admins of that team."""
    return (
        signed_in(user)
        and user.role == Role.TEAM_ADMIN
        and teams_for(user).filter(pk=team.pk).exists()
    )


def may_invite(user: User | AnonymousUser, team: CareTeam) -> bool:
    """Nurses and team admins of the team invite patients and caregivers."""
    return (
        signed_in(user)
        and user.role in (Role.NURSE, Role.TEAM_ADMIN)
        and teams_for(user).filter(pk=team.pk).exists()
    )


def team_for(user: User | AnonymousUser, team_id: object) -> CareTeam:
    return one_or_404(teams_for(user), team_id, "care team")


class ScopeMissing(LookupError):
    """A team-scoped read was asked for without a care team. Raised rather than answering
    with everyone (fail closed): a missing team is a programming error, never "all teams"."""


def _require_team(team: CareTeam | None) -> CareTeam:
    if not isinstance(team, CareTeam) or team.pk is None:
        raise ScopeMissing("A care team is required for this team-scoped read.")
    return team


def patients_of_team(team: CareTeam | None) -> QuerySet[Patient]:
    """The patients of one care team. Raises ScopeMissing when no saved team is given."""
    return Patient.objects.filter(care_team=_require_team(team))


def people_of_team(team: CareTeam | None, now: datetime | None = None):
    """Accounts with an ACTIVE place in this one team: its staff (a membership), its
    patients' own logins, and caregivers with an active (not revoked, not ended) link to
    one of its patients. A revoked or ended link, or a place in another team, does not
    count. Raises ScopeMissing when no saved team is given."""
    from accounts.models import User as UserModel

    team = _require_team(team)
    links = CaregiverLink.objects.active(now or timezone.now()).filter(patient__care_team=team)
    return UserModel.objects.filter(
        Q(memberships__team=team)
        | Q(patient_record__care_team=team)
        | Q(pk__in=links.values("caregiver_id"))
    ).distinct()


def person_in_team_for(user: User | AnonymousUser, team: CareTeam, person_id: object):
    """A person with an active place in `team`, for a team admin of that team; 404 for
    anyone else, exactly as for an id that does not exist."""
    if not may_manage_team(user, team):
        raise Http404("No such person.")
    return one_or_404(people_of_team(team), person_id, "person")
