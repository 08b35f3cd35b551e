"""Thresholds in the admin site: the team and patient admin pages (accounts/admin.py) get
forms that check thresholds like every other write of them. Registered here, a layer above
accounts, by replacing those two registrations with subclasses.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from accounts import admin as accounts_admin
from accounts.models import CareTeam, Patient
from portal.fields import StrictJSONField
from symptoms.services import patient_thresholds_refusals, team_thresholds_refusals


class ThresholdsField(StrictJSONField):
    """The thresholds box of the team and patient change forms: a JSON object of
    names and values, or empty for "no overrides" (stored as {}). Refuses, naming the
    field, what the database or the rule set cannot hold: null, a list or any other
    non-object, and JSON nested too deep to parse (Python's RecursionError)."""

    default_error_messages = {
        "not_object": "Thresholds must be an object of names and values, e.g. "
                      '{"fever_high_c": "38.0"}; leave it empty for none.',
        "too_deep": "Thresholds: this is nested too deeply to be thresholds.",
    }

    def __init__(self, **kwargs: object) -> None:
        kwargs["required"] = False
        kwargs.setdefault("label", "Thresholds")
        super().__init__(**kwargs)

    def to_python(self, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return {}  # an empty box: no overrides (a typed `null` is refused below)
        try:
            return super().to_python(value)
        except RecursionError:
            raise forms.ValidationError(self.error_messages["too_deep"],
                                        code="too_deep") from None

    def prepare_value(self, value: object) -> object:
        # A new team or patient has no thresholds yet: an empty box, not "null" (which
        # would then be refused).
        return "" if value is None else super().prepare_value(value)

    def validate(self, value: object) -> None:
        super().validate(value)
        if not isinstance(value, dict):
            raise forms.ValidationError(self.error_messages["not_object"], code="not_object")

    def bound_data(self, data: object, initial: object) -> object:
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            # Shown back as typed; the error above already names the field.
            return forms.fields.InvalidJSONInput(data)


class CareTeamAdminForm(forms.ModelForm):
    """The team's thresholds are checked like every other write of them: against the
    limits of clinical-rules.md and against the overrides of the team's patients
    (services.team_thresholds_refusals)."""

    thresholds = ThresholdsField()

    class Meta:
        model = CareTeam
        # Every field, as the admin site shows without a form of its own.
        fields = "__all__"  # noqa: DJ007

    def clean_thresholds(self) -> object:
        value = self.cleaned_data.get("thresholds") or {}
        errors = team_thresholds_refusals(self.instance, value)
        if errors:
            raise forms.ValidationError(
                [f"{'thresholds' if k == '__all__' else k}: {v}" for k, v in errors.items()]
            )
        return value


class PatientAdminForm(forms.ModelForm):
    """A patient's thresholds are checked like on the Thresholds page: the limits, and no
    crossing with the team's (services.patient_thresholds_refusals)."""

    thresholds = ThresholdsField()

    class Meta:
        model = Patient
        # Every field, as the admin site shows without a form of its own.
        fields = "__all__"  # noqa: DJ007

    def clean(self) -> dict:
        data = super().clean()
        value = data.get("thresholds") or {}
        team = data.get("care_team")
        if team is not None and "thresholds" not in self.errors:
            probe = Patient(care_team=team, thresholds=value)
            errors = patient_thresholds_refusals(probe, value)
            if errors:
                self.add_error("thresholds", [f"{k}: {v}" for k, v in errors.items()])
        return data


admin.site.unregister(CareTeam)
admin.site.unregister(Patient)


@admin.register(CareTeam)
class CareTeamAdmin(accounts_admin.CareTeamAdmin):
    form = CareTeamAdminForm


@admin.register(Patient)
class PatientAdmin(accounts_admin.PatientAdmin):
    form = PatientAdminForm
