"""The one parser of a check-in: forms, the `triage` command and the API all call
parse_check_in(), so a value refused in one place is refused everywhere.

The input is the canonical vocabulary of clinical-rules.md as a mapping (a decoded JSON
object, or a form's cleaned data). The parser is strict about types because the input is
clinical: "38" as a string, 3.5 stools or `true` as a grade are refused, never coerced.
A form that takes text converts it to numbers itself before calling this. A key given as
None counts as not given, so a form's empty fields need no special handling.

No Django import here: the rule engine and its tests run without settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from triage.catalogue import (
    FIELDS_BY_NAME,
    MAX_GRADE,
    MIN_GRADE,
    NON_FIELD,
    SYMPTOM_CODES,
    SYMPTOMS_BY_CODE,
    SYMPTOMS_KEY,
    TEMPERATURE_QUANTUM,
)

ACCEPTED_KEYS: tuple[str, ...] = (*FIELDS_BY_NAME, SYMPTOMS_KEY)
_RECORDED_AT_MAX_LENGTH = 64
_KEY_DISPLAY_LENGTH = 40
# Readings dated outside these years are typing mistakes (and 0001-01-01 minus 72 h
# cannot even be computed). Wide enough for any archived series given to `triage`.
_EARLIEST_YEAR, _LATEST_YEAR = 2000, 2099
# Tab, newline and carriage return are ordinary in free text; other control characters
# (NUL above all, which PostgreSQL refuses) and lone surrogates (which cannot be encoded
# as UTF-8) would make a check-in that cannot be stored or exported.
_ALLOWED_CONTROL = frozenset("\t\n\r")
# Invisible text-direction controls (e.g. U+202E right-to-left override) make a note read
# differently from what it holds; refused like portal.fields does for every other form.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


class CheckInInvalid(ValueError):
    """A check-in was refused. `errors` maps each field (or NON_FIELD) to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [
            f"{'check-in' if name == NON_FIELD else name}: {message}"
            for name, message in self.errors.items()
        ]
        return "; ".join(parts)


def _empty_symptoms() -> Mapping[str, int]:
    return MappingProxyType({})


_SYMPTOM_ORDER = {code: i for i, code in enumerate(SYMPTOM_CODES)}


@dataclass(frozen=True)
class CheckInData:
    """A check-in in the canonical vocabulary, after validation.

    None means "not given"; `symptoms` holds only the symptoms reported (code -> grade),
    in the order of the catalogue. Build one with parse_check_in() from untrusted input;
    constructing it directly is for trusted code (e.g. from a stored check-in).
    """

    recorded_at: datetime | None = None
    temperature_c: Decimal | None = None
    antipyretic_last_6h: bool | None = None
    feels_suddenly_unwell: bool | None = None
    symptoms: Mapping[str, int] = field(default_factory=_empty_symptoms)
    stools_above_baseline: int | None = None
    diarrhoea_with_blood: bool | None = None
    vomiting_episodes_24h: int | None = None
    unable_to_keep_fluids: bool | None = None
    pump: str | None = None
    spo2: int | None = None
    systolic_bp: int | None = None
    heart_rate: int | None = None
    # v2: totals of the neurological self-check (triage.neuro adds them up) and the
    # carer's worry 0-3 (catalogue.WORRY_LABELS).
    ice_score: int | None = None
    capd_score: int | None = None
    worry: int | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        # Frozen all the way down, and in one order whatever order the symptoms came in.
        ordered = sorted(self.symptoms.items(), key=lambda kv: _SYMPTOM_ORDER.get(kv[0], 999))
        object.__setattr__(self, "symptoms", MappingProxyType(dict(ordered)))


class _Refused(Exception):
    """One field's value is refused; the message says what is accepted."""


def parse_check_in(data: Mapping[str, object]) -> CheckInData:
    """Validate one check-in and return it in canonical form.

    Raises CheckInInvalid with every field's error (not just the first) if anything is
    wrong; nothing is returned for a partly valid check-in.
    """
    if not isinstance(data, Mapping):
        raise CheckInInvalid({NON_FIELD: "a check-in must be an object of field names and values"})

    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if not isinstance(key, str) or key not in ACCEPTED_KEYS:
            errors[_display_key(key)] = (
                "unknown field; accepted fields are " + ", ".join(ACCEPTED_KEYS)
            )
            continue
        if raw is None:
            continue
        try:
            if key == SYMPTOMS_KEY:
                values[key] = _parse_symptoms(raw, errors)
            else:
                values[key] = _PARSERS[FIELDS_BY_NAME[key].kind](key, raw)
        except _Refused as refused:
            errors[key] = str(refused)

    if "temperature_c" in data and "temperature_f" in data and not _both_none(data):
        errors["temperature_f"] = (
            "give the temperature once, either temperature_c or temperature_f, not both"
        )
    if values.get("ice_score") is not None and values.get("capd_score") is not None:
        # One check-in carries one neurological check, chosen by age (clinical-rules.md,
        # "The neurological self-check"); the database stores one tool per check-in, so
        # accepting both here would grade a check-in that can never be saved.
        errors["capd_score"] = (
            "give one neurological check, either ice_score (aged 12 or over) or capd_score "
            "(under 12), not both"
        )
    if errors:
        raise CheckInInvalid(errors)

    if "temperature_f" in values:
        try:
            values["temperature_c"] = _fahrenheit_to_celsius(values.pop("temperature_f"))
        except _Refused as refused:
            raise CheckInInvalid({"temperature_f": str(refused)}) from None
    if not values.get(SYMPTOMS_KEY):
        values.pop(SYMPTOMS_KEY, None)
    if not values.get("notes"):
        values.pop("notes", None)
    if not set(values) - {"recorded_at"}:
        raise CheckInInvalid({NON_FIELD: "the check-in is empty; give at least one reading, "
                                         "symptom or note"})
    return CheckInData(**values)


def to_canonical_dict(check_in: CheckInData) -> dict[str, object]:
    """The check-in as a JSON-able dict that parse_check_in() reads back unchanged.

    Fields not given are left out; the temperature is a float with one decimal.
    """
    result: dict[str, object] = {}
    if check_in.recorded_at is not None:
        result["recorded_at"] = check_in.recorded_at.isoformat()
    if check_in.temperature_c is not None:
        result["temperature_c"] = float(check_in.temperature_c)
    for name in ("antipyretic_last_6h", "feels_suddenly_unwell"):
        if getattr(check_in, name) is not None:
            result[name] = getattr(check_in, name)
    if check_in.symptoms:
        result[SYMPTOMS_KEY] = dict(check_in.symptoms)
    for name in (
        "stools_above_baseline", "diarrhoea_with_blood", "vomiting_episodes_24h",
        "unable_to_keep_fluids", "pump", "spo2", "systolic_bp", "heart_rate",
        "ice_score", "capd_score", "worry",
    ):
        if getattr(check_in, name) is not None:
            result[name] = getattr(check_in, name)
    if check_in.notes:
        result["notes"] = check_in.notes
    return result


def _both_none(data: Mapping[str, object]) -> bool:
    return data["temperature_c"] is None or data["temperature_f"] is None


def _display_key(key: object) -> str:
    # An unknown key is echoed back in the error, so keep it short and printable.
    text = key if isinstance(key, str) else repr(key)
    text = text.encode("unicode_escape").decode("ascii")
    if len(text) > _KEY_DISPLAY_LENGTH:
        text = text[: _KEY_DISPLAY_LENGTH - 3] + "..."
    return text


def _show(value: object) -> str:
    return _display_key(str(value))


def _bounds(name: str) -> tuple[Decimal | int, Decimal | int]:
    spec = FIELDS_BY_NAME[name]
    if spec.minimum is None or spec.maximum is None:
        raise RuntimeError(f"catalogue field {name} has no range")
    return spec.minimum, spec.maximum


def _parse_datetime(name: str, raw: object) -> datetime:
    expected = "an ISO 8601 date and time with a UTC offset, e.g. 2025-03-01T08:30:00+00:00"
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str) and len(raw) <= _RECORDED_AT_MAX_LENGTH:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise _Refused(f"not a date and time; give {expected}") from None
    else:
        raise _Refused(f"must be {expected}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _Refused(f"has no UTC offset; give {expected}")
    # Checked on the year alone: converting 0001-01-01 with an offset to UTC overflows.
    # The write path narrows this to the last few days (symptoms.services).
    if not (_EARLIEST_YEAR <= moment.year <= _LATEST_YEAR):
        raise _Refused(f"{moment.date().isoformat()} is not a plausible date for a reading; "
                       "give the date and time it was taken")
    return moment


def _to_decimal(name: str, raw: object) -> Decimal:
    """A finite number as a Decimal; strings, bools, NaN and infinities are refused."""
    spec = FIELDS_BY_NAME[name]
    expected = f"a number in {spec.unit} between {spec.minimum} and {spec.maximum}"
    if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal)):
        raise _Refused(f"must be {expected}")
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _Refused(f"must be {expected}, not {raw}")
        # str() gives the shortest decimal that round-trips, so 37.45 stays 37.45 and
        # rounds half up to 37.5 instead of being judged on its binary expansion.
        return Decimal(str(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise _Refused(f"must be {expected}, not {raw}")
        return raw
    if not (-(10**6) < raw < 10**6):
        raise _Refused(f"{_show(raw)} {spec.unit} is outside {spec.minimum}-{spec.maximum} "
                       f"{spec.unit}; please check the reading")
    return Decimal(raw)


def _round_temperature(value: Decimal) -> Decimal:
    try:
        return value.quantize(TEMPERATURE_QUANTUM, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        # Only huge exponents (1e999) get here; the range check refuses them anyway.
        return value


def _check_range(name: str, value: Decimal) -> Decimal:
    spec = FIELDS_BY_NAME[name]
    low, high = _bounds(name)
    if not (low <= value <= high):
        raise _Refused(f"{_show(value)} {spec.unit} is outside {spec.minimum}-{spec.maximum} "
                       f"{spec.unit}; please check the reading")
    return value


def _parse_decimal(name: str, raw: object) -> Decimal:
    value = _to_decimal(name, raw)
    if name == "temperature_f":
        # Rounded only once, after conversion to °C, so °F input is not rounded twice.
        return _check_range(name, value)
    # Checked after rounding: the stored value is the rounded one.
    return _check_range(name, _round_temperature(value))


def _fahrenheit_to_celsius(fahrenheit: Decimal) -> Decimal:
    celsius = _round_temperature((fahrenheit - 32) * 5 / 9)
    spec = FIELDS_BY_NAME["temperature_c"]
    low, high = _bounds("temperature_c")
    if not (low <= celsius <= high):
        raise _Refused(f"{_show(fahrenheit)} °F is {celsius} °C, outside {spec.minimum}-"
                       f"{spec.maximum} °C; please check the reading")
    return celsius


def _parse_bool(name: str, raw: object) -> bool:
    if not isinstance(raw, bool):
        raise _Refused("must be true or false")
    return raw


def _parse_int(name: str, raw: object) -> int:
    spec = FIELDS_BY_NAME[name]
    unit = f" {spec.unit}" if spec.unit else ""
    expected = f"a whole number between {spec.minimum} and {spec.maximum}{unit}"
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _Refused(f"must be {expected}")
    low, high = _bounds(name)
    if not (low <= raw <= high):
        raise _Refused(f"{_show(raw)}{unit} is outside {spec.minimum}-{spec.maximum}{unit}; "
                       "please check the reading")
    return raw


def _parse_choice(name: str, raw: object) -> str:
    choices = FIELDS_BY_NAME[name].choices
    if not isinstance(raw, str) or raw not in choices:
        shown = f"{_show(raw)!r} is not" if isinstance(raw, str) else "must be"
        raise _Refused(f"{shown} one of " + ", ".join(choices))
    return raw


def _parse_text(name: str, raw: object) -> str:
    limit = FIELDS_BY_NAME[name].max_length
    if not isinstance(raw, str):
        raise _Refused(f"must be text of at most {limit} characters")
    # Only ordinary white space is trimmed; str.strip() would also drop a trailing C1
    # control (U+0085) instead of refusing it.
    text = raw.strip(" \t\n\r")
    if limit is not None and len(text) > limit:
        raise _Refused(f"is {len(text)} characters long; at most {limit} are accepted")
    for char in text:
        code = ord(char)
        control = code < 0x20 or 0x7F <= code <= 0x9F  # C0, DEL and C1
        if (control and char not in _ALLOWED_CONTROL) or 0xD800 <= code <= 0xDFFF:
            raise _Refused("contains a control character (such as NUL); give plain text")
        if char in _BIDI_CONTROLS:
            raise _Refused(f"contains an invisible text-direction character (U+{code:04X}); "
                           "remove it and send again")
    return text


_PARSERS = {
    "datetime": _parse_datetime,
    "decimal": _parse_decimal,
    "bool": _parse_bool,
    "int": _parse_int,
    "choice": _parse_choice,
    "text": _parse_text,
}


def _parse_symptoms(raw: object, errors: dict[str, str]) -> dict[str, int]:
    """Grades by symptom code. Per-symptom errors go into `errors` under symptoms.CODE."""
    if not isinstance(raw, Mapping):
        raise _Refused("must be an object of symptom codes and grades 0-4")
    grades: dict[str, int] = {}
    unknown: list[str] = []
    expected = f"a whole number from {MIN_GRADE} (none) to {MAX_GRADE} (very severe)"
    for code, grade in raw.items():
        if not isinstance(code, str) or code not in SYMPTOMS_BY_CODE:
            unknown.append(_display_key(code))
            continue
        if grade is None:
            continue  # not reported, as if left out
        if isinstance(grade, bool) or not isinstance(grade, int):
            errors[f"{SYMPTOMS_KEY}.{code}"] = f"grade must be {expected}"
        elif not (MIN_GRADE <= grade <= MAX_GRADE):
            errors[f"{SYMPTOMS_KEY}.{code}"] = f"grade {_show(grade)} is not {expected}"
        else:
            grades[code] = grade
    if unknown:
        errors[SYMPTOMS_KEY] = (
            "unknown symptom code " + ", ".join(repr(c) for c in unknown)
            + "; accepted codes are " + ", ".join(SYMPTOM_CODES)
        )
    return grades
