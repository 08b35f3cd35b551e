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

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

_bypass: ContextVar[bool] = ContextVar("alerts_broker_bypassed", default=False)


@contextmanager
def broker_bypassed() -> Iterator[None]:
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)


def deliveries_enqueue(ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Publish one send task per id now. Returns how many were published."""
    if _bypass.get():
        return 0
    from symptoms.tasks import delivery_send_task

    published = 0
    for delivery_id in ids:
        try:
            delivery_send_task.apply_async(
                (delivery_id,), countdown=countdown, retry=True,
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
