"""The rules clinical-rules.md adds in "Version 2", row by row, at their boundaries.

Expected results are transcribed from the document ("The neurological self-check",
"Treatment calendar and bag changes", "The carer's worry"), not from running the code:
neuro_ice red below the baseline (default 10); neuro_ice_severe red and emergency at 2 or
less; neuro_capd red at 9 or more; neuro_capd_rise amber at 3 or more above the baseline
(default 0) and below 9; carer_concern amber at worry 3; drowsiness 4 red and emergency;
bag_change_overdue amber 1 h and red 3 h after the change was due.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from triage import catalogue
from triage.rules import Result, RuleSet, bag_change_overdue, evaluate
from triage.validation import parse_check_in

DEFAULT = RuleSet.default()


def judge(data: dict, ruleset: RuleSet = DEFAULT) -> Result:
    return evaluate(parse_check_in(data), [], ruleset)


def rules_of(result: Result) -> list[str]:
    return [f.rule for f in result.findings]


def outcome(result: Result) -> tuple[str, bool, list[str]]:
    return result.severity, result.emergency, rules_of(result)


# neuro_ice and neuro_ice_severe -----------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (10, ("green", False, [])),
        (9, ("red", False, ["neuro_ice"])),
        (5, ("red", False, ["neuro_ice"])),
        (3, ("red", False, ["neuro_ice"])),
        (2, ("red", True, ["neuro_ice", "neuro_ice_severe"])),
        (1, ("red", True, ["neuro_ice", "neuro_ice_severe"])),
        (0, ("red", True, ["neuro_ice", "neuro_ice_severe"])),
    ],
)
def test_ice_score_against_the_default_baseline_10(score, expected):
    assert outcome(judge({"ice_score": score})) == expected


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (10, ("green", False, [])),
        (6, ("green", False, [])),
        (5, ("red", False, ["neuro_ice"])),
        (3, ("red", False, ["neuro_ice"])),
        (2, ("red", True, ["neuro_ice", "neuro_ice_severe"])),
    ],
)
def test_ice_score_against_a_baseline_set_lower(score, expected):
    rs = DEFAULT.with_overrides({"ice_baseline": 6})

    assert outcome(judge({"ice_score": score}, rs)) == expected


def test_ice_score_2_is_an_emergency_whatever_the_baseline():
    rs = DEFAULT.with_overrides({"ice_baseline": 3})

    assert outcome(judge({"ice_score": 3}, rs)) == ("green", False, [])
    assert outcome(judge({"ice_score": 2}, rs)) == (
        "red", True, ["neuro_ice", "neuro_ice_severe"],
    )


def test_ice_finding_says_the_score_and_the_baseline():
    (finding,) = judge({"ice_score": 7}).findings

    assert finding.text == "ICE score 7, below this patient's baseline 10"
    assert dict(finding.values) == {"ice_score": 7, "baseline": 10}


def test_severe_ice_finding_says_emergency():
    severe = judge({"ice_score": 1}).findings[-1]

    assert severe.rule == "neuro_ice_severe"
    assert severe.emergency is True
    assert "ICE score 1" in severe.text
    assert "emergency" in severe.text
    assert severe.values["ice_score"] == 1


# neuro_capd and neuro_capd_rise ----------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, ("green", False, [])),
        (2, ("green", False, [])),
        (3, ("amber", False, ["neuro_capd_rise"])),
        (8, ("amber", False, ["neuro_capd_rise"])),
        (9, ("red", False, ["neuro_capd"])),
        (10, ("red", False, ["neuro_capd"])),
        (32, ("red", False, ["neuro_capd"])),
    ],
)
def test_capd_score_against_the_default_baseline_0(score, expected):
    assert outcome(judge({"capd_score": score})) == expected


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (4, ("green", False, [])),
        (6, ("green", False, [])),
        (7, ("amber", False, ["neuro_capd_rise"])),
        (8, ("amber", False, ["neuro_capd_rise"])),
        (9, ("red", False, ["neuro_capd"])),
    ],
)
def test_capd_score_against_a_baseline_set_higher(score, expected):
    rs = DEFAULT.with_overrides({"capd_baseline": 4})

    assert outcome(judge({"capd_score": score}, rs)) == expected


def test_capd_rise_finding_says_the_score_the_rise_and_the_baseline():
    (finding,) = judge({"capd_score": 4}).findings

    assert finding.text.startswith("CAPD score 4, 4 above this child's baseline 0")
    assert finding.values["capd_score"] == 4
    assert finding.values["baseline"] == 0


def test_capd_red_finding_says_the_score():
    (finding,) = judge({"capd_score": 12}).findings

    assert finding.text.startswith("CAPD score 12, 9 or more")
    assert finding.values["capd_score"] == 12


# carer_concern -----------------------------------------------------------------------------


@pytest.mark.parametrize("worry", [0, 1, 2])
def test_worry_below_3_adds_no_finding(worry):
    assert outcome(judge({"worry": worry})) == ("green", False, [])


def test_worry_3_is_amber_carer_concern_with_the_documents_words():
    (finding,) = judge({"worry": 3}).findings

    assert (finding.rule, finding.severity) == ("carer_concern", "amber")
    assert "the family is very worried: call them back today" in finding.text
    assert dict(finding.values) == {"worry": 3}


@pytest.mark.parametrize("worry", [0, 1, 2, 3])
@pytest.mark.parametrize(
    ("data", "severity", "emergency"),
    [
        ({"temperature_c": 38.4}, "red", False),
        ({"symptoms": {"seizure": 1}}, "red", True),
        ({"symptoms": {"headache": 2}}, "amber", False),
        ({"ice_score": 2}, "red", True),
    ],
)
def test_worry_never_lowers_a_result(worry, data, severity, emergency):
    result = judge({**data, "worry": worry})

    # Worry 3 beside another amber makes two ambers: multiple_amber, red.
    expected = "red" if worry == 3 and severity == "amber" else severity
    assert result.severity == expected
    assert result.emergency is emergency


# multiple_amber counts the new ambers like any other ------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"worry": 3, "symptoms": {"headache": 2}},
        {"worry": 3, "capd_score": 4},
        {"capd_score": 5, "stools_above_baseline": 4},
        {"capd_score": 3, "symptoms": {"dizziness": 1}},
        {"worry": 3, "temperature_c": 37.2, "antipyretic_last_6h": True},
    ],
)
def test_two_ambers_including_a_v2_one_make_multiple_amber(data):
    result = judge(data)

    assert result.severity == "red"
    assert rules_of(result)[-1] == "multiple_amber"


# drowsiness 4 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "severity", "emergency"),
    [(0, "green", False), (1, "amber", False), (2, "red", False), (3, "red", False),
     (4, "red", True)],
)
def test_drowsiness_4_is_an_emergency_and_1_to_3_are_as_in_version_1(grade, severity,
                                                                     emergency):
    result = judge({"symptoms": {"drowsiness": grade}})

    assert (result.severity, result.emergency) == (severity, emergency)


# Findings order, version ----------------------------------------------------------------


def test_v2_findings_come_after_the_field_rules_and_before_the_symptoms():
    result = judge({"temperature_c": 38.0, "ice_score": 1, "worry": 3,
                    "symptoms": {"seizure": 1}})

    assert rules_of(result) == [
        "temperature_high", "neuro_ice", "neuro_ice_severe", "carer_concern", "seizure",
    ]


def test_new_results_carry_rules_version_v2():
    assert judge({"worry": 1}).rules_version == "v2"
    assert judge({"ice_score": 9}).to_json()["rules_version"] == "v2"
    assert catalogue.RULES_VERSION == "v2"


def test_the_new_rule_codes_are_in_the_catalogue_with_their_severity():
    expected = {
        "neuro_ice": "red", "neuro_ice_severe": "red, emergency", "neuro_capd": "red",
        "neuro_capd_rise": "amber", "carer_concern": "amber",
        "bag_change_overdue": "amber / red",
    }

    assert {c: catalogue.RULES_BY_CODE[c].severity for c in expected} == expected
    assert set(expected) <= set(catalogue.RULE_CODES)


# bag_change_overdue ------------------------------------------------------------------------

DUE = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes", "severity"),
    [(-30, None), (0, None), (59, None), (60, "amber"), (61, "amber"), (179, "amber"),
     (180, "red"), (600, "red")],
)
def test_bag_change_overdue_amber_after_1_h_and_red_after_3_h(minutes, severity):
    finding = bag_change_overdue(DUE, DUE + timedelta(minutes=minutes), DEFAULT)

    assert (finding.severity if finding else None) == severity
    if finding:
        assert finding.rule == "bag_change_overdue"
        assert finding.emergency is False


def test_bag_change_overdue_follows_the_teams_minutes():
    rs = DEFAULT.with_overrides({"bag_overdue_amber_minutes": 30,
                                 "bag_overdue_red_minutes": 90})

    assert bag_change_overdue(DUE, DUE + timedelta(minutes=29), rs) is None
    assert bag_change_overdue(DUE, DUE + timedelta(minutes=30), rs).severity == "amber"
    assert bag_change_overdue(DUE, DUE + timedelta(minutes=90), rs).severity == "red"


def test_bag_change_overdue_words_give_the_due_time_and_the_delay():
    london = ZoneInfo("Europe/London")
    due = datetime(2026, 11, 30, 14, 0, tzinfo=london)

    amber = bag_change_overdue(due, due + timedelta(minutes=75), DEFAULT)
    red = bag_change_overdue(due, due + timedelta(hours=3, minutes=5), DEFAULT)

    assert "14:00" in amber.text
    assert "1 h 15 min" in amber.text
    assert "14:00" in red.text
    assert "restarted in hospital" in red.text
    assert amber.values["minutes_late"] == 75
    assert amber.values["due_at"] == due.isoformat()


def test_bag_change_overdue_counts_real_minutes_across_a_clock_change():
    # 29 March 2026, UK clocks go forward at 01:00 GMT: due 00:30 GMT, "now" 02:30 BST is
    # two hours later on the wall clock but one real hour.
    london = ZoneInfo("Europe/London")
    due = datetime(2026, 3, 29, 0, 30, tzinfo=london)
    now = datetime(2026, 3, 29, 2, 30, tzinfo=london)

    finding = bag_change_overdue(due, now, DEFAULT)

    assert finding.values["minutes_late"] == 60
    assert finding.severity == "amber"


def test_bag_change_overdue_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="aware"):
        bag_change_overdue(datetime(2026, 11, 30, 14), DUE, DEFAULT)
    with pytest.raises(ValueError, match="aware"):
        bag_change_overdue(DUE, datetime(2026, 11, 30, 16), DEFAULT)
