"""Redis refused and Redis hung while a patient saves: the check-in is saved and answered
at once, and the alert goes out exactly once when Redis is back (through the sweep).

Each test starts its own redis-server on a free loopback port, so that stopping or pausing
it touches nothing else."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from alerts.tasks import alerts_sweep_task
from notifications.models import Delivery, DeliveryState
from notifications.tasks import delivery_send_task
from portal.celery import ALERT_QUEUES
from tests.alerts.conftest import broker, record
from tests.alerts.support import RedisServer, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# "Within a few seconds": the publish gives up after the broker's socket timeout (2 s in
# portal/settings.py), without a second try.
REQUEST_BUDGET = 5.0
SETTLE = 1.0


def _sweep_until_sent(smtp, app) -> None:
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30,
                      loglevel="WARNING"):
        alerts_sweep_task()
        smtp.mailbox.wait_for(1, timeout=15)
        wait_until(lambda: Delivery.objects.get().state == DeliveryState.SENT, timeout=10,
                   what="the row to be marked sent")
        alerts_sweep_task()  # a second sweep finds nothing left to send
        time.sleep(SETTLE)


@pytest.fixture
def sweep_at_once(settings):
    settings.ALERT_REQUEUE_GRACE_SECONDS = 0


def post_red_check_in(client, patient) -> tuple[float, str]:
    """The patient's own request: the check-in form, then the advice page it redirects to.
    Returns how long the POST took and the advice page."""
    started = time.monotonic()
    response = client.post(reverse("check_in_new", args=[patient.pk]),
                           {"submission_key": str(uuid.uuid4()), "unit": "c",
                            "temperature": "38.6"})
    elapsed = time.monotonic() - started
    assert response.status_code == 302, response.status_code
    return elapsed, client.get(response["Location"]).content.decode()


def test_redis_refused_the_patient_gets_the_advice_and_the_sweep_delivers_once_redis_is_back(
    smtp, own_redis, shared_database, sweep_at_once, tmp_path, patient, patient_user, as_user
):
    port = own_redis.port
    own_redis.stop()  # connections to the port are now refused
    with broker(f"redis://127.0.0.1:{port}/0") as app:
        elapsed, advice = post_red_check_in(as_user(patient_user), patient)
        assert elapsed < REQUEST_BUDGET, elapsed
        assert "Call your 24-hour hospital line now" in advice
        assert Delivery.objects.get().state == DeliveryState.PENDING

        back = RedisServer(tmp_path, port=port).start()
        try:
            _sweep_until_sent(smtp, app)
        finally:
            back.stop()
    assert smtp.mailbox.count() == 1


def test_redis_hung_the_patients_request_still_returns_within_seconds(
    smtp, own_redis, shared_database, sweep_at_once, patient, patient_user, as_user
):
    client = as_user(patient_user)
    with broker(own_redis.url) as app:
        # The web process already holds a connection to Redis when it hangs.
        delivery_send_task.apply_async((0,))
        own_redis.pause()  # SIGSTOP: the port accepts connections, nothing answers
        try:
            elapsed, advice = post_red_check_in(client, patient)
        finally:
            own_redis.resume()
        assert elapsed < REQUEST_BUDGET, elapsed
        assert "Call your 24-hour hospital line now" in advice
        assert Delivery.objects.get().state == DeliveryState.PENDING
        _sweep_until_sent(smtp, app)
    assert smtp.mailbox.count() == 1


def test_a_redis_restart_does_not_cost_the_next_alert_its_publish(
    own_redis, tmp_path, shared_database, patient, patient_user
):
    with broker(own_redis.url):
        delivery_send_task.apply_async((0,))  # a pooled connection, soon stale
        port = own_redis.port
        own_redis.stop()
        restarted = RedisServer(tmp_path, port=port).start()
        try:
            record(patient, patient_user, temperature_c=38.6)
            client = redis.Redis(port=port)
            waiting = sum(client.llen(queue) for queue in ALERT_QUEUES)
        finally:
            restarted.stop()
    assert waiting == 1  # published at once, not left for the sweep
