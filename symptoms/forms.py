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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.forms.utils import ErrorDict

from symptoms.selectors import FollowUp
from triage import neuro
from triage.catalogue import (
    FIELDS_BY_NAME,
    GRADE_LABELS,
    PUMP_STATES,
    SYMPTOM_GROUPS,
    SYMPTOMS,
    WORRY_LABELS,
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

# clinical-rules.md, "The carer's worry": 0 not at all .. 3 very; nothing preselected.
WORRY_CHOICES = [(str(level), sentence_case(words)) for level, words in WORRY_LABELS.items()
                 ] + [("", "Not answered")]

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
    "worry": "How worried are you about {name} today?",
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
    worry = forms.ChoiceField(
        required=False, choices=WORRY_CHOICES, widget=forms.RadioSelect,
        label="How worried are you today?",
    )
    # The one-tap "cannot be woken or does not respond": a submit button of the neuro
    # check (NeuroCheckFields), sent only when that button is pressed.
    neuro_unresponsive = forms.BooleanField(required=False, widget=forms.HiddenInput)
    notes = forms.CharField(
        required=False, label="Anything else your care team should know",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )
    taken_at = WallClockField(
        required=False, label="Taken earlier? When (leave empty for now)",
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M"),
    )

    # The fields of the neuro-only page (home page: "I'm worried about how they are
    # thinking or behaving"); the neuro check's own fields are added to them.
    NEURO_ONLY_FIELDS = ("submission_key", "worry", "neuro_unresponsive", "notes")

    def __init__(self, *args: object, time_zone: str, about: str | None = None,
                 follow_ups: Sequence[FollowUp] = (), neuro_tool: str = "",
                 neuro_only: bool = False, **kwargs: object) -> None:
        """time_zone: the patient's IANA zone (a typed time is wall time there). about: the
        patient's display name when someone else logs for them (caregiver, nurse); the
        questions are then worded about the patient instead of "I"/"you".
        follow_ups: symptoms asked first, with last time's grade (selectors.follow_ups).
        neuro_tool: "ice" or "capd" to include that neurological self-check (the caller
        decides by the patient's age on the day and whether one is due), "" for none.
        neuro_only: the neuro-only page: the check (required), the worry and a note."""
        kwargs.setdefault("initial", {}).setdefault("submission_key", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.time_zone = ZoneInfo(time_zone)
        self.about = about
        self.neuro_only = neuro_only
        self.follow_ups = {f.code: f for f in follow_ups}
        self.neuro_items: dict[str, object] | None = None
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
        self.neuro = NeuroCheckFields(self, neuro_tool, about) if neuro_tool else None
        if neuro_only:
            if self.neuro is None:
                raise ValueError("the neuro-only form needs a neuro_tool")
            kept = set(self.NEURO_ONLY_FIELDS) | set(self.neuro.names)
            for name in list(self.fields):
                if name not in kept:
                    del self.fields[name]
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
            elif name == "neuro_unresponsive":
                continue  # an emergency tap is never replayed into a form
            elif name in cls.base_fields or name.startswith(("symptom_", *NEURO_PREFIXES)):
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
        """The symptom questions by group, without those asked first (follow_up_fields)."""
        return [
            (group.title, [self[symptom_field_name(s.code)] for s in symptoms_in_group(group.code)
                           if s.code not in self.follow_ups])
            for group in SYMPTOM_GROUPS
        ]

    def follow_up_fields(self) -> list[tuple[forms.BoundField, str]]:
        """The followed-up symptoms' questions, first on the form, each with last time's
        grade in words ("moderate (2)"; clinical-rules.md, "Follow-up of a flagged
        symptom")."""
        if self.neuro_only:
            return []
        return [(self[symptom_field_name(code)], follow_up.last_words)
                for code, follow_up in self.follow_ups.items()]

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
        if data.get("worry") not in (None, ""):
            record["worry"] = int(data["worry"])
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
        if self.neuro is not None and data.get("neuro_unresponsive"):
            self._clean_unresponsive(record)
            return data
        if self.neuro is not None:
            record.update(self.neuro.clean(data, required=self.neuro_only))
        if self.errors:
            return data
        try:
            self.data_result = parse_check_in(record)
        except CheckInInvalid as invalid:
            self.add_check_in_errors(invalid)
        return data

    def _clean_unresponsive(self, record: dict[str, object]) -> None:
        """"Cannot be woken or does not respond": never refused. The emergency reduction of
        triage.neuro, with the other answers of the page if they are all valid; if any is
        not, the reduction alone (a wrong box must not hold up a call for help). Taken
        now: a typed earlier time is dropped (it could be refused as in the future)."""
        tool = self.neuro.tool  # type: ignore[union-attr]
        record.pop("recorded_at", None)
        self.neuro_items = self.neuro.unresponsive_items()  # type: ignore[union-attr]
        try:
            if self.errors:
                raise CheckInInvalid({NON_FIELD: "other answers not valid"})
            self.data_result = parse_check_in(neuro.with_unresponsive(record, tool))
        except CheckInInvalid:
            self._errors = ErrorDict()
            self.data_result = parse_check_in(neuro.unresponsive_record(tool))

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


# Field-name prefixes of the neuro check's items (ice_<task code>, capd_<item code>).
NEURO_PREFIXES = ("ice_", "capd_")
# An ICE task is right or wrong, tapped by whoever does the check; nothing preselected.
ICE_CHOICES = [("1", "Right"), ("0", "Wrong"), ("", "Not answered")]
NAMED_CHOICES = [("1", "Named correctly"), ("0", "Not named"), ("", "Not answered")]


@dataclass(frozen=True)
class NeuroStep:
    """One screen of the neuro check: its radio field, and for an ICE naming task the
    static path of the picture ("neuro/key.svg") and alt text that does not name it."""

    field: forms.BoundField
    picture: str = ""
    picture_alt: str = ""


class NeuroCheckFields:
    """The neurological self-check inside a CheckInForm (clinical-rules.md, "The
    neurological self-check"): one radio field per ICE task (right / wrong, tapped by the
    caregiver or the patient) or per CAPD item (never .. always, 0-4 as given). Nothing is
    scored here: triage.neuro adds up the points (ice_total, capd_total) and reduces
    "cannot be woken" to its emergency record.

    No item answered is "not done" (the family skipped it; only the neuro-only page
    requires an answer); some answered and some not is saved as an incomplete check,
    scored on what is certain (clean()). Item answers are kept in `form.neuro_items`
    ({"tool", "answers", "unresponsive"}, plus "incomplete": True for a check stopped
    part-way; ICE answers True/False, CAPD answers 0-4) for
    symptoms.services.check_in_record to store beside the total.
    """

    def __init__(self, form: CheckInForm, tool: str, about: str | None) -> None:
        if tool not in ("ice", "capd"):
            raise ValueError(f"unknown neuro tool {tool!r}")
        self.form = form
        self.tool = tool
        self.about = about
        self.names: list[str] = []
        if tool == "ice":
            pictures = [task for task in neuro.ICE_TASKS if task.picture]
            for task in neuro.ICE_TASKS:
                # The caregiver ticks whether the picture was named, never sees its name.
                # The three naming tasks share one prompt: "Picture 1 of 3" tells them
                # apart in the labels and the error summary.
                label = (f"Picture {pictures.index(task) + 1} of {len(pictures)}: "
                         f"{task.prompt}" if task.picture else task.prompt)
                self._add(f"ice_{task.code}", label,
                          NAMED_CHOICES if task.picture else ICE_CHOICES)
        else:
            choices = [(str(n), sentence_case(words))
                       for n, words in enumerate(neuro.CAPD_ANSWERS)] + [("", "Not answered")]
            for item in neuro.CAPD_ITEMS:
                # "Maya makes eye contact with you": the caregiver answers about the child.
                self._add(f"capd_{item.code}",
                          sentence_case(item.question(about or "your child")), choices)

    def _add(self, name: str, label: str, choices: list[tuple[str, str]]) -> None:
        self.form.fields[name] = forms.ChoiceField(
            required=False, choices=choices, widget=forms.RadioSelect, label=label)
        self.names.append(name)

    @property
    def items(self) -> tuple:
        return neuro.ICE_TASKS if self.tool == "ice" else neuro.CAPD_ITEMS

    def steps(self) -> list[NeuroStep]:
        """The questions in order, one screen each when JavaScript runs."""
        steps, shown = [], 0
        pictures = sum(1 for task in neuro.ICE_TASKS if task.picture) if self.tool == "ice" else 0
        for name, item in zip(self.names, self.items, strict=True):
            picture = item.picture if self.tool == "ice" else None  # a CAPD item shows none
            alt = ""
            if picture is not None:
                shown += 1
                # Says which picture, never what it shows: naming it is the task.
                alt = f"Picture to name, {shown} of {pictures}"
            steps.append(NeuroStep(self.form[name], picture.picture if picture else "", alt))
        return steps

    def clean(self, data: dict[str, object], *, required: bool) -> dict[str, object]:
        """The canonical total ({"ice_score": n} or {"capd_score": n}), or {} when the check
        was skipped (nothing answered; an error on every item when `required`).

        A check stopped part-way never holds up the rest of the check-in (clinical-rules.md:
        a check-in that passes validation "is always saved, graded and alerted"): its
        answers are kept with "incomplete": True and the total is what is certain from them,
        triage.neuro.ice_bound (at most) or capd_bound (at least)."""
        answers: dict[str, object] = {}
        for name, item in zip(self.names, self.items, strict=True):
            raw = data.get(name)
            if raw in (None, ""):
                continue
            answers[item.code] = raw == "1" if self.tool == "ice" else int(str(raw))
        if not answers:
            if required:
                for name in self.names:
                    self.form.add_error(name, "Answer this question of the check.")
            return {}  # not done: the family skipped the check
        incomplete = len(answers) < len(self.names)
        self.form.neuro_items = {"tool": self.tool, "answers": answers, "unresponsive": False}
        if incomplete:
            self.form.neuro_items["incomplete"] = True
        if self.tool == "ice":
            bound = neuro.ice_bound(answers) if incomplete else neuro.ice_total(answers)
            return {"ice_score": bound}
        bound = neuro.capd_bound(answers) if incomplete else neuro.capd_total(answers)
        return {"capd_score": bound}

    def unresponsive_items(self) -> dict[str, object]:
        """The items stored for "cannot be woken or does not respond": none asked."""
        return {"tool": self.tool, "answers": {}, "unresponsive": True}
