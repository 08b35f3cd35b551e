"""The form a nurse or clinician uses to tighten a patient's thresholds, with a reason."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from portal.fields import StrictDecimalField, StrictIntegerField, StrictTextField
from triage.catalogue import GRADE_LABELS, NON_FIELD, OVERRIDE_LIMITS, SYMPTOMS, SYMPTOMS_KEY
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
    # Version 2 (clinical-rules.md "The neurological self-check"): a nurse may set a
    # baseline for a patient who cannot score 10 (ICE) or 0 (CAPD) when well, e.g.
    # language or disability; the limits are triage's (OVERRIDE_LIMITS).
    "ice_baseline": "ICE baseline (points, age 12 and over)",
    "capd_baseline": "CAPD baseline (points, under 12)",
}
# Thresholds the page has no box for (set on the team, or through the admin site), in
# words for the history of changes; any other key is shown by its name.
OTHER_THRESHOLDS = {
    "masked_low_c": "Masked fever: amber from (°C, after an antipyretic)",
    "spo2_emergency_below": "Oxygen: emergency below (%)",
    "worsening_grades": "Worsening: grades higher than last time",
    "worsening_window_hours": "Worsening: looked back over (hours)",
    "bag_overdue_amber_minutes": "Bag change overdue: amber after (minutes)",
    "bag_overdue_red_minutes": "Bag change overdue: red after (minutes)",
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
        # Overrides this page has no box for (set through the admin site): kept as they
        # are on save, never dropped unseen (dropping one could loosen a rule).
        self.kept = {key: value for key, value in current.items()
                     if key not in NUMERIC and key != SYMPTOMS_KEY}
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
        temperature as a string with one decimal, the others as ints), plus the stored
        overrides the page has no box for (`kept`), unchanged."""
        data = self.cleaned_data
        result: dict[str, object] = dict(self.kept)
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
        """Put the service's refusals (OverridesRefused.errors: key -> message) on the
        boxes they are about, each message starting with the box's label; a key with no
        box (a kept threshold) as a form error naming the key."""
        for key, message in errors.items():
            parts = key.split(".")
            if parts[0] == "symptoms" and len(parts) == 3:
                target = grade_field_name(parts[1], parts[2])
            else:
                target = parts[0]
            if target not in self.fields:
                target = None
                message = f"{key}: {message}" if key != NON_FIELD else message
            else:
                # Named as the page names the box ("ICE baseline (points, ...): 11 is
                # outside the allowed 3-10"), like the strict fields' own messages.
                message = f"{self.fields[target].label}: {message}"
            self.add_error(target, message)


def describe_threshold_changes(old: object, new: object) -> list[str]:
    """One line per threshold that differs between two overrides mappings, in the page's
    terms ("Headache: amber from: the team's value → 1", "ICE baseline (points, age 12 and
    over): the team's value → 8"); [] if they are the same. Keys the page has no box for
    are named in words too (OTHER_THRESHOLDS), an unknown key by its name; a stored value
    that is not a mapping reads as no overrides."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    default = "the team's value"
    lines = []
    others = sorted((set(old) | set(new)) - set(NUMERIC) - {SYMPTOMS_KEY}, key=str)
    for key in [*NUMERIC, *others]:
        if old.get(key) != new.get(key):
            label = NUMERIC.get(key) or OTHER_THRESHOLDS.get(key) or str(key)
            lines.append(f"{label}: {old.get(key, default)} → {new.get(key, default)}")
    old_s = old.get(SYMPTOMS_KEY) if isinstance(old.get(SYMPTOMS_KEY), dict) else {}
    new_s = new.get(SYMPTOMS_KEY) if isinstance(new.get(SYMPTOMS_KEY), dict) else {}
    for symptom in SYMPTOMS:
        a, b = old_s.get(symptom.code) or {}, new_s.get(symptom.code) or {}
        for level in ("amber", "red"):
            if a.get(level) != b.get(level):
                lines.append(f"{symptom.label}: {level} from: {a.get(level, default)} → "
                             f"{b.get(level, default)}")
    return lines
