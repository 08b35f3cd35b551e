"""The outbox's own sweep steps: rows whose worker died, rows whose task never came, and
the heartbeat every periodic run leaves. Called by the alerts sweep (alerts.sweeps) and the
`alerts_sweep` command; each is idempotent and bounded (BATCH rows a run).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Q, When

from notifications.models import Delivery, DeliveryAttempt, DeliveryState, Heartbeat
from notifications.outbox import delivery_fallback, retry_window_open

log = logging.getLogger(__name__)

BATCH = 500


def deliveries_unstick(*, now: datetime) -> list[int]:
    """Rows in flight whose lease has lapsed (their worker died or hung past its time
    limit; a living worker renews it) go back to retry now, red ones first. The lost attempt
    counts as an unknown outcome (the message may have gone): a row's second unknown outcome
    fails it instead, with its fallback, and so does a row out of attempts. Rows claimed
    before leases existed fall back to ALERT_STUCK_SECONDS. Returns the retried ids."""
    legacy = now - timedelta(seconds=settings.ALERT_STUCK_SECONDS)
    stuck = Delivery.objects.filter(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, claimed_at__lt=legacy),
        state=DeliveryState.IN_FLIGHT,
    )
    retried: list[int] = []
    rows = stuck.select_related("patient__care_team", "user", "alert").order_by(
        Case(When(severity="red", then=0), default=1), "claimed_at")[:BATCH]
    for row in rows:
        error = (f"worker stopped during attempt {row.attempts} "
                 f"(in flight since {row.claimed_at:%H:%M:%S} UTC)")
        with transaction.atomic():
            # Conditional on the claim we saw: a worker that finishes meanwhile wins.
            mine = Delivery.objects.filter(pk=row.pk, state=DeliveryState.IN_FLIGHT,
                                           claim_token=row.claim_token)
            unconfirmed = row.unconfirmed_attempts + 1
            give_up = unconfirmed > 1 or not retry_window_open(row, now)
            if unconfirmed > 1:
                error = f"outcome unknown twice, not sent again: {error}"
            if give_up and mine.update(state=DeliveryState.FAILED, failed_at=now,
                                       last_error=error, lease_until=None,
                                       unconfirmed_attempts=unconfirmed,
                                       permanent_failure=unconfirmed > 1):
                delivery_fallback(delivery=row, now=now)
            elif not give_up and mine.update(state=DeliveryState.RETRY, next_attempt_at=now,
                                             last_error=error, lease_until=None,
                                             unconfirmed_attempts=unconfirmed):
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
        ).order_by(Case(When(severity="red", then=0), default=1), "next_attempt_at")
        .values_list("pk", flat=True)[:BATCH]
    )


def heartbeat_record(*, name: str, now: datetime, summary: dict[str, int]) -> None:
    """Record that the periodic job `name` ran at `now` (UTC) with `summary` (counts)."""
    Heartbeat.objects.update_or_create(name=name,
                                       defaults={"last_run_at": now, "summary": summary})
