"""The staff home: the teams, their patients, who has not checked in today, links ending."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts import access
from accounts.audit import record_reads
from nursing.selectors import links_ending_soon, not_checked_in_today
from treatment import calendar


@login_required
@require_safe
def staff_home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_care_staff:
        raise Http404
    teams = access.teams_for(request.user)
    patients = list(
        access.patients_for(request.user).select_related("care_team").order_by("display_name")
    )
    # Names, hospital numbers and ages of every patient listed (the other lists on the page
    # name a subset of them): in the read log, once per LIST_READ_WINDOW.
    record_reads(request, patients, "view staff home")
    # Where each patient is today (their own zone), from their plans in one query.
    positions = calendar.positions(patients)
    for patient in patients:
        patient.position = positions[patient.pk]
    return render(
        request,
        "nursing/staff_home.html",
        {
            "teams": list(teams.order_by("name")),
            "patients": patients,
            "not_checked_in": not_checked_in_today(teams),
            "links_ending": links_ending_soon(teams),
        },
    )
