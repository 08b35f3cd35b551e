"""Team admins: the people of a team, deactivation, closure requests, the access log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import access, services
from accounts.audit import record_read, record_reads
from accounts.models import ClosureRequest, Role
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
        services.account_close(user=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, "Your request is sent. Your care team will close the "
                                  "account and let you know.")
        return redirect("home")
    return render(request, "accounts/account_close.html", {"form": form, "pending": pending})


@login_required
@require_safe
def team_people(request: HttpRequest, team_id: int) -> HttpResponse:
    """The people with an active place in this one team (see access.people_of_team)."""
    team = access.team_for(request.user, team_id)
    if not access.may_manage_team(request.user, team):
        raise Http404
    people = list(access.people_of_team(team).order_by("role", "full_name"))
    requests = ClosureRequest.objects.filter(
        user__in=[person.pk for person in people], handled_at__isnull=True
    ).select_related("user")
    record_reads(request, access.patients_of_team(team).filter(user__in=people),
                 "view people list")
    return render(request, "accounts/team_people.html",
                  {"team": team, "people": people, "requests": requests})


@login_required
@require_POST
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    """End a person's place in the team named by the POST field `team`; their account
    ends only when no place in any team remains (services.person_end_in_team).

    A person without an active place in one of the admin's teams is 404 like a missing
    id. Without a team (or with one the admin does not manage) nothing changes."""
    teams = [team for team in access.teams_for(request.user)
             if access.may_manage_team(request.user, team)]
    if not any(access.people_of_team(team).filter(pk=_int_or_none(user_id)).exists()
               for team in teams):
        raise Http404
    if int(user_id) == request.user.pk:
        raise Http404
    team = next((t for t in teams if str(t.pk) == request.POST.get("team", "")), None)
    if team is None:
        messages.error(request, "Choose the team to end this person's place in.")
        return redirect("staff_home")
    person = access.person_in_team_for(request.user, team, user_id)
    deactivated = services.person_end_in_team(person=person, team=team, by=request.user)
    if deactivated:
        messages.success(request, f"{person.full_name} can no longer sign in.")
    else:
        messages.success(request, f"{person.full_name} no longer has a place in {team.name}; "
                                  "their place in another team is unchanged.")
    return redirect("team_people", team_id=team.pk)


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


@login_required
@require_safe
def patient_access_log(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = access.patient_for(request.user, patient_id)
    if request.user.role != Role.TEAM_ADMIN:
        raise Http404
    entries = list(patient.access_logs.select_related("user").order_by("-at")[:500])
    record_read(request, patient, "view access log")
    return render(request, "accounts/patient_access_log.html",
                  {"patient": patient, "entries": entries})
