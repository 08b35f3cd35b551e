"""Celery tasks: thin wrappers that take ids and call the alerting services.

Each task is idempotent (the delivery row is claimed before anything is sent), acknowledged
late and rejected back to the broker if its worker dies, so a message is never dropped by a
crash; a message that is lost anyway leaves its row for the sweep.
"""

from __future__ import annotations

from celery import shared_task

from symptoms.alerting.deliveries import delivery_send
from symptoms.alerting.dispatch import deliveries_enqueue
from symptoms.alerting.models import DeliveryState
from symptoms.alerting.sweeps import sweep_run


@shared_task(name="alerts.deliver", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def delivery_send_task(delivery_id: int) -> str:
    outcome = delivery_send(delivery_id=delivery_id)
    if outcome.state == DeliveryState.RETRY and outcome.retry_in is not None:
        # The row says when; this message is only the nudge. If publishing fails the sweep
        # picks the row up once it is due.
        deliveries_enqueue([delivery_id], countdown=outcome.retry_in)
    return outcome.state


@shared_task(name="alerts.sweep", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def alerts_sweep_task() -> dict[str, int]:
    report = sweep_run(heartbeat="beat")
    deliveries_enqueue(report.due)
    return report.summary()
