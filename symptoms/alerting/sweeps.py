"""The periodic work that makes sure nothing waits for ever.

- deliveries: rows whose worker died in flight go back to retry; rows pending or due for a
  retry whose task never arrived (broker down at commit, a message lost) are handed out again;
- escalation: an unacknowledged alert goes to more people as time passes;
- missed check-ins: a reminder at the cut-off, an amber alert some hours later.

Run by beat through `alerts.sweep` (every ALERT_SWEEP_SECONDS), or by
`manage.py alerts_sweep`, which does the same without the broker and sends rows itself.
Every step is idempotent: two sweeps at once, or a sweep beside a worker, send nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import CaregiverLink, CareTeam, Patient
from symptoms.alerting.deliveries import (
    deliveries_for_alert,
    deliveries_for_reminder,
    delivery_fallback,
)
from symptoms.alerting.dispatch import deliveries_enqueue_on_commit
from symptoms.alerting.escalation import escalation_due_after, escalation_steps
from symptoms.alerting.models import (
    Alert,
    AlertState,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Heartbeat,
    MissedCheckIn,
    Purpose,
)
from symptoms.alerting.models import RecipientRole as To
from symptoms.alerting.services import alert_raise
from symptoms.catalogue import RULES_BY_CODE, RULES_VERSION
from symptoms.rules import Finding

log = logging.getLogger(__name__)

BATCH = 500
# A missed day is raised at most this long after its alert was due (after an outage of the
# sweep, say); older ones are left to the timeline rather than paging about yesterday.
MISSED_DAY_LOOKS_BACK = timedelta(hours=12)


@dataclass
class SweepReport:
    unstuck: list[int] = field(default_factory=list)
    due: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    reminders: list[int] = field(default_factory=list)
    missed_alerts: int = 0

    def summary(self) -> dict[str, int]:
        return {"unstuck": len(self.unstuck), "due": len(self.due),
                "escalated": len(self.escalated), "reminders": len(self.reminders),
                "missed_alerts": self.missed_alerts}


# Deliveries --------------------------------------------------------------------------------

def deliveries_unstick(*, now: datetime) -> list[int]:
    """Rows in flight longer than ALERT_STUCK_SECONDS lost their worker: retry them now (or
    fail them, with a fallback, if that was their last attempt). Returns the retried ids."""
    cutoff = now - timedelta(seconds=settings.ALERT_STUCK_SECONDS)
    stuck = Delivery.objects.filter(state=DeliveryState.IN_FLIGHT, claimed_at__lt=cutoff)
    retried: list[int] = []
    for row in stuck.select_related("patient__care_team", "user")[:BATCH]:
        error = (f"worker stopped during attempt {row.attempts} "
                 f"(in flight since {row.claimed_at:%H:%M:%S} UTC)")
        with transaction.atomic():
            # Conditional on the claim we saw: a worker that finishes meanwhile wins.
            mine = Delivery.objects.filter(pk=row.pk, state=DeliveryState.IN_FLIGHT,
                                           claim_token=row.claim_token)
            last = row.attempts >= settings.ALERT_MAX_ATTEMPTS
            if last and mine.update(state=DeliveryState.FAILED, failed_at=now, last_error=error):
                delivery_fallback(delivery=row, now=now)
            elif not last and mine.update(state=DeliveryState.RETRY, next_attempt_at=now,
                                          last_error=error):
                retried.append(row.pk)
            else:
                continue
            DeliveryAttempt.objects.filter(delivery=row, number=row.attempts,
                                           finished_at__isnull=True).update(
                result=DeliveryAttempt.Result.INTERRUPTED, error=error, finished_at=now)
    if retried:
        log.warning("deliveries %s were stuck in flight and are retried", retried)
    return retried


def deliveries_due(*, now: datetime, grace: float | None = None) -> list[int]:
    """Rows waiting to be sent whose own task should have come by now."""
    grace = settings.ALERT_REQUEUE_GRACE_SECONDS if grace is None else grace
    before = now - timedelta(seconds=grace)
    return list(
        Delivery.objects.filter(
            state__in=[DeliveryState.PENDING, DeliveryState.RETRY], next_attempt_at__lte=before
        ).order_by("next_attempt_at").values_list("pk", flat=True)[:BATCH]
    )


# Escalation --------------------------------------------------------------------------------

def _escalation_steps(alert: Alert, team: CareTeam) -> list[tuple[int, int, list[str]]]:
    """(level, minutes after escalation_from, roles): see symptoms.alerting.escalation."""
    return escalation_steps(alert, team)


def alerts_escalate(*, now: datetime) -> list[int]:
    """Take every escalation step that is due on an open (unacknowledged) alert, once.

    Reads only alerts whose `escalation_due_at` has come (partial index alert_escalation_due),
    soonest first, in batches of BATCH until none is left: an alert past its last step has no
    due time, so any number of them never hides a new one. Returns the new delivery ids.
    """
    created: list[int] = []
    done: set[int] = set()
    while True:
        batch = list(
            Alert.objects.filter(state=AlertState.OPEN, escalation_due_at__lte=now)
            .exclude(pk__in=done).select_related("patient__care_team")
            .order_by("escalation_due_at", "pk")[:BATCH]
        )
        for alert in batch:
            done.add(alert.pk)
            created += _alert_escalate(alert, now)
        if len(batch) < BATCH:
            return created


def _alert_escalate(alert: Alert, now: datetime) -> list[int]:
    created: list[int] = []
    team = alert.patient.care_team
    for level, minutes, roles in _escalation_steps(alert, team):
        if level <= alert.escalation_level:
            continue
        if now < alert.escalation_from + timedelta(minutes=minutes):
            break
        with transaction.atomic():
            # Claim the step: only if nobody acknowledged, raised or escalated it since.
            # The due time moves to the next step (or none after the last) in the same write.
            due = escalation_due_after(alert, team, level)
            claimed = Alert.objects.filter(
                pk=alert.pk, state=AlertState.OPEN,
                escalation_round=alert.escalation_round, escalation_level__lt=level,
            ).update(escalation_level=level, escalation_due_at=due)
            if not claimed:
                return created  # someone else's write set the due time
            alert.escalation_level, alert.escalation_due_at = level, due
            ids = deliveries_for_alert(
                alert=alert, purpose=Purpose.ESCALATION,
                step=f"escalation {alert.escalation_round}.{level}", roles=roles, now=now,
            )
            deliveries_enqueue_on_commit(ids)
        created += ids
        log.info("alert %s escalated to level %s", alert.pk, level)
    due = escalation_due_after(alert, team, alert.escalation_level)
    if due != alert.escalation_due_at:
        # Read as due but nothing was (the team lengthened its minutes meanwhile): put the
        # time right, or the alert would be read again at every sweep.
        Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN,
                             escalation_round=alert.escalation_round,
                             escalation_level=alert.escalation_level).update(
            escalation_due_at=due)
    return created


# Missed check-ins --------------------------------------------------------------------------

def _local(day: date, at: time, patient: Patient) -> datetime:
    # A wall-clock time in the patient's zone on that day, whatever the UTC offset is then
    # (20:00 is 19:00 UTC in British summer time and 20:00 UTC in winter).
    return datetime.combine(day, at, tzinfo=patient.tz)


def _reminder_recipients(patient: Patient, now: datetime) -> list[tuple[str, object]]:
    recipients: list[tuple[str, object]] = []
    if patient.user is not None and patient.user.is_active:
        recipients.append((To.PATIENT, patient.user))
    links = CaregiverLink.objects.active(now).filter(patient=patient, may_log=True,
                                                     caregiver__is_active=True)
    recipients += [(To.CAREGIVER, link.caregiver) for link in links.select_related("caregiver")]
    return recipients


def missed_check_ins_sweep(*, now: datetime) -> tuple[list[int], int]:
    """Reminders (ids of new rows) and the number of missed-check-in alerts raised.

    A day counts in the patient's own time zone: the cut-off is the team's time on the
    patient's clock. Only days on active infusion count. Yesterday is looked at too, for a
    late cut-off whose alert falls after midnight (up to MISSED_DAY_LOOKS_BACK after it).
    """
    alert_after = timedelta(minutes=settings.ALERT_MISSED_CHECK_IN_ALERT_MINUTES)
    reminders: list[int] = []
    alerts = 0
    patients = Patient.objects.filter(
        infusion_start_date__isnull=False, infusion_start_date__lte=now.date() + timedelta(1)
    ).select_related("care_team", "user")
    for patient in patients:
        today = patient.local_today(now)
        for day in (today - timedelta(days=1), today):
            if not patient.on_active_infusion(day):
                continue
            cutoff = _local(day, patient.care_team.check_in_cutoff, patient)
            if not cutoff <= now < cutoff + alert_after + MISSED_DAY_LOOKS_BACK:
                continue
            if patient.created_at > cutoff:
                continue  # not on Homeline yet by that cut-off: nothing was missed
            day_start = _local(day, time(0), patient)
            day_end = _local(day + timedelta(days=1), time(0), patient)
            if patient.check_ins.filter(recorded_at__gte=day_start,
                                        recorded_at__lt=day_end).exists():
                continue
            missed, _ = MissedCheckIn.objects.get_or_create(
                patient=patient, day=day, defaults={"cutoff_at": cutoff})
            if now >= cutoff + alert_after:
                alerts += _missed_alert(missed, patient, now)
            else:
                reminders += _missed_reminder(missed, patient, now)
    return reminders, alerts


def _missed_reminder(missed: MissedCheckIn, patient: Patient, now: datetime) -> list[int]:
    if missed.reminded_at is not None:
        return []
    with transaction.atomic():
        if not MissedCheckIn.objects.filter(pk=missed.pk, reminded_at__isnull=True).update(
            reminded_at=now
        ):
            return []
        ids = deliveries_for_reminder(patient=patient, day=missed.day.isoformat(),
                                      recipients=_reminder_recipients(patient, now), now=now)
        deliveries_enqueue_on_commit(ids)
    return ids


def _missed_alert(missed: MissedCheckIn, patient: Patient, now: datetime) -> int:
    if missed.alerted_at is not None:
        return 0
    with transaction.atomic():
        if not MissedCheckIn.objects.filter(pk=missed.pk, alerted_at__isnull=True).update(
            alerted_at=now
        ):
            return 0
        alert = alert_raise(patient=patient, severity="amber",
                            findings=[Finding("missed_check_in", "amber",
                                              RULES_BY_CODE["missed_check_in"].title)],
                            rules_version=RULES_VERSION, now=now)
        MissedCheckIn.objects.filter(pk=missed.pk).update(alert=alert)
    return 1


# All of it ---------------------------------------------------------------------------------

def heartbeat_record(*, name: str, now: datetime, summary: dict[str, int]) -> None:
    Heartbeat.objects.update_or_create(name=name,
                                       defaults={"last_run_at": now, "summary": summary})


def sweep_run(*, now: datetime | None = None, heartbeat: str) -> SweepReport:
    """One sweep. New rows are enqueued on commit (unless the broker is bypassed); the rows
    that were due already are returned for the caller to hand out or send."""
    now = now or timezone.now()
    report = SweepReport()
    report.unstuck = deliveries_unstick(now=now)
    report.due = report.unstuck + [pk for pk in deliveries_due(now=now)
                                   if pk not in report.unstuck]
    report.escalated = alerts_escalate(now=now)
    report.reminders, report.missed_alerts = missed_check_ins_sweep(now=now)
    heartbeat_record(name=heartbeat, now=now, summary=report.summary())
    return report
