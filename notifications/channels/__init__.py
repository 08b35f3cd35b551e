"""The ways a message reaches a person, behind one small interface.

A channel sends one `Message` to one address, or raises `ChannelError` saying whether trying
again later can help (a mail server that is down: yes; an address it refuses for good: no).
The delivery service decides what to do with that; channels know nothing of rows or retries.
"""

from __future__ import annotations

from notifications.channels.base import ChannelError, Message, Sender
from notifications.channels.email import EmailChannel, _connections
from notifications.channels.queue import QueueChannel
from notifications.channels.sms import SmsChannel

__all__ = ["ChannelError", "EmailChannel", "Message", "QueueChannel", "Sender", "SmsChannel",
           "_connections", "channel_for"]

CHANNELS: dict[str, Sender] = {
    "email": EmailChannel(),
    "sms": SmsChannel(),
    "queue": QueueChannel(),
}


def channel_for(name: str) -> Sender:
    return CHANNELS[name]
