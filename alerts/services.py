"""Every write on alerts: opening, raising and attaching (inside the check-in's transaction),
acknowledging and resolving (claimed with conditional updates, so of two nurses acting at
once one wins and the other is told who did).

Acknowledge and resolve carry the alert `version` the nurse was looking at: if a check-in
came in since (the alert rose to red, a new finding), the action is refused with what
changed, so that nobody closes a red alert from an amber page. Both also cancel the messages
whose reason they end (escalation steps waiting for a retry, and on resolving every message
still waiting), so nothing "not acknowledged" goes out after the acknowledgement.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Patient, User
from alerts.access import may_act_on_alert
from alerts.deliveries import deliveries_for_alert
from alerts.escalation import escalation_due_after
from alerts.models import Alert, AlertCheckIn, AlertState, Outcome
from alerts.text import TextRefused, strict_note
from notifications.dispatch import deliveries_enqueue_on_commit
from notifications.models import Delivery, DeliveryState, Purpose
from notifications.models import RecipientRole as To
from symptoms.models import CheckIn, Severity
from triage.catalogue import SEVERITY_RANK
from triage.rules import Finding


class AlertNotAllowed(Exception):
    """The user may not act on this alert (views answer 404)."""


class AlertConflict(Exception):
    """Someone else changed the alert first; the message says who and when."""

    def __init__(self, message: str, alert: Alert) -> None:
        super().__init__(message)
        self.alert = alert


class AlertChanged(AlertConflict):
    """The alert changed since the version the nurse saw. `changes` lists what, one line per
    check-in attached since (time, severity, findings), newest last."""

    def __init__(self, message: str, alert: Alert, changes: list[str]) -> None:
        super().__init__(message, alert)
        self.changes = changes


class AlertInputRefused(ValueError):
    """A value typed by the nurse is refused; `field` names the form field, the message says
    why. Nothing was saved."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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
            alert = Alert(
                patient=patient, severity=severity, emergency=emergency, rules=rules,
                red_rules=red_rules, rules_version=rules_version, opened_at=now,
                last_notice_at=now, escalation_from=now,
            )
            alert.escalation_due_at = escalation_due_after(alert, patient.care_team, 0)
            alert.save()
            paged = True
        else:
            paged = _fold_in(alert, severity, rules, red_rules, emergency, rules_version, now)
        if check_in is not None:
            AlertCheckIn.objects.create(alert=alert, check_in=check_in, attached_at=now,
                                        paged=paged, alert_version=alert.version)
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
    # Whatever came in, the nurse has not seen it: a form from before is now stale.
    alert.version += 1
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
            alert.escalation_due_at = escalation_due_after(alert, alert.patient.care_team, 0)
    alert.save()
    return paged


def alert_may_act(user: User, alert: Alert) -> bool:
    return may_act_on_alert(user, alert)


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


def _changes_since(alert: Alert, seen_version: int, viewer: User) -> list[str]:
    """What came in after version `seen_version`: one line per check-in, in the viewer's
    zone ("14:05 BST red: Temperature 39.4 °C ...; Pump disconnected"), or the finding that
    came without a check-in (a missed check-in)."""
    tz = zoneinfo.ZoneInfo(viewer.time_zone)
    lines = []
    for attachment in (alert.attachments.filter(alert_version__gt=seen_version)
                       .select_related("check_in").order_by("check_in__recorded_at")):
        check_in = attachment.check_in
        findings = "; ".join(f["text"] for f in check_in.findings) or "no findings"
        lines.append(f"{check_in.recorded_at.astimezone(tz):%H:%M %Z} "
                     f"{check_in.get_severity_display().lower()}: {findings}")
    if not lines:
        lines.append(f"now {alert.get_severity_display().lower()}"
                     f"{' (emergency)' if alert.emergency else ''}")
    return lines


def _refuse_if_changed(alert: Alert, seen_version: int | None, user: User, action: str) -> None:
    if seen_version is None:
        return
    current = Alert.objects.get(pk=alert.pk)
    if current.version != seen_version:
        changes = _changes_since(current, seen_version, user)
        raise AlertChanged(
            f"Not {action}: this alert changed since you opened it "
            f"(now {current.get_severity_display().upper()}"
            f"{', EMERGENCY' if current.emergency else ''}). New since then: "
            + " | ".join(changes) + f". Look at it again, then {action.rstrip('d')}.",
            current, changes)


def _cancel_waiting(alert: Alert, purposes: list[str] | None, reason: str,
                    now: datetime) -> int:
    """Mark the alert's messages still waiting (pending or retry) as cancelled. Rows already
    in a worker's hands are re-checked by it before sending (alerts.reasons)."""
    rows = Delivery.objects.filter(alert=alert, state__in=[DeliveryState.PENDING,
                                                           DeliveryState.RETRY])
    if purposes is not None:
        rows = rows.filter(Q(purpose__in=purposes) | Q(fallback_for__purpose__in=purposes))
    return rows.update(state=DeliveryState.CANCELLED, cancelled_at=now,
                       cancel_reason=reason[:200])


def alert_acknowledge(
    *, alert: Alert, user: User, seen_version: int | None = None,
    seen_notices: int | None = None, now: datetime | None = None,
) -> Alert:
    """Mark the alert as being acted on; stops escalation. Never closes it.

    `seen_version` is the alert version the nurse was looking at (the form carries it): if a
    check-in came in since, `AlertChanged` is raised, listing it, and nothing is written.
    `seen_notices` (the page count seen; older forms) is checked the same way. Escalation
    messages still waiting are cancelled. Raises AlertNotAllowed, AlertConflict.
    """
    _check_may_act(user, alert)
    now = now or timezone.now()
    _refuse_if_changed(alert, seen_version, user, "acknowledged")
    claim = Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN)
    if seen_version is not None:
        claim = claim.filter(version=seen_version)
    if seen_notices is not None:
        claim = claim.filter(notices=seen_notices)
    with transaction.atomic():
        if claim.update(state=AlertState.ACKNOWLEDGED, acknowledged_by=user,
                        acknowledged_at=now, escalation_due_at=None):
            by = _who(user, now, user)
            _cancel_waiting(alert, [Purpose.ESCALATION], f"acknowledged by {by}", now)
            _record_history(alert, user)
            return alert
    current = Alert.objects.select_related("acknowledged_by", "resolved_by").get(pk=alert.pk)
    if current.state == AlertState.RESOLVED:
        by = _who(current.resolved_by, current.resolved_at, user)
        raise AlertConflict(f"Already resolved by {by}.", current)
    if seen_version is not None and current.version != seen_version:
        _refuse_if_changed(current, seen_version, user, "acknowledged")
    if current.state == AlertState.ACKNOWLEDGED:
        if current.acknowledged_by_id == user.pk:
            return current
        by = _who(current.acknowledged_by, current.acknowledged_at, user)
        raise AlertConflict(f"Already acknowledged by {by}.", current)
    raise AlertConflict("The alert was raised again since you opened it: look at the new "
                        "check-in, then acknowledge.", current)


def alert_resolve(
    *, alert: Alert, user: User, outcome: str, note: str = "",
    seen_version: int | None = None, now: datetime | None = None,
) -> Alert:
    """Close the alert with an outcome. The next amber or red check-in opens a new one.

    `note` is refused, never cut, when longer than NOTE_MAX_CHARS (2,000) or when it holds a
    NUL, a control character other than newline/tab, or a bidirectional override
    (AlertInputRefused, field "note"); `outcome` must be one of Outcome (field "outcome").
    `seen_version` as for alert_acknowledge: a stale page cannot close an alert that rose.
    Every message of the alert still waiting is cancelled. Raises AlertNotAllowed,
    AlertConflict, AlertChanged, AlertInputRefused.
    """
    _check_may_act(user, alert)
    if outcome not in Outcome.values:
        raise AlertInputRefused("outcome", "Choose an outcome.")
    try:
        note = strict_note(note, max_chars=NOTE_MAX_CHARS)
    except TextRefused as exc:
        raise AlertInputRefused("note", f"Note: {exc}") from None
    now = now or timezone.now()
    _refuse_if_changed(alert, seen_version, user, "resolved")
    claim = Alert.objects.filter(pk=alert.pk).exclude(state=AlertState.RESOLVED)
    if seen_version is not None:
        claim = claim.filter(version=seen_version)
    with transaction.atomic():
        resolved = claim.update(
            state=AlertState.RESOLVED, resolved_by=user, resolved_at=now, outcome=outcome,
            outcome_note=note, escalation_due_at=None,
        )
        if resolved:
            _cancel_waiting(alert, None, f"resolved by {_who(user, now, user)}", now)
            _record_history(alert, user)
            return alert
    current = Alert.objects.select_related("resolved_by").get(pk=alert.pk)
    if current.state == AlertState.RESOLVED:
        by = _who(current.resolved_by, current.resolved_at, user)
        raise AlertConflict(f"Already resolved by {by}.", current)
    _refuse_if_changed(current, seen_version, user, "resolved")
    raise AlertConflict("The alert changed while you were resolving it: look again.", current)


NOTE_MAX_CHARS = 2000
