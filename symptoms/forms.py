"""The check-in form: what a patient or caregiver types, turned into the canonical record.

The form only turns typed text into numbers and booleans; every rule about what is
accepted lives in triage/validation.py (parse_check_in), so the form, the triage command
and any API refuse the same things with the same words. Errors come back on the field
they concern, and nothing is saved unless the whole check-in is valid.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms

from triage.catalogue import (
    FIELDS_BY_NAME,
    GRADE_LABELS,
    PUMP_STATES,
    SYMPTOM_GROUPS,
    SYMPTOMS,
    symptoms_in_group,
)
from triage.validation import NON_FIELD, CheckInData, CheckInInvalid, parse_check_in

# "Not answered" last, so that a grade tapped by mistake can be taken back; nothing is
# preselected, because "none" is an answer (clinical-rules.md) and a default is not.
GRADE_CHOICES = [(str(grade), label.capitalize()) for grade, label in GRADE_LABELS.items()] + [
    ("", "Not answered")]


def sentence_case(words: str) -> str:
    """First letter upper case, the rest as written (str.capitalize() made "I" an "i")."""
    return words[:1].upper() + words[1:]


PUMP_CHOICES = [("", "Not answered")] + [(p.code, sentence_case(p.words)) for p in PUMP_STATES]

# The questions as asked of someone logging for another person (a caregiver for a child, a
# nurse after a phone call): {name} is the patient's display name. Same meaning, same
# fields; only the person changes.
ABOUT_PATIENT_LABELS = {
    "antipyretic_last_6h": "{name} has taken paracetamol, ibuprofen or steroids in the last "
                           "6 hours",
    "feels_suddenly_unwell": "{name} suddenly feels unwell, even with a normal temperature",
    "stools_above_baseline": "Bowel movements in the last 24 hours, more than {name}'s normal",
    "vomiting_episodes_24h": "Times {name} has been sick (vomited) in 24 hours",
    "unable_to_keep_fluids": "{name} cannot keep fluids down",
}


def about_patient(words: str, name: str) -> str:
    """Catalogue words in the second/first person ("not yourself", "unsteady on your feet",
    "I am on a treatment break") turned to be about the patient named."""
    words = words.replace("I am ", f"{name} is ")
    words = re.sub(r"\byourself\b", "themselves", words)
    return re.sub(r"\byour\b", "their", words)

_NUMBER = re.compile(r"-?[0-9]{1,6}(\.[0-9]{1,6})?\Z")

# °F readings typed into the °C box: 98.6 is a normal temperature in °F, not 98.6 °C.
FAHRENHEIT_LOOKING = (Decimal("86.0"), Decimal("113.0"))


# An example of a plausible reading for each whole-number box, for its error message.
WHOLE_NUMBER_EXAMPLES = {"stools_above_baseline": "2", "vomiting_episodes_24h": "1",
                         "spo2": "97", "systolic_bp": "120", "heart_rate": "80"}


def symptom_field_name(code: str) -> str:
    return f"symptom_{code}"


# Where each canonical field's error is shown on the form.
ERROR_FIELD = {
    "temperature_c": "temperature",
    "temperature_f": "temperature",
    "recorded_at": "taken_at",
    NON_FIELD: None,
}


class WallClockField(forms.DateTimeField):
    """A date and time as typed, without a zone: the form places it in the patient's zone
    (Django's own field would place it in the server's)."""

    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

    def to_python(self, value: object) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        for fmt in self.input_formats:
            try:
                return datetime.strptime(str(value).strip(), fmt)
            except ValueError:
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class CheckInForm(forms.Form):
    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    temperature = forms.CharField(
        required=False,
        max_length=10,
        label="Temperature",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                      "placeholder": "e.g. 36.8"}),
    )
    unit = forms.ChoiceField(
        choices=[("c", "°C"), ("f", "°F")], initial="c", widget=forms.RadioSelect,
        label="Unit",
    )
    antipyretic_last_6h = forms.BooleanField(
        required=False,
        label="I have taken paracetamol, ibuprofen or steroids in the last 6 hours",
    )
    feels_suddenly_unwell = forms.BooleanField(
        required=False, label="I suddenly feel unwell, even with a normal temperature"
    )
    stools_above_baseline = forms.CharField(
        required=False, max_length=6,
        label="Bowel movements in the last 24 hours, more than your normal",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "0"}),
    )
    diarrhoea_with_blood = forms.BooleanField(required=False, label="Blood in the diarrhoea")
    vomiting_episodes_24h = forms.CharField(
        required=False, max_length=6, label="Times you have been sick (vomited) in 24 hours",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "0"}),
    )
    unable_to_keep_fluids = forms.BooleanField(
        required=False, label="I cannot keep fluids down"
    )
    pump = forms.ChoiceField(
        required=False, choices=PUMP_CHOICES, widget=forms.RadioSelect, label="The pump"
    )
    spo2 = forms.CharField(
        required=False, max_length=6, label="Oxygen level (%) from a home oximeter",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    systolic_bp = forms.CharField(
        required=False, max_length=6, label="Blood pressure, top number (mmHg)",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    heart_rate = forms.CharField(
        required=False, max_length=6, label="Heart rate (beats a minute)",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    notes = forms.CharField(
        required=False, label="Anything else your care team should know",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )
    taken_at = WallClockField(
        required=False, label="Taken earlier? When (leave empty for now)",
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: object, time_zone: str, about: str | None = None,
                 **kwargs: object) -> None:
        """time_zone: the patient's IANA zone (a typed time is wall time there). about: the
        patient's display name when someone else logs for them (caregiver, nurse); the
        questions are then worded about the patient instead of "I"/"you"."""
        kwargs.setdefault("initial", {}).setdefault("submission_key", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.time_zone = ZoneInfo(time_zone)
        self.about = about
        for symptom in SYMPTOMS:
            self.fields[symptom_field_name(symptom.code)] = forms.ChoiceField(
                required=False,
                choices=GRADE_CHOICES,
                widget=forms.RadioSelect,
                label=sentence_case(about_patient(symptom.words, about) if about
                                    else symptom.words),
            )
        if about:
            for name, label in ABOUT_PATIENT_LABELS.items():
                self.fields[name].label = label.format(name=about)
            self.fields["pump"].choices = [
                (code, sentence_case(about_patient(words, about)))
                for code, words in PUMP_CHOICES]
        self.fields["taken_at"].widget.input_type = "datetime-local"
        self.data_result: CheckInData | None = None

    @classmethod
    def initial_from(cls, fields: dict[str, list[str]]) -> dict[str, object]:
        """Initial values from answers kept from an unsent POST ({name: [str]}, see
        accounts/middleware.py): text as typed, ticked boxes True, and the same submission
        key (that post was never saved, and a double send must still save once). Unknown
        names and malformed values are dropped."""
        initial: dict[str, object] = {}
        for name, values in fields.items():
            if not (isinstance(values, list) and values and isinstance(values[-1], str)):
                continue
            value = values[-1]
            if name == "submission_key":
                with contextlib.suppress(ValueError):
                    initial[name] = uuid.UUID(value)
            elif name in cls.CHECKBOXES:
                initial[name] = True
            elif name in cls.base_fields or name.startswith("symptom_"):
                initial[name] = value
        return initial

    CHECKBOXES = ("antipyretic_last_6h", "feels_suddenly_unwell", "diarrhoea_with_blood",
                  "unable_to_keep_fluids")

    # ------------------------------------------------------------------ layout helpers
    def fields_with_errors(self) -> list[forms.BoundField]:
        """The bound fields that carry an error, in field order, symptoms last (the error
        summary at the top of the page links to each)."""
        return [field for field in self if field.errors]

    def symptom_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (group.title, [self[symptom_field_name(s.code)] for s in symptoms_in_group(group.code)])
            for group in SYMPTOM_GROUPS
        ]

    # ------------------------------------------------------------------ conversion
    def _number(self, name: str, *, integer: bool) -> Decimal | int | None:
        raw = (self.cleaned_data.get(name) or "").strip(" ").replace(",", ".")
        if not raw:
            return None
        # ASCII digits only: Decimal() would also read "1_0" as 10, "1e3", "NaN" and
        # other scripts' digits, none of which anyone types as a reading.
        if not _NUMBER.match(raw):
            example = WHOLE_NUMBER_EXAMPLES.get(name, "2") if integer else "36.8"
            kind = "a whole number" if integer else "a number"
            self.add_error(name, f"Enter {kind} in digits, like {example}.")
            return None
        value = Decimal(raw)
        if integer:
            if value != value.to_integral_value():
                self.add_error(name, "Enter a whole number.")
                return None
            # Bounded before int(): "1e999" would otherwise be a thousand-digit integer.
            if abs(value) > 10**6:
                spec = FIELDS_BY_NAME[name]
                self.add_error(name, f"Outside {spec.minimum}-{spec.maximum}; please check "
                                     "the reading.")
                return None
            return int(value)
        return value

    def clean(self) -> dict[str, object]:
        data = super().clean()
        record: dict[str, object] = {}
        temperature = self._number("temperature", integer=False)
        if temperature is not None:
            if data.get("unit") == "f":
                record["temperature_f"] = temperature
            elif FAHRENHEIT_LOOKING[0] <= temperature <= FAHRENHEIT_LOOKING[1]:
                self.add_error(
                    "temperature",
                    f"{temperature} °C is not a body temperature. Did you mean °F? "
                    "Choose °F below, or check the reading.",
                )
            else:
                record["temperature_c"] = temperature
        for name in ("antipyretic_last_6h", "feels_suddenly_unwell", "diarrhoea_with_blood",
                     "unable_to_keep_fluids"):
            if data.get(name):
                record[name] = True
        for name in ("stools_above_baseline", "vomiting_episodes_24h", "spo2", "systolic_bp",
                     "heart_rate"):
            value = self._number(name, integer=True)
            if value is not None:
                record[name] = value
        if data.get("pump"):
            record["pump"] = data["pump"]
        if data.get("notes"):
            record["notes"] = data["notes"]
        # clinical-rules.md: a symptom answered is reported, "none" (0) included; only a
        # question left unanswered is "not reported". No answer is preselected, so the
        # form reduces the answers exactly as parse_check_in() does for `triage`.
        grades = {}
        for symptom in SYMPTOMS:
            raw = data.get(symptom_field_name(symptom.code))
            if raw not in (None, ""):
                grades[symptom.code] = int(raw)
        if grades:
            record["symptoms"] = grades
        taken_at = data.get("taken_at")
        if taken_at is not None:
            record["recorded_at"] = self._aware(taken_at)
        if self.errors:
            return data
        try:
            self.data_result = parse_check_in(record)
        except CheckInInvalid as invalid:
            self.add_check_in_errors(invalid)
        return data

    def _aware(self, moment: datetime) -> datetime:
        # The browser sends local wall time; it is the patient's time zone.
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.time_zone)
        return moment

    def add_check_in_errors(self, invalid: CheckInInvalid) -> None:
        for name, message in invalid.errors.items():
            target = ERROR_FIELD.get(name, name)
            if isinstance(target, str) and target.startswith("symptoms."):
                target = symptom_field_name(target.split(".", 1)[1])
            if target is not None and target not in self.fields:
                target = None
            if name == NON_FIELD and "empty" in message:
                message = ("Nothing was filled in. Give your temperature, or choose how "
                           "you feel for at least one symptom.")
            self.add_error(target, message[0].upper() + message[1:])
