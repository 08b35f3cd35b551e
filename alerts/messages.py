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
    return context


def message_for(delivery: Delivery) -> Message:
    """The alert or reminder text of this row (templates alerts/emails/*, alerts/sms_*), with
    the row's one Message-ID. Raises TemplateDoesNotExist only on a broken install."""
    context = _context(delivery)
    kind = "reminder" if context["purpose"] == Purpose.REMINDER else "alert"
    subject = render_to_string(f"alerts/emails/{kind}_subject.txt", context)
    return Message(
        subject=" ".join(subject.split()),
        text=render_to_string(f"alerts/emails/{kind}_body.txt", context),
        html=render_to_string(f"alerts/emails/{kind}_body.html", context),
        sms=" ".join(render_to_string(f"alerts/sms_{kind}.txt", context).split()),
        message_id=message_id_for(delivery),
    )
