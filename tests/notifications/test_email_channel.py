"""The email channel keeps its SMTP connection between alerts, and never lets a connection
the server has dropped delay an alert."""

from __future__ import annotations

import pytest

from notifications import channels
from notifications.channels import ChannelError, EmailChannel, Message
from tests.alerts.conftest import use_smtp
from tests.alerts.support import SmtpServer

MESSAGE = Message(subject="RED alert", text="text", html="<p>html</p>", sms="sms")


@pytest.fixture(autouse=True)
def _fresh_connection():
    channels._connections.discard()
    yield
    channels._connections.discard()


def test_two_alerts_share_one_smtp_connection(settings, smtp):
    channel = EmailChannel()
    channel.send(MESSAGE, "duty@example.org")
    first = channels._connections.connection
    channel.send(MESSAGE, "sister@example.org")
    assert channels._connections.connection is first
    assert [r.rcpt_tos for r in smtp.mailbox.wait_for(2)] == [["duty@example.org"],
                                                        ["sister@example.org"]]


def test_a_connection_the_server_dropped_is_replaced_without_failing(settings):
    server = SmtpServer().start()
    use_smtp(settings, server.port)
    channel = EmailChannel()
    channel.send(MESSAGE, "duty@example.org")
    server.stop()  # drops the kept connection
    restarted = SmtpServer(port=server.port).start()
    try:
        channel.send(MESSAGE, "duty@example.org")  # no ChannelError, no wait for a retry
        assert restarted.mailbox.wait_for(1)[0].rcpt_tos == ["duty@example.org"]
    finally:
        restarted.stop()


def test_an_idle_connection_is_not_reused(settings, smtp):
    settings.EMAIL_REUSE_SECONDS = 0
    channel = EmailChannel()
    channel.send(MESSAGE, "duty@example.org")
    first = channels._connections.connection
    channel.send(MESSAGE, "duty@example.org")
    assert channels._connections.connection is not first


def test_server_down_is_a_retryable_failure_and_leaves_no_connection(settings):
    server = SmtpServer().start()
    port = server.port
    server.stop()
    use_smtp(settings, port)
    with pytest.raises(ChannelError) as failure:
        EmailChannel().send(MESSAGE, "duty@example.org")
    assert failure.value.retryable
    assert channels._connections.connection is None
