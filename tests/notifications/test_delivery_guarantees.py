"""Issue 10, kind 3: a message is sent twice, late, or not at all. The delivery service and
the email channel against a real SMTP server (aiosmtpd) that is slow, down, or holds a
message, on the real database (the lease is renewed from a thread of its own)."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connections
from django.utils import timezone

from alerts.messages import message_id_for
from alerts.models import Alert, AlertState
from alerts.sweeps import (
    deliveries_revive,
    deliveries_sweep_run,
    deliveries_unstick,
)
from notifications import channels
from notifications import outbox as deliveries
from notifications.channels import ChannelError, EmailChannel, Message, SmsChannel
from notifications.dispatch import broker_bypassed
from notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryState, Purpose
from notifications.outbox import delivery_send
from tests.alerts.conftest import record, use_smtp
from tests.alerts.support import SmtpServer, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_connection():
    channels._connections.discard()
    yield
    channels._connections.discard()


@pytest.fixture
def red(shared_database, patient, patient_user, team):
    """A red check-in whose rows are made but not published: the test sends them."""
    team.duty_phone = "07700 900123"
    team.save()
    with broker_bypassed():
        record(patient, patient_user, temperature_c=39.4)
    return Alert.objects.get()


def email_notice() -> Delivery:
    return Delivery.objects.get(purpose=Purpose.NOTICE, channel=Channel.EMAIL)


def send_now(row: Delivery):
    """Send the row as the worker would, whatever its back-off says (a test's clock)."""
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    return delivery_send(delivery_id=row.pk)


# Message-ID ---------------------------------------------------------------------------------

def test_every_email_carries_a_message_id_derived_from_its_row(smtp, red, settings):
    row = email_notice()
    send_now(row)
    [mail] = smtp.mailbox.wait_for(1)
    assert mail.message["Message-ID"] == message_id_for(row)
    assert re.fullmatch(rf"<delivery-{row.pk}-[0-9a-f]{{12}}@homeline\.invalid>",
                        mail.message["Message-ID"])
    # Nothing about the recipient in it (the key, which holds the address, is hashed).
    assert "example" not in mail.message["Message-ID"]


def test_message_ids_differ_between_rows_and_not_between_copies(smtp, red):
    ids = {message_id_for(row) for row in Delivery.objects.all()}
    assert len(ids) == Delivery.objects.count()
    row = email_notice()
    assert message_id_for(row) == message_id_for(Delivery.objects.get(pk=row.pk))


# A slow server (answers after EMAIL_TIMEOUT) ---------------------------------------------

def test_a_slow_server_gets_one_copy_per_attempt_and_two_in_all_with_one_message_id(
    smtp, red, settings, sms_outbox
):
    settings.EMAIL_TIMEOUT = 1
    smtp.mailbox.reply_delay = 2.5  # keeps the message, answers "250" after our timeout
    row = email_notice()

    first = send_now(row)
    assert first.state == DeliveryState.RETRY
    time.sleep(0.3)
    assert smtp.mailbox.count() == 1  # no resend on a new connection after the body
    assert email_notice().unconfirmed_attempts == 1

    second = send_now(row)
    assert second.state == DeliveryState.FAILED  # the second unknown outcome: no third copy
    row = email_notice()
    assert row.permanent_failure
    assert "outcome unknown twice" in row.last_error
    assert send_now(row).state == "skipped"
    time.sleep(0.3)
    ids = smtp.mailbox.message_ids()
    assert ids == [message_id_for(row)] * 2
    # The nurse is told another way all the same (the red fallback).
    assert Delivery.objects.filter(fallback_for=row).exists()


def test_a_slow_answer_on_a_kept_connection_is_not_sent_again_on_a_new_one(smtp, red,
                                                                           settings):
    settings.EMAIL_TIMEOUT = 1
    channel = EmailChannel()
    message = Message("s", "t", "<p>h</p>", "sms", message_id="<delivery-1-abc@x.invalid>")
    channel.send(message, "duty@example.org")  # opens the connection that is then kept
    smtp.mailbox.reply_delay = 2.5
    with pytest.raises(ChannelError) as failure:
        channel.send(message, "duty@example.org")
    assert failure.value.ambiguous
    assert failure.value.retryable
    time.sleep(0.5)
    assert smtp.mailbox.count() == 2  # one per send: the timeout made no second copy


def test_a_failure_before_the_end_of_data_is_not_ambiguous(settings, red, unused_port):
    use_smtp(settings, unused_port)  # nothing listens: the connection is refused
    row = email_notice()
    assert send_now(row).state == DeliveryState.RETRY
    assert email_notice().unconfirmed_attempts == 0
    server = SmtpServer().start()
    try:
        use_smtp(settings, server.port)
        server.mailbox.refuse = "451 4.3.0 try again later"
        assert send_now(row).state == DeliveryState.RETRY
        assert email_notice().unconfirmed_attempts == 0  # a definite "no"
        server.mailbox.refuse = None
        assert send_now(row).state == DeliveryState.SENT
        assert server.mailbox.message_ids() == [message_id_for(row)]
    finally:
        server.stop()


def test_a_permanent_refusal_fails_at_once_and_is_never_revived(smtp, red, settings):
    smtp.mailbox.refuse = "550 5.1.1 no such mailbox"
    row = email_notice()
    assert send_now(row).state == DeliveryState.FAILED
    assert email_notice().permanent_failure
    settings.ALERT_RETRY_MAX_SECONDS = 0
    assert deliveries_revive(now=timezone.now() + timedelta(seconds=1)) == []


# The lease: a dead worker's row comes back within seconds, a slow one's never ---------------

def test_a_slow_but_living_worker_keeps_its_row_however_often_the_sweep_runs(
    smtp, red, settings
):
    settings.ALERT_LEASE_SECONDS = 0.6
    settings.ALERT_LEASE_RENEW_SECONDS = 0.1
    settings.EMAIL_TIMEOUT = 5
    smtp.mailbox.reply_delay = 2.0  # the send takes 2 s: more than three leases
    row = email_notice()
    outcome = {}
    sender = threading.Thread(target=lambda: outcome.setdefault("o", send_now(row)))
    sender.start()
    unstuck = []
    try:
        while sender.is_alive():
            unstuck += deliveries_unstick(now=timezone.now())
            time.sleep(0.05)
    finally:
        sender.join(10)
        connections.close_all()
    assert unstuck == []
    assert outcome["o"].state == DeliveryState.SENT
    assert smtp.mailbox.count() == 1
    assert email_notice().attempts == 1


def test_a_row_whose_lease_lapsed_is_retried_by_the_delivery_sweep_red_first(
    smtp, red, settings, patient, patient_user
):
    rows = list(Delivery.objects.filter(channel__in=[Channel.EMAIL, Channel.SMS]))
    past = timezone.now() - timedelta(seconds=1)
    # Two rows whose workers died in flight: their leases are not renewed.
    Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(
        state=DeliveryState.IN_FLIGHT, claimed_at=past, lease_until=past, attempts=1)
    report = deliveries_sweep_run(heartbeat="beat-deliveries")
    assert sorted(report.unstuck) == sorted(r.pk for r in rows)
    assert set(report.due) >= set(report.unstuck)
    for row in Delivery.objects.filter(pk__in=[r.pk for r in rows]):
        assert row.state == DeliveryState.RETRY
        assert row.unconfirmed_attempts == 1  # it may have gone: one more try, not two


def test_a_row_lost_in_flight_twice_fails_with_its_fallback_instead_of_a_third_copy(
    smtp, red, sms_outbox
):
    row = email_notice()
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk=row.pk).update(
        state=DeliveryState.IN_FLIGHT, claimed_at=past, lease_until=past, attempts=2,
        unconfirmed_attempts=1)
    assert deliveries_unstick(now=timezone.now()) == []
    row = email_notice()
    assert row.state == DeliveryState.FAILED
    assert row.permanent_failure
    assert Delivery.objects.filter(fallback_for=row, channel=Channel.SMS).exists()


def test_a_database_connection_dropped_between_sending_and_recording(smtp, red, settings,
                                                                     monkeypatch):
    """The outcome is recorded on a new connection: no second copy."""
    row = email_notice()
    real_send = EmailChannel.send

    def send_then_lose_the_database(self, message, address):
        real_send(self, message, address)
        pid = connections["default"].connection.info.backend_pid
        with connections.create_connection("default").cursor() as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])

    if connections["default"].vendor != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    monkeypatch.setattr(EmailChannel, "send", send_then_lose_the_database)
    assert send_now(row).state == DeliveryState.SENT
    assert email_notice().state == DeliveryState.SENT
    assert smtp.mailbox.message_ids() == [message_id_for(row)]


def test_a_database_down_while_recording_leaves_the_row_to_the_sweep_with_the_same_id(
    smtp, red, settings, monkeypatch
):
    settings.ALERT_LEASE_SECONDS = 0.3
    row = email_notice()
    real = deliveries._record_sent

    def database_gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(deliveries, "_record_sent", database_gone)
    monkeypatch.setattr(deliveries.time, "sleep", lambda s: None)
    with pytest.raises(OperationalError):
        send_now(row)
    monkeypatch.setattr(deliveries, "_record_sent", real)
    assert email_notice().state == DeliveryState.IN_FLIGHT
    wait_until(lambda: email_notice().lease_until < timezone.now(), timeout=5,
               what="the lease to lapse")
    assert deliveries_unstick(now=timezone.now()) == [row.pk]
    assert send_now(row).state == DeliveryState.SENT
    # Two copies (the first was sent, its recording lost), one Message-ID: clients fold them.
    assert smtp.mailbox.message_ids() == [message_id_for(row)] * 2
    tries = list(DeliveryAttempt.objects.filter(delivery=row).order_by("number")
                 .values_list("result", flat=True))
    assert tries == ["interrupted", "sent"]


# Mail server down for good ---------------------------------------------------------------

def test_red_fallback_fires_after_the_first_failure_while_email_keeps_trying(
    settings, red, unused_port, sms_outbox
):
    settings.ALERT_MAX_ATTEMPTS = 100
    use_smtp(settings, unused_port)
    row = email_notice()
    outcome = send_now(row)
    assert outcome.state == DeliveryState.RETRY
    [fallback] = Delivery.objects.filter(fallback_for=row)
    assert outcome.follow_up == [fallback.pk]
    assert (fallback.channel, fallback.address) == (Channel.SMS, "07700 900123")
    for _ in range(3):  # later failures make no second fallback
        assert send_now(row).state == DeliveryState.RETRY
    assert Delivery.objects.filter(fallback_for=row).count() == 1


def test_an_amber_email_waits_for_its_fallback_until_it_has_failed(
    settings, shared_database, patient, patient_user, team, unused_port
):
    team.duty_phone = "07700 900123"
    team.save()
    with broker_bypassed():
        record(patient, patient_user, symptoms={"headache": 2})
    use_smtp(settings, unused_port)
    assert send_now(email_notice()).state == DeliveryState.RETRY
    assert not Delivery.objects.filter(purpose=Purpose.FALLBACK).exists()


def test_email_keeps_trying_for_the_retry_window_not_a_fixed_few_attempts(
    settings, red, unused_port
):
    settings.ALERT_MAX_ATTEMPTS = 100
    settings.ALERT_RETRY_FOR_SECONDS = 3600
    use_smtp(settings, unused_port)
    row = email_notice()
    for _ in range(8):
        assert send_now(row).state == DeliveryState.RETRY
    # Past the window (an outage of more than ALERT_RETRY_FOR_SECONDS) it fails...
    Delivery.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert send_now(row).state == DeliveryState.FAILED
    assert not email_notice().permanent_failure  # ...but time can still cure it


def test_the_default_retry_window_is_hours_with_a_capped_back_off():
    import portal.settings as live  # the defaults (the tests' fixtures shorten them)

    assert live.ALERT_RETRY_FOR_SECONDS >= 4 * 3600
    assert live.ALERT_RETRY_MAX_SECONDS <= 600
    # Enough attempts to fill the window at the capped back-off (at least half the cap each).
    assert live.ALERT_MAX_ATTEMPTS * live.ALERT_RETRY_MAX_SECONDS >= live.ALERT_RETRY_FOR_SECONDS


def test_failed_emails_of_open_alerts_are_sent_once_the_server_is_back(
    settings, red, unused_port
):
    settings.ALERT_MAX_ATTEMPTS = 2
    use_smtp(settings, unused_port)
    row = email_notice()
    send_now(row)
    assert send_now(row).state == DeliveryState.FAILED
    # A resolved alert's failed email is not revived; make a second alert's row to compare.
    now = timezone.now()
    assert deliveries_revive(now=now) == []  # not before ALERT_RETRY_MAX_SECONDS
    later = now + timedelta(seconds=settings.ALERT_RETRY_MAX_SECONDS + 1)
    assert deliveries_revive(now=later) == [row.pk]
    server = SmtpServer(port=unused_port).start()
    try:
        assert send_now(row).state == DeliveryState.SENT
        assert server.mailbox.message_ids() == [message_id_for(row)]
    finally:
        server.stop()


def test_failed_emails_of_resolved_alerts_are_not_revived(settings, red, unused_port, nurse):
    settings.ALERT_MAX_ATTEMPTS = 1
    use_smtp(settings, unused_port)
    row = email_notice()
    assert send_now(row).state == DeliveryState.FAILED
    Alert.objects.filter(pk=red.pk).update(state=AlertState.RESOLVED, resolved_by=nurse,
                                           resolved_at=timezone.now(), outcome="no_action")
    later = timezone.now() + timedelta(seconds=settings.ALERT_RETRY_MAX_SECONDS + 1)
    assert deliveries_revive(now=later) == []


def test_healthz_shows_a_channel_that_is_down_and_recovers(
    settings, red, unused_port, client
):
    from alerts.sweeps import heartbeat_record
    from notifications.health import health_report

    heartbeat_record(name="beat", now=timezone.now(), summary={})
    settings.ALERT_MAX_ATTEMPTS = 100
    use_smtp(settings, unused_port)
    row = email_notice()
    send_now(row)
    report = health_report()
    assert report["status"] == "failing"
    assert report["checks"]["channels"]["email"]["ok"] is False
    assert client.get("/healthz").status_code == 503
    server = SmtpServer(port=unused_port).start()
    try:
        assert send_now(row).state == DeliveryState.SENT
    finally:
        server.stop()
    channels_check = health_report()["checks"]["channels"]
    assert channels_check["ok"]
    assert channels_check["email"]["ok"]


# SMS: every call bounded in time ---------------------------------------------------------

class HungProvider:
    """An SMS provider that never answers (the outside world: mocked)."""

    calls: list[str] = []

    def send(self, to: str, body: str) -> None:
        self.calls.append(to)
        time.sleep(5)


def test_a_hung_sms_provider_costs_at_most_the_sms_timeout(settings):
    settings.ALERT_SMS_BACKEND = f"{__name__}.HungProvider"
    settings.ALERT_SMS_TIMEOUT_SECONDS = 0.3
    started = time.monotonic()
    with pytest.raises(ChannelError) as failure:
        SmsChannel().send(Message("s", "t", "h", "RED alert"), "07700 900123")
    assert time.monotonic() - started < 3
    # The provider may have taken it: an unknown outcome, retried at most once.
    assert failure.value.ambiguous
    assert failure.value.retryable
    assert HungProvider.calls == ["07700 900123"]
