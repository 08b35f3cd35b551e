"""/healthz, and the staff pages for alerts: the open ones, one alert, acknowledge, resolve.

Alerts are fetched through the patients accounts.access lets the user see, so another
team's alert answers 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import access
from symptoms.alerting import services
from symptoms.alerting.health import health_report
from symptoms.alerting.models import Alert, AlertState, Delivery, DeliveryState, Outcome


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _alerts_for(request: HttpRequest) -> QuerySet[Alert]:
    if not request.user.is_care_staff:
        raise Http404
    return Alert.objects.filter(patient__in=access.patients_for(request.user)).select_related(
        "patient__care_team", "acknowledged_by", "resolved_by")


def _alert_for(request: HttpRequest, alert_id: int, *, to_act: bool = False) -> Alert:
    alert = _alerts_for(request).filter(pk=alert_id).first()
    if alert is None or (to_act and not services.alert_may_act(request.user, alert)):
        raise Http404("No such alert.")
    return alert


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    alerts = _alerts_for(request).exclude(state=AlertState.RESOLVED).order_by(
        "-severity", "opened_at")
    # Failed messages stay in view until their alert is resolved; a failed reminder (no
    # alert) for two days.
    recent = timezone.now() - timedelta(days=2)
    failed = (Delivery.objects.filter(state=DeliveryState.FAILED,
                                      patient__in=access.patients_for(request.user))
              .filter(Q(alert__isnull=False) | Q(failed_at__gte=recent))
              .exclude(alert__state=AlertState.RESOLVED)
              .select_related("patient").order_by("-failed_at")[:50])
    return render(request, "alerting/alert_list.html", {
        "alerts": alerts, "failed": failed, "viewer_tz": request.user.time_zone,
    })


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
        "may_act": services.alert_may_act(request.user, alert),
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
    return redirect("alert_detail", alert_id=alert.pk)


@login_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_for(request, alert_id, to_act=True)
    outcome = request.POST.get("outcome", "")
    if outcome not in Outcome.values:
        messages.error(request, "Choose an outcome.")
        return redirect("alert_detail", alert_id=alert.pk)
    try:
        services.alert_resolve(alert=alert, user=request.user, outcome=outcome,
                               note=request.POST.get("note", ""))
    except services.AlertNotAllowed:
        raise Http404 from None
    except services.AlertConflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, "Resolved.")
    return redirect("alert_detail", alert_id=alert.pk)
