"""Handing delivery rows to the broker: after commit, never blocking, never raising.

A task is published only once the rows it names are committed (a worker must find them),
and a broker that is down or hung costs the caller at most the publish timeout: the row
stays pending and the sweep sends it later. The broker-less sweep command switches
publishing off (`broker_bypassed`) and sends rows itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from celery import current_app
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

DELIVER_TASK = "alerts.deliver"

_bypass: ContextVar[bool] = ContextVar("alerts_broker_bypassed", default=False)


@contextmanager
def broker_bypassed() -> Iterator[None]:
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)


def queue_for(*, severity: str, purpose: str) -> str:
    """The Celery queue of a delivery: red ones (notices, escalations and fallbacks of a red
    alert) on their own queue, which a worker of its own serves first; reminders on theirs;
    everything else (amber) on the deliveries queue."""
    if severity == "red":
        return settings.ALERT_QUEUE_RED
    if purpose == "reminder":
        return settings.ALERT_QUEUE_REMINDERS
    return settings.ALERT_QUEUE_DELIVERIES


def _queues(ids: list[int]) -> dict[int, str]:
    from notifications.models import Delivery

    try:
        rows = Delivery.objects.filter(pk__in=ids).values_list("pk", "severity", "purpose")
        return {pk: queue_for(severity=severity, purpose=purpose)
                for pk, severity, purpose in rows}
    except Exception:  # the database failed just now: the default queue still delivers
        log.warning("could not read the deliveries' severities; default queue",
                    exc_info=True)
        return {}


def deliveries_enqueue(ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Publish one send task per id now, red ones first and on the red queue (one query to
    learn which). Returns how many were published; never raises (a broker fault leaves the
    rows for the sweep)."""
    if _bypass.get():
        return 0
    ids = list(ids)
    if not ids:
        return 0
    queues = _queues(ids)
    red = settings.ALERT_QUEUE_RED
    ordered = sorted(ids, key=lambda pk: queues.get(pk) != red)  # stable: red first
    published = 0
    for delivery_id in ordered:
        try:
            # By the task's name (notifications.tasks.delivery_send_task), which queued
            # messages in a live broker carry: this module need not import the tasks.
            current_app.send_task(
                DELIVER_TASK, (delivery_id,), countdown=countdown, retry=True,
                queue=queues.get(delivery_id, settings.ALERT_QUEUE_DELIVERIES),
                retry_policy=settings.ALERT_PUBLISH_RETRY_POLICY,
            )
        except Exception:  # any broker fault: the row waits for the sweep
            log.warning("could not publish delivery %s; the sweep will send it",
                        delivery_id, exc_info=True)
            # The broker is unreachable: trying the next id would only wait again.
            break
        published += 1
    return published


def deliveries_enqueue_on_commit(ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        transaction.on_commit(lambda: deliveries_enqueue(ids))
