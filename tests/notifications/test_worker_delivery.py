"""Alerts through a real worker, a real broker and a real SMTP server (no eager mode)."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker

from alerts.models import Alert
from notifications.models import Delivery, DeliveryState
from tests.alerts.conftest import broker, record, record_and_roll_back, sqla_broker_url
from tests.alerts.support import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SETTLE = 1.0  # seconds to wait for a second copy that must not come


def all_sent() -> bool:
    return not Delivery.objects.exclude(state=DeliveryState.SENT).exists()


def test_red_check_in_emails_the_nurse_on_duty_once(smtp, worker, patient, patient_user):
    record(patient, patient_user, temperature_c=38.5)
    [mail] = smtp.mailbox.wait_for(1)
    assert mail.rcpt_tos == [patient.care_team.duty_email]
    assert "RED alert" in mail.message["Subject"]
    wait_until(all_sent, timeout=10, what="the delivery row to be marked sent")
    time.sleep(SETTLE)
    assert smtp.mailbox.count() == 1


def test_three_fevers_in_twenty_minutes_page_once(smtp, worker, patient, patient_user):
    for temperature in (38.1, 38.4, 38.6):
        record(patient, patient_user, temperature_c=temperature)
    smtp.mailbox.wait_for(1)
    wait_until(all_sent, timeout=10, what="every delivery row to be sent")
    time.sleep(SETTLE)
    assert smtp.mailbox.count() == 1


def test_amber_then_red_pages_a_second_time_for_the_rise(smtp, worker, patient, patient_user):
    record(patient, patient_user, symptoms={"headache": 2})
    record(patient, patient_user, temperature_c=38.3)
    first, second = smtp.mailbox.wait_for(2)
    assert "AMBER alert" in first.message["Subject"]
    assert "RED alert needs you (raised again)" in second.message["Subject"]
    wait_until(all_sent, timeout=10, what="every delivery row to be sent")
    time.sleep(SETTLE)
    assert smtp.mailbox.count() == 2


def test_rolled_back_transaction_sends_nothing(smtp, worker, patient, patient_user):
    record_and_roll_back(patient, patient_user, temperature_c=39.0)
    # A committed red check-in afterwards proves the worker was listening all along.
    record(patient, patient_user, temperature_c=38.0)
    smtp.mailbox.wait_for(1)
    time.sleep(SETTLE)
    assert smtp.mailbox.count() == 1
    assert Alert.objects.get().check_ins.get().temperature_c == 38


def test_the_embedded_sqlite_broker_of_make_run_delivers_too(smtp, shared_database, tmp_path,
                                                             patient, patient_user):
    with broker(sqla_broker_url(tmp_path)) as app, start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"
    ):
        record(patient, patient_user, temperature_c=38.5)
        smtp.mailbox.wait_for(1)
        wait_until(all_sent, timeout=10, what="the delivery row to be marked sent")
    assert smtp.mailbox.count() == 1
