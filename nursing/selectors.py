"""Reads for the staff pages: who has not checked in today, whose access ends soon (staff
home), the trend of a patient's neurological self-checks (timeline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.access import ScopeMissing
from accounts.models import CaregiverLink, CareTeam, Patient
from nursing.neuro import NeuroCheck, neuro_check
from symptoms.models import CheckIn
from treatment import calendar

ACCESS_ENDING_DAYS = 7


def _require_teams(teams: QuerySet[CareTeam] | None) -> QuerySet[CareTeam]:
    # Fail closed: no teams given is a programming error, never "every team".
    if not isinstance(teams, QuerySet) or teams.model is not CareTeam:
        raise ScopeMissing("A queryset of care teams is required for this team-scoped read.")
    return teams


def not_checked_in_today(teams: QuerySet[CareTeam], now: datetime | None = None
                         ) -> list[Patient]:
    """Patients on an infusion day of their plan (treatment/calendar.py) with no check-in
    since midnight in their own zone.

    Two queries: the patients with a plan, then their plans' cycle rows; the zones differ
    per patient, so "today" is worked out per patient in Python from each patient's latest
    check-in time (a unit follows hundreds, not millions, of patients at once). Raises
    ScopeMissing unless `teams` is a queryset of care teams.
    """
    teams = _require_teams(teams)
    now = now or timezone.now()
    patients = list(
        Patient.objects.filter(care_team__in=teams, treatment_plan__isnull=False)
        .select_related("care_team")
        .annotate(last_check_in=Max("check_ins__recorded_at"))
        .order_by("display_name")
    )
    plans = calendar.schedules(p.pk for p in patients)
    missing = []
    for patient in patients:
        today = now.astimezone(patient.tz).date()
        plan = plans.get(patient.pk)
        if plan is None or not plan.on_infusion(today):
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


NEURO_TREND_LIMIT = 30


@dataclass(frozen=True)
class NeuroPoint:
    """One neurological self-check on the trend: the check-in (its time, severity) and
    the check in the nurse's words (tool, total, baseline then)."""

    check_in: CheckIn
    check: NeuroCheck


def neuro_trend(patient: Patient, limit: int = NEURO_TREND_LIMIT) -> list[NeuroPoint]:
    """The patient's latest `limit` check-ins with an ICE or CAPD, oldest first (the
    totals read left to right in time). One query. The baseline of each is the one in
    force when it was judged (clinical-rules.md "The neurological self-check")."""
    rows = (patient.check_ins.exclude(neuro_tool="")
            .order_by("-recorded_at", "-pk")[:limit])
    points = [NeuroPoint(row, check) for row in rows
              if (check := neuro_check(row)) is not None]
    return points[::-1]
