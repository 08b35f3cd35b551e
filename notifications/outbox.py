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
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import CareTeam
from notifications import hooks
from notifications.channels import ChannelError, channel_for
from notifications.dispatch import deliveries_enqueue_on_commit
from notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Purpose,
    RecipientRole,
)

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


def delivery_create(*, key: str, now: datetime, **fields: object) -> Delivery | None:
    """Create the row for `key` unless it exists. Returns it only if it is new."""
    row, created = Delivery.objects.get_or_create(
        key=key, defaults={"next_attempt_at": now, "created_at": now, **fields}
    )
    return row if created else None


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


class _LeaseKeeper:
    """Renews the sending worker's lease on its in-flight row every ALERT_LEASE_RENEW_SECONDS
    from a thread of its own (with its own database connection), for as long as the send
    lasts but never past ALERT_SEND_MAX_SECONDS (the longest a bounded send can take). A
    worker that dies stops renewing, and ALERT_LEASE_SECONDS later the sweep retries its
    row; a slow worker that is alive keeps its row, so it never causes a second copy.

    Not started inside a transaction (tests on the `db` fixture): the claim is not
    committed there, and a second connection would wait on its lock.
    """

    def __init__(self, delivery_id: int, token: uuid.UUID) -> None:
        self.delivery_id = delivery_id
        self.token = token
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _LeaseKeeper:
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"lease-{self.delivery_id}")
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=settings.ALERT_LEASE_RENEW_SECONDS)

    def _run(self) -> None:
        deadline = time.monotonic() + settings.ALERT_SEND_MAX_SECONDS
        try:
            while not self._stop.wait(settings.ALERT_LEASE_RENEW_SECONDS):
                if time.monotonic() > deadline:
                    log.warning("delivery %s: send still running after %s s; lease no longer "
                                "renewed", self.delivery_id, settings.ALERT_SEND_MAX_SECONDS)
                    return
                try:
                    Delivery.objects.filter(
                        pk=self.delivery_id, claim_token=self.token,
                        state=DeliveryState.IN_FLIGHT,
                    ).update(lease_until=timezone.now()
                             + timedelta(seconds=settings.ALERT_LEASE_SECONDS))
                except DatabaseError:
                    # A dropped connection: the next renewal opens a new one.
                    log.warning("delivery %s: lease renewal failed", self.delivery_id,
                                exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> SendOutcome:
    """Claim the row, send it on its channel, record what happened. Safe to call twice.

    The claim takes a lease (ALERT_LEASE_SECONDS) that a thread renews while the send runs.
    Returns a SendOutcome: "skipped" when the row was not due or someone else holds it.
    """
    now = now or timezone.now()
    token = uuid.uuid4()
    claimed = Delivery.objects.filter(
        pk=delivery_id,
        state__in=[DeliveryState.PENDING, DeliveryState.RETRY],
        next_attempt_at__lte=now + EARLY_MARGIN,
    ).update(state=DeliveryState.IN_FLIGHT, claimed_at=now, claim_token=token,
             lease_until=now + timedelta(seconds=settings.ALERT_LEASE_SECONDS),
             attempts=F("attempts") + 1)
    if not claimed:
        return SendOutcome(state="skipped")
    delivery = Delivery.objects.select_related(
        "alert", "patient__care_team", "user", "fallback_for"
    ).get(pk=delivery_id)
    # A row that waited may have lost its reason (for an alert: acknowledged or resolved,
    # caregiver link revoked, check-in made): then it is cancelled, not sent. The sender
    # knows; it is asked through its registered hook.
    if delivery_cancel_if_reason_gone(delivery=delivery, token=token, now=now):
        return SendOutcome(state=DeliveryState.CANCELLED)
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, started_at=now, worker=WORKER_NAME
    )
    try:
        with _LeaseKeeper(delivery_id, token):
            channel_for(delivery.channel).send(hooks.handler_for(delivery).message(delivery),
                                              delivery.address)
    except ChannelError as exc:
        return _recorded(_record_failure, delivery, token, attempt, str(exc),
                         retryable=exc.retryable, ambiguous=exc.ambiguous)
    except Exception as exc:  # a bug, not the channel: keep the row moving, and say so loudly
        log.exception("delivery %s raised", delivery_id)
        return _recorded(_record_failure, delivery, token, attempt,
                         f"{type(exc).__name__}: {exc}", retryable=True, ambiguous=False)
    return _recorded(_record_sent, delivery, token, attempt)


def _recorded(record, *args: object, **kwargs: object) -> SendOutcome:
    """Write an outcome, riding out a database connection dropped since the claim (up to
    three tries on a new connection): an outcome not written would have the row retried,
    and for a message that went, that is a second copy (same Message-ID, but still)."""
    for attempt in range(3):
        try:
            return record(*args, **kwargs)
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or attempt == 2:
                raise
            log.warning("recording a delivery outcome failed; reconnecting", exc_info=True)
            connection.close()
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _record_sent(delivery: Delivery, token: uuid.UUID, attempt: DeliveryAttempt) -> SendOutcome:
    done = timezone.now()
    with transaction.atomic():
        # Ours, or put back for retry by the stuck sweep but not yet claimed again: either
        # way it has now been sent, and marking it so stops a second copy.
        updated = Delivery.objects.filter(pk=delivery.pk).filter(
            Q(claim_token=token)
            | Q(state__in=[DeliveryState.PENDING, DeliveryState.RETRY])
        ).update(state=DeliveryState.SENT, sent_at=done, last_error="", lease_until=None)
        _finish_attempt(attempt, DeliveryAttempt.Result.SENT, "", done)
    if not updated:
        log.warning("delivery %s was sent after its claim was taken over; a second copy may "
                    "have gone (with the same Message-ID)", delivery.pk)
    return SendOutcome(state=DeliveryState.SENT)


def retry_window_open(delivery: Delivery, now: datetime) -> bool:
    """Whether a row that failed for a reason time can cure may be tried again: fewer than
    ALERT_MAX_ATTEMPTS attempts and younger than ALERT_RETRY_FOR_SECONDS (a realistic mail
    outage: hours, with the back-off capped at ALERT_RETRY_MAX_SECONDS)."""
    return (delivery.attempts < settings.ALERT_MAX_ATTEMPTS
            and now - delivery.created_at
            < timedelta(seconds=settings.ALERT_RETRY_FOR_SECONDS))


def _early_fallback_due(delivery: Delivery) -> bool:
    # A red message does not wait hours for its fallback: after this many failed attempts
    # the SMS (or queue) fallback goes, while the email keeps trying.
    return (delivery.severity == "red" and delivery.purpose != Purpose.FALLBACK
            and delivery.attempts >= settings.ALERT_RED_FALLBACK_AFTER_ATTEMPTS)


def _record_failure(
    delivery: Delivery, token: uuid.UUID, attempt: DeliveryAttempt, error: str, *,
    retryable: bool, ambiguous: bool,
) -> SendOutcome:
    done = timezone.now()
    error = error[:2000]
    unconfirmed = delivery.unconfirmed_attempts + (1 if ambiguous else 0)
    with transaction.atomic():
        mine = Delivery.objects.filter(pk=delivery.pk, claim_token=token,
                                       state=DeliveryState.IN_FLIGHT)
        if unconfirmed > 1:
            # The second unknown outcome: the server probably has it, twice. A third copy
            # would only add noise; the fallback makes sure someone is told.
            retryable = False
            error = f"outcome unknown twice, not sent again: {error}"[:2000]
        if retryable and retry_window_open(delivery, done):
            wait = backoff_seconds(delivery.attempts)
            if not mine.update(state=DeliveryState.RETRY, last_error=error,
                               unconfirmed_attempts=unconfirmed, lease_until=None,
                               next_attempt_at=done + timedelta(seconds=wait)):
                return SendOutcome(state="skipped")
            _finish_attempt(attempt, DeliveryAttempt.Result.RETRY, error, done)
            follow_up = (delivery_fallback(delivery=delivery, now=done)
                         if _early_fallback_due(delivery) else [])
            log.info("delivery %s failed (%s); retry in %.1f s", delivery.pk, error, wait)
            return SendOutcome(state=DeliveryState.RETRY, retry_in=wait, follow_up=follow_up)
        if not mine.update(state=DeliveryState.FAILED, failed_at=done, last_error=error,
                           unconfirmed_attempts=unconfirmed, lease_until=None,
                           permanent_failure=not retryable):
            return SendOutcome(state="skipped")
        _finish_attempt(attempt, DeliveryAttempt.Result.FAILED, error, done)
        follow_up = delivery_fallback(delivery=delivery, now=done)
    log.error("delivery %s failed after %s attempts: %s", delivery.pk, delivery.attempts, error)
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
          and delivery.role in _TEAM_CONTACTS and not phone
          and (instead := hooks.handler_for(delivery).fallback_unreachable(
              delivery, now=now)) is not None):
        # The sender decides (an alert: a failure everyone sees, not a queue row "sent").
        return instead
    elif delivery.channel != Channel.QUEUE:
        channel, address, role = Channel.QUEUE, "", RecipientRole.NURSES
    else:
        return []
    row = delivery_create(
        key=f"fallback:{delivery.pk}:{channel}:{address or role}", now=now,
        alert_id=delivery.alert_id, patient=delivery.patient, purpose=Purpose.FALLBACK,
        step=f"fallback for #{delivery.pk}", role=role, channel=channel, address=address,
        severity=delivery.severity, user=delivery.user, fallback_for=delivery,
    )
    ids = [row.pk] if row is not None else []
    deliveries_enqueue_on_commit(ids)
    return ids


def delivery_cancel_if_reason_gone(*, delivery: Delivery, token: uuid.UUID,
                                   now: datetime) -> bool:
    """Called by delivery_send once it holds the claim (`token`): if the sender says the
    row's reason is gone (notifications.hooks), record it cancelled (not an attempt: the
    claim's count is given back) and return True; the caller then sends nothing. False:
    send it."""
    reason = hooks.handler_for(delivery).reason_gone(delivery, now=now)
    if reason is None:
        return False
    Delivery.objects.filter(pk=delivery.pk, claim_token=token,
                            state=DeliveryState.IN_FLIGHT).update(
        state=DeliveryState.CANCELLED, cancelled_at=now, cancel_reason=reason[:200],
        attempts=F("attempts") - 1,
    )
    return True
