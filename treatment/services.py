"""Writes of the treatment app (except bag changes: treatment/bag_changes.py): the plan,
clinic visits, the family's calendar feeds.

Every write checks all its values first and raises PlanRefused / VisitRefused (a message
per form field, nothing saved) or saves everything in one transaction. The callers (views)
have checked who may do it (accounts.access; `may_manage_plan` for staff-only writes).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.access import signed_in, teams_for
from accounts.models import Patient, Role, User
from portal.fields import refuse_text
from treatment.calendar import CYCLE_DAYS, schedule_from_rows
from treatment.models import (
    BAG_HOURS,
    MAX_CYCLES,
    CalendarFeed,
    ChangedBy,
    ClinicVisit,
    TreatmentCycle,
    TreatmentPlan,
)

PLACE_MAX_CHARS = 120
# A visit is booked ahead, not recorded after the fact; up to two years ahead.
VISIT_LATEST = timedelta(days=2 * 366)


class Refused(ValueError):
    """Values refused; `errors` maps each form field name to its message. Nothing saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class PlanRefused(Refused):
    """plan_save refused (fields: planned_cycles, cycle_<k>_start, bag_hours,
    usual_change_time, changed_by)."""


class VisitRefused(Refused):
    """visit_add refused (fields: day, at, place)."""


def may_manage_plan(user: User, patient: Patient) -> bool:
    """Nurses and clinicians of the patient's team set the plan and the clinic visits
    (clinical-rules.md: "a treatment plan per patient, set by staff")."""
    return (signed_in(user) and user.role in (Role.NURSE, Role.CLINICIAN)
            and teams_for(user).filter(pk=patient.care_team_id).exists())


def _day_words(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


# The plan ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanValues:
    """What the plan page submits. cycle_starts[k-1] is cycle k's start as typed (None:
    42 days after the previous cycle); only the first `planned_cycles` are used."""

    planned_cycles: int
    cycle_starts: tuple[date | None, ...]
    bag_hours: int | None
    usual_change_time: time | None
    changed_by: str
    # Staff tick this to change the start of a cycle that has already started (see
    # plan_save): it rewrites where the patient was shown to be on past days.
    confirm_started: bool = False


def _stored_starts(plan: TreatmentPlan | None) -> dict[int, date]:
    if plan is None:
        return {}
    return dict(plan.cycles.values_list("number", "start_date"))


def plan_check(values: PlanValues, *, stored: dict[int, date], stored_cycles: int,
               today: date) -> dict[str, str]:
    """The errors of `values` by field name (empty: acceptable). Pure.

    Rules (clinical-rules.md, "Treatment calendar and bag changes"; docs/clinical-safety.md,
    "Treatment calendar"):
    - 1 to 5 planned cycles; cycle 1's start is required;
    - a later cycle starts at least 42 days after the one before (it may start late,
      never early: the 14-day break is not shortened here);
    - a cycle that has started (its start, as stored or worked out, is today or before)
      keeps its date unless `confirm_started`: moving it changes what the portal showed
      and what the sweeps looked for on past days;
    - a changed start may not be moved to a day before today without `confirm_started`
      either (a past start rewrites the past), nor may a started cycle be planned away;
    - bag_hours one of 24, 48, 72, 96, 168 or none; changed_by one of ChangedBy.
    """
    errors: dict[str, str] = {}
    if not 1 <= values.planned_cycles <= MAX_CYCLES:
        errors["planned_cycles"] = f"Planned cycles: give a number from 1 to {MAX_CYCLES}."
        return errors
    if values.bag_hours is not None and values.bag_hours not in BAG_HOURS:
        errors["bag_hours"] = "Bag duration: choose 24, 48, 72, 96 or 168 hours."
    if values.changed_by not in ChangedBy.values:
        errors["changed_by"] = "Who changes the bag: choose one of the options."
    given = list(values.cycle_starts[:values.planned_cycles])
    given += [None] * (values.planned_cycles - len(given))
    if given[0] is None:
        errors["cycle_1_start"] = "Cycle 1 start: give the date the first infusion starts."
        return errors
    before = schedule_from_rows(stored_cycles, stored.items()) if stored else None
    previous: date | None = None
    for number, typed in enumerate(given, start=1):
        field = f"cycle_{number}_start"
        start = typed if typed is not None else previous + timedelta(days=CYCLE_DAYS)
        if previous is not None and start < previous + timedelta(days=CYCLE_DAYS):
            earliest = previous + timedelta(days=CYCLE_DAYS)
            errors[field] = (f"Cycle {number} start: {_day_words(start)} is less than 42 days "
                             f"after cycle {number - 1} starts; the earliest is "
                             f"{_day_words(earliest)} (a cycle may start late, not early).")
        was = (before.starts[number - 1]
               if before is not None and number <= before.planned_cycles else None)
        if was is not None and start != was and not values.confirm_started:
            if was <= today:
                errors.setdefault(field, (
                    f"Cycle {number} start: this cycle started on {_day_words(was)}. "
                    f"Changing it rewrites where the patient was on past days; tick "
                    f"\"Correct a started cycle\" to confirm."))
            elif start < today:
                errors.setdefault(field, (
                    f"Cycle {number} start: {_day_words(start)} is in the past. Tick "
                    f"\"Correct a started cycle\" to confirm a start that has already "
                    f"happened."))
        previous = start
    if before is not None and not values.confirm_started:
        dropped = [n for n in range(values.planned_cycles + 1, before.planned_cycles + 1)
                   if before.starts[n - 1] <= today]
        if dropped:
            errors.setdefault("planned_cycles", (
                f"Planned cycles: cycle {dropped[0]} has already started; tick "
                f"\"Correct a started cycle\" to confirm removing it."))
    return errors


def plan_save(*, patient: Patient, by: User, values: PlanValues,
              today: date | None = None, now: datetime | None = None) -> TreatmentPlan:
    """Create or update the patient's plan and its cycle rows, in one transaction.

    Raises PlanRefused (plan_check's errors; nothing saved). A cycle typed blank has no
    row (it follows 42 days after the one before); rows of cycles beyond planned_cycles
    are removed. History (simple_history) records who changed the plan and each cycle row.
    `today` defaults to the patient's local today. When the bag schedule changes (a new
    plan, bag_hours, usual_change_time or a cycle start), bag_schedule_from is set to `now`
    (default: the clock): no bag change counts as due before it.
    """
    today = today or patient.local_today()
    with transaction.atomic():
        plan = (TreatmentPlan.objects.select_for_update().filter(patient=patient).first())
        stored = _stored_starts(plan)
        errors = plan_check(values, stored=stored,
                            stored_cycles=plan.planned_cycles if plan else 0, today=today)
        if errors:
            raise PlanRefused(errors)
        if plan is None:
            plan = TreatmentPlan(patient=patient)
        wanted = {n: d for n, d in enumerate(values.cycle_starts[:values.planned_cycles],
                                             start=1) if d is not None}
        if (plan.pk is None or plan.bag_hours != values.bag_hours
                or plan.usual_change_time != values.usual_change_time or wanted != stored):
            # Bag changes are due only from now on (treatment.bag_changes.due_from).
            plan.bag_schedule_from = now or timezone.now()
        plan.planned_cycles = values.planned_cycles
        plan.bag_hours = values.bag_hours
        plan.usual_change_time = values.usual_change_time
        plan.changed_by = values.changed_by
        plan.updated_by = by
        plan._history_user = by
        plan.save()
        for row in plan.cycles.all():
            if row.number not in wanted:
                row._history_user = by
                row.delete()
            elif row.start_date != wanted[row.number]:
                row.start_date = wanted[row.number]
                row._history_user = by
                row.save(update_fields=["start_date"])
        for number, start in wanted.items():
            if number not in stored:
                row = TreatmentCycle(plan=plan, number=number, start_date=start)
                row._history_user = by
                row.save()
    return plan


# Clinic visits ------------------------------------------------------------------------------

def local_moment(day: date, at: time, tz) -> datetime | None:
    """`day` at wall-clock `at` in `tz`, as UTC; None if that time does not exist that day
    (the hour skipped when the clocks go forward)."""
    moment = datetime.combine(day, at, tzinfo=tz)
    back = moment.astimezone(UTC).astimezone(tz)
    if (back.date(), back.time()) != (day, at):
        return None
    return moment.astimezone(UTC)


def visit_add(*, patient: Patient, by: User, day: date, at: time, place: str = "",
              now: datetime | None = None) -> ClinicVisit:
    """Book a clinic visit on `day` at `at`, wall clock in the patient's zone.

    Raises VisitRefused: a time that does not exist that day, a moment already past or
    more than two years ahead, a place with control characters or over 120 characters.
    """
    now = now or timezone.now()
    errors: dict[str, str] = {}
    place = (place or "").strip()
    try:
        refuse_text(place, label="Place", max_length=PLACE_MAX_CHARS, multiline=False)
    except ValidationError as refused:
        errors["place"] = refused.messages[0]
    starts_at = local_moment(day, at, patient.tz)
    if starts_at is None:
        errors["at"] = (f"Time: {at:%H:%M} does not exist on {_day_words(day)} in "
                        f"{patient.time_zone} (the clocks go forward); give another time.")
    elif starts_at < now:
        errors["day"] = "Date: this moment has passed; a clinic visit is booked ahead."
    elif starts_at > now + VISIT_LATEST:
        errors["day"] = "Date: give a date within two years from today."
    if errors:
        raise VisitRefused(errors)
    return ClinicVisit.objects.create(patient=patient, starts_at=starts_at, place=place,
                                      added_by=by)


def visit_cancel(*, visit: ClinicVisit, by: User, now: datetime | None = None) -> ClinicVisit:
    """Cancel a visit (kept, marked with who and when). Idempotent: a visit already
    cancelled keeps its first cancellation."""
    now = now or timezone.now()
    with transaction.atomic():
        visit = ClinicVisit.objects.select_for_update().get(pk=visit.pk)
        if visit.cancelled_at is None:
            visit.cancelled_at = now
            visit.cancelled_by = by
            visit.save(update_fields=["cancelled_at", "cancelled_by"])
    return visit


# Calendar feeds -----------------------------------------------------------------------------

def token_digest(token: str) -> str:
    """The SHA-256 (hex) of a feed token: what is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def feed_create(*, patient: Patient, by: User) -> tuple[CalendarFeed, str]:
    """A new private feed of `patient` for `by` (the caller has checked `by` may see the
    patient). Returns (feed, token): the token (secrets.token_urlsafe(32), 256 bits) is
    shown once and never stored; only its SHA-256 is."""
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(patient=patient, token_digest=token_digest(token),
                                       created_by=by)
    return feed, token


def feed_revoke(*, feed: CalendarFeed, by: User, now: datetime | None = None) -> CalendarFeed:
    """Revoke a feed: its URL answers 404 from now on. Idempotent (the first revocation is
    kept). The caller has checked `by` may see the feed's patient."""
    now = now or timezone.now()
    CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by)
    feed.refresh_from_db()
    return feed
