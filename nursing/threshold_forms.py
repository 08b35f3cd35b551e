"""The form a nurse or clinician uses to tighten a patient's thresholds, with a reason."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from portal.fields import StrictDecimalField, StrictIntegerField, StrictTextField
from triage.catalogue import GRADE_LABELS, OVERRIDE_LIMITS, SYMPTOMS
from triage.rules import RuleSet

NUMERIC = {
    "fever_high_c": "Fever: call at or above (°C)",
    "temp_low_c": "Low temperature: call below (°C)",
    "spo2_red_below": "Oxygen: red below (%)",
    "spo2_amber_below": "Oxygen: amber below (%)",
    "bp_low_below": "Blood pressure: red below (mmHg)",
    "diarrhoea_amber": "Stools above normal: amber from",
    "diarrhoea_red": "Stools above normal: red from",
    "vomiting_amber": "Vomiting episodes: amber from",
    "vomiting_red": "Vomiting episodes: red from",
}
GRADE_CHOICES = [("", "default")] + [(str(g), f"{g} {label}") for g, label in
                                    GRADE_LABELS.items() if g > 0]


def grade_field_name(code: str, level: str) -> str:
    return f"{code}__{level}"


class PatientThresholdsForm(forms.Form):
    """A numeric field left empty follows the team's value (shown as its placeholder); a
    value typed in is this patient's, stored even when it equals the team's today, so a
    later change of the team's value does not move it (what the clinician decided is kept).
    A symptom grade left at "default" follows the team's grade the same way.

    Counts, oxygen and blood pressure take whole numbers only: 95.5 is refused, never
    rounded to 95 (which would be looser than what was typed). Temperatures take one
    decimal.
    """

    # Strict text: control and text-direction characters are refused, and an over-long
    # reason is refused rather than cut (it is the clinical record of the decision).
    reason = StrictTextField(
        multiline=True, widget=forms.Textarea(attrs={"rows": 2}), max_length=1000,
        label="Why (kept in the patient's record)",
    )
    # What the page showed (services.thresholds_seen_token): a save from an out-of-date
    # page is refused rather than undoing a colleague's change.
    seen = forms.CharField(required=False, widget=forms.HiddenInput, max_length=4000)

    def __init__(
        self, *args: object, base: RuleSet, current: dict, in_force: RuleSet, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base = base
        self.in_force = in_force
        for name, label in NUMERIC.items():
            limit = OVERRIDE_LIMITS[name]
            team_value = getattr(base, name)
            common = {
                "label": label, "required": False, "initial": current.get(name),
                "help_text": f"empty: the team's {team_value}; allowed {limit.minimum} to "
                             f"{limit.maximum}",
            }
            # The strict fields refuse "1_0", "95.5" for a whole number and "37.25" for a
            # temperature: a threshold is stored as typed or refused, never rounded.
            if isinstance(team_value, Decimal):
                field: forms.Field = StrictDecimalField(max_digits=3, decimal_places=1,
                                                        **common)
            else:
                field = StrictIntegerField(**common)
            field.widget.attrs["placeholder"] = str(team_value)
            self.fields[name] = field
        overrides = current.get("symptoms", {})
        for symptom in SYMPTOMS:
            mine = overrides.get(symptom.code, {})
            for level in ("amber", "red"):
                self.fields[grade_field_name(symptom.code, level)] = forms.ChoiceField(
                    label=f"{symptom.label}: {level} from", required=False,
                    choices=GRADE_CHOICES,
                    initial="" if mine.get(level) is None else str(mine[level]),
                )

    def seen_value(self):
        """The services.ThresholdsSeen the form carried (None if it carried none)."""
        from symptoms.services import thresholds_seen_from_token

        return thresholds_seen_from_token(self.cleaned_data.get("seen") or "")

    def numeric_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in NUMERIC]

    def symptom_rows(self) -> list[tuple[object, object, forms.BoundField, forms.BoundField]]:
        """(symptom, thresholds in force, amber field, red field) per symptom."""
        return [
            (s, self.in_force.symptoms[s.code], self[grade_field_name(s.code, "amber")],
             self[grade_field_name(s.code, "red")])
            for s in SYMPTOMS
        ]

    def overrides(self) -> dict[str, object]:
        """The cleaned form as an overrides mapping: every value given, as given (a
        temperature as a string with one decimal, the others as ints)."""
        data = self.cleaned_data
        result: dict[str, object] = {}
        for name in NUMERIC:
            value = data.get(name)
            if value is None:
                continue
            result[name] = str(value) if isinstance(value, Decimal) else int(value)
        symptoms: dict[str, dict[str, int]] = {}
        for symptom in SYMPTOMS:
            for level in ("amber", "red"):
                raw = data.get(grade_field_name(symptom.code, level))
                if raw:
                    symptoms.setdefault(symptom.code, {})[level] = int(raw)
        if symptoms:
            result["symptoms"] = symptoms
        return result

    def add_override_errors(self, errors: dict[str, str]) -> None:
        for key, message in errors.items():
            parts = key.split(".")
            if parts[0] == "symptoms" and len(parts) == 3:
                target = grade_field_name(parts[1], parts[2])
            else:
                target = parts[0]
            if target not in self.fields:
                target = None
            self.add_error(target, message)


def describe_threshold_changes(old: object, new: object) -> list[str]:
    """One line per threshold that differs between two overrides mappings, in the page's
    terms ("Headache: amber from: team's value → 1"); [] if they are the same."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    default = "the team's value"
    lines = []
    for key in NUMERIC:
        if old.get(key) != new.get(key):
            lines.append(f"{NUMERIC[key]}: {old.get(key, default)} → {new.get(key, default)}")
    old_s = old.get("symptoms") if isinstance(old.get("symptoms"), dict) else {}
    new_s = new.get("symptoms") if isinstance(new.get("symptoms"), dict) else {}
    for symptom in SYMPTOMS:
        a, b = old_s.get(symptom.code) or {}, new_s.get(symptom.code) or {}
        for level in ("amber", "red"):
            if a.get(level) != b.get(level):
                lines.append(f"{symptom.label}: {level} from: {a.get(level, default)} → "
                             f"{b.get(level, default)}")
    return lines
