"""`manage.py triage`: judges JSON check-ins, prints results, refuses bad input with exit
status 2 and the field named on stderr. Most tests run it as a real process, because the
exit status is part of the contract."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import PatientFactory

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_triage(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_ENV": os.environ.get("DJANGO_ENV", "test")}
    return subprocess.run(
        [sys.executable, "manage.py", "triage", "-", *args],
        input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT, env=env,
        timeout=60, check=False,
    )


def triage_in_process(stdin: str, *args: str) -> object:
    out = io.StringIO()
    call_command("triage", "-", *args, stdin=io.StringIO(stdin), stdout=out)
    return json.loads(out.getvalue())


def test_one_check_in_prints_one_result():
    done = run_triage('{"temperature_c": 38.1, "pump": "running"}')

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["severity"] == "red"
    assert result["emergency"] is False
    assert result["rules_version"] == "v2"
    assert result["findings"][0]["rule"] == "temperature_high"
    assert result["findings"][0]["text"] == "Temperature 38.1 °C, at or above 37.5 °C"


def test_array_is_judged_in_order_with_earlier_check_ins_as_history():
    series = [
        {"recorded_at": "2025-03-01T08:00:00+00:00", "symptoms": {"nausea": 0}},
        {"recorded_at": "2025-03-02T08:00:00+00:00", "symptoms": {"nausea": 2},
         "stools_above_baseline": 1},
        {"recorded_at": "2025-03-06T08:00:00+00:00", "symptoms": {"fatigue": 2}},
    ]

    done = run_triage(json.dumps(series))

    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["severity"] for r in results] == ["green", "amber", "green"]
    assert [f["rule"] for f in results[1]["findings"]] == ["nausea", "worsening"]


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ('{"temperature_c": 50}', ["temperature_c", "please check the reading"]),
        ('{"temperature_c": NaN}', ["temperature_c"]),
        ('{"temperature_c": 1e999}', ["temperature_c", "please check the reading"]),
        ('{"spo2": 95.0, "pump": "off"}', ["spo2", "whole number", "pump", "running"]),
        (
            '[{"recorded_at": "2025-03-01T08:00:00Z", "pump": "running"},'
            ' {"recorded_at": "2025-03-01T09:00:00Z", "symptoms": {"hiccups": 1}}]',
            ["item 1", "symptoms", "hiccups", "headache"],
        ),
        (
            '[{"recorded_at": "2025-03-02T08:00:00Z", "pump": "running"},'
            ' {"recorded_at": "2025-03-01T08:00:00Z", "pump": "running"}]',
            ["item 1", "recorded_at", "time order"],
        ),
        ("{}", ["empty"]),
        ("not json", ["JSON"]),
    ],
)
def test_invalid_input_exits_2_naming_the_problem(stdin, expected):
    done = run_triage(stdin)

    assert done.returncode == 2
    assert done.stdout == ""
    for fragment in expected:
        assert fragment in done.stderr


def test_unknown_option_value_exits_2():
    assert run_triage('{"pump": "running"}', "--patient", "abc").returncode == 2


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ('{"temperature_c": 38, "temperature_f": 100}', "temperature_f"),
        ('{"spo2": 90, "spo2": 99}', "given twice"),
        ('"temperature 38"', "object"),
        ("[1]", "item 0"),
        ('[{"pump": "alarm"}]', "item 0:\n  recorded_at"),
        ('{"temperature_c": Infinity}', "temperature_c"),
        ('{"stools_above_baseline": -1}', "stools_above_baseline"),
        ('{"notes": "a\\u0000b"}', "notes"),
        ('{"recorded_at": "2025-03-01T08:00:00", "pump": "running"}', "recorded_at"),
        ('{"temperature_c": ' + "9" * 5000 + "}", "JSON"),
        ("[" * 100_000 + "]" * 100_000, "JSON"),
    ],
)
def test_invalid_input_raises_command_error_with_status_2(stdin, expected):
    with pytest.raises(CommandError) as info:
        triage_in_process(stdin)

    assert info.value.returncode == 2
    assert expected in str(info.value)


def test_in_process_call_reads_a_file(tmp_path):
    path = tmp_path / "check_in.json"
    path.write_text('{"symptoms": {"seizure": 1}}', encoding="utf-8")
    out = io.StringIO()

    call_command("triage", str(path), stdout=out)

    result = json.loads(out.getvalue())
    assert (result["severity"], result["emergency"]) == ("red", True)


def test_missing_file_exits_2(tmp_path):
    with pytest.raises(CommandError) as info:
        call_command("triage", str(tmp_path / "absent.json"))

    assert info.value.returncode == 2


def test_empty_array_prints_an_empty_array():
    assert triage_in_process("[]") == []


def test_fahrenheit_is_judged_in_celsius():
    result = triage_in_process('{"temperature_f": 100.4}')

    assert result["findings"][0]["values"]["temperature_c"] == 38.0


@pytest.mark.django_db
def test_unknown_patient_exits_2():
    with pytest.raises(CommandError, match="no patient") as info:
        triage_in_process('{"pump": "running"}', "--patient", "999999")

    assert info.value.returncode == 2


@pytest.mark.django_db
def test_patient_option_judges_with_that_patients_thresholds():
    patient = PatientFactory(thresholds={"symptoms": {"headache": {"amber": 1, "red": 2}}})
    patient.care_team.thresholds = {"fever_high_c": 37.8}
    patient.care_team.save()
    check_in = '{"temperature_c": 37.6, "symptoms": {"headache": 2}}'

    default = triage_in_process(check_in)
    tightened = triage_in_process(check_in, "--patient", str(patient.pk))

    assert [f["rule"] for f in default["findings"]] == ["temperature_high", "headache"]
    assert [f["severity"] for f in default["findings"]] == ["red", "amber"]
    assert [(f["rule"], f["severity"]) for f in tightened["findings"]] == [("headache", "red")]


@pytest.mark.django_db
def test_patient_option_writes_nothing():
    patient = PatientFactory()
    tables = set(connection.introspection.table_names())
    models = [m for m in apps.get_models() if m._meta.db_table in tables]
    before = {m: m.objects.count() for m in models}

    triage_in_process('{"pump": "alarm"}', "--patient", str(patient.pk))

    assert {m: m.objects.count() for m in models} == before


# Version 2: the neurological self-check totals and the carer's worry go through the same
# parser (clinical-rules.md, "Version 2"; issue 13: "`manage.py triage` accepts ice_score,
# capd_score and worry (and refuses them out of range, naming the field)").


def test_v2_fields_are_judged_by_the_command():
    done = run_triage(json.dumps([
        {"recorded_at": "2025-03-01T08:00:00+00:00", "ice_score": 9},
        {"recorded_at": "2025-03-01T09:00:00+00:00", "capd_score": 4},
        {"recorded_at": "2025-03-01T10:00:00+00:00", "temperature_c": 36.7, "worry": 3},
    ]))

    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [(r["severity"], [f["rule"] for f in r["findings"]]) for r in results] == [
        ("red", ["neuro_ice"]), ("amber", ["neuro_capd_rise"]), ("amber", ["carer_concern"]),
    ]
    assert {r["rules_version"] for r in results} == {"v2"}


@pytest.mark.parametrize(
    ("stdin", "field"),
    [
        ('{"ice_score": 11}', "ice_score"),
        ('{"ice_score": -1}', "ice_score"),
        ('{"ice_score": 9.0}', "ice_score"),
        ('{"ice_score": "9"}', "ice_score"),
        ('{"capd_score": 33}', "capd_score"),
        ('{"capd_score": true}', "capd_score"),
        ('{"worry": 4}', "worry"),
        ('{"worry": "1_0"}', "worry"),
        ('{"worry": -1, "pump": "running"}', "worry"),
    ],
)
def test_v2_field_out_of_range_or_of_the_wrong_type_exits_2_naming_it(stdin, field):
    done = run_triage(stdin)

    assert done.returncode == 2
    assert done.stdout == ""
    assert f"  {field}: " in done.stderr


@pytest.mark.parametrize("field", ["ice_score", "capd_score", "worry"])
def test_v2_field_refused_in_process_names_the_field(field):
    with pytest.raises(CommandError) as info:
        triage_in_process(json.dumps({field: 99}))

    assert info.value.returncode == 2
    assert field in str(info.value)


@pytest.mark.django_db
def test_patient_option_judges_with_that_patients_ice_baseline():
    patient = PatientFactory(thresholds={"ice_baseline": 7})

    default = triage_in_process('{"ice_score": 7}')
    own = triage_in_process('{"ice_score": 7}', "--patient", str(patient.pk))

    assert [f["rule"] for f in default["findings"]] == ["neuro_ice"]
    assert own["severity"] == "green"
