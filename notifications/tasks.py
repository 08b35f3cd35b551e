"""The outbox's Celery task: a thin wrapper that takes a row id and sends it.

Each task is idempotent (the delivery row is claimed before anything is sent), acknowledged
late and rejected back to the broker if its worker dies, so a message is never dropped by a
crash; a message that is lost anyway leaves its row for the sweep. Every task is bounded in
time (settings.CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT, and the sweeps' own).
Queues: deliveries go to the queue of their severity (dispatch.queue_for); the sweeps to
alerts.sweeps (settings.CELERY_TASK_ROUTES).
"""

from __future__ import annotations

from celery import shared_task

from notifications.dispatch import deliveries_enqueue
from notifications.models import DeliveryState
from notifications.outbox import delivery_send


@shared_task(name="alerts.deliver", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def delivery_send_task(delivery_id: int) -> str:
    outcome = delivery_send(delivery_id=delivery_id)
    if outcome.state == DeliveryState.RETRY and outcome.retry_in is not None:
        # The row says when; this message is only the nudge. If publishing fails the sweep
        # picks the row up once it is due.
        deliveries_enqueue([delivery_id], countdown=outcome.retry_in)
    return outcome.state
