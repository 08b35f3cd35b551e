"""Where a patient is in their treatment on a day, computed from the plan's rows only.

clinical-rules.md, "Treatment calendar and bag changes": cycles of 42 days, infusion days
1-28 then break days 29-42, up to 5 cycles. Cycle 1 starts at its TreatmentCycle row's
date; cycle k starts at its own row's date, or 42 days after cycle k-1's start when it has
no row. A cycle that starts late makes the break before it longer (the infusion is still
28 days). After the last planned cycle's 14-day break the patient is off treatment.

Two layers:
- pure functions over rows (`schedule_from_rows`, `Schedule.position`, `infusion_days`),
  no database, for tests and for callers that already hold the rows;
- readers that fetch those rows in a FIXED number of queries (`schedule`, `schedules`,
  `schedules_between`, `position`, `positions`, `on_infusion`, `next_visit`).

Days are the patient's local dates (Patient.local_today); this module never guesses a
time zone from a date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from django.db.models import QuerySet

from accounts.models import Patient
from treatment.models import MAX_CYCLES, ClinicVisit, TreatmentCycle, TreatmentPlan

# The one place these numbers live (clinical-rules.md, "Treatment calendar and bag
# changes"); accounts, symptoms, alerts and nursing read them from here.
INFUSION_DAYS = 28
BREAK_DAYS = 14
CYCLE_DAYS = INFUSION_DAYS + BREAK_DAYS  # 42

Phase = Literal["infusion", "break"]
INFUSION: Phase = "infusion"
BREAK: Phase = "break"

# (cycle number 1..5, start date): what a TreatmentCycle row says.
CycleRow = tuple[int, date]


def _day_month(day: date) -> str:
    # "12 January": no leading zero, whatever the platform's strftime supports.
    return f"{day.day} {day:%B}"


@dataclass(frozen=True)
class Position:
    """Where a patient is on one day.

    cycle: 1..5; phase: "infusion" or "break"; day: 1-based day of the phase; length: the
    planned length of the phase in days (28 for infusion, 14 for a break); cycle_start:
    the date of the cycle's day 1; next_cycle_start: set only when the next cycle starts
    late, so that this break lasts longer than 14 days (then `day` may exceed `length`).
    """

    cycle: int
    phase: Phase
    day: int
    length: int
    cycle_start: date
    next_cycle_start: date | None = None

    @property
    def on_infusion(self) -> bool:
        return self.phase == INFUSION

    @property
    def cycle_day(self) -> int:
        """Day of the cycle counted from its start (1..28 on infusion, 29.. on a break)."""
        return self.day if self.phase == INFUSION else INFUSION_DAYS + self.day

    @property
    def text(self) -> str:
        """The words shown everywhere: "cycle 2, infusion day 12 of 28",
        "cycle 2, break, day 5 of 14", or, when the next cycle is late,
        "cycle 2, break, day 17; cycle 3 starts 12 January" (never "day 17 of 14")."""
        if self.phase == INFUSION:
            return f"cycle {self.cycle}, infusion day {self.day} of {self.length}"
        if self.next_cycle_start is not None:
            return (f"cycle {self.cycle}, break, day {self.day}; "
                    f"cycle {self.cycle + 1} starts {_day_month(self.next_cycle_start)}")
        return f"cycle {self.cycle}, break, day {self.day} of {self.length}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Schedule:
    """A plan's cycle start dates, worked out: `starts[k-1]` is the first day of cycle k,
    for k = 1..planned_cycles (len(starts) == planned_cycles, 1..5)."""

    starts: tuple[date, ...]

    @property
    def planned_cycles(self) -> int:
        return len(self.starts)

    @property
    def end(self) -> date:
        """The last day of treatment: the last day of the last planned cycle's break."""
        return self.starts[-1] + timedelta(days=CYCLE_DAYS - 1)

    @property
    def last_infusion_day(self) -> date:
        return self.starts[-1] + timedelta(days=INFUSION_DAYS - 1)

    def position(self, day: date) -> Position | None:
        """Position on `day` (a local date), or None before cycle 1 and after `end`."""
        if day < self.starts[0] or day > self.end:
            return None
        k = max(i for i, start in enumerate(self.starts) if start <= day)
        start = self.starts[k]
        cycle_day = (day - start).days + 1
        if cycle_day <= INFUSION_DAYS:
            return Position(k + 1, INFUSION, cycle_day, INFUSION_DAYS, start)
        late = None
        if k + 1 < len(self.starts):
            following = self.starts[k + 1]
            if (following - start).days > CYCLE_DAYS:
                late = following
        return Position(k + 1, BREAK, cycle_day - INFUSION_DAYS, BREAK_DAYS, start, late)

    def on_infusion(self, day: date) -> bool:
        """True on infusion days 1-28 of a planned cycle (the days check-ins are expected
        and bag changes fall due)."""
        position = self.position(day)
        return position is not None and position.on_infusion

    def cycle_start(self, number: int) -> date:
        """The first day of cycle `number` (1..planned_cycles); IndexError otherwise."""
        if not 1 <= number <= len(self.starts):
            raise IndexError(f"cycle {number} is not planned")
        return self.starts[number - 1]


def schedule_from_rows(planned_cycles: int, rows: Iterable[CycleRow]) -> Schedule | None:
    """The Schedule of a plan from its TreatmentCycle rows, as (number, start_date) pairs.

    planned_cycles is clamped to 1..MAX_CYCLES; rows numbered above it are ignored. A
    cycle without a row starts CYCLE_DAYS after the previous one. Returns None when there
    is no cycle 1 row (a plan not yet started; nothing is computed from guesses).
    """
    given = {number: start for number, start in rows}
    if 1 not in given:
        return None
    planned = max(1, min(MAX_CYCLES, planned_cycles))
    starts = [given[1]]
    for number in range(2, planned + 1):
        starts.append(given.get(number, starts[-1] + timedelta(days=CYCLE_DAYS)))
    return Schedule(tuple(starts))


def infusion_days(schedule: Schedule | None, first: date, last: date) -> list[date]:
    """The infusion days of `schedule` from `first` to `last` inclusive, in order (empty for
    None). The missed check-in sweep asks for (yesterday, today) in the patient's zone."""
    if schedule is None:
        return []
    days = []
    day = first
    while day <= last:
        if schedule.on_infusion(day):
            days.append(day)
        day += timedelta(days=1)
    return days


# Readers: rows from the database in a fixed number of queries ----------------------------

_ROW = ("plan__patient_id", "plan__planned_cycles", "number", "start_date")


def _collect(rows: Iterable[tuple[int, int, int, date]]) -> dict[int, Schedule]:
    planned: dict[int, int] = {}
    cycles: dict[int, list[CycleRow]] = {}
    for patient_id, planned_cycles, number, start in rows:
        planned[patient_id] = planned_cycles
        cycles.setdefault(patient_id, []).append((number, start))
    found = {pid: schedule_from_rows(planned[pid], cycles[pid]) for pid in cycles}
    return {pid: s for pid, s in found.items() if s is not None}


def schedules(patient_ids: Iterable[int]) -> dict[int, Schedule]:
    """{patient id: Schedule} for those with a started plan (cycle 1 row); one query
    however many ids. Patients without a plan are absent from the dict."""
    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    return _collect(TreatmentCycle.objects.filter(plan__patient_id__in=ids)
                    .values_list(*_ROW))


def schedule(patient: Patient) -> Schedule | None:
    """The patient's Schedule, or None without a plan or a cycle 1 row (one query)."""
    return schedules([patient.pk]).get(patient.pk)


def plans_between(first: date, last: date) -> QuerySet[TreatmentPlan]:
    """The plans that may have an infusion day between `first` and `last` (inclusive), as a
    lazy queryset (subqueries, no list of ids: it stays one query at any size). A
    superset: check days with Schedule.on_infusion / infusion_days.

    A day D on infusion lies within INFUSION_DAYS of its cycle's start, which lies within
    (MAX_CYCLES - 1) * CYCLE_DAYS of the latest row at or before it; so a plan with no row
    since first - MAX_CYCLES * CYCLE_DAYS, or whose cycle 1 starts after `last`, has none.
    """
    reach = first - timedelta(days=MAX_CYCLES * CYCLE_DAYS)
    recent = TreatmentCycle.objects.filter(start_date__gte=reach).values("plan_id")
    begun = TreatmentCycle.objects.filter(number=1, start_date__lte=last).values("plan_id")
    return TreatmentPlan.objects.filter(pk__in=recent).filter(pk__in=begun)


def schedules_between(first: date, last: date) -> dict[int, Schedule]:
    """{patient id: Schedule} of plans_between(first, last), in one query. Used by sweeps
    over all patients (with plans_between to read the same patients' columns)."""
    return _collect(TreatmentCycle.objects.filter(plan__in=plans_between(first, last))
                    .values_list(*_ROW))


def position(patient: Patient, day: date) -> Position | None:
    """Where `patient` is on `day` (a date in the patient's zone): None before cycle 1,
    after the last planned cycle's break, or without a plan. One query."""
    found = schedule(patient)
    return found.position(day) if found else None


def positions(patients: Iterable[Patient], day: date | None = None, *,
              now: datetime | None = None) -> dict[int, Position | None]:
    """{patient id: Position | None} for every patient given, in one query however many.

    `day` is the same local date for all; when None, each patient's own local today at
    `now` (default: the current time) is used, as the queue and the staff home list need.
    """
    patients = list(patients)
    found = schedules(p.pk for p in patients)
    result: dict[int, Position | None] = {}
    for patient in patients:
        plan = found.get(patient.pk)
        on = day if day is not None else patient.local_today(now)
        result[patient.pk] = plan.position(on) if plan else None
    return result


def on_infusion(patient: Patient, day: date | None = None) -> bool:
    """True if `day` (default: the patient's local today) is an infusion day of the
    patient's plan. One query."""
    found = schedule(patient)
    return found is not None and found.on_infusion(day or patient.local_today())


def next_visit(patient: Patient, now: datetime) -> ClinicVisit | None:
    """The patient's next clinic visit not cancelled, starting at or after `now` (an aware
    datetime), or None. One query."""
    return (ClinicVisit.objects.filter(patient=patient, cancelled_at__isnull=True,
                                       starts_at__gte=now).order_by("starts_at").first())
