"""The rule set in force for a patient: their overrides over the team's over the defaults."""

from __future__ import annotations

from accounts.models import Patient
from symptoms.rules import RuleSet


def ruleset_for_patient(patient: Patient) -> RuleSet:
    return (
        RuleSet.default()
        .with_overrides(patient.care_team.thresholds or {})
        .with_overrides(patient.thresholds or {})
    )
