"""Per-team and per-patient thresholds: stricter is allowed, a red rule is never loosened
past the v1 defaults, a patient's fever threshold stays within 37.0-38.0 °C."""

from __future__ import annotations

from decimal import Decimal

import pytest

from triage.rules import OverridesRefused, RuleSet, evaluate, validate_overrides
from triage.validation import parse_check_in


def severity(ruleset: RuleSet, data: dict) -> str:
    return evaluate(parse_check_in(data), [], ruleset).severity


def test_default_rule_set_carries_the_v1_thresholds():
    rs = RuleSet.default()

    assert rs.version == "v1"
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
    assert data["version"] == "v1"
