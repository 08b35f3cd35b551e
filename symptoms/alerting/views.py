"""/healthz, and the staff pages for alerts: the open ones, one alert, acknowledge, resolve.

Alerts are fetched through the patients accounts.access lets the user see, so another
team's alert answers 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import access
from accounts.models import Role
from symptoms.alerting import services
from symptoms.alerting.health import health_report
from symptoms.alerting.models import Alert, AlertState, Delivery, DeliveryState, Outcome
from symptoms.alerting.queue import queue_alerts

QUEUE_PAGE_SIZE = 25


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _alert_for(request: HttpRequest, alert_id: int, *, to_act: bool = False) -> Alert:
    alert = access.alert_for(request.user, alert_id)
    if to_act and not access.may_act_on_alert(request.user, alert):
        raise Http404("No such alert.")
    return alert


def _back(request: HttpRequest, alert: Alert) -> HttpResponse:
    """Back to the queue when the action came from it, else to the alert."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  request.is_secure()):
        return redirect(target)
    return redirect("alert_detail", alert_id=alert.pk)


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    """The triage queue. Polled by htmx (`partial`): then only the queue is rendered."""
    if not request.user.is_care_staff:
        raise Http404
    page = Paginator(queue_alerts(request.user), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page"))
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
    template = "alerting/_queue.html" if request.GET.get("partial") else "alerting/alert_list.html"
    return render(request, template, context)


@login_required
@require_GET
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for(request, alert_id)
    deliveries = alert.deliveries.order_by("created_at", "pk")
    return render(request, "alerting/alert_detail.html", {
        "alert": alert,
        "check_ins": alert.check_ins.order_by("recorded_at"),
        "deliveries": deliveries,
        "outcomes": Outcome.choices,
        "may_act": access.may_act_on_alert(request.user, alert),
        "viewer_tz": request.user.time_zone,
    })


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for(request, alert_id, to_act=True)
    seen = request.POST.get("seen_notices", "")
    try:
        services.alert_acknowledge(alert=alert, user=request.user,
                                   seen_notices=int(seen) if seen.isdigit() else None)
    except services.AlertNotAllowed:
        raise Http404 from None
    except services.AlertConflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, "Acknowledged: escalation has stopped.")
    return _back(request, alert)


@login_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for(request, alert_id, to_act=True)
    outcome = request.POST.get("outcome", "")
    if outcome not in Outcome.values:
        messages.error(request, "Choose an outcome.")
        return _back(request, alert)
    try:
        services.alert_resolve(alert=alert, user=request.user, outcome=outcome,
                               note=request.POST.get("note", ""))
    except services.AlertNotAllowed:
        raise Http404 from None
    except services.AlertConflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, "Resolved.")
    return _back(request, alert)
