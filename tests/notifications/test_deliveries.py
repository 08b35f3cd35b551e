"""Sending one delivery row, called directly (the worker tests run the same through Celery).

The SMTP server is real (aiosmtpd on loopback); it refuses on demand.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.sweeps import deliveries_due, deliveries_unstick
from notifications.models import Channel, Delivery, DeliveryState, Purpose
from notifications.outbox import backoff_seconds, delivery_send
from tests.alerts.conftest import record, use_smtp


@pytest.fixture
def red_alert(patient, patient_user):
    record(patient, patient_user, temperature_c=38.4, symptoms={"headache": 2})
    return Alert.objects.get()


def notice() -> Delivery:
    return Delivery.objects.get(purpose=Purpose.NOTICE, channel=Channel.EMAIL)


def send(row: Delivery):
    return delivery_send(delivery_id=row.pk)


def test_a_sent_row_is_never_sent_again(smtp, red_alert):
    assert send(notice()).state == DeliveryState.SENT
    assert send(notice()).state == "skipped"
    assert smtp.mailbox.count() == 1
    assert notice().sent_at is not None


def test_the_email_says_only_severity_initials_hospital_number_and_a_link(smtp, red_alert,
                                                                          patient, team):
    # The team's "identifiers" level (the default says less: test_alert_messages.py).
    team.alert_message_detail = "identifiers"
    team.save()
    send(notice())
    [mail] = smtp.mailbox.received
    text = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    assert mail.message["Subject"] == f"[Homeline] RED alert: SP {patient.hospital_number}"
    for body in (text, html):
        assert "SP" in body
        assert patient.hospital_number in body
        assert f"https://homeline.example.org/alerts/{red_alert.pk}/" in body
        assert "Sam" not in body
        assert "Patel" not in body
        assert "38.4" not in body
        assert "emperature" not in body
        assert "eadache" not in body


def test_the_team_may_allow_the_findings_in_the_email(smtp, red_alert, team):
    team.alert_message_detail = "findings"
    team.save()
    send(notice())
    text = smtp.mailbox.received[0].message.get_body(("plain",)).get_content()
    assert "Temperature 38.4 °C, at or above 37.5 °C" in text


def test_a_refusal_that_may_pass_schedules_a_retry_with_the_error(smtp, red_alert):
    smtp.mailbox.refuse = "451 4.3.0 Mailbox busy, try later"
    before = timezone.now()
    outcome = send(notice())
    row = notice()
    assert (outcome.state, row.state, row.attempts) == ("retry", "retry", 1)
    assert "451" in row.last_error
    assert 0.1 <= outcome.retry_in <= 0.2  # base 0.2 s, less up to half for jitter
    assert row.next_attempt_at >= before + timedelta(seconds=0.1)
    assert row.tries.get().result == "retry"


def test_a_permanent_refusal_fails_at_once_and_with_no_phone_is_a_visible_failure(
    smtp, red_alert
):
    # The team has no duty phone: the fallback is not a queue row "sent" to nobody but a
    # failure on channel "none" that the queue, /healthz and team settings show (issue 10,
    # kind 2; tests/alerts/test_undeliverable.py has the rest).
    smtp.mailbox.refuse = "550 5.1.1 No such mailbox"
    outcome = send(notice())
    row = notice()
    assert (row.state, row.attempts) == ("failed", 1)
    fallback = Delivery.objects.get(fallback_for=row)
    assert outcome.follow_up == []
    assert (fallback.channel, fallback.role, fallback.purpose, fallback.state) == (
        "none", "duty", "fallback", "failed")
    assert "no phone" in fallback.last_error


def test_the_last_failed_attempt_fails_the_row_and_texts_the_duty_phone(
    settings, unused_port, red_alert, team, sms_outbox
):
    team.duty_phone = "07700 900123"
    team.save()
    use_smtp(settings, unused_port)  # refused
    row = notice()
    for _ in range(settings.ALERT_MAX_ATTEMPTS):
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        outcome = send(row)
    assert outcome.state == "failed"
    row.refresh_from_db()
    assert row.attempts == settings.ALERT_MAX_ATTEMPTS
    assert row.failed_at is not None
    fallback = Delivery.objects.get(fallback_for=row)
    assert send(fallback).state == "sent"
    assert [sms.to for sms in sms_outbox] == ["07700 900123"]
    assert "email failed" in sms_outbox[0].body


def test_a_retry_is_not_claimed_before_its_time(smtp, red_alert):
    smtp.mailbox.refuse = "451 later"
    outcome = send(notice())
    Delivery.objects.filter(pk=notice().pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5))
    smtp.mailbox.refuse = None
    assert outcome.state == "retry"
    assert send(notice()).state == "skipped"
    assert smtp.mailbox.count() == 0


def test_back_off_doubles_each_attempt_up_to_the_cap_with_jitter(settings):
    settings.ALERT_RETRY_BASE_SECONDS = 10
    settings.ALERT_RETRY_MAX_SECONDS = 60
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
        waits = {backoff_seconds(attempts) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered


def test_a_row_stuck_in_flight_goes_back_to_retry_and_is_due(settings, smtp, red_alert):
    row = notice()
    Delivery.objects.filter(pk=row.pk).update(
        state="in_flight", attempts=1, claimed_at=timezone.now() - timedelta(minutes=10))
    assert deliveries_unstick(now=timezone.now()) == [row.pk]
    row.refresh_from_db()
    assert row.state == "retry"
    assert "worker stopped" in row.last_error
    assert send(row).state == "sent"


def test_a_row_stuck_on_its_last_attempt_fails_with_a_fallback(settings, smtp, red_alert):
    row = notice()
    Delivery.objects.filter(pk=row.pk).update(
        state="in_flight", attempts=settings.ALERT_MAX_ATTEMPTS,
        claimed_at=timezone.now() - timedelta(minutes=10))
    assert deliveries_unstick(now=timezone.now()) == []
    row.refresh_from_db()
    assert row.state == "failed"
    assert Delivery.objects.filter(fallback_for=row).exists()


def test_pending_rows_are_left_to_their_own_task_for_a_grace_period(settings, red_alert):
    settings.ALERT_REQUEUE_GRACE_SECONDS = 20
    now = timezone.now()
    assert deliveries_due(now=now) == []
    assert deliveries_due(now=now + timedelta(seconds=21)) == [notice().pk]
