"""The nurse-queue channel."""

from __future__ import annotations

from notifications.channels.base import Message


class QueueChannel:
    """The nurse queue: the alert is already on it (it is read from the database), so
    "sending" only records that it was put in front of the nurses. It cannot fail."""

    def send(self, message: Message, address: str) -> None:
        return None
