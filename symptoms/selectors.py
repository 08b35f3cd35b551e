"""Reads for the history and the nurse's timeline: a fixed number of queries whatever the
number of check-ins (each function below runs one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from accounts.models import Patient
from symptoms.models import CheckIn
from treatment import calendar
from treatment.calendar import CYCLE_DAYS
from triage.catalogue import GRADE_LABELS, SYMPTOM_CODES, SYMPTOMS, SYMPTOMS_BY_CODE
from triage.rules import RuleSet


def cycle_window(patient: Patient, today: date | None = None, *,
                 plan: calendar.Schedule | bool | None = False) -> tuple[date, date]:
    """The days the timeline shows: the current cycle so far (from the treatment plan), or
    the last 42 days. `plan`: the patient's calendar.Schedule (or None) if the caller has
    read it already; otherwise it is read here (one query)."""
    today = today or patient.local_today()
    if plan is False:
        plan = calendar.schedule(patient)
    position = plan.position(today) if plan else None
    start = position.cycle_start if position else today - timedelta(days=CYCLE_DAYS - 1)
    return start, today


def _start_of(day: date, patient: Patient) -> datetime:
    return datetime.combine(day, datetime.min.time(), patient.tz)


def window_check_ins(patient: Patient, start: date, end: date) -> list[CheckIn]:
    return list(
        patient.check_ins.filter(
            recorded_at__gte=_start_of(start, patient),
            recorded_at__lt=_start_of(end + timedelta(days=1), patient),
        )
        .order_by("recorded_at")
        .only("recorded_at", "temperature_c", "severity", "symptoms", "patient_id")
    )


def temperature_chart(patient: Patient, check_ins: list[CheckIn], ruleset: RuleSet) -> dict:
    return {
        "points": [
            {"t": c.recorded_at.astimezone(patient.tz).strftime("%Y-%m-%dT%H:%M"),
             "c": float(c.temperature_c), "s": c.severity}
            for c in check_ins if c.temperature_c is not None
        ],
        "high": float(ruleset.fever_high_c),
        "low": float(ruleset.temp_low_c),
        "zone": patient.time_zone,
    }


@dataclass(frozen=True)
class HeatRow:
    label: str
    cells: list[int | None]  # worst grade that day, None when not reported


def symptom_heatmap(patient: Patient, check_ins: list[CheckIn], start: date, end: date
                    ) -> tuple[list[date], list[HeatRow]]:
    """Worst grade of each reported symptom per day; symptoms never reported are left out."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    index = {day: n for n, day in enumerate(days)}
    grid: dict[str, list[int | None]] = {}
    for check_in in check_ins:
        column = index.get(check_in.recorded_at.astimezone(patient.tz).date())
        if column is None:
            continue
        for code, grade in check_in.symptoms.items():
            row = grid.setdefault(code, [None] * len(days))
            row[column] = max(grade, row[column] or 0)
    rows = [HeatRow(s.label, grid[s.code]) for s in SYMPTOMS if s.code in grid]
    return days, rows


def changes_since_previous(patient: Patient) -> tuple[CheckIn | None, list[str]]:
    """The latest check-in and how it differs from the one before, in words."""
    latest_two = list(patient.check_ins.order_by("-recorded_at", "-pk")[:2])
    if not latest_two:
        return None, []
    latest = latest_two[0]
    if len(latest_two) == 1:
        return latest, ["First check-in."]
    before = latest_two[1]
    changes: list[str] = []
    if latest.temperature_c is not None and before.temperature_c is not None:
        delta = latest.temperature_c - before.temperature_c
        if delta:
            changes.append(f"Temperature {before.temperature_c} → {latest.temperature_c} °C "
                           f"({delta:+.1f})")
    for code in sorted(set(latest.symptoms) | set(before.symptoms),
                       key=lambda c: [s.code for s in SYMPTOMS].index(c)
                       if c in SYMPTOMS_BY_CODE else 99):
        old, new = before.symptoms.get(code), latest.symptoms.get(code)
        if old != new and code in SYMPTOMS_BY_CODE:
            words = SYMPTOMS_BY_CODE[code].label
            changes.append(f"{words}: {GRADE_LABELS.get(old, 'not reported')} → "
                           f"{GRADE_LABELS.get(new, 'not reported')}")
    if latest.severity != before.severity:
        changes.append(f"Result {before.severity} → {latest.severity}")
    return latest, changes or ["No change from the previous check-in."]


# The alert state that ends a follow-up, as the alerts app stores it (read through the
# reverse relation `alerts` it declares on CheckIn; symptoms never imports alerts).
_ALERT_RESOLVED = "resolved"


@dataclass(frozen=True)
class FollowUp:
    """A symptom the next check-in asks about first (clinical-rules.md, "Follow-up of a
    flagged symptom"): its code and the grade (0-4) it was given in the patient's most
    recent check-in that reported it."""

    code: str
    last_grade: int

    @property
    def last_words(self) -> str:
        """"moderate (2)": how the form shows last time's grade beside the choices."""
        return f"{GRADE_LABELS[self.last_grade]} ({self.last_grade})"


def _flagged_symptoms(findings: list[dict]) -> set[str]:
    # An amber or red symptom: its own finding, or a `worsening` finding about it.
    codes = set()
    for finding in findings or ():
        if not isinstance(finding, dict) or finding.get("severity") not in ("amber", "red"):
            continue
        rule = finding.get("rule")
        code = (finding.get("values") or {}).get("symptom") if rule == "worsening" else rule
        if code in SYMPTOMS_BY_CODE:
            codes.add(code)
    return codes


def follow_ups(patient: Patient) -> list[FollowUp]:
    """The symptoms the patient's next check-in opens with, in catalogue order.

    A symptom is followed up after a check-in that found it amber or red (its own finding
    or `worsening`), until a later check-in grades it 0 or the alert that check-in belongs
    to is resolved. Two queries: the flagged check-ins whose alert is not resolved, then
    the check-ins since the oldest of them (for the latest grade of each symptom).
    """
    flagged = (patient.check_ins.filter(severity__in=("amber", "red"))
               .exclude(alerts__state=_ALERT_RESOLVED)
               .order_by("recorded_at", "pk").values_list("recorded_at", "findings"))
    since: dict[str, datetime] = {}
    for recorded_at, findings in flagged:
        for code in _flagged_symptoms(findings):
            since[code] = recorded_at  # the latest flagged check-in of each symptom
    if not since:
        return []
    later = (patient.check_ins.filter(recorded_at__gte=min(since.values()))
             .order_by("recorded_at", "pk").values_list("recorded_at", "symptoms"))
    last: dict[str, int] = {}
    ended: set[str] = set()
    for recorded_at, symptoms in later:
        for code, grade in (symptoms or {}).items():
            if code not in since or recorded_at < since[code] or not isinstance(grade, int):
                continue
            last[code] = grade
            if grade == 0:
                ended.add(code)  # graded 0 once: the follow-up is over, whatever comes after
    return [FollowUp(code, last[code]) for code in SYMPTOM_CODES
            if code in last and code not in ended]


def _day_bounds(patient: Patient, day: date) -> tuple[datetime, datetime]:
    return _start_of(day, patient), _start_of(day + timedelta(days=1), patient)


def neuro_check_done_on(patient: Patient, day: date) -> bool:
    """Whether a check-in recorded on `day` (the patient's local date) holds a
    neurological self-check (ICE or CAPD, "cannot be woken" included). One query."""
    start, end = _day_bounds(patient, day)
    return (patient.check_ins.filter(recorded_at__gte=start, recorded_at__lt=end)
            .exclude(neuro_tool="").exists())
