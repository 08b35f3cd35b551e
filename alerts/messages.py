"""The words of each message: templates/alerts/emails/ (email) and templates/alerts/ (SMS).

Email and SMS leave the hospital, so what an alert message says is the care team's choice
(`CareTeam.alert_message_detail`, team settings):
- "minimal" (the default): only that an alert of this severity needs you, and a link to sign
  in; no initials, hospital number or unit name, which together identify a person and, on
  this portal, imply the diagnosis (issue 11);
- "identifiers": the patient's initials, hospital number and the team's name too;
- "findings": those and the words of the findings.
Nothing the level leaves out is put into the template context at all.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import AlertMessageDetail
from alerts.bag_sweeps import bag_notice_due_at
from alerts.models import Alert
from notifications.channels import Message
from notifications.models import Delivery, Purpose
from notifications.rendering import message_id_for


def _findings(alert: Alert) -> list[str]:
    seen: list[str] = []
    for check_in in alert.check_ins.order_by("recorded_at"):
        for finding in check_in.findings:
            if finding["text"] not in seen:
                seen.append(finding["text"])
    return seen


def _context(delivery: Delivery) -> dict[str, object]:
    patient = delivery.patient
    team = patient.care_team
    alert = delivery.alert
    original = delivery.fallback_for
    context: dict[str, object] = {
        "delivery": delivery,
        "purpose": original.purpose if original else delivery.purpose,
        "is_fallback": original is not None,
        "failed": original,
        "severity": (delivery.severity or "").upper(),
        "initials": patient.initials,
        "hospital_number": patient.hospital_number,
        "team": team,
        "site_url": settings.SITE_URL,
    }
    if alert is not None:
        detail = team.alert_message_detail
        if detail == AlertMessageDetail.MINIMAL:
            # Not in the context, so no template can let them out.
            for name in ("initials", "hospital_number", "team"):
                context.pop(name)
        context.update(
            alert=alert,
            detail=detail,
            identify=detail != AlertMessageDetail.MINIMAL,
            emergency=alert.emergency,
            link=settings.SITE_URL + reverse("alert_detail", args=[alert.pk]),
            findings=_findings(alert) if detail == AlertMessageDetail.FINDINGS else [],
            minutes_waiting=int((timezone.now() - alert.escalation_from).total_seconds() // 60),
            update=(context["purpose"] == Purpose.NOTICE
                    and (original or delivery).step != "notice 1"),
        )
    else:
        context["link"] = settings.SITE_URL + reverse("home")
    bag = bag_notice_due_at((original or delivery).step)
    if bag is not None:
        # The family's bag change notice (alerts.bag_sweeps): the due time on their clock.
        level, due_at = bag
        # Formatted here: the template's time filter would move it to the server's zone.
        context.update(bag_level=level, due_time=f"{due_at.astimezone(patient.tz):%H:%M}",
                       link=settings.SITE_URL + reverse("bag_changes", args=[patient.pk]))
    return context


def message_for(delivery: Delivery) -> Message:
    """The alert, reminder or bag change notice text of this row (templates alerts/emails/*,
    alerts/sms_*), with the row's one Message-ID. Raises TemplateDoesNotExist only on a
    broken install."""
    context = _context(delivery)
    kind = "reminder" if context["purpose"] == Purpose.REMINDER else "alert"
    if "bag_level" in context:
        kind = "bag_overdue"
    subject = render_to_string(f"alerts/emails/{kind}_subject.txt", context)
    return Message(
        subject=" ".join(subject.split()),
        text=render_to_string(f"alerts/emails/{kind}_body.txt", context),
        html=render_to_string(f"alerts/emails/{kind}_body.html", context),
        sms=" ".join(render_to_string(f"alerts/sms_{kind}.txt", context).split()),
        message_id=message_id_for(delivery),
    )
