"""What every channel shares: the message, the error, the interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    """One message in every form a channel may need. `message_id` ("<...@host>") is the
    email Message-ID: derived from the delivery row, so every copy of one delivery carries
    the same one and mail clients fold duplicates; empty lets the backend make one."""

    subject: str
    text: str
    html: str
    sms: str
    message_id: str = ""


class ChannelError(Exception):
    """A channel could not send. `retryable`: trying again later can help. `ambiguous`: the
    message may have been accepted all the same (the connection failed or timed out after
    the whole body was sent, before the server's answer), so a retry may make a second copy.
    """

    def __init__(self, message: str, *, retryable: bool, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.ambiguous = ambiguous


class Sender(Protocol):
    def send(self, message: Message, address: str) -> None: ...
