"""The words of each message, from templates/emails/ (email) and templates/alerting/ (SMS).

Email and SMS leave the hospital, so by default they say only the severity, the patient's
initials and hospital number, and a link to sign in and see the rest. ALERT_EMAIL_DETAIL =
"findings" adds the words of the findings, for teams whose information governance allows it.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from symptoms.alerting.channels import Message
from symptoms.alerting.models import Alert, Delivery, Purpose


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
        context.update(
            alert=alert,
            emergency=alert.emergency,
            link=settings.SITE_URL + reverse("alert_detail", args=[alert.pk]),
            findings=_findings(alert) if settings.ALERT_EMAIL_DETAIL == "findings" else [],
            minutes_waiting=int((timezone.now() - alert.escalation_from).total_seconds() // 60),
            update=(context["purpose"] == Purpose.NOTICE
                    and (original or delivery).step != "notice 1"),
        )
    else:
        context["link"] = settings.SITE_URL + reverse("home")
    return context


def message_for(delivery: Delivery) -> Message:
    context = _context(delivery)
    kind = "reminder" if context["purpose"] == Purpose.REMINDER else "alert"
    subject = render_to_string(f"emails/{kind}_subject.txt", context)
    return Message(
        subject=" ".join(subject.split()),
        text=render_to_string(f"emails/{kind}_body.txt", context),
        html=render_to_string(f"emails/{kind}_body.html", context),
        sms=" ".join(render_to_string(f"alerting/sms_{kind}.txt", context).split()),
    )
