"""Alerts to the care team: the team's view of a patient who needs attention, the check-ins
folded into it, and missed check-in days.

One open (or acknowledged) alert per patient, its severity only ever rising while it is
open. The messages it causes are rows of the delivery outbox (notifications.models.Delivery).
The tables kept the names they had in the symptoms app (`symptoms_alert`, ...): the models
moved, the data did not (migrations alerts/0001 and symptoms/0006).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from accounts.models import Patient
from symptoms.models import CheckIn, Severity
from treatment.models import BagChange

__all__ = ["Alert", "AlertCheckIn", "AlertState", "BagChangeOverdue", "MissedCheckIn", "Outcome"]


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Outcome(models.TextChoices):
    ADVICE_GIVEN = "advice_given", "Advice given"
    PATIENT_ATTENDING = "patient_attending", "Patient attending"
    ADMITTED = "admitted", "Admitted"
    NO_ACTION = "no_action", "No action needed"


class Alert(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="alerts")
    severity = models.CharField(max_length=5, choices=Severity.choices)
    emergency = models.BooleanField(default=False)
    # Every rule code that fired in this alert, in the order first seen; `red_rules` decides
    # whether a later check-in brings something new enough to page again.
    rules = models.JSONField(default=list, blank=True)
    red_rules = models.JSONField(default=list, blank=True)
    rules_version = models.CharField(max_length=16)
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.OPEN)
    opened_at = models.DateTimeField()
    # How many times the team has been paged for it (1 when opened, +1 per rise).
    notices = models.PositiveSmallIntegerField(default=1)
    last_notice_at = models.DateTimeField()
    # Escalation counts from `escalation_from` (opening, a rise, or a page after an
    # acknowledgement). `escalation_round` numbers these periods; `escalation_level` is the
    # last step taken in the current one, claimed with a conditional update.
    escalation_from = models.DateTimeField()
    escalation_round = models.PositiveSmallIntegerField(default=1)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    # When the next escalation step is due (UTC); null when none is: acknowledged, resolved,
    # or past its last step. The sweep reads only alerts due now, through a partial index,
    # so alerts that have run out of steps never crowd out a new one (issue 10, kind 2).
    escalation_due_at = models.DateTimeField(null=True, blank=True)
    # What a nurse has seen: +1 whenever the alert's content changes (a check-in attached,
    # a rise, a new finding). Acknowledge and resolve forms carry it; a stale one is refused.
    version = models.PositiveIntegerField(default=1)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(max_length=2000, blank=True)
    check_ins = models.ManyToManyField(CheckIn, through="AlertCheckIn", related_name="alerts")

    # Opening and acknowledging/resolving; escalation bookkeeping is in the deliveries.
    history = HistoricalRecords(table_name="symptoms_historicalalert",
                                excluded_fields=["escalation_level", "escalation_round",
                                                 "escalation_from", "last_notice_at",
                                                 "escalation_due_at"])

    class Meta:
        db_table = "symptoms_alert"
        indexes = [
            # The escalation sweep reads only alerts with a step due, soonest first.
            models.Index(fields=["escalation_due_at"], name="alert_escalation_due",
                         condition=Q(escalation_due_at__isnull=False)),
            # The nurse queue: open alerts, red first, oldest first. Partial, so resolved
            # alerts (nearly all of them, after months) cost nothing.
            models.Index(fields=["severity", "opened_at"], name="alert_open_queue",
                         condition=~Q(state="resolved")),
        ]
        constraints = [
            # One open alert per patient: later check-ins attach to it. The service also
            # locks the patient row; this is the backstop if anything ever races past it.
            models.UniqueConstraint(
                fields=["patient"], condition=~Q(state="resolved"),
                name="alert_one_open_per_patient",
            ),
            models.CheckConstraint(
                condition=Q(severity__in=["amber", "red"]), name="alert_severity_amber_or_red"
            ),
            models.CheckConstraint(
                condition=~Q(state="resolved")
                | Q(resolved_at__isnull=False, resolved_by__isnull=False) & ~Q(outcome=""),
                name="alert_resolved_has_who_when_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(state="acknowledged")
                | Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False),
                name="alert_acknowledged_has_who_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity} alert for {self.patient} ({self.state})"

    @property
    def is_closed(self) -> bool:
        return self.state == AlertState.RESOLVED


class AlertCheckIn(models.Model):
    """A check-in attached to an alert; `paged` when it made the team be notified."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="attachments")
    check_in = models.OneToOneField(CheckIn, on_delete=models.PROTECT, related_name="+")
    attached_at = models.DateTimeField()
    paged = models.BooleanField(default=False)
    # The alert's version once this check-in was folded in: "what changed since version n"
    # is every attachment with a higher one.
    alert_version = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "symptoms_alertcheckin"

    def __str__(self) -> str:
        return f"{self.check_in} on alert {self.alert_id}"


class MissedCheckIn(models.Model):
    """A day (in the patient's time zone) on infusion without a check-in by the cut-off.

    One row per patient and day makes the reminder and the team's alert happen once, however
    many sweeps run.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="missed_days")
    day = models.DateField()
    cutoff_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "symptoms_missedcheckin"
        constraints = [
            models.UniqueConstraint(fields=["patient", "day"], name="missed_check_in_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.patient} missed {self.day}"


class BagChangeOverdue(models.Model):
    """A bag change due at `due_at` (UTC) that was not recorded in time (clinical-rules.md,
    `bag_change_overdue`: amber 1 h after it was due, red 3 h after, team settings).

    One row per patient and due time makes each level fire once, however many sweeps run
    (alerts/bag_sweeps.py claims `amber_at` / `red_at` with a conditional update). Recording
    a bag change sets `done_at` and `bag_change` (no further rises); cancelling that record
    clears them again. The alert stays open for a nurse to resolve.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="bag_overdue")
    due_at = models.DateTimeField()
    amber_at = models.DateTimeField(null=True, blank=True)
    red_at = models.DateTimeField(null=True, blank=True)
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="bag_overdue_rows"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    bag_change = models.ForeignKey(BagChange, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "due_at"], name="bag_overdue_per_due"),
        ]

    def __str__(self) -> str:
        return f"{self.patient} bag change due {self.due_at:%Y-%m-%d %H:%M} UTC"
