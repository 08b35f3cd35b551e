"""The alert sweeps as Celery tasks (beat runs them; queue alerts.sweeps).

Task names are the strings queued messages carry in a live broker: they never change
(`alerts.sweep`, `alerts.sweep_deliveries`). Acknowledged late, rejected back if the worker
dies, bounded in time.
"""

from __future__ import annotations

from celery import shared_task

from alerts.sweeps import deliveries_sweep_run, sweep_run
from notifications.dispatch import deliveries_enqueue

# A sweep is a handful of set-based queries; two minutes is far beyond any healthy run.
SWEEP_SOFT_LIMIT = 120
SWEEP_HARD_LIMIT = 150


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
