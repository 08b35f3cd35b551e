"""Strict form fields: the one parsing layer for typed input outside the check-in.

triage/validation.py is the parser of a check-in; this module is the same idea for
every other form and for the admin site. Each field refuses what it cannot store exactly,
with a message that names the field and says what is accepted. Nothing is truncated,
rounded or guessed:

- text: no NUL, no other C0/C1 control character (tab and newline only where the field is
  multi-line), no bidirectional override or isolate (U+202A-U+202E, U+2066-U+2069: they
  make a note read differently from what is stored), no lone surrogate; longer than the
  limit is refused with the limit, never cut (and the HTML ``maxlength`` attribute is
  left off, because browsers cut a pasted text at it without saying so);
- integers: ASCII digits with an optional leading minus only ("1_0", "+5", Arabic-Indic
  digits, "1 0" and "1e3" are refused; Python's int() accepts the first four);
- decimals: digits and one point, no more decimal places than the field stores (never
  rounded), no NaN, Infinity or exponent;
- dates: the ISO form the browser's date input sends (2026-03-01), or the admin
  calendar's dd/mm/yyyy, written out in full; within a window per use (a date of birth
  from 1900 to today, an infusion start within a few years of today);
- time zones: only a place's zone from the IANA database (Europe/London); ``localtime``,
  ``Factory``, ``UTC``, ``EST5EDT``, ``Etc/GMT+5`` and other non-geographic names are
  refused;
- email: at most 254 characters (the column and RFC 5321), and lower-cased the way the
  User model stores it, so sign-in (which ignores case) finds the same account.

Forms use the fields directly. ModelForms and the admin site get them from
strict_formfield(), given as a ModelForm's ``Meta.formfield_callback`` or through
StrictAdminMixin, so a field added to a model is strict in the admin without anyone
remembering to make it so.

Error messages start with the field's label; a field built without a label uses
"This field" (forms in this project always give one).
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

# ---------------------------------------------------------------------------- text

# Bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
MULTILINE_ALLOWED_CONTROLS = frozenset("\t\n")
# A text field without a limit of its own (a model TextField without max_length) still
# has one: nobody types a megabyte into a form.
DEFAULT_TEXT_MAX_LENGTH = 10_000
EMAIL_MAX_LENGTH = 254


def _label(field: forms.Field) -> str:
    return str(field.label) if field.label else "This field"


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name.lower()}" if name else "")


def refuse_text(value: str, *, label: str, max_length: int | None, multiline: bool) -> None:
    """Raise ValidationError (code "control", "bidi" or "max_length") if `value` holds a
    character the portal does not store or is longer than `max_length` characters.

    `label` names the field in the message. `multiline` allows tab and newline. A caller
    that has already normalised line endings passes the normalised text, so the length
    counted is the one stored.
    """
    for position, char in enumerate(value, start=1):
        code = ord(char)
        if char in BIDI_CONTROLS:
            raise ValidationError(
                f"{label}: contains an invisible text-direction character "
                f"({_describe(char)}) at character {position}; remove it and try again.",
                code="bidi",
            )
        is_control = code < 0x20 or 0x7F <= code <= 0x9F
        if is_control and not (multiline and char in MULTILINE_ALLOWED_CONTROLS):
            what = "a line break or tab" if char in "\t\n\r" else "a control character"
            raise ValidationError(
                f"{label}: contains {what} ({_describe(char) if char not in chr(0) else 'NUL'})"
                f" at character {position}, which is not accepted here.",
                code="control",
            )
        if 0xD800 <= code <= 0xDFFF:
            raise ValidationError(
                f"{label}: contains a character that cannot be stored "
                f"(U+{code:04X}) at character {position}.",
                code="control",
            )
    if max_length is not None and len(value) > max_length:
        raise ValidationError(
            f"{label}: at most {max_length:,} characters; this has {len(value):,}. "
            "Nothing was cut: shorten it and send again.",
            code="max_length",
        )


class StrictTextField(forms.CharField):
    """Text as typed, refused rather than changed (see the module docstring).

    Args as forms.CharField, plus `multiline` (allows tab and newline; CR LF from a
    textarea is stored as LF). `max_length` defaults to DEFAULT_TEXT_MAX_LENGTH.
    Leading and trailing whitespace is removed unless strip=False (passwords).
    Returns str (or `empty_value`). Raises ValidationError naming the field.
    """

    def __init__(self, *, multiline: bool = False, max_length: int | None = None,
                 **kwargs: Any) -> None:
        self.multiline = multiline
        if multiline and "widget" not in kwargs:
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3})
        super().__init__(max_length=max_length or DEFAULT_TEXT_MAX_LENGTH, **kwargs)
        # Our own check runs first with a better message; Django's MaxLengthValidator
        # would repeat it.
        self.validators = [
            v for v in self.validators if type(v).__name__ != "MaxLengthValidator"
        ]

    def to_python(self, value: Any) -> str | None:
        if value in self.empty_values:
            return self.empty_value
        if not isinstance(value, str):
            value = str(value)
        if self.multiline:
            value = value.replace("\r\n", "\n")
        if self.strip:
            value = value.strip()
        if value in self.empty_values:
            return self.empty_value
        refuse_text(value, label=_label(self), max_length=self.max_length,
                    multiline=self.multiline)
        return value

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        # Browsers cut pasted text at maxlength silently; the server refuses instead.
        attrs.pop("maxlength", None)
        return attrs


class StrictEmailField(StrictTextField):
    """An email address: at most 254 characters, lower-cased as User.save() stores it
    (sign-in compares without case). Returns str. Raises ValidationError naming the
    field for a bad address, a control character or a longer address."""

    widget = forms.EmailInput
    default_validators = list(forms.EmailField.default_validators)

    def __init__(self, *, max_length: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("multiline", None)
        super().__init__(max_length=min(max_length or EMAIL_MAX_LENGTH, EMAIL_MAX_LENGTH),
                         **kwargs)

    def to_python(self, value: Any) -> str | None:
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        if any(char.isspace() for char in value):
            raise ValidationError(f"{_label(self)}: an email address has no spaces.",
                                  code="invalid")
        return value.lower()

    def run_validators(self, value: Any) -> None:
        try:
            super().run_validators(value)
        except ValidationError:
            raise ValidationError(
                f"{_label(self)}: enter an email address like name@example.org.",
                code="invalid",
            ) from None


# ---------------------------------------------------------------------------- numbers

_INTEGER = re.compile(r"-?[0-9]{1,18}\Z")
_DECIMAL = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?\Z")


def _ascii_strip(value: Any) -> str:
    # Only plain spaces around a number are forgiven (pasted text); anything else that
    # Python would skip (no-break space, tabs, other Unicode spaces) is refused.
    return str(value).strip(" ")


class StrictIntegerField(forms.IntegerField):
    """A whole number written with ASCII digits and an optional leading minus.

    Refuses "1_0", "+5", "1 0", "1e3", "10.0", Unicode digits and more than 18 digits.
    min_value/max_value as forms.IntegerField. Returns int. Raises ValidationError
    naming the field.
    """

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = _ascii_strip(value)
        if text in self.empty_values:
            return None
        if not _INTEGER.match(text):
            raise ValidationError(
                f"{_label(self)}: enter a whole number in digits, like 12.", code="invalid"
            )
        return int(text)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.setdefault("inputmode", "numeric")
        return attrs

    def run_validators(self, value: Any) -> None:
        try:
            super().run_validators(value)
        except ValidationError as error:
            raise ValidationError(f"{_label(self)}: {' '.join(error.messages)}",
                                  code="out_of_range") from None


class StrictDecimalField(forms.DecimalField):
    """An exact decimal: digits, at most one point, an optional leading minus.

    Refuses a comma, an exponent, NaN, Infinity and more decimal places than
    `decimal_places` (95.55 in a field of one decimal place is refused, never rounded).
    Returns Decimal. Raises ValidationError naming the field.
    """

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values:
            return None
        text = str(value) if isinstance(value, Decimal) else _ascii_strip(value)
        if text in self.empty_values:
            return None
        if not _DECIMAL.match(text):
            raise ValidationError(
                f"{_label(self)}: enter a number in digits with a point for decimals, "
                "like 37.5.", code="invalid")
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern already refused it
            raise ValidationError(f"{_label(self)}: enter a number.", code="invalid") from None
        places = -number.as_tuple().exponent
        if self.decimal_places is not None and places > self.decimal_places:
            raise ValidationError(
                f"{_label(self)}: at most {self.decimal_places} decimal place(s); {text} "
                "would have to be rounded, so it is not accepted.", code="max_decimal_places")
        return number

    def run_validators(self, value: Any) -> None:
        try:
            super().run_validators(value)
        except ValidationError as error:
            raise ValidationError(f"{_label(self)}: {' '.join(error.messages)}",
                                  code="out_of_range") from None


# ---------------------------------------------------------------------------- dates

DateBound = date | Callable[[], date] | None
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_UK_DATE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}\Z")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2})?\Z")


def today() -> date:
    """Today in the portal's time zone (settings.TIME_ZONE): the day a form is filled in."""
    return timezone.localdate()


def _bound(bound: DateBound) -> date | None:
    return bound() if callable(bound) else bound


def years_from_today(years: int) -> Callable[[], date]:
    """A bound `years` years after (or, negative, before) today, for a date window."""

    def bound() -> date:
        day = today()
        try:
            return day.replace(year=day.year + years)
        except ValueError:  # 29 February
            return day.replace(year=day.year + years, day=28)

    bound.__name__ = f"years_from_today({years})"
    return bound


def parse_strict_date(text: str, *, label: str) -> date:
    """`text` as a date: 2026-03-01 (ISO, the browser's date input) or 01/03/2026 (the
    admin calendar in en-gb), in full. Raises ValidationError naming the field."""
    text = _ascii_strip(text)
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
        if _UK_DATE.match(text):
            return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        pass
    raise ValidationError(f"{label}: enter a date like 2026-03-01.", code="invalid")


def _format_day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


class StrictDateField(forms.DateField):
    """A calendar date within [earliest, latest] (each a date, a callable giving one,
    or None for open). Returns date. Raises ValidationError naming the field and the
    window."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def __init__(self, *, earliest: DateBound = None, latest: DateBound = None,
                 window_words: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("input_formats", None)
        super().__init__(**kwargs)
        self.earliest = earliest
        self.latest = latest
        self.window_words = window_words
        # The value already stored, when the form edits a record (set by
        # keep_stored_dates): saving it back unchanged is not refused because the
        # window has moved on since (an infusion started six years ago).
        self.stored: date | None = None

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return parse_strict_date(str(value), label=_label(self))

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value in self.empty_values or (self.stored is not None and value == self.stored):
            return
        earliest, latest = _bound(self.earliest), _bound(self.latest)
        if (earliest and value < earliest) or (latest and value > latest):
            if self.window_words:
                window = self.window_words
            elif earliest and latest:
                window = f"from {_format_day(earliest)} to {_format_day(latest)}"
            elif earliest:
                window = f"from {_format_day(earliest)}"
            else:
                window = f"up to {_format_day(latest)}"
            raise ValidationError(
                f"{_label(self)}: {value.isoformat()} is not possible here; give a date "
                f"{window}.", code="out_of_window")


class StrictTimeField(forms.TimeField):
    """A time of day as HH:MM or HH:MM:SS (24-hour, two digits each). Returns time.
    Raises ValidationError naming the field."""

    def to_python(self, value: Any) -> time | None:
        if value in self.empty_values:
            return None
        if isinstance(value, time):
            return value
        text = _ascii_strip(value)
        if _TIME.match(text):
            try:
                return time.fromisoformat(text)
            except ValueError:
                pass
        raise ValidationError(f"{_label(self)}: enter a time like 20:00.", code="invalid")


# A moment stored by the admin (link end, invitation expiry, ...): this century, and not
# beyond 10 years ahead. Outside it, 0001-01-01 or 9999-12-31 would overflow when moved
# between time zones, and is a typing error anyway.
DATETIME_EARLIEST = date(2000, 1, 1)


class StrictSplitDateTimeField(forms.SplitDateTimeField):
    """The admin's date + time pair, each part strict, within 2000 to 10 years ahead.
    Returns an aware datetime in the current time zone. Raises ValidationError naming
    the field."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("input_date_formats", None)
        kwargs.pop("input_time_formats", None)
        super().__init__(**kwargs)
        label = kwargs.get("label")
        self.fields = (
            StrictDateField(label=label, required=False, earliest=DATETIME_EARLIEST,
                            latest=years_from_today(10),
                            error_messages={"incomplete": self.error_messages["invalid_date"]}),
            StrictTimeField(label=label, required=False,
                            error_messages={"incomplete": self.error_messages["invalid_time"]}),
        )


class StrictDateTimeField(forms.DateTimeField):
    """A date and time in one box as YYYY-MM-DDTHH:MM[:SS] (the datetime-local input) or
    with a space; placed in the current time zone. Window as StrictSplitDateTimeField.
    Returns an aware datetime. Raises ValidationError naming the field."""

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        text = _ascii_strip(value).replace(" ", "T", 1)
        day_text, _, time_text = text.partition("T")
        if not _ISO_DATE.match(day_text) or not _TIME.match(time_text):
            raise ValidationError(f"{_label(self)}: enter a date and time like "
                                  "2026-03-01 20:00.", code="invalid")
        day = parse_strict_date(day_text, label=_label(self))
        if day < DATETIME_EARLIEST or day > years_from_today(10)():
            raise ValidationError(f"{_label(self)}: {day.isoformat()} is not possible here.",
                                  code="out_of_window")
        try:
            clock = time.fromisoformat(time_text)
        except ValueError:  # "25:00", "10:60": the shape is right, the time is not
            raise ValidationError(f"{_label(self)}: enter a date and time like "
                                  "2026-03-01 20:00.", code="invalid") from None
        return timezone.make_aware(datetime.combine(day, clock))


# ---------------------------------------------------------------------------- time zones

# The areas of the IANA database whose zones are places. Everything else available
# (UTC, Etc/GMT+5, EST5EDT, Factory, localtime, and the old country aliases such as GB
# or US/Eastern) is refused: a patient lives in a place, and the aliases have a
# canonical name in one of these areas.
GEOGRAPHIC_AREAS = frozenset({
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
    "Europe", "Indian", "Pacific",
})


@cache
def geographic_time_zones() -> frozenset[str]:
    """The IANA zone names this portal accepts: zoneinfo.available_timezones() of a
    geographic area (GEOGRAPHIC_AREAS)."""
    return frozenset(
        name for name in zoneinfo.available_timezones()
        if "/" in name and name.split("/", 1)[0] in GEOGRAPHIC_AREAS
    )


def refuse_time_zone(value: str, *, label: str = "Time zone") -> None:
    """Raise ValidationError naming the field unless `value` is a geographic IANA zone."""
    if value not in geographic_time_zones():
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ValidationError(
            f"{label}: {shown!r} is not a place's time zone; give one like Europe/London.",
            code="time_zone",
        )


class StrictTimeZoneField(StrictTextField):
    """A geographic IANA time zone name, exactly as the database spells it
    (Europe/London). Returns str. Raises ValidationError naming the field."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("multiline", None)
        kwargs["max_length"] = 64
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str | None:
        value = super().to_python(value)
        if value not in self.empty_values:
            refuse_time_zone(value, label=_label(self))
        return value


# ---------------------------------------------------------------------------- JSON

def _refuse_json_strings(node: Any, label: str) -> None:
    if isinstance(node, str):
        refuse_text(node, label=label, max_length=None, multiline=True)
    elif isinstance(node, dict):
        for key, item in node.items():
            _refuse_json_strings(key, label)
            _refuse_json_strings(item, label)
    elif isinstance(node, list):
        for item in node:
            _refuse_json_strings(item, label)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON can hold")


class StrictJSONField(forms.JSONField):
    """JSON without NaN/Infinity (PostgreSQL's jsonb refuses them) and without control or
    text-direction characters in its strings, at most DEFAULT_TEXT_MAX_LENGTH characters.
    Returns the decoded value. Raises ValidationError naming the field."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > DEFAULT_TEXT_MAX_LENGTH:
            raise ValidationError(
                f"{_label(self)}: at most {DEFAULT_TEXT_MAX_LENGTH:,} characters; this has "
                f"{len(value):,}.", code="max_length")
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value, parse_constant=_no_constant)
            except ValueError:
                raise ValidationError(f"{_label(self)}: enter valid JSON (no NaN or "
                                      "Infinity).", code="invalid") from None
        converted = super().to_python(value)
        _refuse_json_strings(converted, _label(self))
        return converted


# ---------------------------------------------------------------------------- model fields

# Rules by model field name, shared by every model: a field with one of these names
# means the same thing wherever it appears.
DATE_RULES: dict[str, dict[str, Any]] = {
    "date_of_birth": {
        "earliest": date(1900, 1, 1), "latest": today,
        "window_words": "from 1 January 1900 up to today",
    },
    # A treatment cycle's start (treatment.TreatmentCycle): planned a year ahead at most;
    # records of a course started up to five years ago are still entered.
    "start_date": {
        "earliest": years_from_today(-5), "latest": years_from_today(1),
        "window_words": "within five years before and one year after today",
    },
}
# Any other date: from 1900 to 10 years ahead.
DEFAULT_DATE_RULE: dict[str, Any] = {"earliest": date(1900, 1, 1),
                                     "latest": years_from_today(10)}
TIME_ZONE_FIELD_NAMES = frozenset({"time_zone"})


class UpperCaseTextField(StrictTextField):
    """Strict text stored in capitals (hospital numbers: HN-9 and hn-9 are one number)."""

    def to_python(self, value: Any) -> str | None:
        value = super().to_python(value)
        return value.upper() if isinstance(value, str) else value


UPPER_CASE_FIELD_NAMES = frozenset({"hospital_number"})


def strict_formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    """The strict form field for a model field: the ``formfield_callback`` of every
    ModelForm in the project (and of the admin, through StrictAdminMixin).

    Text, email, integer, decimal, date, time, date-time and JSON fields get the strict
    classes above (dates in the window DATE_RULES gives for their name); a field with
    choices or a relation is left to Django, which already accepts only a listed value.
    kwargs are those Django passes to Field.formfield() (widget, label, ...).
    """
    if db_field.choices or db_field.is_relation:
        return db_field.formfield(**kwargs)
    name = db_field.name
    extra: dict[str, Any] = {}
    if isinstance(db_field, models.EmailField):
        form_class: type[forms.Field] = StrictEmailField
    elif isinstance(db_field, models.CharField | models.TextField):
        if name in TIME_ZONE_FIELD_NAMES:
            form_class = StrictTimeZoneField
        elif name in UPPER_CASE_FIELD_NAMES:
            form_class = UpperCaseTextField
        else:
            form_class = StrictTextField
        if isinstance(db_field, models.TextField):
            extra["multiline"] = True
    elif isinstance(db_field, models.IntegerField | models.AutoField):
        form_class = StrictIntegerField
    elif isinstance(db_field, models.DecimalField):
        form_class = StrictDecimalField
    elif isinstance(db_field, models.DateTimeField):
        widget = kwargs.get("widget")
        split = isinstance(widget, forms.SplitDateTimeWidget) or (
            isinstance(widget, type) and issubclass(widget, forms.SplitDateTimeWidget))
        form_class = StrictSplitDateTimeField if split else StrictDateTimeField
    elif isinstance(db_field, models.DateField):
        form_class = StrictDateField
        extra.update(DATE_RULES.get(name, DEFAULT_DATE_RULE))
    elif isinstance(db_field, models.TimeField):
        form_class = StrictTimeField
    elif isinstance(db_field, models.JSONField):
        form_class = StrictJSONField
    else:
        return db_field.formfield(**kwargs)
    return db_field.formfield(**{**kwargs, "form_class": form_class, **extra})


_CANONICAL_ID = re.compile(r"(0|[1-9][0-9]{0,17})\Z")


def _integer_key(field: forms.ModelChoiceField) -> bool:
    model = field.queryset.model
    key = model._meta.get_field(field.to_field_name) if field.to_field_name else model._meta.pk
    return isinstance(key, models.IntegerField | models.AutoField)


def _refuse_id(field: forms.ModelChoiceField, value: Any) -> None:
    # Django reads a chosen id with int(): "1_0", "+10", " 10" and Arabic-Indic 10 all choose the
    # object whose id is 10. Only the id as the page sent it is accepted.
    if _integer_key(field) and not _CANONICAL_ID.match(str(value)):
        raise ValidationError(f"{_label(field)}: that choice is not one of those offered.",
                              code="invalid_choice")


class StrictModelChoiceField(forms.ModelChoiceField):
    """ModelChoiceField that accepts an integer id only as plain ASCII digits without a
    leading zero. Returns the object. Raises ValidationError naming the field."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not isinstance(value, models.Model):
            _refuse_id(self, value)
        return super().to_python(value)


class StrictModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """ModelMultipleChoiceField with the ids checked as StrictModelChoiceField does."""

    def _check_values(self, value: Any) -> Any:
        for item in value:
            _refuse_id(self, item)
        return super()._check_values(value)


STRICT_FIELD_CLASSES: tuple[type[forms.Field], ...] = (
    StrictTextField, StrictIntegerField, StrictDecimalField, StrictDateField,
    StrictTimeField, StrictSplitDateTimeField, StrictDateTimeField, StrictJSONField,
)


def keep_stored_dates(form: forms.BaseForm) -> None:
    """Let each StrictDateField of a bound ModelForm accept its stored value unchanged
    (its window still applies to any other date). Call at the end of __init__."""
    for name, form_field in form.fields.items():
        if isinstance(form_field, StrictDateField):
            stored = form.initial.get(name)
            form_field.stored = stored if isinstance(stored, date) else None


class StrictAdminMixin:
    """Put first in a ModelAdmin's bases: every plain model field of its forms is a
    strict field (strict_formfield), with the admin's own widgets kept."""

    def formfield_for_dbfield(self, db_field: models.Field, request: Any,
                              **kwargs: Any) -> forms.Field | None:
        if db_field.choices or db_field.is_relation or not db_field.editable:
            return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        for klass in type(db_field).__mro__:
            overrides = self.formfield_overrides  # type: ignore[attr-defined]
            if klass in overrides:
                kwargs = {**copy.deepcopy(overrides[klass]), **kwargs}
                break
        kwargs.pop("form_class", None)
        return strict_formfield(db_field, **kwargs)

    def get_form(self, request: Any, obj: Any = None, **kwargs: Any) -> type[forms.BaseForm]:
        form_class = super().get_form(request, obj, **kwargs)  # type: ignore[misc]

        def __init__(form: forms.BaseForm, *args: Any, **init_kwargs: Any) -> None:
            form_class.__init__(form, *args, **init_kwargs)
            keep_stored_dates(form)

        return type(form_class.__name__, (form_class,), {"__init__": __init__})

    def formfield_for_foreignkey(self, db_field: models.Field, request: Any,
                                 **kwargs: Any) -> forms.Field | None:
        kwargs.setdefault("form_class", StrictModelChoiceField)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: models.Field, request: Any,
                                 **kwargs: Any) -> forms.Field | None:
        kwargs.setdefault("form_class", StrictModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]

    def get_object(self, request: Any, object_id: str, from_field: str | None = None) -> Any:
        # The admin's URL takes any text as the id and Django reads it with int(), so
        # /admin/accounts/patient/1_0/change/ would open patient 10.
        key = self.model._meta.get_field(from_field) if from_field else self.model._meta.pk  # type: ignore[attr-defined]
        if isinstance(key, models.IntegerField | models.AutoField) and not _CANONICAL_ID.match(
                str(object_id)):
            return None
        return super().get_object(request, object_id, from_field)  # type: ignore[misc]


def harden_admin_site(site: Any) -> list[str]:
    """Give every ModelAdmin registered on `site` the strict fields (StrictAdminMixin),
    third-party ones (auth groups, OTP devices, axes) included, so a model registered
    later is covered without anyone remembering to. Call once, after autodiscovery
    (portal/urls.py does). Returns the labels of the models it changed, for tests."""
    changed = []
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, StrictAdminMixin):
            continue
        strict_class = type(f"Strict{type(model_admin).__name__}",
                            (StrictAdminMixin, type(model_admin)), {})
        site._registry[model] = strict_class(model, site)
        changed.append(model._meta.label)
    return changed
