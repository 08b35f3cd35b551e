"""The nurse's triage queue: reads only (a fixed number of queries at any size)."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from accounts import access
from accounts.models import User
from symptoms.alerting.models import Alert, AlertCheckIn, AlertState, Delivery, DeliveryState


def queue_alerts(user: User) -> QuerySet[Alert]:
    """Open and acknowledged alerts of the user's teams: red before amber, oldest first.

    "red" sorts after "amber", so `-severity` puts red first and matches the partial index
    alert_open_queue (severity, opened_at) WHERE state <> 'resolved'.
    """
    failed = Delivery.objects.filter(alert=OuterRef("pk"), state=DeliveryState.FAILED)
    attachments = AlertCheckIn.objects.select_related("check_in__recorded_by").order_by(
        "-check_in__recorded_at"
    )
    return (
        access.alerts_for(user)
        .exclude(state=AlertState.RESOLVED)
        .select_related("patient__care_team", "acknowledged_by")
        .annotate(has_failed_delivery=Exists(failed))
        .prefetch_related(Prefetch("attachments", queryset=attachments))
        .order_by("-severity", "opened_at", "pk")
    )


def open_alert_counts(user: User) -> dict[str, int]:
    """Open (not yet resolved) red and amber alerts, for the header."""
    counts = (
        access.alerts_for(user)
        .exclude(state=AlertState.RESOLVED)
        .aggregate(red=Count("pk", filter=Q(severity="red")),
                   amber=Count("pk", filter=Q(severity="amber")))
    )
    return {"red": counts["red"] or 0, "amber": counts["amber"] or 0}
