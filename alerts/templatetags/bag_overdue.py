"""Bag change overdue, for templates: `{% load bag_overdue %}`.

- `{% bag_change_notice patient %}`: on the family's pages (home, bag change page), while the
  bag change is late enough for a finding (the same rule and minutes as the sweep, computed
  now, so the page never waits for a sweep): at amber a reminder to record it, at red what
  to do, with the 24-hour number as a tel: link; and, late or not, the "Bag changed" button
  for whoever may record it.
- `{% bag_overdue_by_alert alerts as rows %}` then `{% bag_overdue_lines rows alert %}`: the
  nurse's lines on the queue and the alert page ("Bag change overdue since 14:00", with the
  date when not the patient's today, "since Fri 20 Nov 14:00"; and "bag change recorded at
  15:10 by Sam Carer" once it is), one query for the whole list.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from accounts.models import Patient
from alerts.models import Alert, BagChangeOverdue
from symptoms.thresholds import ruleset_for_patient
from treatment.bag_changes import bag_change_due, may_record_bag_change
from triage.rules import bag_change_overdue

register = template.Library()


def bag_when(moment: datetime, patient: Patient, now: datetime | None = None) -> str:
    """`moment` (aware) on the patient's clock: "14:00" when it is the patient's today,
    else with the date, "Fri 20 Nov 14:00" (a change overdue for days must not read as
    today's)."""
    local = moment.astimezone(patient.tz)
    today = (now or timezone.now()).astimezone(patient.tz).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    return f"{local:%a} {local.day} {local:%b %H:%M}"


@register.filter(name="bag_when")
def bag_when_filter(moment: datetime | None, patient: Patient) -> str:
    """`{{ row.due_at|bag_when:patient }}`: see bag_when ("" for no time)."""
    return bag_when(moment, patient) if moment else ""


@register.inclusion_tag("alerts/_bag_change_notice.html", takes_context=True)
def bag_change_notice(context: dict, patient: Patient, *, button: bool = True) -> dict[str, Any]:
    """The overdue notice of `patient` (nothing while not late enough), and the "Bag
    changed" button to the bag change page for a user who may record it (`button`: False on
    that page itself)."""
    now = timezone.now()
    user = context.get("user") or context["request"].user
    due = bag_change_due(patient, now)
    finding = (bag_change_overdue(due.astimezone(patient.tz), now, ruleset_for_patient(patient))
               if due is not None and due <= now else None)
    return {
        "patient": patient,
        "level": finding.severity if finding else "",
        "due_time": bag_when(due, patient, now) if due else "",
        "phone": patient.care_team.line_phone,
        "button": button and may_record_bag_change(user, patient, now),
    }


@register.simple_tag
def bag_overdue_by_alert(alerts: Alert | Iterable[Alert]) -> dict[int, list[BagChangeOverdue]]:
    """{alert id: its overdue rows, oldest due first} for these alerts: one query, and none
    when no alert among them has the rule (the queue's count stays as it was)."""
    alerts = [alerts] if isinstance(alerts, Alert) else list(alerts)
    ids = [a.pk for a in alerts if "bag_change_overdue" in (a.rules or [])]
    rows: dict[int, list[BagChangeOverdue]] = {}
    if not ids:
        return rows
    for row in (BagChangeOverdue.objects.filter(alert_id__in=ids)
                .select_related("bag_change__recorded_by").order_by("due_at")):
        rows.setdefault(row.alert_id, []).append(row)
    return rows


@register.inclusion_tag("alerts/_bag_overdue_lines.html")
def bag_overdue_lines(rows: dict[int, list[BagChangeOverdue]], alert: Alert) -> dict[str, Any]:
    """<li> lines for the alert's overdue bag changes (none: nothing)."""
    return {"rows": rows.get(alert.pk, []), "patient": alert.patient}
