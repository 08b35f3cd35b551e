"""/healthz, and the staff pages for alerts: the open ones, one alert, acknowledge, resolve.

Alerts are fetched through the patients accounts.access lets the user see, so another
team's alert answers 404 like one that does not exist.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts import access
from accounts.audit import record_read, record_reads
from accounts.models import Role
from alerts import services
from alerts.access import alert_for, may_act_on_alert
from alerts.models import Alert, AlertCheckIn, AlertState, Outcome
from alerts.selectors import (
    alert_row_findings,
    alert_rules_without_check_in,
    queue_alerts,
    rule_words,
)
from notifications.models import Delivery, DeliveryState
from nursing.neuro import neuro_check, worry_words
from treatment import calendar

QUEUE_PAGE_SIZE = 25


def _alert_for(request: HttpRequest, alert_id: int, *, to_act: bool = False) -> Alert:
    alert = alert_for(request.user, alert_id)
    if to_act and not may_act_on_alert(request.user, alert):
        raise Http404("No such alert.")
    return alert


def _back(request: HttpRequest, alert: Alert) -> HttpResponse:
    """Back to where the action came from (`next`, the queue) or else to the alert.

    `next` is followed only when it is a local path ("/alerts/"): never reversed as a view
    name, never another host or scheme; anything else goes to the queue.
    """
    target = request.POST.get("next", "")
    if not target:
        return redirect("alert_detail", alert_id=alert.pk)
    if (target.startswith("/") and not target.startswith(("//", "/\\"))
            and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                require_https=request.is_secure())):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(reverse("alert_list"))


_VERSION = re.compile(r"[0-9]{1,9}")


def _seen_version(request: HttpRequest) -> int | None:
    """The alert version the page showed (the forms carry it); None if missing or not a
    plain number (then the action is refused: the page is out of date)."""
    value = request.POST.get("seen_version", "")
    return int(value) if _VERSION.fullmatch(value) else None


def _changed(alert: Alert, seen: int) -> HttpResponse:
    """To the alert page, marking what came in after the version the nurse had seen."""
    return HttpResponseRedirect(f"{reverse('alert_detail', args=[alert.pk])}?since={seen}")


def _about(alert: Alert, text: str) -> str:
    """A confirmation naming the alert's patient (name and hospital number) with a link
    back to the alert: after the queue refreshed, the nurse can see which patient's alert
    the click acted on."""
    return format_html(
        '{} {} ({}) · <a href="{}">open the alert</a>', text, alert.patient.display_name,
        alert.patient.hospital_number, reverse("alert_detail", args=[alert.pk]),
    )


STALE_PAGE = ("This page is out of date: here is the alert as it is now. Look at it, then "
              "act again.")


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    """The triage queue. Polled by htmx (`partial`): then only the queue is rendered."""
    if not request.user.is_care_staff:
        raise Http404
    page = Paginator(queue_alerts(request.user), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page"))
    for alert in page:
        alert.row_findings = alert_row_findings(alert)
        # A missed check-in or an overdue bag change has no check-in to give it words.
        alert.rules_without_check_in = alert_rules_without_check_in(alert)
        alert.worry_words = worry_words(alert.worry)
    # Where each patient is today (their own zone), from their plans in one query.
    positions = calendar.positions([alert.patient for alert in page])
    for alert in page:
        alert.position = positions[alert.patient_id]
    # Failed messages stay in view until their alert is resolved; a failed reminder (no
    # alert) for two days.
    recent = timezone.now() - timedelta(days=2)
    failed = (Delivery.objects.filter(state=DeliveryState.FAILED,
                                      patient__in=access.patients_for(request.user))
              .filter(Q(alert__isnull=False) | Q(failed_at__gte=recent))
              .exclude(alert__state=AlertState.RESOLVED)
              .select_related("patient").order_by("-failed_at")[:50])
    context = {
        "page": page,
        "failed": failed,
        "viewer_tz": request.user.time_zone,
        "refresh_seconds": settings.QUEUE_REFRESH_SECONDS,
        "now": timezone.now(),
        "may_act": request.user.role in (Role.NURSE, Role.CLINICIAN),
    }
    # The read log: every patient on this page of the queue (name, hospital number,
    # findings), the live refresh too; a refresh within audit.LIST_READ_WINDOW is one read.
    record_reads(request, [a.patient_id for a in page] + [d.patient_id for d in failed],
                 "view queue")
    template = "nursing/_queue.html" if request.GET.get("partial") else "nursing/alert_list.html"
    return render(request, template, context)


@login_required
@require_GET
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _detail(request, _alert_for(request, alert_id))


def _attachments(request: HttpRequest, alert: Alert) -> list[AlertCheckIn]:
    """The alert's check-ins, oldest first; after a stale action was refused (`?since=n`,
    the version the nurse had seen) those that came in since are marked `is_new`."""
    since = request.GET.get("since", "")
    since_version = int(since) if _VERSION.fullmatch(since) else None
    rows = list(alert.attachments.select_related("check_in").order_by("check_in__recorded_at"))
    for row in rows:
        row.is_new = since_version is not None and row.alert_version > since_version
        # The neuro self-check (tool, total, baseline then, each answer) and the worry.
        row.neuro = neuro_check(row.check_in)
        row.worry_words = worry_words(row.check_in.worry)
    return rows


def _detail(request: HttpRequest, alert: Alert, *, status: int = 200,
            typed: dict[str, str] | None = None,
            errors: dict[str, str] | None = None) -> HttpResponse:
    """The alert page; after a refused resolve, with what was typed and the error by its
    field (status 400)."""
    record_read(request, alert.patient, "view alert")
    deliveries = alert.deliveries.order_by("created_at", "pk")
    attachments = _attachments(request, alert)
    return render(request, "nursing/alert_detail.html", {
        "alert": alert,
        "attachments": attachments,
        # Every rule that fired, in words; those no check-in gave (time-based) listed apart.
        "rule_words": [rule_words(code) for code in alert.rules],
        "rules_without_check_in": alert_rules_without_check_in(alert, attachments),
        "deliveries": deliveries,
        "outcomes": Outcome.choices,
        "may_act": may_act_on_alert(request.user, alert),
        "viewer_tz": request.user.time_zone,
        "typed": typed or {},
        "errors": errors or {},
        "note_max_chars": services.NOTE_MAX_CHARS,
    }, status=status)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for(request, alert_id, to_act=True)
    seen = _seen_version(request)
    if seen is None:
        messages.warning(request, STALE_PAGE)
        return redirect("alert_detail", alert_id=alert.pk)
    try:
        services.alert_acknowledge(alert=alert, user=request.user, seen_version=seen)
    except services.AlertNotAllowed:
        raise Http404 from None
    except services.AlertChanged as exc:
        messages.warning(request, _about(alert, f"{exc} Alert for"))
        return _changed(alert, seen)
    except services.AlertConflict as exc:
        messages.warning(request, _about(alert, f"{exc} Alert for"))
    else:
        messages.success(request, _about(alert, "Acknowledged: escalation has stopped for"))
    return _back(request, alert)


@login_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for(request, alert_id, to_act=True)
    seen = _seen_version(request)
    if seen is None:
        messages.warning(request, STALE_PAGE)
        return redirect("alert_detail", alert_id=alert.pk)
    typed = {"outcome": request.POST.get("outcome", ""), "note": request.POST.get("note", "")}
    try:
        services.alert_resolve(alert=alert, user=request.user, outcome=typed["outcome"],
                               note=typed["note"], seen_version=seen)
    except services.AlertNotAllowed:
        raise Http404 from None
    except services.AlertInputRefused as exc:
        # Nothing was saved: the page again, with what was typed and the error by its field.
        # A NUL cannot go back into the page (nor the database): the note is shown without.
        typed["note"] = typed["note"].replace("\x00", "")
        return _detail(request, alert, status=400, typed=typed, errors={exc.field: str(exc)})
    except services.AlertChanged as exc:
        messages.warning(request, _about(alert, f"{exc} Alert for"))
        return _changed(alert, seen)
    except services.AlertConflict as exc:
        messages.warning(request, _about(alert, f"{exc} Alert for"))
    else:
        messages.success(request, _about(alert, "Resolved. Alert closed for"))
    return _back(request, alert)
