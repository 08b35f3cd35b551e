"""The triage rules of clinical-rules.md as pure functions: no database, no Django.

evaluate(check_in, previous, ruleset) returns every finding and the overall severity of
one check-in. Thresholds come from a RuleSet (see triage.ruleset), never from literals
here; the vocabulary (codes, words, grades) comes from triage.catalogue.

Order of findings: the rules on the other fields in the order of the document, then the
v2 neurological rules (neuro_ice, neuro_ice_severe, neuro_capd, neuro_capd_rise) and
`carer_concern`, then the symptoms in the order of the catalogue, then `worsening`, then
`multiple_amber`. The order never depends on the order in which symptoms were given.

bag_change_overdue() is the one time-based rule with a pure function here: the sweep that
knows the treatment plan calls it; evaluate() never raises it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from triage.catalogue import (
    CAPD_DELIRIUM_AT,
    CAPD_RISE_POINTS,
    GRADE_LABELS,
    ICE_SEVERE_AT_MOST,
    PUMP_PROBLEM_STATES,
    PUMP_STATES_BY_CODE,
    SEVERITY_RANK,
    SYMPTOMS,
    SYMPTOMS_BY_CODE,
    WORRY_CONCERN_AT,
    WORRY_LABELS,
    SeverityLevel,
)
from triage.ruleset import (
    OverridesRefused,
    RuleSet,
    SymptomThreshold,
    validate_overrides,
)
from triage.validation import CheckInData

__all__ = [
    "Finding",
    "OverridesRefused",
    "Result",
    "RuleSet",
    "SymptomThreshold",
    "bag_change_overdue",
    "evaluate",
    "validate_overrides",
]


def _json_number(value: Decimal | int) -> float | int:
    # One convention for every finding: temperatures (Decimal) as floats, counts as ints.
    return float(value) if isinstance(value, Decimal) else value


@dataclass(frozen=True)
class Finding:
    """One rule that fired: its code, severity, what it looked at and words for a nurse."""

    rule: str
    severity: SeverityLevel
    text: str
    emergency: bool = False
    values: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "text": self.text,
            "emergency": self.emergency,
            "values": dict(self.values),
        }


@dataclass(frozen=True)
class Result:
    severity: SeverityLevel
    emergency: bool
    findings: tuple[Finding, ...]
    rules_version: str

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "emergency": self.emergency,
            "findings": [f.to_json() for f in self.findings],
            "rules_version": self.rules_version,
        }


def evaluate(
    check_in: CheckInData,
    previous: Sequence[CheckInData],
    ruleset: RuleSet,
    now: datetime | None = None,
) -> Result:
    """Judge one check-in.

    `previous` holds earlier check-ins of the same patient (not this one), in any order;
    only those with a recorded_at inside the worsening window before this check-in count
    (see _worsening). The check-in's own recorded_at is the reference time; `now` (or the
    current UTC time) stands in when it has none. All datetimes must be aware.
    """
    rs = ruleset
    findings: list[Finding] = []
    findings += _temperature(check_in, rs)
    findings += _flag(check_in.feels_suddenly_unwell, "feels_unwell", "Suddenly feels unwell")
    findings += _stools(check_in, rs)
    findings += _flag(check_in.diarrhoea_with_blood, "diarrhoea_blood", "Diarrhoea with blood")
    findings += _vomiting(check_in, rs)
    findings += _flag(check_in.unable_to_keep_fluids, "fluids", "Unable to keep fluids down")
    findings += _pump(check_in)
    findings += _spo2(check_in, rs)
    findings += _bp(check_in, rs)
    findings += _ice(check_in, rs)
    findings += _capd(check_in, rs)
    findings += _worry(check_in)
    symptom_findings = {code: _symptom(code, grade, rs) for code, grade in _reported(check_in)}
    findings += [f for f in symptom_findings.values() if f is not None]
    # In UTC: arithmetic and comparison of two datetimes in one ZoneInfo zone follow the
    # wall clock, so a 72 h window across a clock change would be 71 or 73 real hours.
    reference = (check_in.recorded_at or now or datetime.now(UTC)).astimezone(UTC)
    findings += _worsening(check_in, previous, rs, reference, symptom_findings)
    findings += _multiple_amber(findings)

    worst = max(findings, key=lambda f: SEVERITY_RANK[f.severity], default=None)
    return Result(
        severity=worst.severity if worst else "green",
        emergency=any(f.emergency for f in findings),
        findings=tuple(findings),
        rules_version=rs.version,
    )


def _reported(check_in: CheckInData) -> list[tuple[str, int]]:
    unknown = set(check_in.symptoms) - set(SYMPTOMS_BY_CODE)
    if unknown:
        # parse_check_in() refuses these; reaching here is a programming error.
        raise ValueError(f"unknown symptom codes {sorted(unknown)}")
    return [(s.code, check_in.symptoms[s.code]) for s in SYMPTOMS if s.code in check_in.symptoms]


def _temperature(check_in: CheckInData, rs: RuleSet) -> list[Finding]:
    t = check_in.temperature_c
    if t is None:
        return []
    if t >= rs.fever_high_c:
        return [Finding(
            "temperature_high", "red", f"Temperature {t} °C, at or above {rs.fever_high_c} °C",
            values={"temperature_c": _json_number(t), "threshold_c": _json_number(rs.fever_high_c)},
        )]
    if t < rs.temp_low_c:
        return [Finding(
            "temperature_low", "red", f"Temperature {t} °C, below {rs.temp_low_c} °C",
            values={"temperature_c": _json_number(t), "threshold_c": _json_number(rs.temp_low_c)},
        )]
    if check_in.antipyretic_last_6h and t >= rs.masked_low_c:
        return [Finding(
            "temperature_masked", "amber",
            f"Temperature {t} °C (from {rs.masked_low_c} °C, below {rs.fever_high_c} °C) "
            "after paracetamol, ibuprofen or steroids in the last 6 h: a fever may be hidden",
            values={
                "temperature_c": _json_number(t),
                "antipyretic_last_6h": True,
                "from_c": _json_number(rs.masked_low_c),
                "below_c": _json_number(rs.fever_high_c),
            },
        )]
    return []


def _flag(value: bool | None, rule: str, text: str) -> list[Finding]:
    if value is not True:
        return []
    return [Finding(rule, "red", text, values={_FLAG_FIELDS[rule]: True})]


_FLAG_FIELDS = {
    "feels_unwell": "feels_suddenly_unwell",
    "diarrhoea_blood": "diarrhoea_with_blood",
    "fluids": "unable_to_keep_fluids",
}


def _count_rule(
    rule: str, field_name: str, count: int | None, amber: int, red: int, words: str
) -> list[Finding]:
    if count is None:
        return []
    values = {field_name: count, "amber_at": amber, "red_at": red}
    if count >= red:
        return [Finding(rule, "red", f"{count} {words}, red at {red} or more", values=values)]
    if count >= amber:
        return [Finding(
            rule, "amber", f"{count} {words}, amber at {amber} or more (red at {red})",
            values=values,
        )]
    return []


def _stools(check_in: CheckInData, rs: RuleSet) -> list[Finding]:
    return _count_rule(
        "diarrhoea", "stools_above_baseline", check_in.stools_above_baseline,
        rs.diarrhoea_amber, rs.diarrhoea_red, "stools above baseline in 24 h",
    )


def _vomiting(check_in: CheckInData, rs: RuleSet) -> list[Finding]:
    return _count_rule(
        "vomiting", "vomiting_episodes_24h", check_in.vomiting_episodes_24h,
        rs.vomiting_amber, rs.vomiting_red, "vomiting episodes in 24 h",
    )


def _pump(check_in: CheckInData) -> list[Finding]:
    if check_in.pump not in PUMP_PROBLEM_STATES:
        return []
    words = PUMP_STATES_BY_CODE[check_in.pump].words
    return [Finding(
        "pump_problem", "red",
        f"Pump {check_in.pump}: {words}; do not change the pump settings; call now",
        values={"pump": check_in.pump},
    )]


def _spo2(check_in: CheckInData, rs: RuleSet) -> list[Finding]:
    spo2 = check_in.spo2
    if spo2 is None or spo2 >= rs.spo2_amber_below:
        return []
    values = {
        "spo2": spo2,
        "amber_below": rs.spo2_amber_below,
        "red_below": rs.spo2_red_below,
        "emergency_below": rs.spo2_emergency_below,
    }
    if spo2 < rs.spo2_emergency_below:
        text = f"Oxygen saturation {spo2}%, below {rs.spo2_emergency_below}%: emergency"
        return [Finding("spo2_low", "red", text, emergency=True, values=values)]
    if spo2 < rs.spo2_red_below:
        text = f"Oxygen saturation {spo2}%, below {rs.spo2_red_below}%"
        return [Finding("spo2_low", "red", text, values=values)]
    text = (
        f"Oxygen saturation {spo2}%, below {rs.spo2_amber_below}% "
        f"(red below {rs.spo2_red_below}%)"
    )
    return [Finding("spo2_low", "amber", text, values=values)]


def _bp(check_in: CheckInData, rs: RuleSet) -> list[Finding]:
    bp = check_in.systolic_bp
    if bp is None or bp >= rs.bp_low_below:
        return []
    return [Finding(
        "bp_low", "red", f"Systolic blood pressure {bp} mmHg, below {rs.bp_low_below} mmHg",
        values={"systolic_bp": bp, "threshold": rs.bp_low_below},
    )]


def _ice(check_in: CheckInData, rs: RuleSet) -> list[Finding]:
    """neuro_ice and neuro_ice_severe (clinical-rules.md, "The neurological self-check").

    Both conditions are read as written, so an ICE score of 2 or less gives both findings:
    below the baseline (red) and 2 or less (red, emergency). The severe cut-off is the
    document's, not a threshold; the baseline is the patient's (RuleSet.ice_baseline).
    """
    score = check_in.ice_score
    if score is None:
        return []
    found: list[Finding] = []
    if score < rs.ice_baseline:
        found.append(Finding(
            "neuro_ice", "red",
            f"ICE score {score}, below this patient's baseline {rs.ice_baseline}",
            values={"ice_score": score, "baseline": rs.ice_baseline},
        ))
    if score <= ICE_SEVERE_AT_MOST:
        found.append(Finding(
            "neuro_ice_severe", "red",
            f"ICE score {score}, {ICE_SEVERE_AT_MOST} or less: emergency",
            emergency=True,
            values={"ice_score": score, "severe_at_most": ICE_SEVERE_AT_MOST},
        ))
    return found


def _capd(check_in: CheckInData, rs: RuleSet) -> list[Finding]:
    """neuro_capd (9 or more, red) and neuro_capd_rise (3 or more above the child's
    baseline and below 9, amber); the two never fire together."""
    score = check_in.capd_score
    if score is None:
        return []
    if score >= CAPD_DELIRIUM_AT:
        return [Finding(
            "neuro_capd", "red",
            f"CAPD score {score}, {CAPD_DELIRIUM_AT} or more: possible delirium",
            values={"capd_score": score, "red_at": CAPD_DELIRIUM_AT,
                    "baseline": rs.capd_baseline},
        )]
    rise = score - rs.capd_baseline
    if rise >= CAPD_RISE_POINTS:
        return [Finding(
            "neuro_capd_rise", "amber",
            f"CAPD score {score}, {rise} above this child's baseline {rs.capd_baseline} "
            f"(amber at {CAPD_RISE_POINTS} or more above, red at {CAPD_DELIRIUM_AT})",
            values={"capd_score": score, "baseline": rs.capd_baseline, "rise": rise,
                    "rise_at": CAPD_RISE_POINTS, "red_at": CAPD_DELIRIUM_AT},
        )]
    return []


def _worry(check_in: CheckInData) -> list[Finding]:
    """carer_concern: worry 3 ("very") is amber. Worry below 3 adds nothing and takes
    nothing away: it never lowers a result (clinical-rules.md, "The carer's worry")."""
    worry = check_in.worry
    if worry is None or worry < WORRY_CONCERN_AT:
        return []
    return [Finding(
        "carer_concern", "amber",
        f"Worry {worry} ({WORRY_LABELS[worry]}): the family is very worried: "
        "call them back today",
        values={"worry": worry},
    )]


def bag_change_overdue(due_at: datetime, now: datetime, rs: RuleSet) -> Finding | None:
    """The bag_change_overdue finding for a bag change due at `due_at` and not recorded by
    `now`, or None while it is not yet late enough.

    clinical-rules.md, "Treatment calendar and bag changes": amber from
    `rs.bag_overdue_amber_minutes` (default 60) after it was due, red from
    `rs.bag_overdue_red_minutes` (default 180). Whether today is an infusion day and
    whether a change was recorded are the caller's to know (the sweep reads the treatment
    plan); this only measures the delay. Both datetimes must be aware (ValueError
    otherwise); the delay is in real minutes, whatever the clocks do. The due time is
    said in `due_at`'s own zone, so pass it in the patient's zone.
    """
    if due_at.utcoffset() is None or now.utcoffset() is None:
        raise ValueError("due_at and now must be aware datetimes")
    late = now.astimezone(UTC) - due_at.astimezone(UTC)
    minutes = int(late.total_seconds() // 60)
    amber, red = rs.bag_overdue_amber_minutes, rs.bag_overdue_red_minutes
    if minutes < min(amber, red):
        return None
    severity: SeverityLevel = "red" if minutes >= red else "amber"
    zone = due_at.tzname() or due_at.strftime("%z")
    said = f"Bag change due at {due_at:%H:%M} {zone} on {due_at:%d %b %Y}"
    if severity == "red":
        text = (f"{said} not recorded, {_hours_minutes(minutes)} late (red from "
                f"{_hours_minutes(red)}): the infusion may have stopped; an interruption of "
                "4 h or more may need it restarted in hospital")
    else:
        text = (f"{said} not recorded, {_hours_minutes(minutes)} late (amber from "
                f"{_hours_minutes(amber)}, red from {_hours_minutes(red)}): the drip stops "
                "when the bag is empty")
    return Finding(
        "bag_change_overdue", severity, text,
        values={"due_at": due_at.isoformat(), "minutes_late": minutes,
                "amber_after_minutes": amber, "red_after_minutes": red},
    )


def _hours_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def _symptom(code: str, grade: int, rs: RuleSet) -> Finding | None:
    t = rs.symptoms[code]
    label = SYMPTOMS_BY_CODE[code].label
    values = {
        "symptom": code, "grade": grade, "amber_at": t.amber, "red_at": t.red,
        "emergency_at": t.emergency,
    }
    said = f"{label}: grade {grade} ({GRADE_LABELS[grade]})"
    if grade >= t.red:
        emergency = t.emergency is not None and grade >= t.emergency
        text = f"{said}, red at grade {t.red} or above"
        if emergency:
            text += f"; emergency at grade {t.emergency} or above"
        return Finding(code, "red", text, emergency=emergency, values=values)
    if t.amber is not None and grade >= t.amber:
        text = f"{said}, amber at grade {t.amber} or above (red at {t.red})"
        return Finding(code, "amber", text, values=values)
    return None


def _worsening(
    check_in: CheckInData,
    previous: Sequence[CheckInData],
    rs: RuleSet,
    reference: datetime,
    symptom_findings: Mapping[str, Finding | None],
) -> list[Finding]:
    """A symptom graded `worsening_grades` or more above its last grade in the window.

    Which earlier grade counts, for each symptom: the one in the most recent previous
    check-in that reported that symptom (gave it any grade, 0 included) and was recorded
    at most `worsening_window_hours` before this check-in and not after it. A check-in
    that did not mention the symptom is skipped, not read as 0, because an omitted
    symptom was "not reported". Two earlier check-ins at the same moment: the later in
    `previous` counts. Earlier check-ins without a recorded_at cannot be placed and are
    ignored.
    """
    window_start = reference - timedelta(hours=rs.worsening_window_hours)
    in_window = [
        replace(p, recorded_at=p.recorded_at.astimezone(UTC)) for p in previous
        if p.recorded_at is not None
        and window_start <= p.recorded_at.astimezone(UTC) <= reference
    ]
    found: list[Finding] = []
    for code, grade in _reported(check_in):
        last: CheckInData | None = None
        for p in in_window:
            if code in p.symptoms and (last is None or p.recorded_at >= last.recorded_at):
                last = p
        if last is None or grade - last.symptoms[code] < rs.worsening_grades:
            continue
        own = symptom_findings.get(code)
        severity: SeverityLevel = "red" if own is not None and own.severity == "red" else "amber"
        before = last.symptoms[code]
        # Said as "N h earlier": a nurse reads it in any time zone without converting.
        hours_before = round((reference - last.recorded_at).total_seconds() / 3600)
        found.append(Finding(
            "worsening", severity,
            f"{SYMPTOMS_BY_CODE[code].label}: grade {grade} ({GRADE_LABELS[grade]}), up from "
            f"{before} ({GRADE_LABELS[before]}) {hours_before} h earlier: "
            f"{rs.worsening_grades} or more grades worse within {rs.worsening_window_hours} h",
            values={
                "symptom": code, "grade": grade, "previous_grade": before,
                "previous_recorded_at": last.recorded_at.isoformat(),
                "worsening_grades": rs.worsening_grades,
                "window_hours": rs.worsening_window_hours,
            },
        ))
    return found


def _source(finding: Finding) -> str:
    # What a finding is about: a worsening finding is about its symptom, so a symptom that
    # is amber and also worsening counts once towards multiple_amber.
    symptom = finding.values.get("symptom")
    return symptom if isinstance(symptom, str) else finding.rule


def _multiple_amber(findings: Sequence[Finding]) -> list[Finding]:
    sources = list(dict.fromkeys(_source(f) for f in findings if f.severity == "amber"))
    if len(sources) < 2:
        return []
    return [Finding(
        "multiple_amber", "red",
        f"{len(sources)} amber findings in one check-in ({', '.join(sources)}): "
        "two or more ambers need urgent review",
        values={"amber_sources": sources},
    )]
