"""When an unacknowledged alert's escalation steps fall due (clinical-rules.md, "Alerts,
grouping and escalation"): the one place the schedule is worked out.

A red alert not acknowledged within the team's `red_escalation_minutes` (15 by default) goes
to the nurse on duty and the escalation contact, after `red_doctor_minutes` (30) to the
on-call doctor; an amber one after `amber_escalation_minutes` (240) to the escalation contact.
Minutes count in real (UTC) time from `Alert.escalation_from`.

`Alert.escalation_due_at` holds when the next step is due, so that the sweep reads only what
is due (an indexed column, as healthchecks does with `alert_after`); every write that opens,
re-pages, acknowledges, resolves or escalates an alert keeps it true through
`escalation_due_after`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import CareTeam
from alerts.models import Alert, AlertState
from notifications.models import RecipientRole as To

__all__ = ["escalation_due_after", "escalation_reschedule_team", "escalation_steps"]

_MINUTE_FIELDS = {"red_escalation_minutes", "red_doctor_minutes", "amber_escalation_minutes"}


def escalation_steps(alert: Alert, team: CareTeam) -> list[tuple[int, int, list[str]]]:
    """(level, minutes after escalation_from, roles) for this alert's severity, in order.

    Levels start at 1; minutes are the team's settings (whole minutes, validated 1-1440).
    """
    if alert.severity == "red":
        return [(1, team.red_escalation_minutes, [To.DUTY, To.ESCALATION]),
                (2, team.red_doctor_minutes, [To.DOCTOR])]
    return [(1, team.amber_escalation_minutes, [To.ESCALATION])]


def escalation_due_after(alert: Alert, team: CareTeam, level: int) -> datetime | None:
    """When the first step above `level` is due for `alert` (UTC), or None if there is none
    or the alert is not open (acknowledged and resolved alerts do not escalate)."""
    if alert.state != AlertState.OPEN:
        return None
    for step, minutes, _ in escalation_steps(alert, team):
        if step > level:
            return alert.escalation_from + timedelta(minutes=minutes)
    return None


def escalation_reschedule_team(team: CareTeam) -> int:
    """Recompute the due time of the team's open alerts after its minutes changed.

    Returns how many alerts were updated. Each update is conditional on the round and level
    read, so a sweep or a page running meanwhile is never overwritten with a stale time.
    """
    changed = 0
    alerts = Alert.objects.filter(patient__care_team=team, state=AlertState.OPEN)
    for alert in alerts.only("pk", "state", "severity", "escalation_from", "escalation_round",
                             "escalation_level", "escalation_due_at"):
        due = escalation_due_after(alert, team, alert.escalation_level)
        if due != alert.escalation_due_at:
            changed += Alert.objects.filter(
                pk=alert.pk, state=AlertState.OPEN, escalation_round=alert.escalation_round,
                escalation_level=alert.escalation_level,
            ).update(escalation_due_at=due)
    return changed


@receiver(post_save, sender=CareTeam, dispatch_uid="alerting.escalation.team_saved")
def _team_saved(sender: type[CareTeam], instance: CareTeam, created: bool,
                update_fields: frozenset[str] | None = None, **kwargs: object) -> None:
    """Whatever saved the team (its settings page, the admin site, a shell), open alerts
    escalate on its minutes as they are now: their due times are recomputed after commit.
    Connected in SymptomsConfig.ready()."""
    if created or (update_fields is not None and not _MINUTE_FIELDS & set(update_fields)):
        return
    transaction.on_commit(lambda: escalation_reschedule_team(instance))
