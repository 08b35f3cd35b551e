"""The thresholds in force for one check-in, and the limits on changing them.

A RuleSet is the v2 defaults of triage.catalogue with a care team's and then a
patient's overrides applied. Writes check overrides strictly (validate_overrides,
with_overrides); the rule set that judges a check-in is built by resolve_layers(), which
never refuses what is stored (see the end of this module). It is re-exported by
triage.rules; import it from there.

Override mapping: {"symptoms": {CODE: {"amber": int|None, "red": int, "emergency":
int|None}}, NAME: value} where NAME is a field of catalogue.Thresholds. Only the keys given
change. What is refused, and why (clinical-rules.md: "a red rule can be made stricter
(lower amber or red grade) but never removed"; "nobody may silently loosen a red rule";
a patient's fever threshold stays within 37.0-38.0 °C):

- Limits are measured against the defaults, not against the rule set being
  overridden. A patient override may therefore undo a team's tightening back to the
  default (a clinician decision, written down and audited), but nothing ever goes past
  the default in the loosening direction.
- Symptom grades may only be lowered: red 1..default red, never None; amber
  1..default amber, and None only where the default is "-"; emergency 1..default
  emergency (any grade 1-4 where the default has none), None only where the default
  has none. We read "may be made stricter" for amber too: raising an amber grade would
  hide a symptom the document calls amber.
- The grades of one symptom must keep amber <= red <= emergency.
- Numeric thresholds stay within catalogue.OVERRIDE_LIMITS, whose default end is the
  loosest allowed: fever_high_c 37.0-38.0 (the document's one two-way limit), the low
  temperature only up, spo2 and blood-pressure thresholds only up, counts only down, the
  worsening step only down and its window only longer. Their order must hold too:
  diarrhoea/vomiting amber <= red, spo2 emergency <= red <= amber.
- Temperatures take at most one decimal (37.8, not 37.85): rounding a threshold would
  move it without anyone deciding to.

Version 2 adds four numeric thresholds:

- `bag_overdue_amber_minutes` (default 60) and `bag_overdue_red_minutes` (default 180),
  care-team settings that may only come down: amber 15-60, red 30-180, amber <= red. Red
  never goes past 180 minutes because an interruption of 4 h or more may need the infusion
  restarted in hospital (clinical-rules.md, "Treatment calendar and bag changes"), and the
  team needs time to act before then.
- `ice_baseline` (default 10) and `capd_baseline` (default 0), the patient's usual score
  when well. These are the one place the document allows a move in the loosening
  direction ("a nurse may set it lower, with a reason, for a patient who cannot score 10
  when well"): their default is the strict end and OverrideLimit.loosening_allowed is set.
  The far end keeps every neurological rule able to fire:
  * ice_baseline 3-10: neuro_ice fires below the baseline; at 2 or less
    neuro_ice_severe (red, emergency) fires whatever the baseline, so a baseline under 3
    would change nothing but hide the patient's own drop from 3 to 2 behind a number
    that says "usual".
  * capd_baseline 0-5: neuro_capd_rise fires from baseline + 3 up to 8 and neuro_capd
    (red) from 9 whatever the baseline; at 6 or more the rise could never fire, so the
    amber rule would be removed without anyone saying so.
  Every change is a written, audited clinical decision like any other override; nothing
  here lowers neuro_ice_severe or neuro_capd, whose cut-offs are not thresholds at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from triage.catalogue import (
    DEFAULT_THRESHOLDS,
    MAX_GRADE,
    NON_FIELD,
    OVERRIDE_LIMITS,
    RULES_VERSION,
    SYMPTOMS,
    SYMPTOMS_BY_CODE,
    SYMPTOMS_KEY,
    TEMPERATURE_QUANTUM,
    Thresholds,
)

_LEVELS = ("amber", "red", "emergency")
# Numeric thresholds of one rule where amber must not be above red (lower is stricter).
_AMBER_RED_PAIRS = (
    ("diarrhoea_amber", "diarrhoea_red"),
    ("vomiting_amber", "vomiting_red"),
    ("bag_overdue_amber_minutes", "bag_overdue_red_minutes"),
)


@dataclass(frozen=True)
class SymptomThreshold:
    """Grades at which a symptom is amber, red, and an emergency (None: never)."""

    amber: int | None
    red: int
    emergency: int | None


def _default_symptoms() -> Mapping[str, SymptomThreshold]:
    return MappingProxyType(
        {s.code: SymptomThreshold(s.amber, s.red, s.emergency) for s in SYMPTOMS}
    )


@dataclass(frozen=True)
class RuleSet(Thresholds):
    """Every threshold evaluate() reads: those of catalogue.Thresholds plus the symptoms'."""

    version: str = RULES_VERSION
    symptoms: Mapping[str, SymptomThreshold] = field(default_factory=_default_symptoms)

    @classmethod
    def default(cls) -> RuleSet:
        """The defaults of clinical-rules.md (the current RULES_VERSION)."""
        return cls()

    def with_overrides(self, overrides: Mapping[str, object]) -> RuleSet:
        """A copy with `overrides` applied; raises OverridesRefused (a ValueError naming
        each refused key) if any override is unknown, malformed or loosens beyond the
        limits in the module docstring."""
        ruleset, errors = _apply(self, overrides)
        if errors or ruleset is None:
            raise OverridesRefused(errors)
        return ruleset

    def to_json(self) -> dict[str, object]:
        """Every threshold, JSON-able (temperatures as floats), e.g. to show or snapshot."""
        result: dict[str, object] = {"version": self.version}
        for f in fields(Thresholds):
            value = getattr(self, f.name)
            result[f.name] = float(value) if isinstance(value, Decimal) else value
        result[SYMPTOMS_KEY] = {
            code: {"amber": t.amber, "red": t.red, "emergency": t.emergency}
            for code, t in self.symptoms.items()
        }
        return result


class OverridesRefused(ValueError):
    """Threshold overrides that may not be applied; `errors` maps key -> message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def validate_overrides(
    overrides: Mapping[str, object], base: RuleSet | None = None
) -> dict[str, str]:
    """Errors per key ("fever_high_c", "symptoms.headache.red", ...); empty if valid.

    `base` is the rule set the overrides would apply to (the defaults if not given);
    it matters only for the order checks (amber <= red and so on).
    """
    return _apply(base or RuleSet.default(), overrides)[1]


def _apply(
    base: RuleSet, overrides: Mapping[str, object]
) -> tuple[RuleSet | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if not isinstance(overrides, Mapping):
        return None, {NON_FIELD: "overrides must be a mapping of threshold names to values"}
    numbers: dict[str, object] = {}
    symptoms = dict(base.symptoms)
    for key, raw in overrides.items():
        if key == SYMPTOMS_KEY:
            _apply_symptoms(raw, symptoms, errors)
        elif isinstance(key, str) and key in OVERRIDE_LIMITS:
            try:
                numbers[key] = _number(key, raw)
            except ValueError as refused:
                errors[key] = str(refused)
        else:
            errors[str(key)[:40]] = "unknown threshold; accepted are symptoms, " + ", ".join(
                OVERRIDE_LIMITS
            )
    if errors:
        return None, errors
    ruleset = replace(base, symptoms=MappingProxyType(symptoms), **numbers)  # type: ignore[arg-type]
    errors.update(_order_errors(ruleset, overrides))
    return (None, errors) if errors else (ruleset, {})


def _number(key: str, raw: object) -> Decimal | int:
    limit = OVERRIDE_LIMITS[key]
    default = getattr(DEFAULT_THRESHOLDS, key)
    if isinstance(default, Decimal):
        value: Decimal | int = _temperature(raw)
    elif isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError("must be a whole number")
    else:
        value = raw
    shown = str(value)[:20]
    # Where the default is the loose end of a one-way range, passing that end loosens.
    # (The baselines' default is the strict end: passing it is merely out of range.)
    if (value > limit.maximum and limit.maximum == default and limit.stricter == "lower") or (
        value < limit.minimum and limit.minimum == default and limit.stricter == "higher"
    ):
        way = "lowered" if limit.stricter == "lower" else "raised"
        raise ValueError(
            f"{shown} would loosen the rule; the default {default} may only be {way} "
            f"(stricter), within {limit.minimum}-{limit.maximum}"
        )
    if not (limit.minimum <= value <= limit.maximum):
        why = f": {limit.why}" if limit.why else ""
        raise ValueError(f"{shown} is outside the allowed {limit.minimum}-{limit.maximum}{why}")
    if isinstance(value, Decimal):
        # In range, so quantize cannot overflow here.
        if value != value.quantize(TEMPERATURE_QUANTUM):
            raise ValueError(f"{shown} has more than one decimal; give e.g. 37.8")
        value = value.quantize(TEMPERATURE_QUANTUM)
    return value


def _temperature(raw: object) -> Decimal:
    expected = "must be a temperature in °C with at most one decimal"
    if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal, str)):
        raise ValueError(expected)
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueError(expected)
    try:
        # str() of a float is its shortest round-trip form: 37.8, not 37.799999...
        value = Decimal(str(raw).strip()[:40])
    except InvalidOperation:
        raise ValueError(expected) from None
    if not value.is_finite():
        raise ValueError(expected)
    return value


def _apply_symptoms(
    raw: object, symptoms: dict[str, SymptomThreshold], errors: dict[str, str]
) -> None:
    if not isinstance(raw, Mapping):
        errors[SYMPTOMS_KEY] = "must map symptom codes to {amber, red, emergency}"
        return
    for code, levels in raw.items():
        key = f"{SYMPTOMS_KEY}.{str(code)[:40]}"
        if code not in SYMPTOMS_BY_CODE:
            errors[key] = "unknown symptom code"
            continue
        if not isinstance(levels, Mapping):
            errors[key] = "must be an object with amber, red and/or emergency grades"
            continue
        default = SYMPTOMS_BY_CODE[code]
        current = symptoms[code]
        changed = {}
        for level, value in levels.items():
            if level not in _LEVELS:
                errors[f"{key}.{str(level)[:20]}"] = "unknown; give amber, red or emergency"
                continue
            message = _grade_error(level, value, getattr(default, level))
            if message:
                errors[f"{key}.{level}"] = message
            else:
                changed[level] = value
        symptoms[code] = replace(current, **changed)


def _grade_error(level: str, value: object, default: int | None) -> str | None:
    if value is None:
        if default is None:
            return None
        if level == "red":
            return "a red rule cannot be removed"
        return f"cannot be removed; the default is {default}, and it may only be lowered"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GRADE:
        return f"must be a grade from 1 to {MAX_GRADE}, or null"
    if default is not None and value > default:
        kind = "a red rule" if level == "red" else f"the {level} rule"
        return (f"grade {value} would loosen {kind}; the default {default} may only be "
                "lowered (stricter)")
    return None


def _order_errors(rs: RuleSet, overrides: Mapping[str, object]) -> dict[str, str]:
    """Thresholds of one rule that cross each other; blamed on a key that was given."""
    errors: dict[str, str] = {}

    def blame(first: str, second: str, message: str) -> None:
        errors[first if first in overrides else second] = message

    for amber, red in _AMBER_RED_PAIRS:
        if getattr(rs, amber) > getattr(rs, red):
            blame(amber, red, f"{amber} must not be above {red}")
    if rs.spo2_red_below > rs.spo2_amber_below:
        blame("spo2_red_below", "spo2_amber_below",
              "spo2_red_below must not be above spo2_amber_below")
    if rs.spo2_emergency_below > rs.spo2_red_below:
        blame("spo2_emergency_below", "spo2_red_below",
              "spo2_emergency_below must not be above spo2_red_below")
    given = overrides.get(SYMPTOMS_KEY)
    given = given if isinstance(given, Mapping) else {}
    for code, t in rs.symptoms.items():
        levels = given.get(code)
        levels = levels if isinstance(levels, Mapping) else {}
        key = f"{SYMPTOMS_KEY}.{code}"
        if t.amber is not None and t.amber > t.red:
            blame_level = "amber" if "amber" in levels else "red"
            errors[f"{key}.{blame_level}"] = (
                f"amber grade {t.amber} is above red grade {t.red}; lower amber as well"
            )
        if t.emergency is not None and t.emergency < t.red:
            blame_level = "emergency" if "emergency" in levels else "red"
            errors[f"{key}.{blame_level}"] = (
                f"emergency grade {t.emergency} is below red grade {t.red}; lower red as well"
            )
    return errors


# Resolving layers that contradict each other ------------------------------------------------
# A team's and a patient's overrides are each valid when saved, but together (or after the
# team changes its own) they can cross: the team's diarrhoea amber at 2, a patient's red at
# 3, then the team clears its overrides and the default amber 4 is above the patient's red.
# Judging a check-in must never fail on that (a refused check-in is a lost one), so the
# write path resolves instead: every value that passes the limits is applied, layer by
# layer; a value that does not is left out (the layer below stands, never looser than the
# default); and where two thresholds of one rule cross, the stricter one wins. Each such
# decision is returned as a sentence for the staff pages, so the conflict is seen and fixed.


def resolve_layers(
    layers: list[tuple[str, Mapping[str, object]]],
) -> tuple[RuleSet, list[str]]:
    """The rule set from the defaults and `layers` applied in order, and the conflicts.

    `layers`: (who, overrides) pairs, e.g. [("team", team.thresholds), ("patient",
    patient.thresholds)]. Never raises on what is stored: a refused value is skipped and
    reported; thresholds of one rule that cross are resolved to the stricter value and
    reported. Returns (ruleset, conflicts), conflicts being plain sentences (empty when
    the layers agree).
    """
    ruleset = RuleSet.default()
    conflicts: list[str] = []
    for who, overrides in layers:
        if not overrides:
            continue
        if not isinstance(overrides, Mapping):
            conflicts.append(f"The {who}'s thresholds are not a mapping; they are ignored.")
            continue
        numbers: dict[str, object] = {}
        symptoms = dict(ruleset.symptoms)
        for key, raw in overrides.items():
            if key == SYMPTOMS_KEY:
                _resolve_symptoms(who, raw, symptoms, conflicts)
            elif isinstance(key, str) and key in OVERRIDE_LIMITS:
                try:
                    numbers[key] = _number(key, raw)
                except ValueError as refused:
                    conflicts.append(f"The {who}'s {key} ({str(raw)[:20]}) is ignored: "
                                     f"{refused}.")
            else:
                conflicts.append(f"The {who}'s threshold {str(key)[:40]!r} is unknown and "
                                 "ignored.")
        ruleset = replace(ruleset, symptoms=MappingProxyType(symptoms), **numbers)  # type: ignore[arg-type]
    return _stricter_where_crossed(ruleset, conflicts)


def _resolve_symptoms(
    who: str, raw: object, symptoms: dict[str, SymptomThreshold], conflicts: list[str]
) -> None:
    if not isinstance(raw, Mapping):
        conflicts.append(f"The {who}'s symptom thresholds are malformed and ignored.")
        return
    for code, levels in raw.items():
        if code not in SYMPTOMS_BY_CODE or not isinstance(levels, Mapping):
            conflicts.append(f"The {who}'s thresholds for {str(code)[:40]!r} are ignored "
                             "(unknown symptom or malformed).")
            continue
        default = SYMPTOMS_BY_CODE[code]
        changed = {}
        for level, value in levels.items():
            message = (_grade_error(level, value, getattr(default, level))
                       if level in _LEVELS else "unknown level")
            if message:
                conflicts.append(f"The {who}'s {code} {str(level)[:20]} ({str(value)[:10]}) "
                                 f"is ignored: {message}.")
            else:
                changed[level] = value
        symptoms[code] = replace(symptoms[code], **changed)


def _stricter_where_crossed(rs: RuleSet, conflicts: list[str]) -> tuple[RuleSet, list[str]]:
    numbers: dict[str, int] = {}
    for amber, red in _AMBER_RED_PAIRS:
        if getattr(rs, amber) > getattr(rs, red):
            # Counts and minutes: lower is stricter; amber above red means amber never shows on its
            # own, so it comes down to red.
            conflicts.append(f"{amber} {getattr(rs, amber)} is above {red} {getattr(rs, red)}; "
                             f"using {getattr(rs, red)} for both (the stricter).")
            numbers[amber] = getattr(rs, red)
    emergency, red_below, amber_below = (rs.spo2_emergency_below, rs.spo2_red_below,
                                         rs.spo2_amber_below)
    if emergency > red_below:
        conflicts.append(f"spo2_emergency_below {emergency} is above spo2_red_below "
                         f"{red_below}; red below {emergency} (the stricter).")
        red_below = emergency
    if red_below > amber_below:
        conflicts.append(f"spo2_red_below {red_below} is above spo2_amber_below "
                         f"{amber_below}; amber below {red_below} (the stricter).")
        amber_below = red_below
    numbers.update(spo2_red_below=red_below, spo2_amber_below=amber_below)
    symptoms = dict(rs.symptoms)
    for code, t in rs.symptoms.items():
        red = t.red
        if t.emergency is not None and t.emergency < red:
            conflicts.append(f"{code}: emergency grade {t.emergency} is below red grade "
                             f"{red}; red from grade {t.emergency} (the stricter).")
            red = t.emergency
        amber = t.amber
        if amber is not None and amber > red:
            conflicts.append(f"{code}: amber grade {amber} is above red grade {red}; amber "
                             f"from grade {red} (the stricter).")
            amber = red
        if (amber, red) != (t.amber, t.red):
            symptoms[code] = replace(t, amber=amber, red=red)
    return replace(rs, symptoms=MappingProxyType(symptoms), **numbers), conflicts  # type: ignore[arg-type]
