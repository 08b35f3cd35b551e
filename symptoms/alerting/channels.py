"""The ways a message reaches a person, behind one small interface.

A channel sends one `Message` to one address, or raises `ChannelError` saying whether trying
again later can help (a mail server that is down: yes; an address it refuses for good: no).
The delivery service decides what to do with that; channels know nothing of rows or retries.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    sms: str


class ChannelError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Sender(Protocol):
    def send(self, message: Message, address: str) -> None: ...


class _Connections(threading.local):
    """One mail connection per worker process (and thread), kept open between alerts: the
    SMTP handshake was most of an alert's latency. A connection idle longer than
    EMAIL_REUSE_SECONDS is closed first (servers drop idle clients), and one that turns out
    dead is replaced once at once, so reuse never delays an alert."""

    connection = None
    last_used = 0.0

    def get(self):  # a Django email backend
        now = time.monotonic()
        if self.connection is not None and now - self.last_used > settings.EMAIL_REUSE_SECONDS:
            self.discard()
        if self.connection is None:
            self.connection = get_connection(fail_silently=False,
                                             timeout=settings.EMAIL_TIMEOUT)
            self.connection.open()
        self.last_used = now
        return self.connection

    def discard(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            # Already broken, perhaps: there is nothing to tell anyone.
            with contextlib.suppress(Exception):
                connection.close()


_connections = _Connections()
# A reused connection the server has closed fails with one of these before anything is sent.
_STALE = (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)


class EmailChannel:
    """Email through Django's configured backend (SMTP in production, files in development)."""

    def send(self, message: Message, address: str) -> None:
        try:
            self._send(message, address, reused=_connections.connection is not None)
        except Exception:
            _connections.discard()
            raise

    def _send(self, message: Message, address: str, *, reused: bool) -> None:
        email = EmailMultiAlternatives(
            subject=message.subject, body=message.text, to=[address],
            from_email=settings.DEFAULT_FROM_EMAIL,
        )
        email.attach_alternative(message.html, "text/html")
        try:
            try:
                email.connection = _connections.get()
                email.send(fail_silently=False)
            except _STALE:
                if not reused:
                    raise
                _connections.discard()
                email.connection = _connections.get()
                email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            # 4xx is "not now" (mailbox busy, greylisting); 5xx is "never".
            raise ChannelError(f"recipient refused: {exc.recipients}",
                               retryable=all(400 <= c < 500 for c in codes)) from exc
        except smtplib.SMTPAuthenticationError as exc:
            # Our credentials are wrong: retrying cannot help until someone fixes them.
            raise ChannelError(f"SMTP authentication failed ({exc.smtp_code})",
                               retryable=False) from exc
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(f"SMTP {exc.smtp_code} {exc.smtp_error!r}",
                               retryable=400 <= exc.smtp_code < 500) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            # Refused connection, timeout, dropped connection, a full disk for file mail.
            raise ChannelError(f"{type(exc).__name__}: {exc}", retryable=True) from exc


class SmsChannel:
    def send(self, message: Message, address: str) -> None:
        from symptoms.alerting import sms  # sms backends import ChannelError from here

        sms.backend().send(address, message.sms)


class QueueChannel:
    """The nurse queue: the alert is already on it (it is read from the database), so
    "sending" only records that it was put in front of the nurses. It cannot fail."""

    def send(self, message: Message, address: str) -> None:
        return None


CHANNELS: dict[str, Sender] = {
    "email": EmailChannel(),
    "sms": SmsChannel(),
    "queue": QueueChannel(),
}


def channel_for(name: str) -> Sender:
    return CHANNELS[name]
