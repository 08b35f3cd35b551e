"""Properties the rules must keep for every check-in, not just the examples: worse
readings and stricter thresholds never make a result less severe (v2: a lower ICE score, a
higher CAPD score, more worry, more drowsiness included), the order of symptoms never
matters, and bad input never reaches the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.catalogue import (
    DEFAULT_THRESHOLDS,
    PUMP_STATES,
    SEVERITY_RANK,
    SYMPTOM_CODES,
    SYMPTOMS,
)
from triage.rules import Result, RuleSet, evaluate, validate_overrides
from triage.validation import CheckInInvalid, parse_check_in, to_canonical_dict

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DEFAULT = RuleSet.default()

grades = st.integers(0, 4)
symptom_maps = st.dictionaries(st.sampled_from(SYMPTOM_CODES), grades)
temperatures = st.decimals(min_value=Decimal("30.0"), max_value=Decimal("45.0"), places=1)

def without(data: dict, *names: str) -> dict:
    """`data` less the keys `names`."""
    return {k: v for k, v in data.items() if k not in names}


check_in_fields = st.fixed_dictionaries(
    {},
    optional={
        "temperature_c": temperatures,
        "antipyretic_last_6h": st.booleans(),
        "feels_suddenly_unwell": st.booleans(),
        "symptoms": symptom_maps,
        "stools_above_baseline": st.integers(0, 50),
        "diarrhoea_with_blood": st.booleans(),
        "vomiting_episodes_24h": st.integers(0, 50),
        "unable_to_keep_fluids": st.booleans(),
        "pump": st.sampled_from([p.code for p in PUMP_STATES]),
        "spo2": st.integers(50, 100),
        "systolic_bp": st.integers(40, 250),
        "heart_rate": st.integers(20, 250),
        "ice_score": st.integers(0, 10),
        "capd_score": st.integers(0, 32),
        "worry": st.integers(0, 3),
        "notes": st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=50),
    },
)
# A non-empty check-in: the pump state is always given, like a patient on a pump would.
# One neurological check per check-in (the parser refuses ice_score with capd_score): where
# both were drawn, the ICE score stays.
check_ins = check_in_fields.map(
    lambda d: {"pump": "running", **without(d, "capd_score" if "ice_score" in d else ""),
               "recorded_at": T0.isoformat()}
)
histories = st.lists(
    st.tuples(st.floats(0.5, 100), symptom_maps.filter(bool)), max_size=4
).map(
    lambda items: [
        {"recorded_at": (T0 - timedelta(hours=h)).isoformat(), "symptoms": s} for h, s in items
    ]
)


def judge(data: dict, history: list[dict], ruleset: RuleSet = DEFAULT) -> Result:
    return evaluate(parse_check_in(data), [parse_check_in(h) for h in history], ruleset)


def rank(result: Result) -> int:
    return SEVERITY_RANK[result.severity]


def not_less_severe(worse: Result, better: Result) -> bool:
    return rank(worse) >= rank(better) and (worse.emergency or not better.emergency)


@given(check_ins, histories, st.sampled_from(SYMPTOM_CODES), st.integers(1, 4))
def test_raising_a_symptom_grade_never_lowers_severity(data, history, code, step):
    before = judge(data, history)
    symptoms = dict(data.get("symptoms", {}))
    symptoms[code] = min(4, symptoms.get(code, 0) + step)

    after = judge({**data, "symptoms": symptoms}, history)

    assert not_less_severe(after, before)


@given(check_ins, histories, st.sampled_from(SYMPTOM_CODES))
def test_reporting_a_symptom_never_lowers_severity(data, history, code):
    symptoms = {k: v for k, v in data.get("symptoms", {}).items() if k != code}
    without = judge({**data, "symptoms": symptoms}, history)

    with_it = judge({**data, "symptoms": {**symptoms, code: 0}}, history)

    assert not_less_severe(with_it, without)


@given(
    check_ins,
    st.sampled_from(["stools_above_baseline", "vomiting_episodes_24h"]),
    st.integers(0, 50),
    st.integers(0, 50),
)
def test_more_stools_or_vomiting_never_lowers_severity(data, field, a, b):
    low, high = sorted((a, b))

    assert not_less_severe(judge({**data, field: high}, []), judge({**data, field: low}, []))


@given(check_ins, st.sampled_from(["spo2", "systolic_bp"]), st.integers(50, 250),
       st.integers(50, 250))
def test_lower_oxygen_or_blood_pressure_never_lowers_severity(data, field, a, b):
    top = 100 if field == "spo2" else 250
    low, high = sorted((min(a, top), min(b, top)))

    assert not_less_severe(judge({**data, field: low}, []), judge({**data, field: high}, []))


@given(check_ins, temperatures, temperatures)
def test_higher_fever_never_lowers_severity(data, a, b):
    # Above the low-temperature threshold; below it a warmer reading is rightly better.
    floor = DEFAULT_THRESHOLDS.temp_low_c
    low, high = sorted((max(a, floor), max(b, floor)))

    assert not_less_severe(
        judge({**data, "temperature_c": high}, []), judge({**data, "temperature_c": low}, [])
    )


@given(check_ins, st.sampled_from([
    "antipyretic_last_6h", "feels_suddenly_unwell", "diarrhoea_with_blood",
    "unable_to_keep_fluids",
]))
def test_answering_yes_never_lowers_severity(data, field):
    assert not_less_severe(judge({**data, field: True}, []), judge({**data, field: False}, []))


@given(check_ins, histories, st.integers(0, 10), st.integers(0, 10))
def test_lower_ice_score_never_lowers_severity(data, history, a, b):
    low, high = sorted((a, b))

    data = without(data, "capd_score")
    assert not_less_severe(judge({**data, "ice_score": low}, history),
                           judge({**data, "ice_score": high}, history))


@given(check_ins, histories, st.integers(0, 32), st.integers(0, 32))
def test_higher_capd_score_never_lowers_severity(data, history, a, b):
    low, high = sorted((a, b))

    data = without(data, "ice_score")
    assert not_less_severe(judge({**data, "capd_score": high}, history),
                           judge({**data, "capd_score": low}, history))


@given(check_ins, histories, st.integers(0, 3), st.integers(0, 3))
def test_more_worry_never_lowers_severity(data, history, a, b):
    low, high = sorted((a, b))

    assert not_less_severe(judge({**data, "worry": high}, history),
                           judge({**data, "worry": low}, history))


@given(check_ins, histories, st.sampled_from(["ice_score", "capd_score", "worry"]))
def test_answering_a_v2_question_never_lowers_severity(data, history, field):
    # Worry "not at all", a full ICE score, a CAPD of 0: the answer that says least.
    least = {"ice_score": 10, "capd_score": 0, "worry": 0}[field]
    other_tool = {"ice_score": "capd_score", "capd_score": "ice_score"}.get(field, "")
    rest = without(data, field, other_tool)

    assert not_less_severe(judge({**rest, field: least}, history), judge(rest, history))


@given(check_ins, histories, st.integers(0, 4), st.integers(0, 4))
def test_more_drowsiness_never_lowers_severity_nor_drops_the_emergency(data, history, a, b):
    low, high = sorted((a, b))
    symptoms = dict(data.get("symptoms", {}))

    assert not_less_severe(
        judge({**data, "symptoms": {**symptoms, "drowsiness": high}}, history),
        judge({**data, "symptoms": {**symptoms, "drowsiness": low}}, history),
    )


@given(check_ins, st.integers(3, 10), st.integers(3, 10), st.integers(0, 5), st.integers(0, 5))
def test_a_higher_ice_baseline_or_a_lower_capd_baseline_never_lowers_severity(
    data, ice_a, ice_b, capd_a, capd_b
):
    # The baselines are the one threshold the document lets a nurse loosen; within their
    # limits, the stricter one (ICE higher, CAPD lower) is never less severe.
    looser = DEFAULT.with_overrides({"ice_baseline": min(ice_a, ice_b),
                                     "capd_baseline": max(capd_a, capd_b)})
    stricter = DEFAULT.with_overrides({"ice_baseline": max(ice_a, ice_b),
                                       "capd_baseline": min(capd_a, capd_b)})

    assert not_less_severe(judge(data, [], stricter), judge(data, [], looser))


@given(check_ins, st.integers(3, 10), st.integers(0, 5))
def test_a_loosened_baseline_keeps_the_emergencies_and_the_red_capd(data, ice, capd):
    rs = DEFAULT.with_overrides({"ice_baseline": ice, "capd_baseline": capd})

    result = judge(data, [], rs)

    if data.get("ice_score") is not None and data["ice_score"] <= 2:
        assert result.emergency
    if data.get("capd_score") is not None and data["capd_score"] >= 9:
        assert result.severity == "red"


@st.composite
def stricter_overrides(draw: st.DrawFn) -> dict:
    """Overrides that only tighten the rules, each within the allowed limits. (The ICE and
    CAPD baselines' defaults are already their strictest; they have their own test.)"""
    symptoms = {}
    for s in draw(st.lists(st.sampled_from(SYMPTOMS), unique_by=lambda s: s.code)):
        red = draw(st.integers(1, s.red))
        levels: dict[str, int] = {"red": red}
        if s.amber is not None:
            levels["amber"] = draw(st.integers(1, min(s.amber, red)))
        if s.emergency is not None:
            levels["emergency"] = draw(st.integers(red, s.emergency))
        symptoms[s.code] = levels
    diarrhoea_red = draw(st.integers(1, 7))
    vomiting_red = draw(st.integers(1, 6))
    emergency_below = draw(st.integers(90, 100))
    red_below = draw(st.integers(max(92, emergency_below), 100))
    bag_red = draw(st.integers(30, 180))
    numbers = {
        "fever_high_c": draw(st.decimals(Decimal("37.0"), Decimal("37.5"), places=1)),
        "temp_low_c": draw(st.decimals(Decimal("36.0"), Decimal("36.9"), places=1)),
        "masked_low_c": draw(st.decimals(Decimal("36.0"), Decimal("37.0"), places=1)),
        "diarrhoea_red": diarrhoea_red,
        "diarrhoea_amber": draw(st.integers(1, min(4, diarrhoea_red))),
        "vomiting_red": vomiting_red,
        "vomiting_amber": draw(st.integers(1, min(2, vomiting_red))),
        "spo2_emergency_below": emergency_below,
        "spo2_red_below": red_below,
        "spo2_amber_below": draw(st.integers(max(95, red_below), 100)),
        "bp_low_below": draw(st.integers(90, 140)),
        "worsening_grades": draw(st.integers(1, 2)),
        "worsening_window_hours": draw(st.integers(72, 168)),
        # Not read by evaluate(), but must pass validation alongside the others.
        "bag_overdue_red_minutes": bag_red,
        "bag_overdue_amber_minutes": draw(st.integers(15, min(60, bag_red))),
    }
    # Thresholds that must keep their order are overridden together.
    bundles = [
        ("fever_high_c",), ("temp_low_c",), ("masked_low_c",),
        ("diarrhoea_red", "diarrhoea_amber"), ("vomiting_red", "vomiting_amber"),
        ("spo2_emergency_below", "spo2_red_below", "spo2_amber_below"),
        ("bp_low_below",), ("worsening_grades",), ("worsening_window_hours",),
        ("bag_overdue_red_minutes", "bag_overdue_amber_minutes"),
    ]
    chosen = draw(st.lists(st.sampled_from(bundles), unique=True))
    return {"symptoms": symptoms, **{k: numbers[k] for bundle in chosen for k in bundle}}


@given(check_ins, histories, stricter_overrides())
def test_stricter_thresholds_never_lower_severity(data, history, overrides):
    assert validate_overrides(overrides) == {}
    stricter = DEFAULT.with_overrides(overrides)

    assert not_less_severe(judge(data, history, stricter), judge(data, history))


@given(check_ins, histories, st.randoms(use_true_random=False))
def test_result_does_not_depend_on_the_order_of_symptoms(data, history, random):
    items = list(data.get("symptoms", {}).items())
    random.shuffle(items)

    shuffled = judge({**data, "symptoms": dict(items)}, history)

    assert shuffled.to_json() == judge(data, history).to_json()


@given(check_ins)
def test_valid_check_in_round_trips_through_its_canonical_dict(data):
    check_in = parse_check_in(data)

    assert parse_check_in(to_canonical_dict(check_in)) == check_in


BAD_VALUES = {
    "temperature_c": st.one_of(
        st.floats(max_value=29.94), st.floats(min_value=45.05), st.just(float("nan")),
        st.text(), st.booleans(),
    ),
    "stools_above_baseline": st.one_of(
        st.integers(max_value=-1), st.integers(min_value=51), st.floats(), st.booleans(),
    ),
    "vomiting_episodes_24h": st.one_of(st.integers(max_value=-1), st.integers(min_value=51)),
    "spo2": st.one_of(st.integers(max_value=49), st.integers(min_value=101), st.text()),
    "systolic_bp": st.one_of(st.integers(max_value=39), st.integers(min_value=251)),
    "heart_rate": st.one_of(st.integers(max_value=19), st.integers(min_value=251)),
    "pump": st.text().filter(lambda t: t not in {p.code for p in PUMP_STATES}),
    "feels_suddenly_unwell": st.one_of(st.integers(), st.text()),
    "recorded_at": st.one_of(st.text(max_size=30), st.integers()),
    "ice_score": st.one_of(st.integers(max_value=-1), st.integers(min_value=11), st.floats(),
                           st.booleans(), st.text()),
    "capd_score": st.one_of(st.integers(max_value=-1), st.integers(min_value=33),
                            st.floats(), st.booleans()),
    "worry": st.one_of(st.integers(max_value=-1), st.integers(min_value=4), st.floats(),
                       st.booleans(), st.text()),
    "notes": st.text(alphabet="ab \x00", min_size=2001, max_size=2100).filter(
        lambda t: len(t.strip()) > 2000 or "\x00" in t
    ),
}


@given(check_ins, st.sampled_from(sorted(BAD_VALUES)), st.data())
def test_bad_value_never_yields_a_result(data, field, drawer):
    bad = drawer.draw(BAD_VALUES[field])

    with pytest.raises(CheckInInvalid) as refused:
        parse_check_in({**data, field: bad})

    assert field in refused.value.errors


@given(check_ins, st.sampled_from(SYMPTOM_CODES), st.one_of(
    st.integers(max_value=-1), st.integers(min_value=5), st.floats(), st.text(), st.booleans(),
))
def test_bad_grade_never_yields_a_result(data, code, grade):
    with pytest.raises(CheckInInvalid) as refused:
        parse_check_in({**data, "symptoms": {code: grade}})

    assert f"symptoms.{code}" in refused.value.errors


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=3),
    max_leaves=10,
)
junk = st.dictionaries(
    st.sampled_from([*SYMPTOM_CODES[:3], "temperature_c", "temperature_f", "symptoms", "pump",
                     "spo2", "notes", "recorded_at", "ice_score", "capd_score", "worry",
                     "x"]),
    json_values,
)


@given(junk)
def test_anything_is_either_a_valid_check_in_or_refused(data):
    try:
        check_in = parse_check_in(data)
    except CheckInInvalid as refused:
        errors = refused.errors
    else:
        errors = {}
        evaluate(check_in, [], DEFAULT)

    assert errors or check_in is not None
