"""Team admins: the people of a team, deactivation, closure requests, the access log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import access
from accounts.models import ClosureRequest, Role, User
from portal.fields import StrictTextField
from portal.http import posted


class ClosureForm(forms.Form):
    reason = StrictTextField(
        required=False, max_length=1000, multiline=True,
        label="Anything you want to tell us (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_close(request: HttpRequest) -> HttpResponse:
    """A patient or caregiver asks for their account to be closed."""
    if request.user.is_care_staff:
        raise Http404
    form = ClosureForm(posted(request))
    pending = request.user.closure_requests.filter(handled_at__isnull=True).first()
    if request.method == "POST" and form.is_valid() and pending is None:
        ClosureRequest.objects.create(user=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, "Your request is sent. Your care team will close the "
                                  "account and let you know.")
        return redirect("home")
    return render(request, "accounts/account_close.html", {"form": form, "pending": pending})


@login_required
@require_safe
def team_people(request: HttpRequest, team_id: int) -> HttpResponse:
    team = access.team_for(request.user, team_id)
    if not access.may_manage_team(request.user, team):
        raise Http404
    people = access.users_managed_by(request.user).order_by("role", "full_name")
    requests = ClosureRequest.objects.filter(
        user__in=people, handled_at__isnull=True
    ).select_related("user")
    return render(request, "accounts/team_people.html",
                  {"team": team, "people": people, "requests": requests})


@login_required
@require_POST
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate at once: the next request of any of their sessions is signed out
    (Django's ModelBackend refuses inactive users when it loads the session's user)."""
    person = access.users_managed_by(request.user).filter(pk=user_id).first()
    if person is None or person.pk == request.user.pk:
        raise Http404
    with transaction.atomic():
        person = User.objects.select_for_update().get(pk=person.pk)
        person.is_active = False
        person.save(update_fields=["is_active"])
        for closure in person.closure_requests.filter(handled_at__isnull=True):
            closure.handled_at = timezone.now()
            closure.handled_by = request.user
            closure.save(update_fields=["handled_at", "handled_by"])
    messages.success(request, f"{person.full_name} can no longer sign in.")
    team = access.teams_for(request.user).order_by("pk").first()
    return redirect("team_people", team_id=team.pk)


@login_required
@require_safe
def patient_access_log(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = access.patient_for(request.user, patient_id)
    if request.user.role != Role.TEAM_ADMIN:
        raise Http404
    entries = patient.access_logs.select_related("user").order_by("-at")[:500]
    return render(request, "accounts/patient_access_log.html",
                  {"patient": patient, "entries": entries})
