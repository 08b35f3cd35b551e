"""Delivery rows: who gets which message, and sending one row exactly once.

Rows are created inside the caller's transaction (the check-in's, the sweep's) with a key
that makes the same step to the same address one row however often it is asked for. Sending
claims the row with a conditional UPDATE, so of two workers holding the same task only one
sends; the outcome is written back only by the claim that sent it.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import CareTeam, Patient, User
from symptoms.alerting.channels import ChannelError, channel_for
from symptoms.alerting.dispatch import deliveries_enqueue_on_commit
from symptoms.alerting.messages import message_for
from symptoms.alerting.models import (
    Alert,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Purpose,
    RecipientRole,
)
from symptoms.alerting.reasons import delivery_cancel_if_reason_gone
from symptoms.alerting.undeliverable import undeliverable_step

log = logging.getLogger(__name__)

WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"
# A task may arrive a moment before its row's retry time (timers, clock granularity);
# within this margin it is on time.
EARLY_MARGIN = timedelta(seconds=1)

_TEAM_CONTACTS = {
    RecipientRole.DUTY: ("duty_email", "duty_phone"),
    RecipientRole.ESCALATION: ("escalation_email", "escalation_phone"),
    RecipientRole.DOCTOR: ("on_call_doctor_email", "on_call_doctor_phone"),
}


def team_contacts(team: CareTeam, role: str) -> tuple[str, str]:
    """(email, phone) of a team role; either may be empty."""
    email_field, phone_field = _TEAM_CONTACTS[role]
    return getattr(team, email_field).strip().lower(), getattr(team, phone_field).strip()


def _row(*, key: str, now: datetime, **fields: object) -> Delivery | None:
    """Create the row for `key` unless it exists. Returns it only if it is new."""
    row, created = Delivery.objects.get_or_create(
        key=key, defaults={"next_attempt_at": now, "created_at": now, **fields}
    )
    return row if created else None


def deliveries_for_alert(
    *, alert: Alert, purpose: str, step: str, roles: list[str], now: datetime
) -> list[int]:
    """The rows for one step of an alert to these team roles; ids of the new ones.

    Each role gets email, and SMS too for the severities that page by SMS. A role with no
    contact at all is a failure, not a message to nobody: a row on channel "none", failed at
    once (symptoms.alerting.undeliverable), which the queue, /healthz and team settings show.
    """
    team = alert.patient.care_team
    created: list[Delivery | None] = []
    for role in roles:
        email, phone = team_contacts(team, role)
        targets = []
        if email:
            targets.append((Channel.EMAIL, email))
        if phone and alert.severity in settings.ALERT_SMS_SEVERITIES:
            targets.append((Channel.SMS, phone))
        if not targets:
            created.append(undeliverable_step(alert=alert, purpose=purpose, step=step,
                                              role=role, now=now))
            continue
        for channel, address in targets:
            created.append(_row(
                key=f"alert:{alert.pk}:{purpose}:{step}:{channel}:{address or role}",
                now=now, alert=alert, patient=alert.patient, purpose=purpose, step=step,
                role=role if channel != Channel.QUEUE else RecipientRole.NURSES,
                channel=channel, address=address, severity=alert.severity,
            ))
    return [row.pk for row in created if row is not None]


def deliveries_for_reminder(
    *, patient: Patient, day: str, recipients: list[tuple[str, User]], now: datetime
) -> list[int]:
    """Reminder rows for a missed check-in: email to each recipient (patient, caregivers)."""
    ids = []
    for role, user in recipients:
        row = _row(
            key=f"reminder:{patient.pk}:{day}:email:{user.email.lower()}", now=now,
            patient=patient, purpose=Purpose.REMINDER, step=f"reminder {day}", role=role,
            channel=Channel.EMAIL, address=user.email.lower(), user=user,
        )
        if row is not None:
            ids.append(row.pk)
    return ids


@dataclass
class SendOutcome:
    state: str  # the row's state after this call, or "skipped" if another claim had it
    retry_in: float | None = None
    follow_up: list[int] = field(default_factory=list)


def backoff_seconds(attempts: int) -> float:
    """Exponential back-off with jitter: the wait after the n-th failed attempt."""
    ceiling = min(settings.ALERT_RETRY_MAX_SECONDS,
                  settings.ALERT_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    # "Equal jitter": at least half the back-off, so retries never bunch up at zero.
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - not for secrets


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> SendOutcome:
    """Claim the row, send it on its channel, record what happened. Safe to call twice."""
    now = now or timezone.now()
    token = uuid.uuid4()
    claimed = Delivery.objects.filter(
        pk=delivery_id,
        state__in=[DeliveryState.PENDING, DeliveryState.RETRY],
        next_attempt_at__lte=now + EARLY_MARGIN,
    ).update(state=DeliveryState.IN_FLIGHT, claimed_at=now, claim_token=token,
             attempts=F("attempts") + 1)
    if not claimed:
        return SendOutcome(state="skipped")
    delivery = Delivery.objects.select_related(
        "alert", "patient__care_team", "user", "fallback_for"
    ).get(pk=delivery_id)
    # Alert lifecycle: a row that waited may have lost its reason (alert acknowledged or
    # resolved, caregiver link revoked, check-in made): then it is cancelled, not sent.
    if delivery_cancel_if_reason_gone(delivery=delivery, token=token, now=now):
        return SendOutcome(state=DeliveryState.CANCELLED)
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, started_at=now, worker=WORKER_NAME
    )
    try:
        channel_for(delivery.channel).send(message_for(delivery), delivery.address)
    except ChannelError as exc:
        return _record_failure(delivery, token, attempt, str(exc), retryable=exc.retryable)
    except Exception as exc:  # a bug, not the channel: keep the row moving, and say so loudly
        log.exception("delivery %s raised", delivery_id)
        return _record_failure(delivery, token, attempt, f"{type(exc).__name__}: {exc}",
                               retryable=True)
    return _record_sent(delivery, token, attempt)


def _record_sent(delivery: Delivery, token: uuid.UUID, attempt: DeliveryAttempt) -> SendOutcome:
    done = timezone.now()
    with transaction.atomic():
        # Ours, or put back for retry by the stuck sweep but not yet claimed again: either
        # way it has now been sent, and marking it so stops a second copy.
        updated = Delivery.objects.filter(pk=delivery.pk).filter(
            Q(claim_token=token)
            | Q(state__in=[DeliveryState.PENDING, DeliveryState.RETRY])
        ).update(state=DeliveryState.SENT, sent_at=done, last_error="")
        _finish_attempt(attempt, DeliveryAttempt.Result.SENT, "", done)
    if not updated:
        log.warning("delivery %s was sent after its claim was taken over; a second copy may "
                    "have gone", delivery.pk)
    return SendOutcome(state=DeliveryState.SENT)


def _record_failure(
    delivery: Delivery, token: uuid.UUID, attempt: DeliveryAttempt, error: str, *,
    retryable: bool,
) -> SendOutcome:
    done = timezone.now()
    error = error[:2000]
    with transaction.atomic():
        mine = Delivery.objects.filter(pk=delivery.pk, claim_token=token,
                                       state=DeliveryState.IN_FLIGHT)
        if retryable and delivery.attempts < settings.ALERT_MAX_ATTEMPTS:
            wait = backoff_seconds(delivery.attempts)
            if not mine.update(state=DeliveryState.RETRY, last_error=error,
                               next_attempt_at=done + timedelta(seconds=wait)):
                return SendOutcome(state="skipped")
            _finish_attempt(attempt, DeliveryAttempt.Result.RETRY, error, done)
            log.info("delivery %s failed (%s); retry in %.1f s", delivery.pk, error, wait)
            return SendOutcome(state=DeliveryState.RETRY, retry_in=wait)
        if not mine.update(state=DeliveryState.FAILED, failed_at=done, last_error=error):
            return SendOutcome(state="skipped")
        _finish_attempt(attempt, DeliveryAttempt.Result.FAILED, error, done)
        follow_up = delivery_fallback(delivery=delivery, now=done)
    log.error("delivery %s failed for good after %s attempts: %s", delivery.pk,
              delivery.attempts, error)
    return SendOutcome(state=DeliveryState.FAILED, follow_up=follow_up)


def _finish_attempt(attempt: DeliveryAttempt, result: str, error: str, done: datetime) -> None:
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(result=result, error=error,
                                                         finished_at=done)


def _fallback_phone(delivery: Delivery) -> str:
    if delivery.user is not None:
        return delivery.user.phone.strip()
    if delivery.role in _TEAM_CONTACTS:
        team = delivery.patient.care_team
        return team_contacts(team, delivery.role)[1] or team.duty_phone.strip()
    return ""


def delivery_fallback(*, delivery: Delivery, now: datetime) -> list[int]:
    """A failed row's fallback: SMS to the same person if the team uses SMS as fallback and
    there is a phone, otherwise the nurse queue (which cannot fail). Enqueued on commit."""
    phone = _fallback_phone(delivery)
    if (settings.ALERT_FALLBACK_CHANNEL == Channel.SMS and delivery.channel != Channel.SMS
            and phone):
        channel, address, role = Channel.SMS, phone, delivery.role
    elif (settings.ALERT_FALLBACK_CHANNEL == Channel.SMS and delivery.channel != Channel.QUEUE
          and delivery.alert is not None and delivery.role in _TEAM_CONTACTS and not phone):
        # Alert-lifecycle (issue 10 kind 2): no phone to fall back to is a failure everyone
        # sees (queue, /healthz, team settings), not a queue row marked "sent".
        return undeliverable_step(
            alert=delivery.alert, purpose=Purpose.FALLBACK, step=f"fallback for #{delivery.pk}",
            role=delivery.role, now=now, fallback_for=delivery,
            why=(f"The {delivery.get_channel_display().lower()} failed and the team has no "
                 "phone to fall back to: only this page shows it. Add a duty phone in the "
                 "team settings.")) or []
    elif delivery.channel != Channel.QUEUE:
        channel, address, role = Channel.QUEUE, "", RecipientRole.NURSES
    else:
        return []
    row = _row(
        key=f"fallback:{delivery.pk}:{channel}:{address or role}", now=now,
        alert=delivery.alert, patient=delivery.patient, purpose=Purpose.FALLBACK,
        step=f"fallback for #{delivery.pk}", role=role, channel=channel, address=address,
        severity=delivery.severity, user=delivery.user, fallback_for=delivery,
    )
    ids = [row.pk] if row is not None else []
    deliveries_enqueue_on_commit(ids)
    return ids
