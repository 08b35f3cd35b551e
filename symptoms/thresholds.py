"""The rule set in force for a patient: their overrides over the team's over the defaults."""

from __future__ import annotations

from accounts.models import Patient
from triage.rules import RuleSet
from triage.ruleset import resolve_layers


def _layers(patient: Patient) -> list[tuple[str, object]]:
    return [("team", patient.care_team.thresholds or {}), ("patient", patient.thresholds or {})]


def ruleset_for_patient(patient: Patient) -> RuleSet:
    """The thresholds that judge this patient's next check-in. Never raises on stored
    thresholds that contradict each other: the stricter value wins (see
    triage.ruleset.resolve_layers); staff see why on threshold_conflicts()."""
    return resolve_layers(_layers(patient))[0]


def threshold_conflicts(patient: Patient) -> list[str]:
    """Sentences naming each stored threshold that was ignored or overruled for this
    patient (empty when the team's and the patient's thresholds agree)."""
    return resolve_layers(_layers(patient))[1]


def team_base(patient: Patient) -> RuleSet:
    """The team's rule set (defaults plus the team's overrides) a patient's overrides are
    measured against; resolved the same way, so it never raises either."""
    return resolve_layers([("team", patient.care_team.thresholds or {})])[0]
