"""Reads for the staff home: who has not checked in today, whose access ends soon."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.access import ScopeMissing
from accounts.models import CaregiverLink, CareTeam, Patient

ACCESS_ENDING_DAYS = 7


def _require_teams(teams: QuerySet[CareTeam] | None) -> QuerySet[CareTeam]:
    # Fail closed: no teams given is a programming error, never "every team".
    if not isinstance(teams, QuerySet) or teams.model is not CareTeam:
        raise ScopeMissing("A queryset of care teams is required for this team-scoped read.")
    return teams


def not_checked_in_today(teams: QuerySet[CareTeam], now: datetime | None = None
                         ) -> list[Patient]:
    """Patients on an active infusion with no check-in since midnight in their own zone.

    One query: the zones differ per patient, so "today" is worked out per patient in
    Python from each patient's latest check-in time (a unit follows hundreds, not
    millions, of patients at once). Raises ScopeMissing unless `teams` is a queryset of
    care teams.
    """
    teams = _require_teams(teams)
    now = now or timezone.now()
    patients = (
        Patient.objects.filter(care_team__in=teams, infusion_start_date__isnull=False)
        .select_related("care_team")
        .annotate(last_check_in=Max("check_ins__recorded_at"))
        .order_by("display_name")
    )
    missing = []
    for patient in patients:
        today = now.astimezone(patient.tz).date()
        if not patient.on_active_infusion(today):
            continue
        midnight = datetime.combine(today, datetime.min.time(), patient.tz)
        if patient.last_check_in is None or patient.last_check_in < midnight:
            missing.append(patient)
    return missing


def links_ending_soon(teams: QuerySet[CareTeam], now: datetime | None = None
                      ) -> QuerySet[CaregiverLink]:
    """Active caregiver links of these teams' patients that end within ACCESS_ENDING_DAYS,
    soonest first. Raises ScopeMissing unless `teams` is a queryset of care teams."""
    teams = _require_teams(teams)
    now = now or timezone.now()
    return (
        CaregiverLink.objects.active(now)
        .filter(patient__care_team__in=teams, ends_at__lte=now + timedelta(days=ACCESS_ENDING_DAYS))
        .select_related("caregiver", "patient")
        .order_by("ends_at")
    )
