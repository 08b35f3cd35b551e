"""Per-team and per-patient thresholds: stricter is allowed, a red rule is never loosened
past the v1 defaults, a patient's fever threshold stays within 37.0-38.0 °C."""

from __future__ import annotations

from decimal import Decimal

import pytest

from triage.rules import OverridesRefused, RuleSet, evaluate, validate_overrides
from triage.validation import parse_check_in


def severity(ruleset: RuleSet, data: dict) -> str:
    return evaluate(parse_check_in(data), [], ruleset).severity


def test_default_rule_set_carries_the_documented_thresholds():
    rs = RuleSet.default()

    assert rs.version == "v2"
    assert rs.fever_high_c == Decimal("37.5")
    assert rs.temp_low_c == Decimal("36.0")
    assert (rs.diarrhoea_amber, rs.diarrhoea_red) == (4, 7)
    assert (rs.vomiting_amber, rs.vomiting_red) == (2, 6)
    assert (rs.spo2_amber_below, rs.spo2_red_below, rs.spo2_emergency_below) == (95, 92, 90)
    assert rs.bp_low_below == 90
    assert (rs.worsening_grades, rs.worsening_window_hours) == (2, 72)


def test_stricter_symptom_grades_make_the_symptom_red_sooner():
    rs = RuleSet.default().with_overrides({"symptoms": {"headache": {"amber": 1, "red": 2}}})

    assert severity(rs, {"symptoms": {"headache": 1}}) == "amber"
    assert severity(rs, {"symptoms": {"headache": 2}}) == "red"
    assert severity(RuleSet.default(), {"symptoms": {"headache": 2}}) == "amber"


def test_overrides_leave_the_original_rule_set_unchanged():
    default = RuleSet.default()

    default.with_overrides({"fever_high_c": 37.8})

    assert default.fever_high_c == Decimal("37.5")


@pytest.mark.parametrize("value", [37.0, 37.8, 38.0, "37.2", Decimal("37.9"), 38])
def test_fever_threshold_may_move_within_37_and_38(value):
    rs = RuleSet.default().with_overrides({"fever_high_c": value})

    assert rs.fever_high_c == Decimal(str(value))


def test_higher_fever_threshold_changes_the_judgement():
    rs = RuleSet.default().with_overrides({"fever_high_c": 37.8})

    assert severity(rs, {"temperature_c": 37.7}) == "green"
    assert severity(rs, {"temperature_c": 37.8}) == "red"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"fever_high_c": 38.1}, "fever_high_c"),
        ({"fever_high_c": 36.9}, "fever_high_c"),
        ({"fever_high_c": 37.85}, "fever_high_c"),
        ({"fever_high_c": float("nan")}, "fever_high_c"),
        ({"fever_high_c": True}, "fever_high_c"),
        ({"temp_low_c": 35.9}, "temp_low_c"),
        ({"masked_low_c": 37.1}, "masked_low_c"),
        ({"diarrhoea_red": 8}, "diarrhoea_red"),
        ({"diarrhoea_amber": 5}, "diarrhoea_amber"),
        ({"vomiting_red": 7}, "vomiting_red"),
        ({"vomiting_amber": 2.0}, "vomiting_amber"),
        ({"spo2_red_below": 91}, "spo2_red_below"),
        ({"spo2_emergency_below": 89}, "spo2_emergency_below"),
        ({"spo2_amber_below": 94}, "spo2_amber_below"),
        ({"bp_low_below": 89}, "bp_low_below"),
        ({"worsening_grades": 3}, "worsening_grades"),
        ({"worsening_window_hours": 48}, "worsening_window_hours"),
        ({"symptoms": {"headache": {"red": 4}}}, "symptoms.headache.red"),
        ({"symptoms": {"headache": {"red": None}}}, "symptoms.headache.red"),
        ({"symptoms": {"chills": {"red": 2}}}, "symptoms.chills.red"),
        ({"symptoms": {"headache": {"amber": 3}}}, "symptoms.headache.amber"),
        ({"symptoms": {"headache": {"amber": None}}}, "symptoms.headache.amber"),
        ({"symptoms": {"breathlessness": {"emergency": None}}},
         "symptoms.breathlessness.emergency"),
        ({"symptoms": {"seizure": {"emergency": 2}}}, "symptoms.seizure.emergency"),
        ({"symptoms": {"headache": {"red": 0}}}, "symptoms.headache.red"),
        ({"symptoms": {"headache": {"red": True}}}, "symptoms.headache.red"),
        ({"symptoms": {"hiccups": {"red": 1}}}, "symptoms.hiccups"),
        ({"symptoms": {"headache": {"purple": 1}}}, "symptoms.headache.purple"),
        ({"symptoms": {"headache": 2}}, "symptoms.headache"),
        ({"symptoms": ["headache"]}, "symptoms"),
        ({"heart_rate_high": 150}, "heart_rate_high"),
        ({"version": "v2"}, "version"),
    ],
)
def test_loosening_or_malformed_override_is_refused_naming_the_key(overrides, key):
    errors = validate_overrides(overrides)

    assert key in errors
    with pytest.raises(OverridesRefused, match=key.replace(".", r"\.")):
        RuleSet.default().with_overrides(overrides)


def test_refusal_is_a_value_error_with_every_error():
    with pytest.raises(ValueError, match="fever_high_c") as info:
        RuleSet.default().with_overrides({"fever_high_c": 39, "bp_low_below": 80})

    assert set(info.value.errors) == {"fever_high_c", "bp_low_below"}


def test_red_rule_message_says_it_may_only_be_made_stricter():
    errors = validate_overrides({"symptoms": {"headache": {"red": 4}}})

    assert "loosen a red rule" in errors["symptoms.headache.red"]


def test_lowering_red_below_amber_asks_for_amber_too():
    errors = validate_overrides({"symptoms": {"headache": {"red": 1}}})

    assert "symptoms.headache.red" in errors
    assert validate_overrides({"symptoms": {"headache": {"amber": 1, "red": 1}}}) == {}


def test_emergency_grade_may_not_fall_below_red():
    errors = validate_overrides({"symptoms": {"breathlessness": {"emergency": 2}}})

    assert "symptoms.breathlessness.emergency" in errors
    assert validate_overrides({"symptoms": {"breathlessness": {"red": 2, "emergency": 2}}}) == {}


def test_amber_may_be_set_on_a_symptom_without_one_only_at_its_red_grade():
    assert validate_overrides({"symptoms": {"chills": {"amber": 1}}}) == {}
    assert "symptoms.chills.amber" in validate_overrides({"symptoms": {"chills": {"amber": 2}}})


def test_emergency_may_be_added_to_a_symptom_without_one():
    rs = RuleSet.default().with_overrides({"symptoms": {"confusion": {"emergency": 2}}})

    result = evaluate(parse_check_in({"symptoms": {"confusion": 2}}), [], rs)

    assert result.emergency is True


def test_count_and_spo2_thresholds_keep_their_order():
    assert "diarrhoea_red" in validate_overrides({"diarrhoea_red": 3})
    assert "spo2_red_below" in validate_overrides({"spo2_red_below": 96})
    assert validate_overrides({"spo2_red_below": 96, "spo2_amber_below": 97}) == {}


@pytest.mark.parametrize(
    "overrides",
    [
        {"temp_low_c": 36.5, "masked_low_c": 36.8},
        {"diarrhoea_amber": 2, "diarrhoea_red": 4},
        {"vomiting_amber": 1, "vomiting_red": 3},
        {"spo2_amber_below": 96, "spo2_red_below": 94, "spo2_emergency_below": 92},
        {"bp_low_below": 100},
        {"worsening_grades": 1, "worsening_window_hours": 120},
        {"symptoms": {"fatigue": {"amber": 2, "red": 3}, "bleeding": {"emergency": 1}}},
    ],
)
def test_stricter_overrides_are_accepted(overrides):
    assert validate_overrides(overrides) == {}
    RuleSet.default().with_overrides(overrides)


def test_patient_override_may_undo_a_team_tightening_back_to_the_default():
    team = RuleSet.default().with_overrides({"symptoms": {"headache": {"red": 2}}})

    patient = team.with_overrides({"symptoms": {"headache": {"red": 3}}})

    assert patient.symptoms["headache"].red == 3


def test_order_checks_use_the_rule_set_the_overrides_apply_to():
    team = RuleSet.default().with_overrides({"diarrhoea_amber": 2, "diarrhoea_red": 3})

    assert "diarrhoea_red" in validate_overrides({"diarrhoea_red": 1}, base=team)
    with pytest.raises(OverridesRefused):
        team.with_overrides({"diarrhoea_red": 1})


def test_rule_set_json_lists_every_threshold():
    data = RuleSet.default().with_overrides({"fever_high_c": 37.8}).to_json()

    assert data["fever_high_c"] == 37.8
    assert data["symptoms"]["seizure"] == {"amber": None, "red": 1, "emergency": 1}
    assert data["version"] == "v2"


# Version 2 thresholds ---------------------------------------------------------------------
# Defaults transcribed from clinical-rules.md, "Version 2": ICE baseline 10, CAPD baseline
# 0, bag change overdue amber at +1 h and red at +3 h.


def test_default_rule_set_carries_the_v2_thresholds():
    rs = RuleSet.default()

    assert (rs.ice_baseline, rs.capd_baseline) == (10, 0)
    assert (rs.bag_overdue_amber_minutes, rs.bag_overdue_red_minutes) == (60, 180)
    assert rs.symptoms["drowsiness"].emergency == 4


@pytest.mark.parametrize("baseline", [3, 7, 9, 10])
def test_ice_baseline_may_be_set_lower_with_its_limit(baseline):
    # The one loosening the document allows ("a nurse may set it lower").
    assert RuleSet.default().with_overrides({"ice_baseline": baseline}).ice_baseline == baseline


@pytest.mark.parametrize("baseline", [0, 3, 5])
def test_capd_baseline_may_be_set_higher_within_its_limit(baseline):
    rs = RuleSet.default().with_overrides({"capd_baseline": baseline})

    assert rs.capd_baseline == baseline


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        ({"ice_baseline": 2}, "ice_baseline", "2 or less is an emergency"),
        ({"ice_baseline": 0}, "ice_baseline", "outside the allowed 3-10"),
        ({"ice_baseline": 11}, "ice_baseline", "outside the allowed 3-10"),
        ({"ice_baseline": 9.5}, "ice_baseline", "whole number"),
        ({"ice_baseline": "9"}, "ice_baseline", "whole number"),
        ({"ice_baseline": True}, "ice_baseline", "whole number"),
        ({"capd_baseline": 6}, "capd_baseline", "could never fire"),
        ({"capd_baseline": -1}, "capd_baseline", "outside the allowed 0-5"),
        ({"capd_baseline": 9}, "capd_baseline", "outside the allowed 0-5"),
        ({"bag_overdue_amber_minutes": 61}, "bag_overdue_amber_minutes", "loosen"),
        ({"bag_overdue_amber_minutes": 14}, "bag_overdue_amber_minutes", "15-60"),
        ({"bag_overdue_red_minutes": 181}, "bag_overdue_red_minutes", "loosen"),
        ({"bag_overdue_red_minutes": 240}, "bag_overdue_red_minutes", "loosen"),
        ({"bag_overdue_red_minutes": 29}, "bag_overdue_red_minutes", "30-180"),
        ({"bag_overdue_red_minutes": 45}, "bag_overdue_red_minutes", "must not be above"),
        ({"symptoms": {"drowsiness": {"emergency": None}}}, "symptoms.drowsiness.emergency",
         "cannot be removed"),
        ({"symptoms": {"drowsiness": {"emergency": 5}}}, "symptoms.drowsiness.emergency",
         "grade from 1 to 4"),
    ],
)
def test_v2_threshold_outside_its_limits_is_refused_saying_why(overrides, key, words):
    errors = validate_overrides(overrides)

    assert words in errors[key]
    with pytest.raises(OverridesRefused):
        RuleSet.default().with_overrides(overrides)


def test_bag_overdue_amber_may_not_come_after_red():
    # Red alone lowered below the default amber (60) must bring amber down with it.
    assert validate_overrides({"bag_overdue_red_minutes": 45}) != {}
    assert validate_overrides({"bag_overdue_amber_minutes": 30,
                               "bag_overdue_red_minutes": 45}) == {}
    assert validate_overrides({"bag_overdue_amber_minutes": 45,
                               "bag_overdue_red_minutes": 45}) == {}


def test_only_the_baselines_may_move_the_loose_way():
    from triage.catalogue import OVERRIDE_LIMITS

    assert {k for k, v in OVERRIDE_LIMITS.items() if v.loosening_allowed} == {
        "ice_baseline", "capd_baseline",
    }


def test_lower_ice_baseline_changes_the_judgement():
    rs = RuleSet.default().with_overrides({"ice_baseline": 7})

    assert severity(rs, {"ice_score": 7}) == "green"
    assert severity(rs, {"ice_score": 6}) == "red"
    assert severity(RuleSet.default(), {"ice_score": 7}) == "red"


def test_higher_capd_baseline_changes_the_judgement():
    rs = RuleSet.default().with_overrides({"capd_baseline": 4})

    assert severity(rs, {"capd_score": 6}) == "green"
    assert severity(rs, {"capd_score": 7}) == "amber"
    assert severity(rs, {"capd_score": 9}) == "red"


def test_crossed_bag_minutes_in_stored_layers_resolve_to_the_stricter():
    from triage.ruleset import resolve_layers

    # Each layer valid alone: the team's red at 45 came with its amber at 30; the patient
    # undoes the amber back to the default 60, which is now after red.
    rs, conflicts = resolve_layers([
        ("team", {"bag_overdue_amber_minutes": 30, "bag_overdue_red_minutes": 45}),
        ("patient", {"bag_overdue_amber_minutes": 60}),
    ])

    assert (rs.bag_overdue_amber_minutes, rs.bag_overdue_red_minutes) == (45, 45)
    assert any("bag_overdue_amber_minutes" in c for c in conflicts)


def test_stored_baseline_out_of_limits_is_ignored_and_reported():
    from triage.ruleset import resolve_layers

    rs, conflicts = resolve_layers([("patient", {"ice_baseline": 1, "capd_baseline": 7})])

    assert (rs.ice_baseline, rs.capd_baseline) == (10, 0)
    assert len(conflicts) == 2


def test_stored_override_removing_the_drowsiness_emergency_is_ignored_and_reported():
    # Valid under v1 (drowsiness had no emergency); under v2 the emergency at 4 stands.
    from triage.ruleset import resolve_layers

    rs, conflicts = resolve_layers([("team", {"symptoms": {"drowsiness": {"emergency": None}}})])

    assert rs.symptoms["drowsiness"].emergency == 4
    assert any("drowsiness" in c for c in conflicts)
    assert evaluate(parse_check_in({"symptoms": {"drowsiness": 4}}), [], rs).emergency is True
