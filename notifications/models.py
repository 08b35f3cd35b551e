"""The delivery outbox: one row per message to one recipient on one channel, and each try.

Every message the portal sends is first a `Delivery` row, written in the same transaction
as what caused it; a Celery task then sends it. The row, not the task, is the source of
truth: a lost task, a dead worker or a broker outage leaves the row waiting for the sweep,
and a row that was sent is never sent again. Why a row is sent and what it says are asked
of the app that made it (notifications.hooks). Tables kept their names from the symptoms
app (migrations notifications/0001 and symptoms/0006).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Patient

__all__ = [
    "UNDELIVERED", "Channel", "Delivery", "DeliveryAttempt", "DeliveryState", "Heartbeat",
    "Purpose", "RecipientRole",
]


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
            (pending/retry/in_flight) -> cancelled (its reason is gone: notifications.hooks)
    A row stuck in flight (its worker died) is put back to retry by the sweep. A row for a
    role with no contact is created failed on channel "none".
    """

    # The same step to the same address is one row: creating it twice is a no-op.
    key = models.CharField(max_length=255, unique=True)
    # The alert a row speaks for (null for reminders). Declared by name: this app imports
    # nothing of alerts; the column and its constraint are as they were (issue 12).
    alert = models.ForeignKey(
        "alerts.Alert", on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
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
        db_table = "symptoms_delivery"
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
        db_table = "symptoms_deliveryattempt"
        ordering = ["delivery", "number"]
        indexes = [
            # /healthz reads each channel's latest success and failure.
            models.Index(fields=["finished_at"], name="delivery_attempt_finished"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.result or '...'}"


class Heartbeat(models.Model):
    """When a periodic job last ran ("beat": the sweep task; "sweep-command": the command)."""

    name = models.CharField(max_length=40, unique=True)
    last_run_at = models.DateTimeField()
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "symptoms_heartbeat"

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"
