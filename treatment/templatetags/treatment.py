"""Where the patient is, for any template: `{% load treatment %}`.

accounts may not import treatment, but its templates may load this library (templates
stand above every app). Each tag reads one patient (a query or two); lists of patients
(queue, staff home) compute treatment.calendar.positions in their view instead, in one
query for the whole list.

- `{% treatment_position patient as pos %}`: Position | None on the patient's local today;
- `{% treatment_summary patient %}`: the card lines "cycle 2, infusion day 12 of 28", the
  next bag change, the next clinic visit, in the patient's time zone.
"""

from __future__ import annotations

from datetime import datetime
from importlib import import_module
from typing import Any

from django import template
from django.utils import timezone

from accounts.models import Patient
from treatment import calendar

register = template.Library()


@register.simple_tag
def treatment_position(patient: Patient) -> calendar.Position | None:
    """The patient's Position today (their own time zone), or None off treatment."""
    return calendar.position(patient, patient.local_today())


def next_bag_change(patient: Patient, now: datetime) -> tuple[bool, datetime | None]:
    """(known, when): `when` from the bag changes engineer's
    treatment.bag_changes.bag_change_due(patient, now) (an aware datetime or None);
    `known` is False while that function does not exist yet, so that the page shows a
    clear "not available" slot rather than a wrong "none due"."""
    try:
        due = import_module("treatment.bag_changes").bag_change_due
    except (ImportError, AttributeError):
        return False, None
    return True, due(patient, now)


@register.inclusion_tag("treatment/_summary.html")
def treatment_summary(patient: Patient, *, compact: bool = False) -> dict[str, Any]:
    """The where-the-patient-is lines for a card: position, next bag change, next visit.
    Times are shown in the patient's zone."""
    now = timezone.now()
    known, bag_due = next_bag_change(patient, now)
    visit = calendar.next_visit(patient, now)
    return {
        "patient": patient,
        "position": calendar.position(patient, patient.local_today(now)),
        "bag_known": known,
        "bag_due": bag_due,
        # A time already past is not a "next" change: the line says since when instead.
        "bag_late": bag_due is not None and bag_due <= now,
        "visit": visit,
        "zone": patient.time_zone,
        "compact": compact,
    }


@register.inclusion_tag("treatment/_family_feeds.html", takes_context=True)
def calendar_feeds(context: template.Context, patient: Patient) -> dict[str, Any]:
    """The family's calendar links of `patient` on the home page: those still on, each
    with a switch-off button, and a button to make one (the caller has checked access)."""
    feeds = list(patient.calendar_feeds.filter(revoked_at__isnull=True)
                 .select_related("created_by").order_by("-created_at"))
    return {"patient": patient, "feeds": feeds, "user": context.get("user"),
            "csrf_token": context.get("csrf_token")}
