"""Are alerts flowing? The checks behind /healthz (counts and ages only, no patient data)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from notifications.models import (
    UNDELIVERED,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Heartbeat,
)

log = logging.getLogger(__name__)


# Checks and counts the apps that send through the outbox add (in their AppConfig.ready()):
# this module knows nothing of what the messages are about.
_checks: dict[str, Callable[[], dict[str, Any]]] = {}
_deliveries_details: dict[str, Callable[[], int]] = {}


def register_check(name: str, check: Callable[[], dict[str, Any]]) -> None:
    """Add a check to the report under `name`: `check()` returns {"ok": bool, ...counts};
    an exception in it reports {"ok": False, "error": its class name}."""
    _checks[name] = check


def register_deliveries_detail(name: str, count: Callable[[], int]) -> None:
    """Add a count to the deliveries check (informational: it does not fail the check)."""
    _deliveries_details[name] = count


def _guarded(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return check()
    except Exception as exc:  # reported under database
        return {"ok": False, "error": type(exc).__name__}


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "down"
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _broker() -> dict[str, Any]:
    try:
        # The project's Celery app (portal.celery), found without importing the project.
        with current_app.connection_for_write() as conn:
            # Bounded by the broker's connect and socket timeouts (settings): a hung Redis
            # makes this check fail in seconds, not hang the health check.
            conn.ensure_connection(max_retries=1,
                                   timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
            # A real round trip: the queue's length (LLEN on Redis, a COUNT on SQLAlchemy).
            # kombu's virtual transports have no public call for it.
            channel = conn.default_channel
            waiting = {name: channel._size(name) for name in _QUEUES}
    except Exception as exc:  # any failure means "down"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"ok": True, "messages_waiting": waiting}


_QUEUES = ("alerts.red", "alerts.deliveries", "alerts.reminders", "alerts.sweeps")


def _channels(now: datetime) -> dict[str, Any]:
    """Is each sending channel up? Down: its latest finished attempt (in the last day) is a
    failure, later than its latest success, and a row on it is still waiting or failed on an
    open alert: an outage in progress, which /healthz reports at once (503)."""
    since = now - timedelta(days=1)
    try:
        latest = {
            row["delivery__channel"]: row
            for row in DeliveryAttempt.objects.filter(finished_at__gte=since)
            .values("delivery__channel")
            .annotate(
                last_ok=Max("finished_at", filter=Q(result=DeliveryAttempt.Result.SENT)),
                last_bad=Max("finished_at", filter=Q(result__in=[
                    DeliveryAttempt.Result.RETRY, DeliveryAttempt.Result.FAILED])),
            )
            .order_by()
        }
        waiting = set(Delivery.objects.filter(
            Q(state=DeliveryState.RETRY)
            | Q(state=DeliveryState.FAILED, permanent_failure=False,
                alert__state__in=["open", "acknowledged"]),
            channel__in=[Channel.EMAIL, Channel.SMS],
        ).order_by().values_list("channel", flat=True).distinct())
    except Exception as exc:  # reported under database
        return {"ok": False, "error": type(exc).__name__}
    result: dict[str, Any] = {"ok": True}
    for name in (Channel.EMAIL, Channel.SMS):
        row = latest.get(name, {})
        last_ok, last_bad = row.get("last_ok"), row.get("last_bad")
        down = (name in waiting and last_bad is not None
                and (last_ok is None or last_bad > last_ok))
        result[str(name)] = {
            "ok": not down,
            "last_success": last_ok.isoformat() if last_ok else None,
            "last_failure": last_bad.isoformat() if last_bad else None,
        }
        result["ok"] = result["ok"] and not down
    return result


def _deliveries(now: datetime) -> dict[str, Any]:
    try:
        undelivered = Delivery.objects.filter(state__in=UNDELIVERED).aggregate(
            oldest=Min("created_at"), count=Count("pk"))
        # Failed rows whose reason still stands, as each sender counts them (alerts: on
        # alerts still open or acknowledged).
        details = {name: count() for name, count in _deliveries_details.items()}
    except Exception as exc:  # reported under database
        return {"ok": False, "error": type(exc).__name__}
    oldest = undelivered["oldest"]
    age = (now - oldest).total_seconds() if oldest else 0.0
    return {
        "ok": age <= settings.ALERT_HEALTH_MAX_UNDELIVERED_SECONDS,
        "undelivered": undelivered["count"],
        "oldest_undelivered_seconds": round(age, 1),
        **details,
    }


def _beat(now: datetime) -> dict[str, Any]:
    try:
        beats = {h.name: h.last_run_at for h in Heartbeat.objects.all()}
    except Exception as exc:  # reported under database
        return {"ok": False, "error": type(exc).__name__}
    last = beats.get("beat")
    age = (now - last).total_seconds() if last else None
    result: dict[str, Any] = {
        "ok": age is not None and age <= settings.ALERT_HEALTH_MAX_BEAT_SECONDS,
        "last_run": last.isoformat() if last else None,
        "age_seconds": round(age, 1) if age is not None else None,
    }
    if "sweep-command" in beats:
        result["last_sweep_command"] = beats["sweep-command"].isoformat()
    return result


def health_report(*, now: datetime | None = None) -> dict[str, Any]:
    """{"status": "ok"|"failing", "time", "checks": {...}}; "failing" when any check is not
    ok. Counts and ages only, never patient data; /healthz shows the checks only to holders
    of the monitoring token."""
    now = now or timezone.now()
    checks = {
        "database": _database(),
        "broker": _broker(),
        "deliveries": _deliveries(now),
        "beat": _beat(now),
        **{name: _guarded(check) for name, check in _checks.items()},
        "channels": _channels(now),
    }
    ok = all(check["ok"] for check in checks.values())
    return {"status": "ok" if ok else "failing", "time": now.isoformat(), "checks": checks}
