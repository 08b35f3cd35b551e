"""The ways a message reaches a person, behind one small interface.

A channel sends one `Message` to one address, or raises `ChannelError` saying whether trying
again later can help (a mail server that is down: yes; an address it refuses for good: no).
The delivery service decides what to do with that; channels know nothing of rows or retries.
"""

from __future__ import annotations

import smtplib
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


class EmailChannel:
    """Email through Django's configured backend (SMTP in production, files in development)."""

    def send(self, message: Message, address: str) -> None:
        email = EmailMultiAlternatives(
            subject=message.subject, body=message.text, to=[address],
            from_email=settings.DEFAULT_FROM_EMAIL,
            connection=get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT),
        )
        email.attach_alternative(message.html, "text/html")
        try:
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
