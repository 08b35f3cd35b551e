"""Steps with nobody to receive them (issue 10, kind 2): a failure everyone can see.

A team with no escalation contact or no on-call doctor used to turn the 15 and 30 minute
steps into queue rows marked "sent" to nobody; a team with no duty phone had no second
channel when the duty email failed. Now such a step is a Delivery on channel "none", created
failed with the reason, never sent. It shows on the queue (the failed-message banner and a
badge on the alert's row), in /healthz (`undeliverable_steps`, health.py) and on the team's
settings page, which also lists what is missing before anything fails
(`team_missing_contacts`).
"""

from __future__ import annotations

from datetime import datetime

from accounts.models import CareTeam
from alerts.models import Alert, AlertState
from notifications.models import Channel, Delivery, DeliveryState, RecipientRole

__all__ = ["team_missing_contacts", "undeliverable_count", "undeliverable_for_team",
           "undeliverable_step"]

_ROLE_WORDS = {
    RecipientRole.DUTY: "nurse on duty",
    RecipientRole.ESCALATION: "escalation contact",
    RecipientRole.DOCTOR: "on-call doctor",
}


def undeliverable_step(*, alert: Alert, purpose: str, step: str, role: str, now: datetime,
                       why: str = "", fallback_for: Delivery | None = None) -> None:
    """Record that `step` of `alert` for team `role` reached nobody. Idempotent (one row per
    alert, purpose, step and role). Returns None: there is nothing to send."""
    who = _ROLE_WORDS.get(role, role)
    reason = why or (f"Nobody received this: the team has no {who} (email or phone). "
                     "Set one in the team settings.")
    Delivery.objects.get_or_create(
        key=f"alert:{alert.pk}:{purpose}:{step}:none:{role}",
        defaults={
            "alert": alert, "patient": alert.patient, "purpose": purpose, "step": step,
            "role": role, "channel": Channel.NONE, "address": "", "severity": alert.severity,
            "state": DeliveryState.FAILED, "failed_at": now, "last_error": reason,
            "next_attempt_at": now, "created_at": now, "fallback_for": fallback_for,
        },
    )
    return None


def team_missing_contacts(team: CareTeam) -> list[str]:
    """What the team settings lack for every escalation step to reach someone, in words
    for a team admin; empty when nothing is missing."""
    missing = []
    if not (team.escalation_email.strip() or team.escalation_phone.strip()):
        missing.append(
            "No escalation contact: a red alert not acknowledged within "
            f"{team.red_escalation_minutes} minutes, and an amber one within "
            f"{team.amber_escalation_minutes} minutes, reaches nobody beyond the nurse on duty.")
    if not (team.on_call_doctor_email.strip() or team.on_call_doctor_phone.strip()):
        missing.append(
            "No on-call doctor: a red alert not acknowledged within "
            f"{team.red_doctor_minutes} minutes reaches nobody.")
    if not team.duty_phone.strip():
        missing.append(
            "No phone for the nurse on duty: red alerts are not sent by SMS, and when the duty "
            "email fails there is no second channel (only the queue page shows it).")
    if not team.duty_email.strip():
        missing.append("No email for the nurse on duty: alerts reach the duty nurse by SMS only.")
    return missing


def undeliverable_for_team(team: CareTeam):
    """The team's steps that reached nobody on alerts still open, newest first."""
    return (Delivery.objects.filter(patient__care_team=team, channel=Channel.NONE,
                                    state=DeliveryState.FAILED)
            .exclude(alert__state=AlertState.RESOLVED)
            .select_related("patient", "alert").order_by("-failed_at"))


def undeliverable_count() -> int:
    """Steps that reached nobody, on alerts still open (all teams): for /healthz."""
    return (Delivery.objects.filter(channel=Channel.NONE, state=DeliveryState.FAILED)
            .exclude(alert__state=AlertState.RESOLVED).count())
