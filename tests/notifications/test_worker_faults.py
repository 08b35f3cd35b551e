"""Faults of the mail server and of the workers, with real workers, broker and SMTP."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from django.utils import timezone

from alerts.tasks import alerts_sweep_task
from notifications.dispatch import broker_bypassed, deliveries_enqueue
from notifications.models import Delivery, DeliveryAttempt, DeliveryState, Purpose
from notifications.outbox import delivery_send
from tests.alerts.conftest import record, use_smtp
from tests.alerts.support import SmtpServer, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SETTLE = 1.0


def the_notice() -> Delivery:
    return Delivery.objects.get(purpose=Purpose.NOTICE, channel="email")


def test_smtp_down_is_retried_with_back_off_and_the_row_shows_the_error(
    settings, unused_port, worker, patient, patient_user
):
    settings.ALERT_MAX_ATTEMPTS = 20
    settings.ALERT_RETRY_BASE_SECONDS = 0.3
    settings.ALERT_RETRY_MAX_SECONDS = 5
    use_smtp(settings, unused_port)  # nothing listens there yet
    record(patient, patient_user, temperature_c=38.5)
    # The attempt rows are written after the row's counter: wait for three finished ones.
    wait_until(lambda: DeliveryAttempt.objects.filter(delivery=the_notice(),
                                                      finished_at__isnull=False).count() >= 3,
               timeout=15, what="three failed attempts")
    row = the_notice()
    assert row.state in (DeliveryState.RETRY, DeliveryState.IN_FLIGHT)
    assert "refused" in row.last_error.lower()
    tries = list(DeliveryAttempt.objects.filter(delivery=row, finished_at__isnull=False)
                 .order_by("number")[:3])
    waits = [(b.started_at - a.finished_at).total_seconds() for a, b in itertools.pairwise(tries)]
    # Back-off 0.3 s then 0.6 s, less up to half of each for jitter.
    assert waits[0] >= 0.15, waits
    assert waits[1] >= 0.3, waits


def test_smtp_back_after_failures_delivers_one_message(settings, unused_port, worker, patient,
                                                       patient_user):
    settings.ALERT_MAX_ATTEMPTS = 20
    settings.ALERT_RETRY_BASE_SECONDS = 0.3
    use_smtp(settings, unused_port)
    record(patient, patient_user, temperature_c=38.5)
    wait_until(lambda: the_notice().attempts >= 2, timeout=15, what="two failed attempts")
    server = SmtpServer(port=unused_port).start()
    try:
        server.mailbox.wait_for(1, timeout=15)
        wait_until(lambda: the_notice().state == DeliveryState.SENT, timeout=10,
                   what="the row to be marked sent")
        time.sleep(SETTLE)
        assert server.mailbox.count() == 1
        assert the_notice().last_error == ""
    finally:
        server.stop()


def test_smtp_never_back_fails_the_row_shows_it_to_nurses_and_fires_the_fallback(
    settings, unused_port, worker, patient, patient_user, team, nurse, as_user, sms_outbox
):
    team.duty_phone = "07700 900123"
    team.save()
    use_smtp(settings, unused_port)
    record(patient, patient_user, symptoms={"headache": 2})  # amber: pages by email only
    wait_until(lambda: the_notice().state == DeliveryState.FAILED, timeout=20,
               what="the row to fail after its last attempt")
    row = the_notice()
    assert row.attempts == settings.ALERT_MAX_ATTEMPTS
    fallback = wait_until(
        lambda: Delivery.objects.filter(fallback_for=row, state=DeliveryState.SENT).first(),
        timeout=10, what="the fallback SMS to be sent")
    assert (fallback.channel, fallback.address) == ("sms", "07700 900123")
    [sms] = sms_outbox
    assert sms.to == "07700 900123"
    assert "email failed" in sms.body
    page = as_user(nurse).get("/alerts/").content.decode()
    assert "could not be delivered" in page
    assert "refused" in page.lower()


def test_a_worker_killed_mid_delivery_still_delivers_the_message_once(
    settings, celery_app, worker_processes, patient, patient_user
):
    server = SmtpServer().start()
    try:
        server.mailbox.hold()  # the first message hangs in DATA, before the server's "250"
        [first] = worker_processes(server.port)
        record(patient, patient_user, temperature_c=38.5)
        assert server.mailbox.holding.wait(20), "the worker never reached the SMTP server"
        assert the_notice().state == DeliveryState.IN_FLIGHT
        first.kill()
        assert server.mailbox.dropped.wait(10)
        server.mailbox.release()
        assert server.mailbox.count() == 0

        worker_processes(server.port)
        # The killed worker's lease (2 s in these workers) lapses; then the sweep retries.
        wait_until(lambda: the_notice().lease_until < timezone.now(), timeout=10,
                   what="the dead worker's lease to lapse")
        alerts_sweep_task()
        server.mailbox.wait_for(1, timeout=20)
        wait_until(lambda: the_notice().state == DeliveryState.SENT, timeout=10,
                   what="the row to be marked sent")
        alerts_sweep_task()  # a later sweep finds nothing to send again
        time.sleep(SETTLE)
        assert server.mailbox.count() == 1
        results = list(the_notice().tries.order_by("number").values_list("result", flat=True))
        assert results == ["interrupted", "sent"]
    finally:
        server.stop()


def test_two_workers_racing_on_one_row_send_one_message(
    celery_app, worker_processes, patient, patient_user
):
    server = SmtpServer().start()
    try:
        worker_processes(server.port, count=2)
        with broker_bypassed():  # the row is made, but its task is not published
            record(patient, patient_user, temperature_c=38.5)
        row = the_notice()
        assert deliveries_enqueue([row.pk] * 20) == 20
        server.mailbox.wait_for(1, timeout=20)
        wait_until(lambda: the_notice().state == DeliveryState.SENT, timeout=10,
                   what="the row to be marked sent")
        time.sleep(SETTLE)
        assert server.mailbox.count() == 1
        assert the_notice().attempts == 1
    finally:
        server.stop()


def test_threads_claiming_one_row_at_once_send_one_message(smtp, shared_database, patient,
                                                          patient_user):
    with broker_bypassed():
        record(patient, patient_user, temperature_c=38.5)
    row = the_notice()
    start = threading.Barrier(6)
    states: list[str] = []

    def claim_and_send() -> None:
        start.wait()
        states.append(delivery_send(delivery_id=row.pk).state)

    threads = [threading.Thread(target=claim_and_send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(states) == ["sent"] + ["skipped"] * 5
    assert smtp.mailbox.count() == 1
