"""The nurse's triage queue: reads only (a fixed number of queries at any size)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import User
from alerts.access import alerts_for
from alerts.models import Alert, AlertCheckIn, AlertState
from notifications.models import Channel, Delivery, DeliveryState


def queue_alerts(user: User) -> QuerySet[Alert]:
    """Open and acknowledged alerts of the user's teams: red before amber, oldest first.

    "red" sorts after "amber", so `-severity` puts red first and matches the partial index
    alert_open_queue (severity, opened_at) WHERE state <> 'resolved'.
    """
    failed = Delivery.objects.filter(alert=OuterRef("pk"), state=DeliveryState.FAILED)
    undeliverable = Delivery.objects.filter(alert=OuterRef("pk"), state=DeliveryState.FAILED,
                                            channel=Channel.NONE)
    attachments = AlertCheckIn.objects.select_related("check_in__recorded_by").order_by(
        "-check_in__recorded_at"
    )
    return (
        alerts_for(user)
        .exclude(state=AlertState.RESOLVED)
        .select_related("patient__care_team", "acknowledged_by")
        .annotate(has_failed_delivery=Exists(failed),
                  has_undeliverable_step=Exists(undeliverable))
        .prefetch_related(Prefetch("attachments", queryset=attachments))
        .order_by("-severity", "opened_at", "pk")
    )


def open_alert_counts(user: User) -> dict[str, int]:
    """Open (not yet resolved) red and amber alerts, for the header."""
    counts = (
        alerts_for(user)
        .exclude(state=AlertState.RESOLVED)
        .aggregate(red=Count("pk", filter=Q(severity="red")),
                   amber=Count("pk", filter=Q(severity="amber")))
    )
    return {"red": counts["red"] or 0, "amber": counts["amber"] or 0}


@dataclass(frozen=True)
class RowFinding:
    """One finding for the queue row: its words, severity ("red"/"amber"), whether it is an
    emergency, and when the check-in that gave it was recorded (UTC)."""

    text: str
    severity: str
    emergency: bool
    recorded_at: datetime


def alert_row_findings(alert: Alert) -> list[RowFinding]:
    """What made the alert what it is, across ALL its check-ins (not only the latest):

    for a red alert every red finding, emergencies first, then the rest oldest first; for an
    amber alert every amber finding. The same words from two check-ins are listed once
    (the first time they came). Reads the attachments queue_alerts prefetched: no query.
    """
    attachments = sorted(alert.attachments.all(), key=lambda a: a.check_in.recorded_at)
    seen: set[str] = set()
    found: list[RowFinding] = []
    for attachment in attachments:
        for finding in attachment.check_in.findings:
            if finding["severity"] != alert.severity or finding["text"] in seen:
                continue
            seen.add(finding["text"])
            found.append(RowFinding(finding["text"], finding["severity"],
                                    bool(finding.get("emergency")),
                                    attachment.check_in.recorded_at))
    # Stable sort: emergencies first, each group keeping its order in time.
    return sorted(found, key=lambda f: not f.emergency)


def patient_alerts(patient, limit: int = 10) -> list[Alert]:
    """The patient's latest alerts with their messages (two queries)."""
    deliveries = Delivery.objects.order_by("created_at", "pk")
    return list(
        patient.alerts.select_related("acknowledged_by", "resolved_by")
        .prefetch_related(Prefetch("deliveries", queryset=deliveries))
        .order_by("-opened_at")[:limit]
    )
