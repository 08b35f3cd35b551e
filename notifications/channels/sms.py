"""The SMS channel and its backends. `ALERT_SMS_BACKEND` names the backend class; a provider
is one more class here or anywhere importable, with `send(to, body)`
raising ChannelError on failure.

The default writes each message to a file (the local SMS output, like var/mail for email);
the console backend logs it; the locmem backend keeps it in memory for tests.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from notifications.channels.base import ChannelError, Message

log = logging.getLogger(__name__)


class SmsBackend(Protocol):
    def send(self, to: str, body: str) -> None: ...


@dataclass(frozen=True)
class Sms:
    to: str
    body: str


class ConsoleBackend:
    def send(self, to: str, body: str) -> None:
        log.info("SMS to %s: %s", to, body)


class FileBackend:
    """One file per message in ALERT_SMS_FILE_PATH."""

    def send(self, to: str, body: str) -> None:
        directory = Path(settings.ALERT_SMS_FILE_PATH)
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.sms"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(f"To: {to}\n\n{body}\n", encoding="utf-8")
        except OSError as exc:
            raise ChannelError(f"could not write {directory / name}: {exc}",
                               retryable=True) from exc


class LocmemBackend:
    """Keeps messages in `outbox` (tests; workers in the same process see the same list)."""

    outbox: list[Sms] = []
    _lock = threading.Lock()

    def send(self, to: str, body: str) -> None:
        with self._lock:
            self.outbox.append(Sms(to, body))


@cache
def _backend_class(path: str) -> type:
    return import_string(path)


def backend() -> SmsBackend:
    return _backend_class(settings.ALERT_SMS_BACKEND)()


class SmsChannel:
    """SMS through settings.ALERT_SMS_BACKEND, bounded by ALERT_SMS_TIMEOUT_SECONDS whatever
    the backend does: the call runs in a thread of its own, and one that has not returned by
    then is an ambiguous ChannelError (the provider may have taken the message). A backend
    should also set its own network timeouts, so that such a thread ends soon after."""

    def send(self, message: Message, address: str) -> None:
        sms_backend = backend()
        outcome: dict[str, BaseException | None] = {}

        def call() -> None:
            try:
                sms_backend.send(address, message.sms)
                outcome["error"] = None
            except BaseException as exc:  # handed to the caller's thread below
                outcome["error"] = exc

        thread = threading.Thread(target=call, daemon=True, name="sms-send")
        thread.start()
        thread.join(settings.ALERT_SMS_TIMEOUT_SECONDS)
        if "error" not in outcome:
            raise ChannelError(
                f"SMS provider did not answer within {settings.ALERT_SMS_TIMEOUT_SECONDS} s",
                retryable=True, ambiguous=True)
        if outcome["error"] is not None:
            raise outcome["error"]
