"""Does a message still have a reason to be sent? Asked when it is about to go.

A delivery row can wait a while (a retry after a mail server's 4xx, a worker that died, a
broker outage), and the world moves on meanwhile: the alert is acknowledged, or resolved; the
caregiver's link is revoked; the missed check-in is made. Sending then would say something
false ("ESCALATED: not acknowledged" after the acknowledgement) or reach someone who no longer
has access. So `delivery_send` asks `delivery_reason_gone` right after claiming the row, and
a row whose reason is gone is recorded as cancelled, with why, instead of being sent.

Gone, by the purpose of the row (or of the row a fallback stands in for):
- notice: the alert was resolved;
- escalation: the alert was acknowledged or resolved;
- reminder: the recipient's account is inactive, the caregiver's link (with may_log) ended
  or was revoked, the patient's login changed, or a check-in was recorded that day (the
  patient's own calendar day);
- the family's bag change notice (a reminder row whose step is alerts.bag_sweeps'): the
  same recipient checks, or the bag change was recorded since (its overdue row is done).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import CaregiverLink
from alerts.bag_sweeps import bag_notice_due_at
from alerts.models import Alert, AlertState, BagChangeOverdue
from notifications import hooks
from notifications.models import Delivery, Purpose, RecipientRole

__all__ = ["delivery_reason_gone"]

def _at(moment: datetime | None, team_tz: str) -> str:
    if moment is None:
        return ""
    return f" at {moment.astimezone(zoneinfo.ZoneInfo(team_tz)):%H:%M %Z}"


def _alert_reason_gone(delivery: Delivery, purpose: str) -> str | None:
    alert = (Alert.objects.select_related("acknowledged_by", "resolved_by",
                                          "patient__care_team")
             .filter(pk=delivery.alert_id).first())
    if alert is None:
        return "the alert no longer exists"
    team_tz = alert.patient.care_team.time_zone
    if alert.state == AlertState.RESOLVED:
        by = alert.resolved_by.full_name if alert.resolved_by else "someone"
        return f"the alert was resolved by {by}{_at(alert.resolved_at, team_tz)}"
    if purpose == Purpose.ESCALATION and alert.state == AlertState.ACKNOWLEDGED:
        by = alert.acknowledged_by.full_name if alert.acknowledged_by else "someone"
        return f"the alert was acknowledged by {by}{_at(alert.acknowledged_at, team_tz)}"
    return None


def _recipient_gone(original: Delivery, now: datetime) -> str | None:
    patient = original.patient
    user = original.user
    if user is None or not user.is_active:
        return "the recipient's account is no longer active"
    if original.role == RecipientRole.PATIENT and patient.user_id != user.pk:
        return "the recipient is no longer this patient's login"
    if original.role == RecipientRole.CAREGIVER and not CaregiverLink.objects.active(now).filter(
            patient=patient, caregiver=user, may_log=True).exists():
        return "the caregiver's link to the patient ended or was revoked"
    return None


def _bag_reason_gone(original: Delivery, due_at: datetime) -> str | None:
    row = (BagChangeOverdue.objects.select_related("bag_change__recorded_by")
           .filter(patient_id=original.patient_id, due_at=due_at).first())
    if row is None or row.done_at is None:
        return None
    change = row.bag_change
    if change is None:
        return "the bag change was recorded"
    return (f"the bag change was recorded{_at(change.changed_at, original.patient.time_zone)}"
            f" by {change.recorded_by.full_name}")


def _reminder_reason_gone(delivery: Delivery, original: Delivery,
                          now: datetime) -> str | None:
    gone = _recipient_gone(original, now)
    if gone is not None:
        return gone
    bag = bag_notice_due_at(original.step)
    if bag is not None:
        return _bag_reason_gone(original, bag[1])
    patient = original.patient
    day_text = original.step.removeprefix("reminder ").strip()
    try:
        day = datetime.strptime(day_text, "%Y-%m-%d").date()
    except ValueError:
        return None  # not a day we can check: the reminder keeps its reason
    # The patient's own calendar day, as real instants (a 23 or 25 hour day at a change).
    start = datetime.combine(day, time(0), tzinfo=patient.tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=patient.tz)
    made = (patient.check_ins.filter(recorded_at__gte=start, recorded_at__lt=end)
            .order_by("recorded_at").values_list("recorded_at", flat=True).first())
    if made is not None:
        return f"a check-in was recorded{_at(made, patient.time_zone)} that day"
    return None


def delivery_reason_gone(delivery: Delivery, *, now: datetime | None = None) -> str | None:
    """Why `delivery` should no longer be sent, in words for the alert's message list
    ("the alert was acknowledged by Nia Nurse at 14:05 BST"), or None if it should go.

    Reads the alert, link and check-ins afresh from the database (a few queries). Raises
    nothing for a row it does not understand: such a row keeps its reason.
    """
    now = now or timezone.now()
    original = hooks.original(delivery)
    purpose = original.purpose
    if delivery.alert_id is not None:
        return _alert_reason_gone(delivery, purpose)
    if purpose == Purpose.REMINDER:
        return _reminder_reason_gone(delivery, original, now)
    return None
