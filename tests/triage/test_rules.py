"""The rules of clinical-rules.md (v2: every v1 rule, and drowsiness 4 an emergency), row by
row, at their boundaries. The new v2 rules are in test_rules_v2.py.

The symptom table below is transcribed from the document by hand, on purpose not read from
triage.catalogue: a wrong grade in the catalogue must fail here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triage import catalogue
from triage.rules import Result, RuleSet, evaluate
from triage.validation import CheckInData, parse_check_in

# code, amber at, red at, emergency at ("-" and blank are None)
SPEC_SYMPTOMS: list[tuple[str, int | None, int, int | None]] = [
    ("chills", None, 1, None),
    ("headache", 2, 3, None),
    ("rash", 2, 3, None),
    ("muscle_joint_pain", 2, 3, None),
    ("back_bone_pain", 2, 3, None),
    ("swelling_face_mouth", None, 1, 3),
    ("breathlessness", 2, 3, 4),
    ("cough", 2, 3, None),
    ("dizziness", 1, 2, None),
    ("confusion", None, 1, None),
    ("hallucinations", None, 1, None),
    ("speech_difficulty", None, 1, None),
    ("seizure", None, 1, 1),
    # The symptom table leaves emergency blank; "Version 2" changes it: grade 4 is an
    # emergency ("drowsiness (changed)").
    ("drowsiness", 1, 2, 4),
    ("tremor", 1, 2, None),
    ("unsteadiness", 1, 2, None),
    ("nausea", 2, 3, None),
    ("abdominal_pain", 2, 3, None),
    ("constipation", 2, 3, None),
    ("bleeding", None, 1, 3),
    ("bruising", None, 1, None),
    ("fast_heartbeat", 1, 2, None),
    ("chest_pain", None, 1, 3),
    ("painful_swollen_limb", None, 1, None),
    ("line_site_problem", 1, 2, None),
    ("fatigue", 3, 4, None),
]

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def judge(data: dict, previous: list[dict] | tuple = ()) -> Result:
    return evaluate(
        parse_check_in(data), [parse_check_in(p) for p in previous], RuleSet.default()
    )


def rules_of(result: Result) -> list[str]:
    return [f.rule for f in result.findings]


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def expected_for(grade: int, amber: int | None, red: int, emergency: int | None):
    if grade >= red:
        return "red", emergency is not None and grade >= emergency
    if amber is not None and grade >= amber:
        return "amber", False
    return "green", False


def test_catalogue_lists_the_symptoms_of_the_document_in_its_order():
    assert tuple(code for code, *_ in SPEC_SYMPTOMS) == catalogue.SYMPTOM_CODES


@pytest.mark.parametrize(
    ("code", "grade", "amber", "red", "emergency"),
    [(code, g, a, r, e) for code, a, r, e in SPEC_SYMPTOMS for g in range(5)],
    ids=lambda v: str(v),
)
def test_symptom_grade_gives_the_severity_of_the_table(code, grade, amber, red, emergency):
    severity, is_emergency = expected_for(grade, amber, red, emergency)

    result = judge({"symptoms": {code: grade}})

    assert (result.severity, result.emergency) == (severity, is_emergency)
    assert rules_of(result) == ([] if severity == "green" else [code])


def test_symptom_finding_names_the_grade_and_threshold():
    finding = judge({"symptoms": {"headache": 2}}).findings[0]

    assert "grade 2" in finding.text
    assert finding.values["symptom"] == "headache"
    assert finding.values["grade"] == 2


@pytest.mark.parametrize(
    ("temperature", "severity", "rules"),
    [
        (36.8, "green", []),
        (37.4, "green", []),
        (37.5, "red", ["temperature_high"]),
        (37.6, "red", ["temperature_high"]),
        (45.0, "red", ["temperature_high"]),
        (36.0, "green", []),
        (35.9, "red", ["temperature_low"]),
        (30.0, "red", ["temperature_low"]),
    ],
)
def test_temperature_thresholds(temperature, severity, rules):
    result = judge({"temperature_c": temperature})

    assert (result.severity, rules_of(result)) == (severity, rules)


def test_temperature_finding_reads_like_the_document():
    finding = judge({"temperature_c": 38.1}).findings[0]

    assert finding.text == "Temperature 38.1 °C, at or above 37.5 °C"
    assert finding.values == {"temperature_c": 38.1, "threshold_c": 37.5}


@pytest.mark.parametrize(
    ("temperature", "antipyretic", "severity", "rules"),
    [
        (36.9, True, "green", []),
        (37.0, True, "amber", ["temperature_masked"]),
        (37.4, True, "amber", ["temperature_masked"]),
        (37.5, True, "red", ["temperature_high"]),
        (37.2, False, "green", []),
        (35.5, True, "red", ["temperature_low"]),
    ],
)
def test_masked_temperature_after_antipyretic(temperature, antipyretic, severity, rules):
    result = judge({"temperature_c": temperature, "antipyretic_last_6h": antipyretic})

    assert (result.severity, rules_of(result)) == (severity, rules)


def test_antipyretic_without_temperature_is_green():
    assert judge({"antipyretic_last_6h": True}).severity == "green"


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ("feels_suddenly_unwell", "feels_unwell"),
        ("diarrhoea_with_blood", "diarrhoea_blood"),
        ("unable_to_keep_fluids", "fluids"),
    ],
)
def test_yes_no_rule_is_red_when_true_and_green_when_false(field, rule):
    assert rules_of(judge({field: True})) == [rule]
    assert judge({field: True}).severity == "red"
    assert judge({field: False}).severity == "green"


@pytest.mark.parametrize(
    ("field", "rule", "count", "severity"),
    [
        ("stools_above_baseline", "diarrhoea", 0, "green"),
        ("stools_above_baseline", "diarrhoea", 3, "green"),
        ("stools_above_baseline", "diarrhoea", 4, "amber"),
        ("stools_above_baseline", "diarrhoea", 6, "amber"),
        ("stools_above_baseline", "diarrhoea", 7, "red"),
        ("stools_above_baseline", "diarrhoea", 50, "red"),
        ("vomiting_episodes_24h", "vomiting", 0, "green"),
        ("vomiting_episodes_24h", "vomiting", 1, "green"),
        ("vomiting_episodes_24h", "vomiting", 2, "amber"),
        ("vomiting_episodes_24h", "vomiting", 5, "amber"),
        ("vomiting_episodes_24h", "vomiting", 6, "red"),
        ("vomiting_episodes_24h", "vomiting", 50, "red"),
    ],
)
def test_count_rules_at_their_boundaries(field, rule, count, severity):
    result = judge({field: count})

    assert result.severity == severity
    assert rules_of(result) == ([] if severity == "green" else [rule])


@pytest.mark.parametrize(
    ("pump", "severity"),
    [
        ("running", "green"),
        ("not_connected", "green"),
        ("alarm", "red"),
        ("stopped", "red"),
        ("leaking", "red"),
        ("disconnected", "red"),
    ],
)
def test_pump_states(pump, severity):
    result = judge({"pump": pump})

    assert result.severity == severity
    if severity == "red":
        assert rules_of(result) == ["pump_problem"]
        assert "do not change the pump settings; call now" in result.findings[0].text


@pytest.mark.parametrize(
    ("spo2", "severity", "emergency"),
    [
        (100, "green", False),
        (95, "green", False),
        (94, "amber", False),
        (92, "amber", False),
        (91, "red", False),
        (90, "red", False),
        (89, "red", True),
        (50, "red", True),
    ],
)
def test_oxygen_saturation_thresholds(spo2, severity, emergency):
    result = judge({"spo2": spo2})

    assert (result.severity, result.emergency) == (severity, emergency)
    assert rules_of(result) == ([] if severity == "green" else ["spo2_low"])


@pytest.mark.parametrize(("bp", "severity"), [(120, "green"), (90, "green"), (89, "red")])
def test_low_systolic_blood_pressure_is_red(bp, severity):
    result = judge({"systolic_bp": bp})

    assert result.severity == severity
    assert rules_of(result) == ([] if severity == "green" else ["bp_low"])


@pytest.mark.parametrize("rate", [20, 60, 180, 250])
def test_heart_rate_has_no_default_rule(rate):
    assert judge({"heart_rate": rate}).findings == ()


def test_notes_are_never_parsed_for_triage():
    assert judge({"notes": "seizure, chest pain, 40 degrees"}).severity == "green"


def test_two_ambers_from_different_fields_make_multiple_amber_red():
    result = judge({"temperature_c": 37.2, "antipyretic_last_6h": True,
                    "vomiting_episodes_24h": 2})

    assert result.severity == "red"
    assert rules_of(result) == ["temperature_masked", "vomiting", "multiple_amber"]


def test_amber_symptom_and_amber_field_make_multiple_amber():
    result = judge({"symptoms": {"dizziness": 1}, "stools_above_baseline": 4})

    assert result.severity == "red"
    assert "multiple_amber" in rules_of(result)


def test_one_amber_and_one_red_do_not_make_multiple_amber():
    result = judge({"symptoms": {"headache": 2, "chills": 1}})

    assert result.severity == "red"
    assert "multiple_amber" not in rules_of(result)


def test_worsening_on_an_amber_symptom_does_not_count_twice():
    result = judge(
        {"recorded_at": at(24), "symptoms": {"nausea": 2}},
        [{"recorded_at": at(0), "symptoms": {"nausea": 0}}],
    )

    assert rules_of(result) == ["nausea", "worsening"]
    assert result.severity == "amber"


def test_worsening_of_a_green_symptom_counts_towards_multiple_amber():
    # Fatigue 2 is green on its own; rising from 0 makes it an amber worsening.
    result = judge(
        {"recorded_at": at(24), "symptoms": {"fatigue": 2, "headache": 2}},
        [{"recorded_at": at(0), "symptoms": {"fatigue": 0}}],
    )

    assert rules_of(result) == ["headache", "worsening", "multiple_amber"]
    assert result.severity == "red"


@pytest.mark.parametrize(
    ("hours_between", "worsens"),
    [(1, True), (71.99, True), (72, True), (72.01, False), (200, False)],
)
def test_worsening_counts_only_the_last_72_hours(hours_between, worsens):
    result = judge(
        {"recorded_at": at(hours_between), "symptoms": {"fatigue": 2}},
        [{"recorded_at": at(0), "symptoms": {"fatigue": 0}}],
    )

    assert ("worsening" in rules_of(result)) is worsens
    assert result.severity == ("amber" if worsens else "green")


def test_one_grade_higher_is_not_worsening():
    result = judge(
        {"recorded_at": at(5), "symptoms": {"fatigue": 2}},
        [{"recorded_at": at(0), "symptoms": {"fatigue": 1}}],
    )

    assert result.findings == ()


def test_worsening_compares_with_the_most_recent_check_in_reporting_the_symptom():
    history = [
        {"recorded_at": at(0), "symptoms": {"fatigue": 0}},
        {"recorded_at": at(10), "symptoms": {"fatigue": 1}},
        {"recorded_at": at(20), "temperature_c": 36.8},  # fatigue not reported: skipped
    ]

    result = judge({"recorded_at": at(30), "symptoms": {"fatigue": 2}}, history)

    assert result.findings == ()


def test_worsening_skips_check_ins_that_did_not_report_the_symptom():
    history = [
        {"recorded_at": at(0), "symptoms": {"fatigue": 0}},
        {"recorded_at": at(20), "temperature_c": 36.8},
    ]

    result = judge({"recorded_at": at(30), "symptoms": {"fatigue": 2}}, history)

    assert rules_of(result) == ["worsening"]
    assert result.findings[0].values["previous_grade"] == 0


def test_worsening_of_a_red_symptom_is_red():
    result = judge(
        {"recorded_at": at(5), "symptoms": {"tremor": 3}},
        [{"recorded_at": at(0), "symptoms": {"tremor": 1}}],
    )

    assert [(f.rule, f.severity) for f in result.findings] == [
        ("tremor", "red"), ("worsening", "red"),
    ]


def test_later_check_ins_are_not_history():
    result = judge(
        {"recorded_at": at(0), "symptoms": {"fatigue": 2}},
        [{"recorded_at": at(5), "symptoms": {"fatigue": 0}}],
    )

    assert result.findings == ()


def test_history_without_recorded_at_is_ignored():
    result = evaluate(
        CheckInData(recorded_at=T0, symptoms={"fatigue": 2}),
        [CheckInData(symptoms={"fatigue": 0})],
        RuleSet.default(),
    )

    assert result.findings == ()


def test_check_in_without_recorded_at_is_judged_at_now():
    result = evaluate(
        CheckInData(symptoms={"fatigue": 2}),
        [CheckInData(recorded_at=T0, symptoms={"fatigue": 0})],
        RuleSet.default(),
        now=T0 + timedelta(hours=1),
    )

    assert rules_of(result) == ["worsening"]


# The whole "Examples" table of clinical-rules.md (version 2), row by row. `rule` is the
# rule the row names; "" where the row names none (the severity and emergency still count).
@pytest.mark.parametrize(
    ("check_in", "severity", "rule", "emergency"),
    [
        ({"temperature_c": 36.8}, "green", None, False),
        ({"temperature_c": 37.6}, "red", "temperature_high", False),
        ({"temperature_c": 35.8}, "red", "temperature_low", False),
        ({"temperature_c": 37.1, "antipyretic_last_6h": True}, "amber", "temperature_masked",
         False),
        ({"temperature_c": 36.9, "symptoms": {"headache": 2}}, "amber", "headache", False),
        ({"temperature_c": 36.9, "symptoms": {"headache": 2, "nausea": 2}}, "red",
         "multiple_amber", False),
        ({"symptoms": {"seizure": 1}}, "red", "seizure", True),
        ({"pump": "alarm"}, "red", "pump_problem", False),
        ({"stools_above_baseline": 5}, "amber", "diarrhoea", False),
        ({"ice_score": 9}, "red", "neuro_ice", False),  # baseline 10, the default
        ({"ice_score": 2}, "red", "", True),
        ({"capd_score": 10}, "red", "neuro_capd", False),
        ({"capd_score": 4}, "amber", "neuro_capd_rise", False),  # baseline 0, the default
        ({"symptoms": {"drowsiness": 4}}, "red", "", True),
        ({"temperature_c": 36.7, "worry": 3}, "amber", "carer_concern", False),
        ({"temperature_c": 36.7, "worry": 3, "symptoms": {"headache": 2}}, "red",
         "multiple_amber", False),
    ],
)
def test_examples_of_the_document(check_in, severity, rule, emergency):
    result = judge(check_in)

    assert (result.severity, result.emergency) == (severity, emergency)
    if rule is None:
        assert result.findings == ()
    elif rule:
        assert rule in rules_of(result)


def test_result_json_has_the_documented_shape():
    data = judge({"temperature_c": 38.1, "spo2": 89}).to_json()

    assert data["severity"] == "red"
    assert data["emergency"] is True
    assert data["rules_version"] == "v2"
    assert [f["rule"] for f in data["findings"]] == ["temperature_high", "spo2_low"]
    assert set(data["findings"][0]) == {"rule", "severity", "text", "emergency", "values"}


def test_green_result_has_no_findings():
    result = judge({"temperature_c": 36.6, "pump": "running", "symptoms": {"headache": 1}})

    assert (result.severity, result.emergency, result.findings) == ("green", False, ())


def test_worsening_says_how_long_before_in_hours_not_a_clock_time():
    result = judge(
        {"recorded_at": at(24), "symptoms": {"cough": 3}},
        [{"recorded_at": at(0), "symptoms": {"cough": 1}}],
    )

    (worsening,) = [f for f in result.findings if f.rule == "worsening"]
    assert "up from 1 (mild) 24 h earlier" in worsening.text
