"""The bag change page: when the next change is due, the one-tap "Bag changed now" button
(with an optional earlier time), the recent records, and staff's cancel of a wrong one.

Writes go through treatment.bag_changes; this module only turns the request into a call and
the answer into a page. Patients, caregivers and staff reach only their own patients
(accounts.access: another family's or team's patient is a 404); someone who may see the
patient but not record its bag change is answered 403 with who does.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from accounts.audit import record_read
from accounts.context_processors import care_line
from accounts.models import Patient
from portal.fields import StrictDateTimeField, StrictIntegerField, StrictTextField
from portal.http import posted
from treatment import bag_changes as service
from treatment.models import BagChange

RECENT = 10


class BagChangeForm(forms.Form):
    """The one tap: both fields optional. `changed_at` is wall-clock time in the patient's
    zone (a datetime-local box); empty means now."""

    changed_at = StrictDateTimeField(
        required=False, label="Changed earlier? When (leave empty for now)",
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M",
                                   attrs={"type": "datetime-local"}),
    )
    note = StrictTextField(required=False, multiline=True, max_length=service.NOTE_MAX_CHARS,
                           label="Note (optional)",
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: object, time_zone: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.tz = ZoneInfo(time_zone)

    def clean_changed_at(self):
        value = self.cleaned_data.get("changed_at")
        if value is None:
            return None
        # The field placed the typed time in the server's zone; it is the patient's.
        return timezone.make_naive(value).replace(tzinfo=self.tz)


# The cancel button's one value: the id of the record, read strictly ("1_0", "+5" refused).
_BAG_CHANGE_ID = StrictIntegerField(label="Bag change", min_value=1)


def _page(request: HttpRequest, patient: Patient, form: BagChangeForm, *, status: int = 200,
          refusal: str = "", cancel_error: str = "") -> HttpResponse:
    record_read(request, patient, "view bag changes")
    now = timezone.now()
    recent = list(BagChange.objects.filter(patient=patient)
                  .select_related("recorded_by", "cancelled_by").order_by("-changed_at")[:RECENT])
    may_record = service.may_record_bag_change(request.user, patient, now)
    return render(request, "treatment/bag_changes.html", {
        "patient": patient,
        "form": form,
        "next": service.next_bag_change(patient, now),
        "recent": recent,
        "may_record": may_record,
        "may_cancel": service.may_cancel_bag_change(request.user, patient),
        "refusal": refusal or ("" if may_record else service.not_allowed_message(patient)),
        "cancel_error": cancel_error,
        "care_line": care_line(patient.care_team),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def bag_changes(request: HttpRequest, patient_id: int) -> HttpResponse:
    """GET: the page. POST: record a bag change (302 back to the page with what was saved;
    400 with the field's error; 403 for someone who may not record it)."""
    patient = access.patient_for(request.user, patient_id)
    form = BagChangeForm(posted(request), time_zone=patient.time_zone)
    if request.method == "GET":
        return _page(request, patient, form)
    if not form.is_valid():
        return _page(request, patient, form, status=400)
    try:
        row, created = service.bag_change_record(
            patient=patient, by=request.user, changed_at=form.cleaned_data["changed_at"],
            note=form.cleaned_data["note"] or "")
    except service.BagChangeNotAllowed as refused:
        return _page(request, patient, BagChangeForm(time_zone=patient.time_zone),
                     status=403, refusal=str(refused))
    except service.BagChangeRefused as refused:
        form.add_error(refused.field, str(refused))
        return _page(request, patient, form, status=400)
    at = f"{row.changed_at.astimezone(patient.tz):%H:%M}"
    if created:
        messages.success(request, f"Bag change recorded at {at}. Thank you.")
    else:
        messages.info(request, f"This bag change was already recorded at {at} by "
                               f"{row.recorded_by.full_name}: nothing new was saved.")
    return redirect("bag_changes", patient_id=patient.pk)


@login_required
@require_POST
def bag_change_cancel(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Cancel a wrong record of this patient (nurses and clinicians of the team): 302 back
    to the page; 403 for anyone else who sees the patient; 400 without a valid bag change
    id; 404 for a record of another patient."""
    patient = access.patient_for(request.user, patient_id)
    blank = BagChangeForm(time_zone=patient.time_zone)
    if not service.may_cancel_bag_change(request.user, patient):
        return _page(request, patient, blank, status=403,
                     refusal=service.CANCEL_NOT_ALLOWED)
    try:
        bag_change_id = _BAG_CHANGE_ID.clean(request.POST.get("bag_change", ""))
    except ValidationError as refused:
        return _page(request, patient, blank, status=400, cancel_error=" ".join(refused.messages))
    row = BagChange.objects.filter(patient=patient, pk=bag_change_id).first()
    if row is None:
        raise Http404("No such bag change.")
    try:
        service.bag_change_cancel(bag_change=row, by=request.user)
    except service.BagChangeNotAllowed as refused:
        return _page(request, patient, blank, status=403, refusal=str(refused))
    at = f"{row.changed_at.astimezone(patient.tz):%H:%M}"
    messages.success(request, f"The bag change recorded at {at} is cancelled: it no longer "
                              "counts.")
    return redirect("bag_changes", patient_id=patient.pk)
