"""Alerts to the care team, and the delivery rows that carry them (the outbox).

An `Alert` is the care team's view of a patient who needs attention: one open (or
acknowledged) alert per patient, its severity only ever rising while it is open. Every
message the portal sends for it is first a `Delivery` row, written in the same transaction
as the check-in; a Celery task then sends it. The row, not the task, is the source of truth:
a lost task, a dead worker or a broker outage leaves the row waiting for the sweep, and a
row that was sent is never sent again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from accounts.models import Patient
from symptoms.models import CheckIn, Severity

__all__ = [
    "UNDELIVERED", "Alert", "AlertCheckIn", "AlertState", "Channel", "Delivery",
    "DeliveryAttempt", "DeliveryState", "Heartbeat", "MissedCheckIn", "Outcome", "Purpose",
    "RecipientRole",
]


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
    history = HistoricalRecords(excluded_fields=["escalation_level", "escalation_round",
                                                 "escalation_from", "last_notice_at",
                                                 "escalation_due_at"])

    class Meta:
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

    def __str__(self) -> str:
        return f"{self.check_in} on alert {self.alert_id}"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    QUEUE = "queue", "Nurse queue"
    # A step for a role the team has no contact for: recorded failed at once, never sent,
    # so the gap shows on the queue, in /healthz and on the team settings page.
    NONE = "none", "Nobody (no contact set)"


class RecipientRole(models.TextChoices):
    DUTY = "duty", "Nurse on duty"
    ESCALATION = "escalation", "Escalation contact"
    DOCTOR = "doctor", "On-call doctor"
    NURSES = "nurses", "Nurses (queue)"
    PATIENT = "patient", "Patient"
    CAREGIVER = "caregiver", "Caregiver"


class Purpose(models.TextChoices):
    NOTICE = "notice", "Notice"
    ESCALATION = "escalation", "Escalation"
    FALLBACK = "fallback", "Fallback"
    REMINDER = "reminder", "Check-in reminder"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    SENT = "sent", "Sent"
    RETRY = "retry", "Waiting to retry"
    FAILED = "failed", "Failed"
    # Its reason was gone when it came to be sent (alert acknowledged or resolved, caregiver
    # link ended, check-in made): not sent, and recorded why (`cancel_reason`).
    CANCELLED = "cancelled", "Cancelled"


UNDELIVERED = (DeliveryState.PENDING, DeliveryState.IN_FLIGHT, DeliveryState.RETRY)


class Delivery(models.Model):
    """One message to one recipient on one channel for one step. Sent at most once.

    pending -> in_flight (claimed by one worker) -> sent
                         -> retry (transient failure; next_attempt_at) -> in_flight ...
                         -> failed (permanent, or out of attempts; a fallback row follows)
            (pending/retry/in_flight) -> cancelled (its reason is gone: symptoms.alerting.reasons)
    A row stuck in flight (its worker died) is put back to retry by the sweep. A row for a
    role with no contact is created failed on channel "none".
    """

    # The same step to the same address is one row: creating it twice is a no-op.
    key = models.CharField(max_length=255, unique=True)
    alert = models.ForeignKey(
        Alert, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    step = models.CharField(max_length=40, help_text="e.g. notice 2, escalation 1.2")
    role = models.CharField(max_length=12, choices=RecipientRole.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    address = models.CharField(max_length=254, blank=True)
    # The patient's or caregiver's account for reminders (their phone is the fallback).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    # The alert's severity when the row was made: the message says what was true then.
    severity = models.CharField(max_length=5, blank=True)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    # The sending worker's lease on an in-flight row, renewed every few seconds while it is
    # alive (deliveries._LeaseKeeper). Past it, the worker is dead and the sweep retries.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Attempts whose outcome is unknown (no answer after the whole body, worker lost in
    # flight): the message may have arrived. One such retry is allowed, never a second.
    unconfirmed_attempts = models.PositiveSmallIntegerField(default=0)
    # Failed for a reason time cannot cure (5xx, bad credentials, outcome unknown twice):
    # never revived when the channel comes back.
    permanent_failure = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    fallback_for = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="fallback"
    )

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # The sweep and /healthz read undelivered rows by state and due time.
            models.Index(fields=["state", "next_attempt_at"], name="delivery_state_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in DeliveryState]),
                name="delivery_state_known",
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False),
                name="delivery_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state="in_flight") | Q(claimed_at__isnull=False),
                name="delivery_in_flight_is_claimed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step} {self.channel} to {self.get_role_display()} ({self.state})"


class DeliveryAttempt(models.Model):
    """Each try at sending a delivery, with its time and outcome: the audit trail."""

    class Result(models.TextChoices):
        SENT = "sent", "Sent"
        RETRY = "retry", "Failed, will retry"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted (worker stopped)"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=12, choices=Result.choices, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [
            # /healthz reads each channel's latest success and failure.
            models.Index(fields=["finished_at"], name="delivery_attempt_finished"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.result or '...'}"


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
        constraints = [
            models.UniqueConstraint(fields=["patient", "day"], name="missed_check_in_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.patient} missed {self.day}"


class Heartbeat(models.Model):
    """When a periodic job last ran ("beat": the sweep task; "sweep-command": the command)."""

    name = models.CharField(max_length=40, unique=True)
    last_run_at = models.DateTimeField()
    summary = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"
