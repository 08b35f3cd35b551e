"""The email channel: SMTP with a pooled connection per thread, one Message-ID per row."""

from __future__ import annotations

import contextlib
import re
import smtplib
import threading
import time

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address

from notifications.channels.base import ChannelError, Message


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
# A reused connection the server has closed fails with one of these; only before the body
# has been sent is that proof that nothing was accepted.
_STALE = (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)


class _NotAccepted(Exception):
    """Raised (wrapping the real error) when a send failed at a point where the server
    cannot have accepted the message: before the end of DATA."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _dot_stuffed(body: bytes) -> bytes:
    # RFC 5321 4.5.2: a line starting with "." gets a second one; the body ends CRLF . CRLF.
    body = re.sub(rb"(?m)^\.", b"..", body)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _smtp_send(smtp: smtplib.SMTP, email: EmailMultiAlternatives) -> None:
    """MAIL, RCPT and DATA by hand (smtplib's sendmail hides where it failed). Any error
    before the last byte of the body is wrapped in `_NotAccepted`; after it, the server may
    have the message, and the error is raised as it is (ambiguous)."""
    encoding = email.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(email.from_email, encoding)
    recipients = [sanitize_address(a, encoding) for a in email.recipients()]
    body = _dot_stuffed(email.message().as_bytes(linesep="\r\n"))
    try:
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if len(refused) == len(recipients):
            raise smtplib.SMTPRecipientsRefused(refused)
        smtp.putcmd("data")
        code, reply = smtp.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
    except Exception as exc:
        # Leave the session clean for the next message if the connection still works.
        with contextlib.suppress(Exception):
            smtp.rset()
        raise _NotAccepted(exc) from exc
    smtp.send(body)  # a failure from here on is ambiguous
    code, reply = smtp.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


class EmailChannel:
    """Email through Django's configured backend (SMTP in production, files in development).

    On SMTP, a message is sent again on a fresh connection only when the first try failed
    before the end of DATA (a kept connection the server had dropped): then it cannot have
    been accepted. A timeout or a dropped connection after the body is an ambiguous
    `ChannelError` (`ambiguous=True`); the delivery service decides whether to try again.
    Each SMTP step is bounded by EMAIL_TIMEOUT.
    """

    def send(self, message: Message, address: str) -> None:
        try:
            self._send(message, address, reused=_connections.connection is not None)
        except Exception:
            _connections.discard()
            raise

    def _send(self, message: Message, address: str, *, reused: bool) -> None:
        headers = {"Message-ID": message.message_id} if message.message_id else {}
        email = EmailMultiAlternatives(
            subject=message.subject, body=message.text, to=[address],
            from_email=settings.DEFAULT_FROM_EMAIL, headers=headers,
        )
        email.attach_alternative(message.html, "text/html")
        try:
            try:
                self._deliver(email)
            except _NotAccepted as not_accepted:
                if not (reused and isinstance(not_accepted.error, _STALE)):
                    raise not_accepted.error from None
                # A kept connection the server had closed: nothing was accepted, so a new
                # connection may send it at once.
                _connections.discard()
                try:
                    self._deliver(email)
                except _NotAccepted as again:
                    raise again.error from None
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
            # A definite answer (even after the body): the server said no, nothing accepted.
            raise ChannelError(f"SMTP {exc.smtp_code} {exc.smtp_error!r}",
                               retryable=400 <= exc.smtp_code < 500) from exc
        except _AfterBody as exc:
            raise ChannelError(f"no answer after the message body ({exc}): the server may "
                               "have accepted it", retryable=True, ambiguous=True) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            # Refused connection, timeout, dropped connection, a full disk for file mail.
            raise ChannelError(f"{type(exc).__name__}: {exc}", retryable=True) from exc

    def _deliver(self, email: EmailMultiAlternatives) -> None:
        try:
            backend = _connections.get()
        except Exception as exc:  # connecting: nothing can have been accepted
            raise _NotAccepted(exc) from exc
        if not isinstance(backend, SmtpBackend) or backend.connection is None:
            email.connection = backend
            email.send(fail_silently=False)  # files, memory: no ambiguous outcome
            return
        try:
            _smtp_send(backend.connection, email)
        except (_NotAccepted, smtplib.SMTPResponseException):
            raise
        except Exception as exc:  # timeout or disconnect after the body
            raise _AfterBody(f"{type(exc).__name__}: {exc}") from exc


class _AfterBody(Exception):
    """The body was sent and then the connection failed or timed out before the answer."""
