"""`manage.py triage FILE|-`: judge check-ins given as JSON, without saving anything.

One object (a check-in in the canonical vocabulary) prints one result; an array of one
patient's check-ins in time order prints an array of results, each judged with the ones
before it as history. `--patient ID` uses that patient's thresholds. Refused input exits
with status 2 and says on stderr which field (and, in an array, which item) is wrong.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from triage.rules import RuleSet, evaluate
from triage.validation import CheckInData, CheckInInvalid, parse_check_in

INVALID_INPUT = 2


def _refuse(message: str) -> CommandError:
    return CommandError(message, returncode=INVALID_INPUT)


def _non_finite(name: str) -> float:
    # NaN/Infinity are not JSON, but Python's decoder takes them. Pass them through as
    # floats so that parse_check_in() refuses them with the name of the field they are in.
    return float(name)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The standard decoder keeps the last of a repeated key; for a clinical reading
    # "temperature_c" given twice is ambiguous, so refuse it.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"field {key[:40]!r} is given twice in one object")
        result[key] = value
    return result


def load_json(text: str) -> Any:
    """Decode JSON strictly: floats as Decimal (so 1e999 stays a number the range check
    refuses instead of becoming infinity), repeated keys refused."""
    return json.loads(
        text, parse_float=Decimal, parse_constant=_non_finite, object_pairs_hook=_unique_keys
    )


def _describe(error: CheckInInvalid, where: str) -> str:
    lines = [f"invalid check-in{where}:"]
    for field_name, message in error.errors.items():
        shown = "check-in" if field_name == "__all__" else field_name
        lines.append(f"  {shown}: {message}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Judge check-ins given as JSON (one object, or an array of one patient's check-ins "
        "in time order) and print the results as JSON. Writes nothing to the database."
    )
    requires_system_checks: list[str] = []
    # call_command(..., stdin=io.StringIO(...)) in tests.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSON file to read, or - for standard input")
        parser.add_argument(
            "--patient", type=int, metavar="ID",
            help="judge with this patient's thresholds instead of the defaults",
        )

    def handle(self, *args: object, **options: Any) -> None:
        data = self._read_json(options["file"], options.get("stdin"))
        if isinstance(data, dict):
            check_ins = [self._parse(data, "")]
        elif isinstance(data, list):
            check_ins = self._parse_series(data)
        else:
            raise _refuse(
                "expected a JSON object (one check-in) or an array of check-ins, "
                f"got {type(data).__name__}"
            )
        ruleset = self._ruleset(options.get("patient"))
        results = [
            evaluate(check_in, check_ins[:index], ruleset).to_json()
            for index, check_in in enumerate(check_ins)
        ]
        payload = results[0] if isinstance(data, dict) else results
        self.stdout.write(json.dumps(payload, indent=2))

    def _read_json(self, path: str, stdin: Any) -> Any:
        try:
            if path == "-":
                stream = stdin if stdin is not None else sys.stdin
                raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
            else:
                raw = Path(path).read_bytes()
            text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        except OSError as exc:
            raise _refuse(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise _refuse("input is not UTF-8 text") from None
        try:
            return load_json(text)
        except json.JSONDecodeError as exc:
            raise _refuse(
                f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
            ) from None
        except (ValueError, RecursionError) as exc:
            # Repeated keys, integers too long to convert, absurd nesting.
            raise _refuse(f"not accepted JSON: {str(exc)[:200]}") from None

    def _parse(self, data: object, where: str) -> CheckInData:
        try:
            return parse_check_in(data)  # type: ignore[arg-type]
        except CheckInInvalid as exc:
            raise _refuse(_describe(exc, where)) from None

    def _parse_series(self, items: list[object]) -> list[CheckInData]:
        problems: list[str] = []
        check_ins: list[CheckInData] = []
        for index, item in enumerate(items):
            where = f" at item {index}"
            try:
                check_in = parse_check_in(item)  # type: ignore[arg-type]
            except CheckInInvalid as exc:
                problems.append(_describe(exc, where))
                continue
            if check_in.recorded_at is None:
                problems.append(
                    f"invalid check-in{where}:\n  recorded_at: required in an array, so the "
                    "check-ins can be put in time order; give an ISO 8601 date and time "
                    "with a UTC offset"
                )
            check_ins.append(check_in)
        if problems:
            raise _refuse("\n".join(problems))
        for index in range(1, len(check_ins)):
            before, this = check_ins[index - 1].recorded_at, check_ins[index].recorded_at
            if before is not None and this is not None and this < before:
                raise _refuse(
                    f"invalid check-in at item {index}:\n  recorded_at: {this.isoformat()} is "
                    f"earlier than item {index - 1} ({before.isoformat()}); give the "
                    "check-ins in time order, oldest first"
                )
        return check_ins

    def _ruleset(self, patient_id: int | None) -> RuleSet:
        if patient_id is None:
            return RuleSet.default()
        # Imported here so that judging without --patient needs no database at all.
        from accounts.models import Patient

        try:
            patient = Patient.objects.get(pk=patient_id)
        except Patient.DoesNotExist:
            raise _refuse(f"--patient: no patient with id {patient_id}") from None

        from symptoms.thresholds import ruleset_for_patient, threshold_conflicts

        # Stored thresholds that contradict each other judge with the stricter value, as
        # the check-in path does; say so on stderr.
        for conflict in threshold_conflicts(patient):
            self.stderr.write(f"patient {patient_id}: {conflict}")
        return ruleset_for_patient(patient)
