"""Team settings for team admins: numbers, cut-off, escalation, thresholds, staff."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access, services, team_panels
from accounts.audit import record_reads
from accounts.models import CareTeam, Invitation, Membership
from portal.fields import strict_formfield
from portal.http import posted


class TeamSettingsForm(forms.ModelForm):
    """Every team setting at once. `seen` carries what the page showed
    (services.team_settings_seen_token), so a save from an out-of-date page is refused
    instead of putting back an old 24-hour number."""

    seen = forms.CharField(required=False, widget=forms.HiddenInput, max_length=4000)

    class Meta:
        model = CareTeam
        fields = [
            "line_phone", "emergency_number", "time_zone", "check_in_cutoff",
            "red_escalation_minutes", "red_doctor_minutes", "amber_escalation_minutes",
            "duty_email", "duty_phone", "escalation_email", "escalation_phone",
            "on_call_doctor_email", "on_call_doctor_phone", "alert_message_detail",
        ]
        widgets = {"check_in_cutoff": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "alert_message_detail": forms.RadioSelect}
        # Strict fields (portal/fields.py): digits-only minutes, a geographic time zone,
        # emails of at most 254 characters, no control characters in numbers.
        formfield_callback = strict_formfield
        labels = {
            "red_escalation_minutes": "Red: escalate if not acknowledged after (minutes)",
            "red_doctor_minutes": "Red: on-call doctor after (minutes)",
            "amber_escalation_minutes": "Amber: escalate after (minutes)",
        }

    def clean(self) -> dict[str, object]:
        data = super().clean()
        first, doctor = data.get("red_escalation_minutes"), data.get("red_doctor_minutes")
        if first and doctor and doctor <= first:
            self.add_error("red_doctor_minutes",
                           "The doctor is called after the first escalation: give more minutes.")
        if not (data.get("duty_email") or data.get("duty_phone")):
            self.add_error("duty_email", "Give the nurse on duty an email or a phone number: "
                                         "red alerts go there first.")
        return data


def _admin_team(request: HttpRequest, team_id: int) -> CareTeam:
    team = access.team_for(request.user, team_id)
    if not access.may_manage_team(request.user, team):
        raise Http404
    return team


@login_required
@require_http_methods(["GET", "POST"])
def team_settings(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _admin_team(request, team_id)
    fields = TeamSettingsForm.Meta.fields
    form = TeamSettingsForm(posted(request), instance=team,
                            initial={"seen": services.team_settings_seen_token(team, fields)})
    stale = None
    if request.method == "POST" and form.is_valid():
        # The service writes under the team row lock, refusing an out-of-date page.
        values = {name: form.cleaned_data[name] for name in fields}
        try:
            services.team_settings_save(team=team, values=values,
                                        seen=form.cleaned_data["seen"] or None)
        except services.TeamSettingsChangedMeanwhile as changed:
            # Nothing saved: the form shows the settings now; the page says what changed
            # and what this page would have set, to be made again on the current values.
            team = CareTeam.objects.get(pk=team.pk)
            yours = services.team_settings_snapshot(form.instance, fields)
            stale = {
                "changed": changed.changed,
                "yours": [(str(CareTeam._meta.get_field(n).verbose_name), changed.current[n],
                           yours[n]) for n in fields if yours[n] != changed.current[n]],
            }
            form = TeamSettingsForm(
                instance=team, initial={"seen": services.team_settings_seen_token(team, fields)})
        else:
            messages.success(request, "Team settings saved.")
            return redirect("team_settings", team_id=team.pk)
    # Panels of the apps above (alerts: contacts missing, steps that reached nobody).
    panels = team_panels.panels_for(team)
    invitations = list(Invitation.objects.filter(care_team=team, accepted_at__isnull=True)
                       .order_by("-created_at")[:50])
    # The panels name patients (undeliverable steps), and a patient's or caregiver's
    # pending invitation shows their email: reads, in the read log.
    record_reads(request, panels.patient_ids
                 + [i.patient_id for i in invitations if i.patient_id], "view team settings")
    return render(
        request,
        "accounts/team_settings.html",
        {
            "team": team,
            "form": form,
            "members": team.memberships.select_related("user").order_by("user__full_name"),
            "invitations": invitations,
            "history": team.history.select_related("history_user").order_by(
                "-history_date")[:20],
            **panels.context,
            "stale": stale,
        },
        status=409 if stale else 400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def membership_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = Membership.objects.filter(
        pk=membership_id, team__in=access.teams_for(request.user)
    ).select_related("team", "user").first()
    if membership is None or not access.may_manage_team(request.user, membership.team):
        raise Http404
    try:
        services.membership_remove(membership=membership, by=request.user)
    except services.MembershipRemoveRefused as refused:
        messages.error(request, str(refused))
        return redirect("team_settings", team_id=membership.team_id)
    messages.success(request, f"{membership.user.full_name} removed from {membership.team}.")
    return redirect("team_settings", team_id=membership.team_id)
