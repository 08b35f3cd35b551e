"""Celery tasks: thin wrappers that take ids and call the alerting services.

Each task is idempotent (the delivery row is claimed before anything is sent), acknowledged
late and rejected back to the broker if its worker dies, so a message is never dropped by a
crash; a message that is lost anyway leaves its row for the sweep. Every task is bounded in
time (settings.CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT, and the sweeps' own).
Queues: deliveries go to the queue of their severity (dispatch.queue_for); the sweeps to
alerts.sweeps (settings.CELERY_TASK_ROUTES).
"""

from __future__ import annotations

from celery import shared_task

from symptoms.alerting.deliveries import delivery_send
from symptoms.alerting.dispatch import deliveries_enqueue
from symptoms.alerting.models import DeliveryState
from symptoms.alerting.sweeps import deliveries_sweep_run, sweep_run

# A sweep is a handful of set-based queries; two minutes is far beyond any healthy run.
SWEEP_SOFT_LIMIT = 120
SWEEP_HARD_LIMIT = 150


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
             ignore_result=True, soft_time_limit=SWEEP_SOFT_LIMIT,
             time_limit=SWEEP_HARD_LIMIT)
def alerts_sweep_task() -> dict[str, int]:
    """Everything: deliveries, escalation, missed check-ins (every ALERT_SWEEP_SECONDS)."""
    report = sweep_run(heartbeat="beat")
    deliveries_enqueue(report.due)
    return report.summary()


@shared_task(name="alerts.sweep_deliveries", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True, soft_time_limit=SWEEP_SOFT_LIMIT,
             time_limit=SWEEP_HARD_LIMIT)
def deliveries_sweep_task() -> dict[str, int]:
    """Only the deliveries (every ALERT_DELIVERY_SWEEP_SECONDS): rows whose worker died
    (lease lapsed), rows whose task was lost, failed emails of open alerts to try again."""
    report = deliveries_sweep_run(heartbeat="beat-deliveries")
    deliveries_enqueue(report.due)
    return report.summary()
