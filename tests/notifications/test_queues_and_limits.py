"""Issue 10, kind 3: separate queues (red first, reminders apart, sweeps on their own) and
every task bounded in time; the Procfile (and so `make run`) starts a worker for each."""

from __future__ import annotations

import re

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings as live

from alerts.sweeps import missed_check_ins_sweep
from alerts.tasks import alerts_sweep_task, deliveries_sweep_task
from notifications.dispatch import broker_bypassed, deliveries_enqueue, queue_for
from notifications.models import Delivery, DeliveryState, Heartbeat, Purpose
from notifications.tasks import delivery_send_task
from portal.celery import ALERT_QUEUES, app
from tests.alerts.conftest import broker, record, sqla_broker_url
from tests.alerts.support import ROOT, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def lengths(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    try:
        return {queue: client.llen(queue) for queue in ALERT_QUEUES}
    finally:
        client.close()


def test_queue_names_agree_between_settings_and_the_celery_app():
    assert ALERT_QUEUES == (live.ALERT_QUEUE_RED, live.ALERT_QUEUE_DELIVERIES,
                            live.ALERT_QUEUE_REMINDERS, live.ALERT_QUEUE_SWEEPS)
    assert {q.name for q in app.conf.task_queues} == set(ALERT_QUEUES)


@pytest.mark.parametrize(("severity", "purpose", "queue"), [
    ("red", Purpose.NOTICE, "alerts.red"), ("red", Purpose.ESCALATION, "alerts.red"),
    ("red", Purpose.FALLBACK, "alerts.red"), ("amber", Purpose.NOTICE, "alerts.deliveries"),
    ("amber", Purpose.FALLBACK, "alerts.deliveries"), ("", Purpose.REMINDER, "alerts.reminders"),
])
def test_each_delivery_has_its_queue(severity, purpose, queue):
    assert queue_for(severity=severity, purpose=purpose) == queue


def test_red_amber_and_sweeps_are_published_to_their_own_queues(own_redis, shared_database,
                                                                 patient, patient_user,
                                                                 child, caregiver):
    with broker(own_redis.url):
        record(patient, patient_user, temperature_c=39.4)  # red
        assert lengths(own_redis.url)["alerts.red"] == Delivery.objects.count()
        with broker_bypassed():
            record(child, caregiver, symptoms={"headache": 2})  # amber
        amber = list(Delivery.objects.filter(patient=child).values_list("pk", flat=True))
        assert deliveries_enqueue(amber) == len(amber)
        alerts_sweep_task.apply_async()
        deliveries_sweep_task.apply_async()
        waiting = lengths(own_redis.url)
    assert waiting == {"alerts.red": Delivery.objects.filter(patient=patient).count(),
                       "alerts.deliveries": len(amber), "alerts.reminders": 0,
                       "alerts.sweeps": 2}


def test_reminders_go_to_their_own_queue(own_redis, shared_database, patient):
    from datetime import UTC, date, datetime

    from tests.factories import plan_set

    plan_set(patient, date(2025, 5, 20))
    type(patient).objects.filter(pk=patient.pk).update(
        created_at=datetime(2025, 1, 1, tzinfo=UTC))
    with broker(own_redis.url):
        reminders, _ = missed_check_ins_sweep(now=datetime(2025, 6, 2, 19, 0, tzinfo=UTC))
        waiting = lengths(own_redis.url)
    assert reminders
    assert waiting["alerts.reminders"] == len(reminders)
    assert waiting["alerts.red"] == waiting["alerts.deliveries"] == 0


def test_every_task_is_bounded_in_time():
    assert live.ALERT_SEND_MAX_SECONDS >= 6 * live.EMAIL_TIMEOUT
    assert live.CELERY_TASK_SOFT_TIME_LIMIT > live.ALERT_SEND_MAX_SECONDS
    assert live.CELERY_TASK_TIME_LIMIT > live.CELERY_TASK_SOFT_TIME_LIMIT
    for task in (alerts_sweep_task, deliveries_sweep_task):
        assert 0 < task.soft_time_limit < task.time_limit
    assert delivery_send_task.app.conf.task_time_limit == live.CELERY_TASK_TIME_LIMIT


def test_sweeps_do_not_expire_after_one_interval_and_red_recovery_fits_in_30_s():
    import portal.settings as defaults

    schedule = defaults.CELERY_BEAT_SCHEDULE
    for entry in schedule.values():
        assert entry["options"]["expires"] >= 5 * entry["schedule"]
    assert {e["task"] for e in schedule.values()} == {"alerts.sweep", "alerts.sweep_deliveries"}
    # A dead worker's lease lapses, then the next delivery sweep retries the row; the send
    # itself is a few seconds on a healthy server.
    assert defaults.ALERT_LEASE_SECONDS + defaults.ALERT_DELIVERY_SWEEP_SECONDS <= 20
    assert defaults.ALERT_LEASE_RENEW_SECONDS * 3 <= defaults.ALERT_LEASE_SECONDS
    assert defaults.CELERY_TASK_ROUTES["alerts.sweep"]["queue"] == "alerts.sweeps"
    assert defaults.CELERY_TASK_ROUTES["alerts.sweep_deliveries"]["queue"] == "alerts.sweeps"


def procfile_queues() -> dict[str, set[str]]:
    workers = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if " worker " in command:
            found = re.search(r"--queues (\S+)", command)
            workers[name] = set(found.group(1).split(",")) if found else set(ALERT_QUEUES)
    return workers


def test_the_procfile_serves_every_queue_with_red_and_sweeps_on_workers_of_their_own():
    workers = procfile_queues()
    assert set().union(*workers.values()) == set(ALERT_QUEUES)
    assert {"alerts.red"} in workers.values()
    assert {"alerts.sweeps"} in workers.values()
    assert "beat:" in (ROOT / "Procfile").read_text()
    assert "Procfile" in (ROOT / "Makefile").read_text()  # make run starts them all


@pytest.fixture
def _queues_restored():
    """A worker started with `queues` selects them on the app's shared queue list; the
    next in-process worker must consume every queue again."""
    saved = app.amqp.queues._consume_from
    yield
    app.amqp.queues._consume_from = saved


@pytest.mark.worker
@pytest.mark.usefixtures("_queues_restored")
def test_the_procfile_s_workers_deliver_on_make_run_s_embedded_sqlite_broker(
    smtp, shared_database, tmp_path, patient, patient_user
):
    queues = procfile_queues()
    red = next(q for q in queues.values() if q == {"alerts.red"})
    sweeps = next(q for q in queues.values() if q == {"alerts.sweeps"})
    with broker(sqla_broker_url(tmp_path)) as celery, start_worker(
        celery, pool="solo", perform_ping_check=False, shutdown_timeout=30,
        loglevel="WARNING", queues=sorted(red),
    ):
        record(patient, patient_user, temperature_c=39.4)
        smtp.mailbox.wait_for(1, timeout=20)
        wait_until(lambda: Delivery.objects.filter(state=DeliveryState.SENT).exists(),
                   timeout=10, what="the red row to be marked sent")
    with broker(sqla_broker_url(tmp_path)) as celery, start_worker(
        celery, pool="solo", perform_ping_check=False, shutdown_timeout=30,
        loglevel="WARNING", queues=sorted(sweeps),
    ):
        alerts_sweep_task.apply_async()
        wait_until(lambda: Heartbeat.objects.filter(name="beat").exists(), timeout=20,
                   what="the sweep to run on the sweeper")
