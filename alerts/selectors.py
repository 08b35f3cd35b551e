"""The nurse's triage queue: reads only (a fixed number of queries at any size)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User
from alerts.access import alerts_for
from alerts.models import Alert, AlertCheckIn, AlertState
from notifications.models import Channel, Delivery, DeliveryState
from triage.catalogue import RULES_BY_CODE, SYMPTOMS_BY_CODE


def queue_alerts(user: User) -> QuerySet[Alert]:
    """Open and acknowledged alerts of the user's teams, in the order a nurse takes them
    (clinical-rules.md, "The carer's worry"): red before amber; within one severity,
    emergencies first, then the higher worry, then the oldest.

    Each alert carries `worry`: the highest `worry` (0-3) among its check-ins, 0 when none
    answered it (an alert with no check-in, e.g. a missed check-in or an overdue bag
    change, counts as 0). It is a correlated subquery, so the queue stays one query for the
    alerts however many there are.

    "red" sorts after "amber", so `-severity` puts red first. The filter is the predicate
    of the partial indexes on open alerts (alert_open_queue, alert_one_open_per_patient:
    state <> 'resolved'), so resolved alerts, nearly all of them after months, are never
    read; the few open ones are then sorted.
    """
    failed = Delivery.objects.filter(alert=OuterRef("pk"), state=DeliveryState.FAILED)
    undeliverable = Delivery.objects.filter(alert=OuterRef("pk"), state=DeliveryState.FAILED,
                                            channel=Channel.NONE)
    attachments = AlertCheckIn.objects.select_related("check_in__recorded_by").order_by(
        "-check_in__recorded_at"
    )
    worry = (AlertCheckIn.objects.filter(alert=OuterRef("pk")).order_by().values("alert")
             .annotate(highest=Max("check_in__worry")).values("highest"))
    return (
        alerts_for(user)
        .exclude(state=AlertState.RESOLVED)
        .select_related("patient__care_team", "acknowledged_by")
        .annotate(has_failed_delivery=Exists(failed),
                  has_undeliverable_step=Exists(undeliverable),
                  worry=Coalesce(Subquery(worry), 0))
        .prefetch_related(Prefetch("attachments", queryset=attachments))
        .order_by("-severity", "-emergency", "-worry", "opened_at", "pk")
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


def rule_words(code: str) -> str:
    """A rule code in a nurse's words: the title of triage.catalogue.RULES (the one place
    rule codes get words: "bag_change_overdue" -> "Bag change overdue"), a symptom's
    label for a symptom code, else the code with spaces (a code from a newer rule set)."""
    rule = RULES_BY_CODE.get(code)
    if rule is not None:
        return rule.title
    symptom = SYMPTOMS_BY_CODE.get(code)
    if symptom is not None:
        return symptom.label
    return code.replace("_", " ").capitalize()


def alert_rules_without_check_in(alert: Alert, attachments=None) -> list[str]:
    """Words for the rules of the alert that no check-in of it gave: the time-based ones
    (a missed check-in, an overdue bag change), raised by a sweep with no check-in behind
    them, so only the alert's rule codes tell of them. In the order they first fired.
    `attachments`: the alert's AlertCheckIn rows with their check-ins, if already fetched;
    by default those queue_alerts prefetched (no query)."""
    rows = alert.attachments.all() if attachments is None else attachments
    from_check_ins = {finding.get("rule") for attachment in rows
                      for finding in attachment.check_in.findings}
    return [rule_words(code) for code in alert.rules if code not in from_check_ins]


def patient_alerts(patient, limit: int = 10) -> list[Alert]:
    """The patient's latest alerts with their messages (two queries)."""
    deliveries = Delivery.objects.order_by("created_at", "pk")
    return list(
        patient.alerts.select_related("acknowledged_by", "resolved_by")
        .prefetch_related(Prefetch("deliveries", queryset=deliveries))
        .order_by("-opened_at")[:limit]
    )
