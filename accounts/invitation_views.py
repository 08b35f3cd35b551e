"""Invitations: a nurse or team admin invites, the invited person accepts.

The raw token is in the emailed link only. Opening the link stores the token in the
session and redirects at once to the tokenless /accounts/invitation/accept/ (as Django's password
reset does), so the token is in no later URL, no page's Referer and no log line but the
first request's. There the person either creates an account, or, when the email already
has one, signs in and accepts with it; a signed-in account with another email is refused
without being told anything about the invitation.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from accounts import access, services
from accounts.audit import record_read
from accounts.forms import AcceptInvitationForm, InvitationForm, StaffInvitationForm
from accounts.ratelimits import limit_by_ip
from portal.http import posted

SESSION_INVITATION_KEY = "homeline_invitation"
# In place of the token in the URL once it is in the session (tokens are 43 characters of
# URL-safe base64, never this word).
CONTINUE = "accept"


def continue_url() -> str:
    """The tokenless address of the acceptance page."""
    return reverse("invitation_accept", args=[CONTINUE])


def _invalid(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "accounts/invitation_invalid.html", {"reason": reason}, status=410)


@login_required
@require_http_methods(["GET", "POST"])
def invitation_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Invite a caregiver or the patient. The answer is the same whether or not the email
    already has an account anywhere."""
    patient = access.patient_for(request.user, patient_id)
    if not access.may_invite(request.user, patient.care_team):
        raise Http404
    record_read(request, patient, "invite for patient")
    form = InvitationForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation, token = services.invitation_create(
                created_by=request.user,
                care_team=patient.care_team,
                patient=patient,
                email=data["email"],
                full_name=data["full_name"],
                role=data["role"],
                relationship=data["relationship"],
                may_log=data["may_log"],
            )
        except services.InvitationError as error:
            form.add_error("email", str(error))
        else:
            if services.invitation_send(invitation=invitation, token=token):
                messages.success(request, f"Invitation sent to {invitation.email}.")
            else:
                messages.error(
                    request,
                    f"The invitation for {invitation.email} was saved but the email could not "
                    "be sent. Check the mail server and invite again.",
                )
            return redirect("patient_detail", patient_id=patient.pk)
    return render(request, "accounts/invitation_form.html", {"form": form, "patient": patient})


@login_required
@require_http_methods(["GET", "POST"])
def staff_invitation_create(request: HttpRequest, team_id: int) -> HttpResponse:
    team = access.team_for(request.user, team_id)
    if not access.may_manage_team(request.user, team):
        raise Http404
    form = StaffInvitationForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitation, token = services.invitation_create(
                created_by=request.user, care_team=team, **form.cleaned_data
            )
        except services.InvitationError as error:
            form.add_error("email", str(error))
        else:
            sent = services.invitation_send(invitation=invitation, token=token)
            (messages.success if sent else messages.error)(
                request,
                f"Invitation sent to {invitation.email}."
                if sent
                else "The invitation was saved but the email could not be sent.",
            )
            return redirect("staff_home")
    return render(request, "accounts/staff_invitation_form.html", {"form": form, "team": team})


@require_http_methods(["GET", "POST"])
@limit_by_ip("RATE_INVITATION", "invitation_accept")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link (/accounts/invitation/<token>/) keeps the token in the session and
    redirects to /accounts/invitation/accept/, where the invitation is accepted: a new
    account is created, or, signed in as the invited email's account, that account is
    linked. Opening the link looks nothing up, so its answer says nothing about the token.
    """
    if token != CONTINUE:
        request.session[SESSION_INVITATION_KEY] = token
        return redirect(continue_url())
    token = request.session.get(SESSION_INVITATION_KEY)
    if not token:
        return _invalid(request, "Open the link in your invitation email to continue.")
    try:
        invitation = services.invitation_for_token(token)
    except services.InvitationError as error:
        request.session.pop(SESSION_INVITATION_KEY, None)
        return _invalid(request, str(error))
    if request.user.is_authenticated:
        return _accept_signed_in(request, token, invitation)
    form = AcceptInvitationForm(
        posted(request), email=invitation.email, initial={"full_name": invitation.full_name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except services.InvitationError as error:
            if str(error) != services.ALREADY_REGISTERED:
                request.session.pop(SESSION_INVITATION_KEY, None)
            return _invalid(request, str(error))
        request.session.pop(SESSION_INVITATION_KEY, None)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Homeline. Your account is ready.")
        return redirect("home")
    sign_in = f"{reverse('login')}?{urlencode({'next': continue_url()})}"
    return render(request, "accounts/invitation_accept.html",
                  {"form": form, "invitation": invitation, "sign_in_url": sign_in})


def _accept_signed_in(request: HttpRequest, token: str, invitation) -> HttpResponse:
    mine = request.user.email.lower() == invitation.email.lower()
    if not mine:
        # Nothing about the invitation on this page: not its email, team or patient.
        request.session.pop(SESSION_INVITATION_KEY, None)
        return render(request, "accounts/invitation_invalid.html",
                      {"reason": services.NOT_YOURS}, status=403)
    if request.method == "POST":
        try:
            services.invitation_accept_existing(token=token, user=request.user)
        except services.InvitationNotYours:
            request.session.pop(SESSION_INVITATION_KEY, None)
            return render(request, "accounts/invitation_invalid.html",
                          {"reason": services.NOT_YOURS}, status=403)
        except services.InvitationError as error:
            request.session.pop(SESSION_INVITATION_KEY, None)
            return _invalid(request, str(error))
        request.session.pop(SESSION_INVITATION_KEY, None)
        messages.success(request, f"Invitation from {invitation.care_team.name} accepted.")
        return redirect("home")
    return render(request, "accounts/invitation_accept_existing.html",
                  {"invitation": invitation})
