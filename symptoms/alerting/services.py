"""Every write on alerts: opening, raising and attaching (inside the check-in's transaction),
acknowledging and resolving (claimed with conditional updates, so of two nurses acting at
once one wins and the other is told who did)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts import access
from accounts.models import Patient, User
from symptoms.alerting.deliveries import deliveries_for_alert
from symptoms.alerting.dispatch import deliveries_enqueue_on_commit
from symptoms.alerting.models import Alert, AlertCheckIn, AlertState, Outcome, Purpose
from symptoms.alerting.models import RecipientRole as To
from symptoms.catalogue import SEVERITY_RANK
from symptoms.models import CheckIn, Severity
from symptoms.rules import Finding


class AlertNotAllowed(Exception):
    """The user may not act on this alert (views answer 404)."""


class AlertConflict(Exception):
    """Someone else changed the alert first; the message says who and when."""

    def __init__(self, message: str, alert: Alert) -> None:
        super().__init__(message)
        self.alert = alert


def alert_for_check_in(*, check_in: CheckIn) -> Alert | None:
    """Open, raise or attach the patient's alert for an amber or red check-in.

    Called inside check_in_record's transaction: the alert, the attachment and the delivery
    rows commit with the check-in or not at all; the tasks are published after commit.
    """
    if check_in.severity == Severity.GREEN:
        return None
    findings = [Finding(f["rule"], f["severity"], f["text"], bool(f.get("emergency")))
                for f in check_in.findings]
    return alert_raise(
        patient=check_in.patient, severity=check_in.severity, findings=findings,
        rules_version=check_in.rules_version, check_in=check_in,
        now=check_in.created_at or timezone.now(),
    )


def alert_raise(
    *,
    patient: Patient,
    severity: str,
    findings: list[Finding],
    rules_version: str,
    now: datetime,
    check_in: CheckIn | None = None,
) -> Alert:
    """Open the patient's alert, or fold these findings into the open one.

    The team is paged when the alert opens, when its severity rises, when a red rule fires
    that had not fired in it before, and when it first becomes an emergency. A page after a
    nurse acknowledged puts the alert back to open: the new finding has not been seen.
    """
    rules = list(dict.fromkeys(f.rule for f in findings))
    red_rules = list(dict.fromkeys(f.rule for f in findings if f.severity == Severity.RED))
    emergency = any(f.emergency for f in findings)
    with transaction.atomic():
        # Two check-ins of one patient at once must not open two alerts: serialise on the
        # patient row (PostgreSQL; SQLite's IMMEDIATE transactions already serialise writers).
        list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk"))
        alert = (Alert.objects.select_for_update(of=("self",))
                 .select_related("patient__care_team")
                 .filter(patient=patient).exclude(state=AlertState.RESOLVED).first())
        if alert is None:
            alert = Alert.objects.create(
                patient=patient, severity=severity, emergency=emergency, rules=rules,
                red_rules=red_rules, rules_version=rules_version, opened_at=now,
                last_notice_at=now, escalation_from=now,
            )
            paged = True
        else:
            paged = _fold_in(alert, severity, rules, red_rules, emergency, rules_version, now)
        if check_in is not None:
            AlertCheckIn.objects.create(alert=alert, check_in=check_in, attached_at=now,
                                        paged=paged)
        if paged:
            ids = deliveries_for_alert(alert=alert, purpose=Purpose.NOTICE,
                                       step=f"notice {alert.notices}", roles=[To.DUTY],
                                       now=now)
            deliveries_enqueue_on_commit(ids)
    return alert


def _fold_in(
    alert: Alert, severity: str, rules: list[str], red_rules: list[str], emergency: bool,
    rules_version: str, now: datetime,
) -> bool:
    rises = SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]
    new_red = [rule for rule in red_rules if rule not in alert.red_rules]
    becomes_emergency = emergency and not alert.emergency
    paged = rises or bool(new_red) or becomes_emergency
    alert.rules = alert.rules + [rule for rule in rules if rule not in alert.rules]
    alert.red_rules = alert.red_rules + new_red
    alert.emergency = alert.emergency or emergency
    if rises:
        alert.severity = severity
        alert.rules_version = rules_version
    if paged:
        alert.notices += 1
        alert.last_notice_at = now
        if rises or alert.state == AlertState.ACKNOWLEDGED:
            # A new period of escalation: red timers start at the rise; an acknowledged alert
            # that pages again must be acknowledged again.
            alert.state = AlertState.OPEN
            alert.escalation_from = now
            alert.escalation_round += 1
            alert.escalation_level = 0
    alert.save()
    return paged


def alert_may_act(user: User, alert: Alert) -> bool:
    return access.may_act_on_alert(user, alert)


def _record_history(alert: Alert, user: User) -> None:
    # The state change is claimed with a conditional update (one nurse wins a race), which
    # django-simple-history does not see: write the history row for it here.
    alert.refresh_from_db()
    Alert.history.bulk_history_create([alert], update=True, default_user=user)


def _check_may_act(user: User, alert: Alert) -> None:
    if not alert_may_act(user, alert):
        raise AlertNotAllowed


def _who(person: User | None, when: datetime | None, viewer: User) -> str:
    """"Nia Nurse at 14:05 BST", the time in the viewer's own time zone, labelled."""
    name = person.full_name if person else "someone"
    if when is None:
        return name
    return f"{name} at {when.astimezone(zoneinfo.ZoneInfo(viewer.time_zone)):%H:%M %Z}"


def alert_acknowledge(
    *, alert: Alert, user: User, seen_notices: int | None = None, now: datetime | None = None
) -> Alert:
    """Mark the alert as being acted on; stops escalation. Never closes it.

    `seen_notices` is the page count the nurse was looking at: if the alert was raised again
    since, the acknowledgement is refused so that the new finding is looked at first.
    """
    _check_may_act(user, alert)
    now = now or timezone.now()
    claim = Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN)
    if seen_notices is not None:
        claim = claim.filter(notices=seen_notices)
    if claim.update(state=AlertState.ACKNOWLEDGED, acknowledged_by=user, acknowledged_at=now):
        _record_history(alert, user)
        return alert
    current = Alert.objects.select_related("acknowledged_by", "resolved_by").get(pk=alert.pk)
    if current.state == AlertState.RESOLVED:
        by = _who(current.resolved_by, current.resolved_at, user)
        raise AlertConflict(f"Already resolved by {by}.", current)
    if current.state == AlertState.ACKNOWLEDGED:
        if current.acknowledged_by_id == user.pk:
            return current
        by = _who(current.acknowledged_by, current.acknowledged_at, user)
        raise AlertConflict(f"Already acknowledged by {by}.", current)
    raise AlertConflict("The alert was raised again since you opened it: look at the new "
                        "check-in, then acknowledge.", current)


def alert_resolve(
    *, alert: Alert, user: User, outcome: str, note: str = "", now: datetime | None = None
) -> Alert:
    """Close the alert with an outcome. The next amber or red check-in opens a new one."""
    _check_may_act(user, alert)
    if outcome not in Outcome.values:
        raise ValueError(f"unknown outcome {outcome!r}")
    now = now or timezone.now()
    resolved = Alert.objects.filter(pk=alert.pk).exclude(state=AlertState.RESOLVED).update(
        state=AlertState.RESOLVED, resolved_by=user, resolved_at=now, outcome=outcome,
        outcome_note=note.strip()[:2000],
    )
    if resolved:
        _record_history(alert, user)
        return alert
    current = Alert.objects.select_related("resolved_by").get(pk=alert.pk)
    by = _who(current.resolved_by, current.resolved_at, user)
    raise AlertConflict(f"Already resolved by {by}.", current)
