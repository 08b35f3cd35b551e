"""The alerts app's answers to the outbox (notifications.hooks), registered on import.

Alert rows (notice, escalation, their fallbacks), missed-day reminders and the family's bag
change notices (reminder rows made by alerts.bag_sweeps) are this app's:
whether one is still wanted (alerts.reasons), what it says (alerts.messages), and what a
team step with no phone to fall back to becomes (alerts.undeliverable).
"""

from __future__ import annotations

from datetime import datetime

from alerts.messages import message_for
from alerts.reasons import delivery_reason_gone
from alerts.undeliverable import undeliverable_step
from notifications import hooks
from notifications.channels import Message
from notifications.models import Delivery, Purpose


class AlertDeliveries:
    """notifications.hooks.DeliveryHandler for alert steps, check-in reminders and bag
    change notices."""

    def reason_gone(self, delivery: Delivery, *, now: datetime) -> str | None:
        return delivery_reason_gone(delivery, now=now)

    def message(self, delivery: Delivery) -> Message:
        return message_for(delivery)

    def fallback_unreachable(self, delivery: Delivery, *, now: datetime) -> list[int] | None:
        if delivery.alert_id is None:
            return None  # a reminder: the nurse queue takes it
        # Issue 10 kind 2: no phone to fall back to is a failure everyone sees (queue,
        # /healthz, team settings), not a queue row marked "sent".
        return undeliverable_step(
            alert=delivery.alert, purpose=Purpose.FALLBACK, step=f"fallback for #{delivery.pk}",
            role=delivery.role, now=now, fallback_for=delivery,
            why=(f"The {delivery.get_channel_display().lower()} failed and the team has no "
                 "phone to fall back to: only this page shows it. Add a duty phone in the "
                 "team settings.")) or []


_HANDLER = AlertDeliveries()
for _kind in (Purpose.NOTICE, Purpose.ESCALATION, Purpose.FALLBACK, Purpose.REMINDER):
    hooks.register(_kind, _HANDLER)
