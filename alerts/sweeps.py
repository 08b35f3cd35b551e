"""The periodic work that makes sure nothing waits for ever.

- deliveries (notifications.sweeps): rows whose worker died in flight go back to retry; rows
  pending or due for a retry whose task never arrived are handed out again; failed messages
  of alerts still open are tried again (deliveries_revive, here: it reads the alerts);
- escalation: an unacknowledged alert goes to more people as time passes;
- missed check-ins: a reminder at the cut-off, an amber alert some hours later;
- bag changes overdue (alerts/bag_sweeps.py): amber, then red, to the team and the family.

Run by beat through `alerts.sweep` (every ALERT_SWEEP_SECONDS), or by
`manage.py alerts_sweep`, which does the same without the broker and sends rows itself.
Every step is idempotent: two sweeps at once, or a sweep beside a worker, send nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import CaregiverLink, CareTeam, Patient
from alerts.bag_sweeps import bag_change_overdue_sweep
from alerts.deliveries import deliveries_for_alert, deliveries_for_reminders
from alerts.escalation import escalation_due_after, escalation_steps
from alerts.models import Alert, AlertState, MissedCheckIn
from alerts.services import alert_raise
from notifications.dispatch import deliveries_enqueue_on_commit
from notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Purpose,
)
from notifications.models import RecipientRole as To
from notifications.sweeps import deliveries_due, deliveries_unstick, heartbeat_record
from symptoms.models import CheckIn
from treatment import calendar
from triage.catalogue import RULES_BY_CODE, RULES_VERSION
from triage.rules import Finding

log = logging.getLogger(__name__)
T = TypeVar("T")

BATCH = 500
# A missed day is raised at most this long after its alert was due (after an outage of the
# sweep, say); older ones are left to the timeline rather than paging about yesterday.
MISSED_DAY_LOOKS_BACK = timedelta(hours=12)


@dataclass
class SweepReport:
    unstuck: list[int] = field(default_factory=list)
    revived: list[int] = field(default_factory=list)
    due: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    reminders: list[int] = field(default_factory=list)
    missed_alerts: int = 0
    bag_overdue: int = 0  # bag_change_overdue levels raised
    errors: list[str] = field(default_factory=list)  # the parts that raised

    def summary(self) -> dict[str, object]:
        summary: dict[str, object] = {
            "unstuck": len(self.unstuck), "revived": len(self.revived), "due": len(self.due),
            "escalated": len(self.escalated), "reminders": len(self.reminders),
            "missed_alerts": self.missed_alerts,
            "bag_overdue": self.bag_overdue}
        if self.errors:
            summary["errors"] = list(self.errors)
        return summary


# Deliveries --------------------------------------------------------------------------------

def deliveries_revive(*, now: datetime) -> list[int]:
    """Failed emails and SMS of alerts still open (or acknowledged) whose failure time can
    cure (server down, 4xx) are tried again every ALERT_RETRY_MAX_SECONDS, for as long as
    the alert is open: when the server is back they arrive, with the same Message-ID. A
    failure that is permanent (5xx, outcome unknown twice) is never revived. Returns ids."""
    before = now - timedelta(seconds=settings.ALERT_RETRY_MAX_SECONDS)
    revivable = Delivery.objects.filter(
        state=DeliveryState.FAILED, permanent_failure=False, failed_at__lte=before,
        channel__in=[Channel.EMAIL, Channel.SMS], alert__isnull=False,
        alert__state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED],
    )
    ids = list(revivable.order_by("failed_at").values_list("pk", flat=True)[:BATCH])
    if ids:
        Delivery.objects.filter(pk__in=ids, state=DeliveryState.FAILED).update(
            state=DeliveryState.RETRY, next_attempt_at=now)
        log.info("failed deliveries %s of open alerts are tried again", ids)
    return ids


# Escalation --------------------------------------------------------------------------------

def _escalation_steps(alert: Alert, team: CareTeam) -> list[tuple[int, int, list[str]]]:
    """(level, minutes after escalation_from, roles): see alerts.escalation."""
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

def _utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time on that day in that zone, as a UTC instant. Windows are then
    measured in real time: cut-off + 2 h is two real hours even across a clock change (an
    aware datetime in a ZoneInfo adds wall-clock time, an hour off on those nights)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


# Patient ids in one IN (...) on databases without arrays (SQLite's variable limit).
_ID_CHUNK = 5000


def _for_patients(queryset, patient_ids: list[int]) -> list:
    """`queryset` limited to these patients, in one query on PostgreSQL (one array
    parameter, however many ids) and one per 5,000 ids elsewhere."""
    if not patient_ids:
        return []
    if connection.vendor == "postgresql":
        return list(queryset.filter(
            patient_id__in=RawSQL("SELECT unnest(%s::bigint[])", (patient_ids,))))
    rows: list = []
    for i in range(0, len(patient_ids), _ID_CHUNK):
        rows += list(queryset.filter(patient_id__in=patient_ids[i:i + _ID_CHUNK]))
    return rows


class _Day(NamedTuple):
    """A day (in the patient's zone) on active infusion whose cut-off window is now."""

    patient_id: int
    day: date
    cutoff: datetime  # UTC
    start: datetime  # local midnight, UTC
    end: datetime  # next local midnight, UTC


class _Missed(NamedTuple):
    pk: int
    patient_id: int
    day: date
    reminded_at: datetime | None
    alerted_at: datetime | None


def _days_in_window(now: datetime, alert_after: timedelta) -> list[_Day]:
    """Two queries: the plans that may be on infusion yesterday or today in any zone
    (treatment/calendar.py, late cycles included), then the columns the windows need of
    their patients, as tuples (at 100,000 patients, building model instances was most of
    the sweep's time); whole patients are read only for the few reminded or alerted."""
    # Local dates differ from the UTC date by at most a day either way.
    first, last = now.date() - timedelta(days=2), now.date() + timedelta(days=1)
    plans = calendar.schedules_between(first, last)
    if not plans:
        return []
    rows = Patient.objects.filter(treatment_plan__in=calendar.plans_between(first, last)
                                  ).values_list("id", "time_zone", "created_at",
                                                "care_team__check_in_cutoff")
    zones: dict[str, ZoneInfo] = {}
    days: list[_Day] = []
    for patient_id, zone, created_at, cutoff_time in rows:
        plan = plans.get(patient_id)
        if plan is None:
            continue  # its plan changed between the two reads: the next sweep sees it
        tz = zones.get(zone) or zones.setdefault(zone, ZoneInfo(zone))
        today = now.astimezone(tz).date()
        for day in calendar.infusion_days(plan, today - timedelta(days=1), today):
            cutoff = _utc(day, cutoff_time, tz)
            if not cutoff <= now < cutoff + alert_after + MISSED_DAY_LOOKS_BACK:
                continue
            if created_at > cutoff:
                continue  # not on Homeline yet by that cut-off: nothing was missed
            days.append(_Day(patient_id, day, cutoff, _utc(day, time(0), tz),
                             _utc(day + timedelta(days=1), time(0), tz)))
    return days


def _missed_rows(missing: list[_Day]) -> dict[tuple[int, date], _Missed]:
    queryset = MissedCheckIn.objects.filter(
        day__gte=min(d.day for d in missing), day__lte=max(d.day for d in missing),
    ).values_list("id", "patient_id", "day", "reminded_at", "alerted_at")
    rows = _for_patients(queryset, sorted({d.patient_id for d in missing}))
    return {(row[1], row[2]): _Missed(*row) for row in rows}


def missed_check_ins_sweep(*, now: datetime) -> tuple[list[int], int]:
    """Reminders (ids of new rows) and the number of missed-check-in alerts raised.

    A day counts in the patient's own time zone: the cut-off is the team's time on the
    patient's clock, and the windows after it are real (UTC) time. Only days on active
    infusion count. Yesterday is looked at too, for a late cut-off whose alert falls after
    midnight (up to MISSED_DAY_LOOKS_BACK after it).

    Set-based: four queries when nothing is due (plans, patients, their check-ins in the
    window, their missed-day rows), a constant few more for all reminders due together; each alert
    raised costs its own transaction (alert_raise). An error for one patient's alert is
    logged and the others go on.
    """
    alert_after = timedelta(minutes=settings.ALERT_MISSED_CHECK_IN_ALERT_MINUTES)
    days = _days_in_window(now, alert_after)
    if not days:
        return [], 0
    ids = sorted({d.patient_id for d in days})
    recorded: dict[int, list[datetime]] = {}
    for patient_id, at in _for_patients(
        CheckIn.objects.filter(recorded_at__gte=min(d.start for d in days),
                               recorded_at__lt=max(d.end for d in days))
        .values_list("patient_id", "recorded_at"), ids,
    ):
        recorded.setdefault(patient_id, []).append(at)
    missing = [d for d in days
               if not any(d.start <= at < d.end for at in recorded.get(d.patient_id, ()))]
    if not missing:
        return [], 0

    rows = _missed_rows(missing)
    new = [MissedCheckIn(patient_id=d.patient_id, day=d.day, cutoff_at=d.cutoff)
           for d in missing if (d.patient_id, d.day) not in rows]
    if new:
        MissedCheckIn.objects.bulk_create(new, ignore_conflicts=True)
        rows = _missed_rows(missing)

    to_remind = [(d, rows[d.patient_id, d.day]) for d in missing
                 if now < d.cutoff + alert_after and rows[d.patient_id, d.day].reminded_at is None]
    to_alert = [(d, rows[d.patient_id, d.day]) for d in missing
                if now >= d.cutoff + alert_after and rows[d.patient_id, d.day].alerted_at is None]
    reminders = _missed_reminders(to_remind, now) if to_remind else []
    alerts = 0
    patients = (Patient.objects.select_related("care_team", "user")
                .in_bulk([d.patient_id for d, _ in to_alert]) if to_alert else {})
    for d, missed in to_alert:
        try:
            alerts += _missed_alert(missed, patients[d.patient_id], now)
        except Exception:  # one patient's failure must not stop the others' alerts
            log.exception("missed check-in alert for patient %s failed", d.patient_id)
    return reminders, alerts


def _missed_reminders(due: list[tuple[_Day, _Missed]], now: datetime) -> list[int]:
    """Claim the reminders (rows locked, skipping any another sweep holds) and make their
    delivery rows, in one transaction and a constant number of queries."""
    with transaction.atomic():
        claimed = set(MissedCheckIn.objects.select_for_update(skip_locked=True).filter(
            pk__in=[missed.pk for _, missed in due], reminded_at__isnull=True,
        ).values_list("pk", flat=True))
        if not claimed:
            return []
        MissedCheckIn.objects.filter(pk__in=claimed).update(reminded_at=now)
        due = [(d, missed) for d, missed in due if missed.pk in claimed]
        patient_ids = sorted({d.patient_id for d, _ in due})
        patients = Patient.objects.select_related("user").in_bulk(patient_ids)
        caregivers: dict[int, list[tuple[str, object]]] = {}
        links = CaregiverLink.objects.active(now).filter(
            may_log=True, caregiver__is_active=True).select_related("caregiver")
        for link in _for_patients(links, patient_ids):
            caregivers.setdefault(link.patient_id, []).append((To.CAREGIVER, link.caregiver))
        reminders = []
        for d, missed in due:
            patient = patients[d.patient_id]
            user = patient.user
            recipients = [(To.PATIENT, user)] if user is not None and user.is_active else []
            reminders.append((patient, missed.day.isoformat(),
                              recipients + caregivers.get(d.patient_id, [])))
        ids = deliveries_for_reminders(reminders=reminders, now=now)
        deliveries_enqueue_on_commit(ids)
    return ids


def _missed_alert(missed: _Missed, patient: Patient, now: datetime) -> int:
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

def _part(report: SweepReport, name: str, run: Callable[[], T], default: T) -> T:
    """Run one part of a sweep; an exception is logged and named in the report, and the
    other parts (and the heartbeat) still run."""
    try:
        return run()
    except Exception:
        log.exception("sweep part %s failed", name)
        report.errors.append(name)
        # A failed statement may have left the connection unusable for the next part.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        return default


def _deliveries_part(report: SweepReport, now: datetime) -> None:
    report.unstuck = _part(report, "unstick", lambda: deliveries_unstick(now=now), [])
    report.revived = _part(report, "revive", lambda: deliveries_revive(now=now), [])
    due = _part(report, "due", lambda: deliveries_due(now=now), [])
    # Red first: deliveries_unstick and deliveries_due both order red before the rest.
    report.due = report.unstuck + report.revived + [
        pk for pk in due if pk not in report.unstuck and pk not in report.revived]


def deliveries_sweep_run(*, now: datetime | None = None, heartbeat: str) -> SweepReport:
    """The deliveries' part alone, run often (ALERT_DELIVERY_SWEEP_SECONDS) so that a red
    alert whose worker died is sent again within seconds of its lease lapsing."""
    now = now or timezone.now()
    report = SweepReport()
    try:
        _deliveries_part(report, now)
    finally:
        _part(report, "heartbeat", lambda: heartbeat_record(
            name=heartbeat, now=now, summary=report.summary()), None)
    return report


def sweep_run(*, now: datetime | None = None, heartbeat: str) -> SweepReport:
    """One sweep. New rows are enqueued on commit (unless the broker is bypassed); the rows
    that were due already are returned for the caller to hand out or send. Each part runs
    whatever happened to the others, and the heartbeat is always written (its summary names
    the parts that failed)."""
    now = now or timezone.now()
    report = SweepReport()
    try:
        _deliveries_part(report, now)
        report.escalated = _part(report, "escalate", lambda: alerts_escalate(now=now), [])
        report.reminders, report.missed_alerts = _part(
            report, "missed_check_ins", lambda: missed_check_ins_sweep(now=now), ([], 0))
        report.bag_overdue = _part(
            report, "bag_change_overdue", lambda: bag_change_overdue_sweep(now=now), 0)
    finally:
        _part(report, "heartbeat", lambda: heartbeat_record(
            name=heartbeat, now=now, summary=report.summary()), None)
    return report
