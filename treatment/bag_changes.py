"""Bag changes: when the next one is due, recording one in one tap, cancelling a wrong one.

clinical-rules.md, "Treatment calendar and bag changes": "A bag change is recorded in one
tap by staff or a trained caregiver"; "Recording a bag change ... resolves the finding; the
next one is due one bag duration later"; `bag_change_overdue` looks only at infusion days.

When a bag change is due (decided here, documented in docs/clinical-safety.md, "Bag
changes"):
- the infusion of a cycle runs from the cycle's start date at the plan's usual change time
  for INFUSION_DAYS (28) days, in the patient's time zone; outside it no bag is due (a break,
  before cycle 1, after the last cycle, a cycle that starts late);
- the next change is due `bag_hours` after the last bag change recorded in this cycle (not
  cancelled, changed on or after local midnight of the cycle's first day);
- before any change in the cycle it is due `bag_hours` after the cycle's start at the usual
  change time (the first bag is hung then); without a usual change time nothing is guessed;
- a due time at or after the end of the infusion is the end of the infusion, not a change;
- a plan without `bag_hours` (not entered yet) has no due time;
- no due time is counted before the plan's `bag_schedule_from` (when staff last set the
  bag schedule): a due time before it moves on by whole bag durations to the first at or
  after it. A plan entered on day 5 of a cycle, or a bag duration changed, with no change
  recorded since, pages nobody for due times the portal did not know about.
All arithmetic is on UTC instants: a 48-hour bag across a clock change is due 48 real hours
later (an aware datetime in a ZoneInfo would add wall-clock hours, one off on those nights).

Writes go through `bag_change_record` and `bag_change_cancel`. Each sends a signal inside its
transaction (`bag_change_recorded`, `bag_change_cancelled`) that the alerts app listens to
(it marks the overdue finding done, or open again): this app imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone

from accounts.access import may_record_check_in, signed_in, teams_for
from accounts.models import Patient, Role, User
from portal.fields import refuse_text
from treatment.calendar import INFUSION_DAYS, Schedule, schedule, schedules
from treatment.models import BagChange, ChangedBy, TreatmentPlan

__all__ = [
    "ADULT_AGE", "FUTURE_TOLERANCE", "PAST_LIMIT", "SAME_CHANGE_WINDOW", "BagChangeNotAllowed",
    "BagChangeRefused", "NextBagChange", "bag_change_cancel", "bag_change_cancelled",
    "bag_change_due", "bag_change_record", "bag_change_recorded", "bag_changes_due",
    "due_from", "last_bag_changes", "may_cancel_bag_change", "may_record_bag_change",
    "next_bag_change", "not_allowed_message",
]

# A patient with their own login changes their own bag (when the plan says a trained
# caregiver does) from this age; a younger patient's bag is recorded by their caregiver.
ADULT_AGE = 16
# "Changed earlier at": up to a shift back (a change recorded at the end of a busy night);
# anything older is for the nurse to sort out with the family. Never in the future beyond
# a phone clock's drift.
PAST_LIMIT = timedelta(hours=12)
FUTURE_TOLERANCE = timedelta(minutes=5)
# Two records within this long of each other are the same bag change (a double tap, a
# resent form, a nurse and a parent recording the same change): a bag lasts 24 h or more.
SAME_CHANGE_WINDOW = timedelta(minutes=60)
NOTE_MAX_CHARS = 500
CANCEL_NOT_ALLOWED = "Only a nurse or clinician of the care team cancels a bag change record."

# Sent inside the recording transaction: kwargs bag_change (the new BagChange).
bag_change_recorded = Signal()
# Sent inside the cancelling transaction: kwargs bag_change (now cancelled).
bag_change_cancelled = Signal()


class BagChangeRefused(ValueError):
    """A value is refused; `field` names the form field ("changed_at", "note"), the message
    says why in the person's words. Nothing was saved."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class BagChangeNotAllowed(PermissionError):
    """The person may see the patient but not record (or cancel) this bag change; the
    message says who may (views answer 403 with it)."""


# Due times ----------------------------------------------------------------------------------

def _utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Wall-clock `at` on `day` in `tz`, as a UTC instant."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def due_from(
    *,
    plan_schedule: Schedule | None,
    bag_hours: int | None,
    usual_change_time: time | None,
    tz: ZoneInfo,
    last_changed_at: datetime | None,
    now: datetime,
    schedule_from: datetime | None = None,
) -> datetime | None:
    """When the bag is next due (UTC), from the plan's rows, or None (see the module
    docstring for the rules). Pure: no database.

    plan_schedule: treatment.calendar.Schedule (None: no plan started); bag_hours: 24, 48,
    72, 96 or 168 (None: not entered); usual_change_time: wall clock in `tz`;
    last_changed_at: the latest bag change not cancelled, at or before `now` (aware);
    now: aware; schedule_from: the plan's bag_schedule_from (aware; None: no limit).
    The result may be before `now` (the change is late), never before `schedule_from`.
    """
    if plan_schedule is None or bag_hours is None:
        return None
    today = now.astimezone(tz).date()
    started = [start for start in plan_schedule.starts if start <= today]
    if not started:
        return None  # before cycle 1
    start = started[-1]
    end = _utc(start + timedelta(days=INFUSION_DAYS), usual_change_time or time(0), tz)
    if now >= end:
        return None  # a break (or after the last cycle): no bag
    if last_changed_at is not None and last_changed_at >= _utc(start, time(0), tz):
        due = last_changed_at.astimezone(UTC) + timedelta(hours=bag_hours)
    elif usual_change_time is not None:
        due = _utc(start, usual_change_time, tz) + timedelta(hours=bag_hours)
    else:
        return None  # no change recorded this cycle and no usual time: nothing to go on
    if schedule_from is not None and due < schedule_from:
        step = timedelta(hours=bag_hours)
        due += step * -(-(schedule_from - due) // step)  # whole steps, rounded up
    return due if due < end else None


def last_bag_changes(patient_ids: list[int], now: datetime) -> dict[int, datetime]:
    """{patient id: the latest bag change not cancelled, at or before `now`} (one query)."""
    rows = (BagChange.objects.filter(patient_id__in=patient_ids, cancelled_at__isnull=True,
                                     changed_at__lte=now)
            .values("patient_id").annotate(last=Max("changed_at"))
            .values_list("patient_id", "last"))
    return dict(rows)


def bag_changes_due(patients: Iterable[Patient], now: datetime) -> dict[int, datetime]:
    """{patient id: when the bag is next due (UTC)} for those of `patients` with one due
    (see due_from); three queries however many patients (plans, cycle rows, last changes).
    `patients` need only their id and time_zone."""
    patients = list(patients)
    ids = [p.pk for p in patients]
    if not ids:
        return {}
    plans = {pid: (hours, usual, since) for pid, hours, usual, since in
             TreatmentPlan.objects.filter(patient_id__in=ids, bag_hours__isnull=False)
             .values_list("patient_id", "bag_hours", "usual_change_time", "bag_schedule_from")}
    if not plans:
        return {}
    found = schedules(plans)
    last = last_bag_changes(sorted(plans), now)
    due: dict[int, datetime] = {}
    for patient in patients:
        if patient.pk not in plans:
            continue
        hours, usual, since = plans[patient.pk]
        at = due_from(plan_schedule=found.get(patient.pk), bag_hours=hours,
                      usual_change_time=usual, tz=patient.tz,
                      last_changed_at=last.get(patient.pk), now=now, schedule_from=since)
        if at is not None:
            due[patient.pk] = at
    return due


def bag_change_due(patient: Patient, now: datetime) -> datetime | None:
    """When the patient's bag is next due (UTC), or None: no plan, no bag_hours, not on an
    infusion, or the infusion ends before another change (see the module docstring).
    A few queries."""
    plan = (TreatmentPlan.objects.filter(patient=patient)
            .values_list("bag_hours", "usual_change_time", "bag_schedule_from").first())
    if plan is None or plan[0] is None:
        return None
    return due_from(plan_schedule=schedule(patient), bag_hours=plan[0],
                    usual_change_time=plan[1], tz=patient.tz,
                    last_changed_at=last_bag_changes([patient.pk], now).get(patient.pk), now=now,
                    schedule_from=plan[2])


@dataclass(frozen=True)
class NextBagChange:
    """For display: when the next bag change is due (UTC), whether that time has passed
    (`late`), and the last change recorded (None before the first of the cycle)."""

    due_at: datetime
    late: bool
    last: BagChange | None


def next_bag_change(patient: Patient, now: datetime) -> NextBagChange | None:
    """The patient's next bag change for the pages (home, bag change page), or None when
    none is due (see bag_change_due). A few queries."""
    due = bag_change_due(patient, now)
    if due is None:
        return None
    last = (BagChange.objects.filter(patient=patient, cancelled_at__isnull=True,
                                     changed_at__lte=now)
            .select_related("recorded_by").order_by("-changed_at").first())
    return NextBagChange(due_at=due, late=now > due, last=last)


# Who may record -----------------------------------------------------------------------------

def _changed_by(patient: Patient) -> str | None:
    return (TreatmentPlan.objects.filter(patient=patient)
            .values_list("changed_by", flat=True).first())


def may_record_bag_change(user: User, patient: Patient, now: datetime | None = None) -> bool:
    """Whether `user` (who may see `patient`) may record the patient's bag change: nurses and
    clinicians of the patient's team always; a caregiver with logging rights, or the patient
    themself from ADULT_AGE, only when the plan says a trained caregiver changes the bag."""
    if not may_record_check_in(user, patient):
        return False
    if user.is_care_staff:
        return True
    if _changed_by(patient) != ChangedBy.TRAINED_CAREGIVER:
        return False
    if user.role == Role.PATIENT:
        return patient.age_on(patient.local_today(now)) >= ADULT_AGE
    return True


def may_cancel_bag_change(user: User, patient: Patient) -> bool:
    """Cancelling a wrong record is for nurses and clinicians of the patient's team."""
    return (signed_in(user) and user.role in (Role.NURSE, Role.CLINICIAN)
            and teams_for(user).filter(pk=patient.care_team_id).exists())


def not_allowed_message(patient: Patient) -> str:
    who = dict(ChangedBy.choices).get(_changed_by(patient) or "", "the care team")
    return (f"Only the care team records this bag change: the treatment plan says it is "
            f"changed by {who}. If the bag has been changed, tell the care team on "
            f"{patient.care_team.line_phone}.")


# Writes -------------------------------------------------------------------------------------

def _local(moment: datetime, patient: Patient) -> str:
    return f"{moment.astimezone(patient.tz):%d %b %H:%M}"


def _checked_time(changed_at: datetime | None, patient: Patient, now: datetime) -> datetime:
    if changed_at is None:
        return now
    if timezone.is_naive(changed_at):
        raise BagChangeRefused("changed_at", "Changed at: give the time with its zone.")
    if changed_at > now + FUTURE_TOLERANCE:
        raise BagChangeRefused(
            "changed_at", f"Changed at: {_local(changed_at, patient)} is in the future; give "
                          "the time the bag was changed, or leave it empty for now.")
    if changed_at < now - PAST_LIMIT:
        hours = int(PAST_LIMIT.total_seconds() // 3600)
        raise BagChangeRefused(
            "changed_at", f"Changed at: {_local(changed_at, patient)} is more than {hours} "
                          "hours ago; call the care team to record a change that long ago.")
    return changed_at


def _checked_note(note: str) -> str:
    note = (note or "").strip()
    try:
        refuse_text(note, label="Note", max_length=NOTE_MAX_CHARS, multiline=True)
    except ValidationError as exc:
        raise BagChangeRefused("note", exc.messages[0]) from None
    return note


def bag_change_record(
    *,
    patient: Patient,
    by: User,
    changed_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> tuple[BagChange, bool]:
    """Record that the patient's bag was changed at `changed_at` (aware; default now) by
    `by`, who is recorded as having recorded it. Returns (bag change, created).

    One record per change: under the patient's row lock, a change not cancelled within
    SAME_CHANGE_WINDOW of `changed_at` is returned instead of a new one (created False),
    so a double tap, a resent form or two people recording the same change make one row.
    `changed_at` may be up to PAST_LIMIT (12 h) back, and not more than FUTURE_TOLERANCE
    (5 min) ahead. Sends bag_change_recorded in the transaction (the overdue finding is done).
    Raises BagChangeNotAllowed (see may_record_bag_change), BagChangeRefused (field
    "changed_at" or "note"); nothing is saved then.
    """
    now = now or timezone.now()
    if not may_record_bag_change(by, patient, now):
        raise BagChangeNotAllowed(not_allowed_message(patient))
    changed_at = _checked_time(changed_at, patient, now)
    note = _checked_note(note)
    with transaction.atomic():
        # Serialise records of one patient (PostgreSQL; SQLite serialises writers anyway),
        # so two taps at once see each other.
        list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk"))
        same = (BagChange.objects.filter(
            patient=patient, cancelled_at__isnull=True,
            changed_at__gte=changed_at - SAME_CHANGE_WINDOW,
            changed_at__lte=changed_at + SAME_CHANGE_WINDOW,
        ).select_related("recorded_by").order_by("changed_at").first())
        if same is not None:
            return same, False
        row = BagChange.objects.create(patient=patient, changed_at=changed_at,
                                       recorded_by=by, note=note)
        bag_change_recorded.send(sender=BagChange, bag_change=row)
    return row, True


def bag_change_cancel(*, bag_change: BagChange, by: User,
                      now: datetime | None = None) -> BagChange:
    """Cancel a wrong record (kept, with who and when; it no longer counts). Nurses and
    clinicians of the patient's team only (BagChangeNotAllowed). Cancelling twice is a
    no-op returning the row. Sends bag_change_cancelled in the transaction (an overdue
    finding it had closed is watched again)."""
    now = now or timezone.now()
    if not may_cancel_bag_change(by, bag_change.patient):
        raise BagChangeNotAllowed(CANCEL_NOT_ALLOWED)
    with transaction.atomic():
        claimed = BagChange.objects.filter(pk=bag_change.pk, cancelled_at__isnull=True).update(
            cancelled_at=now, cancelled_by=by)
        bag_change.refresh_from_db()
        if claimed:
            bag_change_cancelled.send(sender=BagChange, bag_change=bag_change)
    return bag_change
