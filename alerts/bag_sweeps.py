"""The `bag_change_overdue` sweep: a bag change not recorded in time opens or raises the
patient's alert, and the family is told what to do.

clinical-rules.md, "Treatment calendar and bag changes": on an infusion day, no bag change
recorded 1 h after one was due is amber to the team ("the drip stops when the bag is
empty"); still none 3 h after is red to the team, and the patient is told to call (an
interruption of 4 h or more may need the infusion restarted in hospital). The minutes are
the rule set's (`bag_overdue_amber_minutes`, `bag_overdue_red_minutes`: team settings and
patient overrides, symptoms.thresholds); when a bag is due is treatment.bag_changes'.

Once per level: a BagChangeOverdue row per patient and due time, whose `amber_at` / `red_at`
is claimed with a conditional UPDATE after locking the patient row (the lock order of
recording a bag change, so the two never deadlock). Two sweeps at once: the second waits on
the row, then finds the level taken. The alert goes through `alert_raise` (one open alert
per patient, the team paged again only on a rise). A bag change recorded marks the row done
(alerts.receivers); the alert stays open for a nurse.

Queries: three when nothing is overdue (cycle rows, patients with their plan and team,
last bag changes), a constant two or three more for the rows of everyone overdue; each
level raised then costs its own transaction (lock, claim, alert_raise, the family's notice).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import transaction

from accounts.models import CaregiverLink, Patient
from alerts.models import BagChangeOverdue
from alerts.services import alert_raise
from notifications.dispatch import deliveries_enqueue_on_commit
from notifications.models import Channel, Purpose
from notifications.models import RecipientRole as To
from notifications.outbox import delivery_create
from symptoms.thresholds import ruleset_for_patient
from treatment.bag_changes import due_from, last_bag_changes
from treatment.calendar import schedules_between
from triage.catalogue import RULES_VERSION
from triage.rules import Finding, bag_change_overdue

__all__ = ["BAG_STEP_PREFIX", "bag_change_overdue_sweep", "bag_notice_due_at",
           "bag_notice_step"]

log = logging.getLogger(__name__)

# Delivery.step of the family's notices: "bag amber 2025-06-02T13:00Z" (the due time, UTC).
BAG_STEP_PREFIX = "bag "
_STEP_TIME = "%Y-%m-%dT%H:%MZ"


def bag_notice_step(level: str, due_at: datetime) -> str:
    """The Delivery.step of the family's notice at `level` ("amber"/"red") for a bag change
    due at `due_at` (aware)."""
    return f"{BAG_STEP_PREFIX}{level} {due_at.astimezone(UTC):{_STEP_TIME}}"


def bag_notice_due_at(step: str) -> tuple[str, datetime] | None:
    """(level, due time in UTC) of a step made by bag_notice_step, or None for any other."""
    if not step.startswith(BAG_STEP_PREFIX):
        return None
    level, _, when = step.removeprefix(BAG_STEP_PREFIX).partition(" ")
    try:
        return level, datetime.strptime(when, _STEP_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def _overdue(now: datetime) -> list[tuple[Patient, datetime, Finding, datetime | None]]:
    """(patient, due time, finding, last change seen) of everyone whose bag change is late
    enough for a finding now, in a constant three queries."""
    today = now.astimezone(UTC).date()
    # The patients' own dates are within a day of UTC's.
    plans = schedules_between(today - timedelta(days=1), today + timedelta(days=1))
    if not plans:
        return []
    patients = list(Patient.objects.filter(pk__in=list(plans),
                                           treatment_plan__bag_hours__isnull=False)
                    .select_related("care_team", "treatment_plan"))
    if not patients:
        return []
    last = last_bag_changes([p.pk for p in patients], now)
    found = []
    for patient in patients:
        plan = patient.treatment_plan
        due = due_from(plan_schedule=plans.get(patient.pk), bag_hours=plan.bag_hours,
                       usual_change_time=plan.usual_change_time, tz=patient.tz,
                       last_changed_at=last.get(patient.pk), now=now,
                       schedule_from=plan.bag_schedule_from)
        if due is None or due > now:
            continue
        # The finding says the due time on the patient's clock.
        finding = bag_change_overdue(due.astimezone(patient.tz), now,
                                     ruleset_for_patient(patient))
        if finding is not None:
            found.append((patient, due, finding, last.get(patient.pk)))
    return found


def _rows(overdue: list[tuple[Patient, datetime, Finding, datetime | None]]
          ) -> dict[tuple[int, datetime], BagChangeOverdue]:
    ids = [patient.pk for patient, *_ in overdue]
    dues = {due for _, due, *_ in overdue}
    return {(row.patient_id, row.due_at): row for row in BagChangeOverdue.objects.filter(
        patient_id__in=ids, due_at__in=dues)}


def _wanted(row: BagChangeOverdue, severity: str) -> bool:
    if row.done_at is not None or row.red_at is not None:
        return False
    return severity == "red" or row.amber_at is None


def bag_change_overdue_sweep(*, now: datetime) -> int:
    """Raise every bag change overdue that has reached a new level; returns the number of
    levels raised (each one alert_raise and one notice to the family). An error for one
    patient is logged and the others go on."""
    overdue = _overdue(now)
    if not overdue:
        return 0
    rows = _rows(overdue)
    new = [BagChangeOverdue(patient=patient, due_at=due) for patient, due, *_ in overdue
           if (patient.pk, due) not in rows]
    if new:
        BagChangeOverdue.objects.bulk_create(new, ignore_conflicts=True)
        rows = _rows(overdue)
    raised = 0
    for patient, due, finding, last_seen in overdue:
        row = rows.get((patient.pk, due))
        if row is None or not _wanted(row, finding.severity):
            continue
        try:
            raised += _raise(row, patient, finding, last_seen, now)
        except Exception:  # one patient's failure must not stop the others' alerts
            log.exception("bag change overdue for patient %s failed", patient.pk)
    return raised


def _raise(row: BagChangeOverdue, patient: Patient, finding: Finding,
           last_seen: datetime | None, now: datetime) -> int:
    level = finding.severity
    with transaction.atomic():
        # Patient row first, as bag_change_record does: then the claim below sees any bag
        # change recorded meanwhile (its receiver marked the row done), and never deadlocks.
        list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk"))
        if last_bag_changes([patient.pk], now).get(patient.pk) != last_seen:
            return 0  # a change was recorded (or cancelled) since: the next sweep decides
        claim = BagChangeOverdue.objects.filter(pk=row.pk, done_at__isnull=True,
                                                red_at__isnull=True)
        if level == "red":
            claimed = claim.update(red_at=now)
        else:
            claimed = claim.filter(amber_at__isnull=True).update(amber_at=now)
        if not claimed:
            return 0  # another sweep took this level
        alert = alert_raise(patient=patient, severity=level, findings=[finding],
                            rules_version=RULES_VERSION, now=now)
        BagChangeOverdue.objects.filter(pk=row.pk).update(alert=alert)
        deliveries_enqueue_on_commit(_family_notice(patient, row.due_at, level, now))
    log.info("bag change due %s for patient %s overdue: %s", row.due_at, patient.pk, level)
    return 1


def _family_notice(patient: Patient, due_at: datetime, level: str, now: datetime) -> list[int]:
    """Email to the patient's own login and to each caregiver who logs for them (as the
    missed-check-in reminder): at amber a reminder to record the change, at red to call the
    24-hour line (alerts.messages). Returns the ids of new rows."""
    recipients = []
    if patient.user_id is not None:
        user = patient.user
        if user.is_active:
            recipients.append((To.PATIENT, user))
    links = (CaregiverLink.objects.active(now)
             .filter(patient=patient, may_log=True, caregiver__is_active=True)
             .select_related("caregiver"))
    recipients += [(To.CAREGIVER, link.caregiver) for link in links]
    step = bag_notice_step(level, due_at)
    ids = []
    for role, user in recipients:
        address = user.email.lower()
        row = delivery_create(
            key=f"bag:{patient.pk}:{step.removeprefix(BAG_STEP_PREFIX)}:email:{address}",
            now=now, patient=patient, purpose=Purpose.REMINDER, step=step, role=role,
            channel=Channel.EMAIL, address=address, user=user, severity=level)
        if row is not None:
            ids.append(row.pk)
    return ids
