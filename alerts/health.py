"""The alerts app's part of /healthz (notifications.health), registered on import."""

from __future__ import annotations

from typing import Any

from alerts.models import AlertState
from alerts.undeliverable import undeliverable_count
from notifications import health
from notifications.models import Delivery, DeliveryState


def recipients_check() -> dict[str, Any]:
    """Issue 10 kind 2: escalation or fallback steps that reached nobody because the team
    has no contact for the role, on alerts still open. Failing while there is any."""
    count = undeliverable_count()
    return {"ok": count == 0, "undeliverable_steps": count}


def failed_on_open_alerts() -> int:
    """Failed deliveries of alerts still open or acknowledged (the sweep revives them)."""
    return Delivery.objects.filter(
        state=DeliveryState.FAILED, alert__state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED]
    ).count()


health.register_check("recipients", recipients_check)
health.register_deliveries_detail("failed_on_open_alerts", failed_on_open_alerts)
