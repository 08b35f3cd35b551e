"""The nurse's view of one patient over the infusion."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts import access
from accounts.audit import record_read
from alerts.selectors import patient_alerts
from nursing.neuro import neuro_check, worry_words
from nursing.selectors import neuro_trend
from symptoms.selectors import (
    changes_since_previous,
    cycle_window,
    symptom_heatmap,
    temperature_chart,
    window_check_ins,
)
from symptoms.thresholds import ruleset_for_patient, threshold_conflicts
from treatment import calendar


@login_required
@require_safe
def patient_timeline(request: HttpRequest, patient_id: int) -> HttpResponse:
    if not request.user.is_care_staff:
        raise Http404
    patient = access.patient_for(request.user, patient_id)
    record_read(request, patient, "view timeline")
    ruleset = ruleset_for_patient(patient)
    plan = calendar.schedule(patient)  # the cycle window and the position, one query
    start, end = cycle_window(patient, plan=plan)
    in_window = window_check_ins(patient, start, end)
    days, heat_rows = symptom_heatmap(patient, in_window, start, end)
    latest, changes = changes_since_previous(patient)
    recent = Paginator(
        patient.check_ins.select_related("recorded_by").order_by("-recorded_at"), 20
    ).get_page(request.GET.get("page"))
    for check_in in recent:
        check_in.neuro = neuro_check(check_in)
        check_in.worry_words = worry_words(check_in.worry)
    context = {
        "patient": patient,
        "position": plan.position(end) if plan else None,
        "chart": temperature_chart(patient, in_window, ruleset),
        "days": days,
        "heat_rows": heat_rows,
        "latest": latest,
        "changes": changes,
        "page": recent,
        "ruleset": ruleset,
        "threshold_conflicts": threshold_conflicts(patient),
        "may_record": access.may_record_check_in(request.user, patient),
        "alerts": patient_alerts(patient),
        "neuro_trend": neuro_trend(patient),
        "viewer_tz": request.user.time_zone,
    }
    return render(request, "nursing/patient_timeline.html", context)
