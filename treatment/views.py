"""Staff pages of the treatment plan and clinic visits; the family's calendar feeds.

- /treatment/patients/<id>/plan/: the plan (GET: anyone of the patient's team; POST:
  nurses and clinicians), its history, the clinic visits, the patient's feeds. Reads
  logged like the timeline (accounts/audit.py).
- /treatment/patients/<id>/visits/add (GET, POST), POST /treatment/visits/<id>/cancel:
  nurses and clinicians of the team.
- POST /treatment/patients/<id>/feeds/new, /treatment/feeds/<id>/revoke: staff of the
  team, the patient, or a caregiver with an active link (accounts.access: another
  patient's answers 404). A new feed's URL is shown once, on the page the POST returns.
- GET /calendar/<token>.ics: the feed, without signing in (treatment/feed_views.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from accounts.audit import record_read
from accounts.models import Patient
from portal.http import posted
from treatment import calendar, services
from treatment.forms import ClinicVisitForm, TreatmentPlanForm
from treatment.models import (
    CalendarFeed,
    ChangedBy,
    ClinicVisit,
    TreatmentCycle,
    TreatmentPlan,
)


def _of_reachable_patient(request: HttpRequest, model: type, object_id: int, what: str):
    """The `model` row (a visit, a feed) of a patient request.user may see, else 404 as for
    a missing id (accounts.access)."""
    return access.one_or_404(
        model.objects.filter(patient__in=access.patients_for(request.user))
        .select_related("patient"), object_id, what)


def _staff_patient(request: HttpRequest, patient_id: int) -> Patient:
    patient = access.patient_for(request.user, patient_id)
    if not request.user.is_care_staff:
        raise Http404
    return patient


# The plan's fields and values in the page's words, not the stored codes.
_FIELD_WORDS = {"planned_cycles": "planned cycles", "bag_hours": "bag duration",
                "usual_change_time": "usual change time", "changed_by": "changed by"}


def _value_words(field: str, value: object) -> str:
    """A stored plan value as the page says it: "48 hours", "10:00", "the day unit"."""
    if value is None or value == "":
        return "—"
    if field == "changed_by":
        return str(dict(ChangedBy.choices).get(value, value))
    if field == "bag_hours":
        return f"{value} hours"
    if field == "usual_change_time":
        return f"{value:%H:%M}" if hasattr(value, "strftime") else str(value)
    return str(value)


def error_links(form: TreatmentPlanForm) -> list[tuple[str, str, str]]:
    """(element id, field label, message) of each field with a problem, in page order, for
    the summary at the top (each links to its box). A message already starting with the
    label ("Cycle 1 start: ...") loses that prefix."""
    rows = []
    for field in form:
        for message in field.errors:
            prefix = f"{field.label}: "
            rows.append((field.id_for_label, str(field.label),
                         message.removeprefix(prefix)))
    return rows


def _history(plan: TreatmentPlan | None) -> list[dict[str, object]]:
    """Who changed what, newest first: the plan's and its cycle rows' history."""
    if plan is None:
        return []
    rows: list[dict[str, object]] = []
    for record in plan.history.select_related("history_user").order_by("-history_date")[:50]:
        previous = record.prev_record
        if previous is None:
            what = "plan created"
        else:
            delta = record.diff_against(previous, excluded_fields=[
                "updated_at", "updated_by", "bag_schedule_from"])
            what = "; ".join(f"{_FIELD_WORDS.get(c.field, c.field.replace('_', ' '))}: "
                             f"{_value_words(c.field, c.old)} → {_value_words(c.field, c.new)}"
                             for c in delta.changes) or "saved without changes"
        rows.append({"at": record.history_date, "by": record.history_user, "what": what})
    cycles = (TreatmentCycle.history
              .filter(plan_id=plan.pk).select_related("history_user")
              .order_by("-history_date")[:50])
    kinds = {"+": "set to", "~": "moved to", "-": "back to 42 days after the previous cycle, was"}
    for record in cycles:
        rows.append({"at": record.history_date, "by": record.history_user,
                     "what": f"cycle {record.number} start {kinds[record.history_type]} "
                             f"{record.start_date:%d %b %Y}"})
    rows.sort(key=lambda row: row["at"], reverse=True)
    return rows[:50]


def _plan_page(request: HttpRequest, patient: Patient, *, form: TreatmentPlanForm | None = None,
               status: int = 200, new_feed_url: str | None = None) -> HttpResponse:
    plan = TreatmentPlan.objects.filter(patient=patient).first()
    if form is None:
        form = TreatmentPlanForm(initial=TreatmentPlanForm.initial_for(plan))
    found = calendar.schedule(patient)
    now = timezone.now()
    return render(request, "treatment/plan.html", {
        "patient": patient,
        "plan": plan,
        "schedule": found,
        "cycle_rows": _cycle_rows(form, found),
        "position": found.position(patient.local_today(now)) if found else None,
        "form": form,
        "error_links": error_links(form) if form.is_bound else [],
        "visits": patient.clinic_visits.select_related("added_by", "cancelled_by")
                         .filter(starts_at__gte=now - timedelta(days=90)),
        "history": _history(plan),
        "may_edit": services.may_manage_plan(request.user, patient),
        "feeds": patient.calendar_feeds.select_related("created_by").order_by("-created_at"),
        "new_feed_url": new_feed_url,
        "zone": patient.time_zone,
    }, status=status)


def _cycle_rows(form: TreatmentPlanForm, found: calendar.Schedule | None) -> list[tuple]:
    """(bound field, the start in force or None) per cycle, for the page's table."""
    return [(field, found.starts[n] if found and n < found.planned_cycles else None)
            for n, field in enumerate(form.cycle_fields())]


@login_required
@require_http_methods(["GET", "POST"])
def treatment_plan(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The plan page; POST saves the plan (nurses and clinicians of the team)."""
    patient = _staff_patient(request, patient_id)
    record_read(request, patient, "view treatment plan")
    if request.method != "POST":
        return _plan_page(request, patient)
    if not services.may_manage_plan(request.user, patient):
        raise Http404
    form = TreatmentPlanForm(posted(request))
    if form.is_valid():
        try:
            services.plan_save(patient=patient, by=request.user, values=form.values())
        except services.PlanRefused as refused:
            for field, message in refused.errors.items():
                form.add_error(field, message)
        else:
            messages.success(request, f"Treatment plan of {patient.display_name} saved.")
            return redirect("treatment_plan", patient_id=patient.pk)
    return _plan_page(request, patient, form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def clinic_visit_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Book a clinic visit (nurses and clinicians of the team)."""
    patient = _staff_patient(request, patient_id)
    if not services.may_manage_plan(request.user, patient):
        raise Http404
    record_read(request, patient, "view treatment plan")
    form = ClinicVisitForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.visit_add(patient=patient, by=request.user,
                                       day=form.cleaned_data["day"], at=form.cleaned_data["at"],
                                       place=form.cleaned_data["place"])
        except services.VisitRefused as refused:
            for field, message in refused.errors.items():
                form.add_error(field, message)
        else:
            when = timezone.localtime(visit.starts_at, patient.tz)
            messages.success(request, f"Clinic visit of {patient.display_name} booked for "
                                      f"{when:%d %b %Y %H:%M}.")
            return redirect("treatment_plan", patient_id=patient.pk)
    return render(request, "treatment/visit_form.html",
                  {"patient": patient, "form": form, "zone": patient.time_zone},
                  status=400 if form.is_bound else 200)


@login_required
@require_POST
def clinic_visit_cancel(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _of_reachable_patient(request, ClinicVisit, visit_id, "clinic visit")
    patient = visit.patient
    if not request.user.is_care_staff or not services.may_manage_plan(request.user, patient):
        raise Http404
    services.visit_cancel(visit=visit, by=request.user)
    when = timezone.localtime(visit.starts_at, patient.tz)
    messages.success(request, f"Clinic visit of {patient.display_name} on "
                              f"{when:%d %b %Y %H:%M} cancelled.")
    return redirect("treatment_plan", patient_id=patient.pk)


# Feeds: staff and the family -----------------------------------------------------------------

def _feed_url(token: str) -> str:
    # From SITE_URL, never from the request's Host header, which a client picks among
    # ALLOWED_HOSTS: the link carries the token (docs/security.md, "Links in emails").
    return settings.SITE_URL + reverse("calendar_feed", args=[token])


@login_required
@require_POST
def calendar_feed_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A new feed; its URL is shown once, on this response (never in a redirect)."""
    patient = access.patient_for(request.user, patient_id)
    _, token = services.feed_create(patient=patient, by=request.user)
    url = _feed_url(token)
    if request.user.is_care_staff:
        record_read(request, patient, "view treatment plan")
        return _plan_page(request, patient, new_feed_url=url)
    return render(request, "treatment/feed_created.html", {"patient": patient, "url": url})


@login_required
@require_POST
def calendar_feed_revoke(request: HttpRequest, feed_id: int) -> HttpResponse:
    feed = _of_reachable_patient(request, CalendarFeed, feed_id, "calendar feed")
    services.feed_revoke(feed=feed, by=request.user)
    messages.success(request, "The calendar link is switched off: calendars that use it "
                              "stop updating.")
    if request.user.is_care_staff:
        return redirect("treatment_plan", patient_id=feed.patient_id)
    return redirect("home")
