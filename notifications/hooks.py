"""What the outbox asks of the app that made a delivery row, registered by that app.

The outbox sends, retries and records rows; it does not know what they are about. When a
row is about to go it asks the row's sender two things (and a third when a fallback has
nowhere to go). The sender registers one handler per kind in its `AppConfig.ready()`:

    hooks.register("notice", handler)

The kind is the `purpose` of the row a fallback chain starts from (`Delivery.purpose`:
notice, escalation, reminder; a fallback asks the handler of the row it stands in for).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from notifications.channels.base import Message
    from notifications.models import Delivery

# A fallback of a fallback is at most two steps from its original; the bound stops a cycle.
_MAX_CHAIN = 5


class DeliveryHandler(Protocol):
    """The sender's side of a delivery row."""

    def reason_gone(self, delivery: Delivery, *, now: datetime) -> str | None:
        """Why the row should no longer be sent, in words for staff ("the alert was
        acknowledged by ..."), or None if it should go. Must not raise for a row it does not
        understand (such a row keeps its reason)."""

    def message(self, delivery: Delivery) -> Message:
        """The text to send (subject, plain, HTML, SMS), rendered now."""

    def fallback_unreachable(self, delivery: Delivery, *, now: datetime) -> list[int] | None:
        """Called when a failed row's fallback would be SMS but the role has no phone.
        Return the ids of rows made instead (possibly []), or None to fall back to the nurse
        queue."""


_handlers: dict[str, DeliveryHandler] = {}


class NoHandler(LookupError):
    """No app registered a handler for this kind of delivery (a configuration error)."""


def register(kind: str, handler: DeliveryHandler) -> None:
    """Register `handler` for rows whose (original) purpose is `kind`. Registering the same
    kind again replaces the handler (a reloaded app), never adds a second one."""
    _handlers[kind] = handler


def original(delivery: Delivery) -> Delivery:
    """The row a fallback (of a fallback...) stands in for; the row itself otherwise."""
    row = delivery
    for _ in range(_MAX_CHAIN):
        if row.fallback_for_id is None:
            break
        row = row.fallback_for
    return row


def handler_for(delivery: Delivery) -> DeliveryHandler:
    """The registered handler of this row's kind. Raises NoHandler if none is."""
    kind = original(delivery).purpose
    try:
        return _handlers[kind]
    except KeyError:
        raise NoHandler(f"no delivery handler registered for {kind!r}") from None
