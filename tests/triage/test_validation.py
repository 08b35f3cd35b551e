"""parse_check_in: the one gate every check-in passes, whatever screen or API it came from."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from triage.validation import (
    CheckInData,
    CheckInInvalid,
    parse_check_in,
    to_canonical_dict,
)

BAD_VALUES = [
    # field, value, error key
    ("recorded_at", "yesterday", "recorded_at"),
    ("recorded_at", "2025-03-01T08:00:00", "recorded_at"),
    ("recorded_at", "2025-03-01", "recorded_at"),
    ("recorded_at", "2025-02-30T08:00:00+00:00", "recorded_at"),
    ("recorded_at", 1740816000, "recorded_at"),
    ("recorded_at", True, "recorded_at"),
    ("recorded_at", "2025-03-01T08:00:00+00:00" + " " * 100, "recorded_at"),
    ("recorded_at", datetime(2025, 3, 1, 8), "recorded_at"),
    ("temperature_c", "38", "temperature_c"),
    ("temperature_c", True, "temperature_c"),
    ("temperature_c", float("nan"), "temperature_c"),
    ("temperature_c", float("inf"), "temperature_c"),
    ("temperature_c", float("-inf"), "temperature_c"),
    ("temperature_c", Decimal("NaN"), "temperature_c"),
    ("temperature_c", Decimal("sNaN"), "temperature_c"),
    ("temperature_c", Decimal("Infinity"), "temperature_c"),
    ("temperature_c", Decimal("1E+999"), "temperature_c"),
    ("temperature_c", 1e308, "temperature_c"),
    ("temperature_c", 10**400, "temperature_c"),
    ("temperature_c", [38], "temperature_c"),
    ("temperature_f", "100.4", "temperature_f"),
    ("temperature_f", float("nan"), "temperature_f"),
    ("temperature_f", False, "temperature_f"),
    ("antipyretic_last_6h", "yes", "antipyretic_last_6h"),
    ("antipyretic_last_6h", 1, "antipyretic_last_6h"),
    ("feels_suddenly_unwell", 0, "feels_suddenly_unwell"),
    ("feels_suddenly_unwell", "true", "feels_suddenly_unwell"),
    ("diarrhoea_with_blood", 1, "diarrhoea_with_blood"),
    ("unable_to_keep_fluids", "no", "unable_to_keep_fluids"),
    ("stools_above_baseline", 3.5, "stools_above_baseline"),
    ("stools_above_baseline", 3.0, "stools_above_baseline"),
    ("stools_above_baseline", True, "stools_above_baseline"),
    ("stools_above_baseline", "3", "stools_above_baseline"),
    ("stools_above_baseline", Decimal(3), "stools_above_baseline"),
    ("vomiting_episodes_24h", 2.5, "vomiting_episodes_24h"),
    ("vomiting_episodes_24h", False, "vomiting_episodes_24h"),
    ("pump", "Alarm", "pump"),
    ("pump", "", "pump"),
    ("pump", "off", "pump"),
    ("pump", 1, "pump"),
    ("spo2", 95.5, "spo2"),
    ("spo2", True, "spo2"),
    ("systolic_bp", "120", "systolic_bp"),
    ("heart_rate", 72.0, "heart_rate"),
    ("notes", "fine\x00", "notes"),
    ("notes", "bell\x07", "notes"),
    ("notes", "half \ud800 surrogate", "notes"),
    ("notes", "x" * 2001, "notes"),
    ("notes", 5, "notes"),
    ("symptoms", ["headache"], "symptoms"),
    ("symptoms", "headache", "symptoms"),
    ("symptoms", {"hiccups": 1}, "symptoms"),
    ("symptoms", {1: 2}, "symptoms"),
    ("symptoms", {"headache": 5}, "symptoms.headache"),
    ("symptoms", {"headache": -1}, "symptoms.headache"),
    ("symptoms", {"headache": True}, "symptoms.headache"),
    ("symptoms", {"headache": 2.0}, "symptoms.headache"),
    ("symptoms", {"headache": "2"}, "symptoms.headache"),
    ("temp", 38, "temp"),
    ("Temperature_C", 38, "Temperature_C"),
    ("symptom", {"headache": 1}, "symptom"),
    # v2: the neurological self-check totals and the carer's worry are whole numbers.
    ("ice_score", "9", "ice_score"),
    ("ice_score", "1_0", "ice_score"),
    ("ice_score", 9.0, "ice_score"),
    ("ice_score", True, "ice_score"),
    ("ice_score", float("nan"), "ice_score"),
    ("capd_score", "4", "capd_score"),
    ("capd_score", "1_0", "capd_score"),
    ("capd_score", 4.5, "capd_score"),
    ("capd_score", False, "capd_score"),
    ("capd_score", [4], "capd_score"),
    ("worry", "very", "worry"),
    ("worry", "1_0", "worry"),
    ("worry", 3.0, "worry"),
    ("worry", True, "worry"),
    ("worry", Decimal(3), "worry"),
]


@pytest.mark.parametrize(("field", "value", "key"), BAD_VALUES, ids=lambda v: repr(v)[:30])
def test_bad_value_is_refused_naming_the_field(field, value, key):
    # Beside a valid reading, so the refusal is for this value, not for an empty check-in.
    data: dict[object, object] = {"heart_rate": 80}
    data[field] = value

    with pytest.raises(CheckInInvalid) as info:
        parse_check_in(data)

    assert key in info.value.errors
    assert key in str(info.value)


OUT_OF_RANGE = [
    ("temperature_c", 29.9),
    ("temperature_c", 45.1),
    ("temperature_c", 45.05),  # rounds half up to 45.1
    ("temperature_c", -37),
    ("temperature_c", Decimal("1E+999")),
    ("temperature_f", 85.9),
    ("temperature_f", 113.1),
    ("temperature_f", 37.5),  # °C given as °F: refused, never silently converted
    ("stools_above_baseline", -1),
    ("stools_above_baseline", 51),
    ("vomiting_episodes_24h", -1),
    ("vomiting_episodes_24h", 51),
    ("spo2", 49),
    ("spo2", 101),
    ("systolic_bp", 39),
    ("systolic_bp", 251),
    ("heart_rate", 19),
    ("heart_rate", 251),
    ("heart_rate", 10**400),
    ("ice_score", -1),
    ("ice_score", 11),
    ("capd_score", -1),
    ("capd_score", 33),
    ("worry", -1),
    ("worry", 4),
    ("worry", 10**400),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE, ids=lambda v: repr(v)[:30])
def test_reading_out_of_range_asks_to_check_the_reading(field, value):
    with pytest.raises(CheckInInvalid) as info:
        parse_check_in({field: value})

    assert "please check the reading" in info.value.errors[field]


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("temperature_c", 30.0, 45.0),
        ("temperature_f", 86.0, 113.0),
        ("stools_above_baseline", 0, 50),
        ("vomiting_episodes_24h", 0, 50),
        ("spo2", 50, 100),
        ("systolic_bp", 40, 250),
        ("heart_rate", 20, 250),
        ("ice_score", 0, 10),
        ("capd_score", 0, 32),
        ("worry", 0, 3),
    ],
)
def test_range_ends_are_accepted(field, low, high):
    parse_check_in({field: low})
    parse_check_in({field: high})


@pytest.mark.parametrize(
    ("fahrenheit", "celsius"),
    [
        (100.4, "38.0"),
        (98.6, "37.0"),
        (99.5, "37.5"),
        (99.4, "37.4"),
        (86.0, "30.0"),
        (113.0, "45.0"),
        (101, "38.3"),
        (Decimal("97.7"), "36.5"),
    ],
)
def test_fahrenheit_is_converted_to_celsius_with_one_decimal(fahrenheit, celsius):
    check_in = parse_check_in({"temperature_f": fahrenheit})

    assert check_in.temperature_c == Decimal(celsius)
    assert str(check_in.temperature_c) == celsius


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (37.45, "37.5"),
        (37.44, "37.4"),
        (37.449, "37.4"),
        (36.95, "37.0"),
        (36.05, "36.1"),
        (Decimal("37.25"), "37.3"),
        (38, "38.0"),
        (29.96, "30.0"),
        (45.04, "45.0"),
    ],
)
def test_celsius_is_rounded_half_up_to_one_decimal(given, kept):
    assert str(parse_check_in({"temperature_c": given}).temperature_c) == kept


@pytest.mark.parametrize("fahrenheit", [100.4, 98.6, None])
def test_both_temperatures_are_refused(fahrenheit):
    data = {"temperature_c": 38.0, "temperature_f": fahrenheit}
    if fahrenheit is None:
        # A form's empty °F field next to a °C reading is not a second temperature.
        assert parse_check_in(data).temperature_c == Decimal("38.0")
        return
    with pytest.raises(CheckInInvalid) as info:
        parse_check_in(data)

    assert "temperature_c" in info.value.errors["temperature_f"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"recorded_at": "2025-03-01T08:00:00+00:00"},
        {"symptoms": {}},
        {"symptoms": {"headache": None}},
        {"notes": "   "},
        {"temperature_c": None, "pump": None},
    ],
)
def test_check_in_giving_no_field_is_refused(data):
    with pytest.raises(CheckInInvalid) as info:
        parse_check_in(data)

    assert "empty" in info.value.errors["__all__"]


@pytest.mark.parametrize("data", [[], "temperature_c=38", None, 38])
def test_input_that_is_not_an_object_is_refused(data):
    with pytest.raises(CheckInInvalid) as info:
        parse_check_in(data)

    assert "__all__" in info.value.errors


def test_notes_alone_are_a_check_in():
    assert parse_check_in({"notes": " Feeling fine today \n"}).notes == "Feeling fine today"


def test_notes_of_2000_characters_with_line_breaks_are_accepted():
    text = ("line\tone\r\n" * 200)[:2000]
    assert len(parse_check_in({"notes": text}).notes) <= 2000


def test_every_error_is_reported_not_just_the_first():
    with pytest.raises(CheckInInvalid) as info:
        parse_check_in({"spo2": 20, "pump": "x", "temperature_c": "hot", "colour": "red",
                        "symptoms": {"nausea": 9}})

    assert set(info.value.errors) == {
        "spo2", "pump", "temperature_c", "colour", "symptoms.nausea",
    }


def test_error_message_says_what_is_accepted():
    with pytest.raises(CheckInInvalid) as info:
        parse_check_in({"pump": "off"})

    assert "running" in str(info.value)
    assert "not_connected" in str(info.value)


def test_unknown_field_error_keeps_a_long_name_short():
    with pytest.raises(CheckInInvalid) as info:
        parse_check_in({"x" * 10_000: 1})

    assert all(len(key) <= 40 for key in info.value.errors)


def test_none_means_not_given():
    check_in = parse_check_in({"temperature_c": 36.8, "spo2": None, "symptoms": None})

    assert check_in.spo2 is None
    assert dict(check_in.symptoms) == {}


def test_symptom_graded_zero_is_kept_and_an_omitted_one_is_not():
    check_in = parse_check_in({"symptoms": {"nausea": 0}})

    assert dict(check_in.symptoms) == {"nausea": 0}
    assert "headache" not in check_in.symptoms


def test_symptoms_are_kept_in_catalogue_order():
    check_in = parse_check_in({"symptoms": {"fatigue": 1, "chills": 0, "nausea": 2}})

    assert list(check_in.symptoms) == ["chills", "nausea", "fatigue"]


def test_check_in_is_immutable():
    check_in = parse_check_in({"symptoms": {"nausea": 1}})

    with pytest.raises(TypeError):
        check_in.symptoms["nausea"] = 4  # type: ignore[index]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2025-03-01T08:00:00Z", datetime(2025, 3, 1, 8, tzinfo=UTC)),
        ("2025-03-01T09:00:00+01:00", datetime(2025, 3, 1, 8, tzinfo=UTC)),
        (datetime(2025, 3, 1, 3, tzinfo=timezone(timedelta(hours=-5))),
         datetime(2025, 3, 1, 8, tzinfo=UTC)),
    ],
)
def test_recorded_at_with_an_offset_is_accepted(given, expected):
    check_in = parse_check_in({"recorded_at": given, "temperature_c": 36.5})

    assert check_in.recorded_at == expected
    assert check_in.recorded_at.utcoffset() is not None


# Every field of the vocabulary, each given.
FULL_CHECK_IN = {
    "recorded_at": "2025-03-01T08:00:00+00:00", "temperature_c": 37.1,
    "antipyretic_last_6h": True, "feels_suddenly_unwell": False,
    "symptoms": {"headache": 2}, "stools_above_baseline": 0,
    "diarrhoea_with_blood": False, "vomiting_episodes_24h": 1,
    "unable_to_keep_fluids": False, "pump": "running", "spo2": 97,
    "systolic_bp": 118, "heart_rate": 88, "ice_score": 9, "worry": 2,
    "notes": "ok",
}


def test_full_check_in_is_parsed_to_canonical_types():
    check_in = parse_check_in(FULL_CHECK_IN)

    assert check_in == CheckInData(
        recorded_at=datetime(2025, 3, 1, 8, tzinfo=UTC), temperature_c=Decimal("37.1"),
        antipyretic_last_6h=True, feels_suddenly_unwell=False, symptoms={"headache": 2},
        stools_above_baseline=0, diarrhoea_with_blood=False, vomiting_episodes_24h=1,
        unable_to_keep_fluids=False, pump="running", spo2=97, systolic_bp=118,
        heart_rate=88, ice_score=9, worry=2, notes="ok",
    )


def test_canonical_dict_is_json_and_parses_back_to_the_same_check_in():
    check_in = parse_check_in({
        "recorded_at": "2025-03-01T08:00:00+01:00", "temperature_f": 100.4,
        "symptoms": {"nausea": 0, "chills": 1}, "pump": "alarm", "notes": "n",
    })

    data = json.loads(json.dumps(to_canonical_dict(check_in)))

    assert data["temperature_c"] == 38.0
    assert "temperature_f" not in data
    assert parse_check_in(data) == check_in


@pytest.mark.parametrize("field", ["ice_score", "capd_score", "worry"])
def test_v2_score_alone_is_a_check_in_and_zero_is_kept(field):
    # 0 is an answer (ICE 0: does not respond; worry 0: not at all), not "not given".
    assert getattr(parse_check_in({field: 0}), field) == 0


@pytest.mark.parametrize("given", [{"ice_score": 0, "worry": 3}, {"capd_score": 12, "worry": 0}])
def test_canonical_dict_carries_the_v2_fields(given):
    check_in = parse_check_in(given)

    data = json.loads(json.dumps(to_canonical_dict(check_in)))

    assert data == given
    assert parse_check_in(data) == check_in


def test_an_ice_score_and_a_capd_score_together_are_refused_naming_the_field():
    # One check-in is one neurological check, chosen by age; a check-in carrying both could
    # be graded but never stored (one tool per stored check-in): refused before either.
    with pytest.raises(CheckInInvalid) as refused:
        parse_check_in({"temperature_c": 38.2, "ice_score": 5, "capd_score": 12})

    assert "ice_score" in refused.value.errors["capd_score"]
    assert "not both" in refused.value.errors["capd_score"]


def test_canonical_dict_leaves_no_field_of_the_check_in_out():
    # A field added to CheckInData but forgotten in to_canonical_dict would be dropped by
    # exports and by the resend comparison.
    from dataclasses import fields

    every = {f.name for f in fields(CheckInData)}
    with_ice = parse_check_in(FULL_CHECK_IN)
    with_capd = parse_check_in({**FULL_CHECK_IN, "ice_score": None, "capd_score": 0})

    # One neurological check per check-in: each tool's record carries all but the other.
    assert set(to_canonical_dict(with_ice)) == every - {"capd_score"}
    assert set(to_canonical_dict(with_capd)) == every - {"ice_score"}
