from __future__ import annotations

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import access, enrolment, services
from accounts.audit import record_read
from accounts.forms import (
    PatientForm,
    TokenForm,
)
from accounts.models import CaregiverLink
from accounts.ratelimits import limit_by_user
from portal.fields import StrictTextField
from portal.http import posted


def _safe_next(request: HttpRequest, fallback: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only a local path: redirect() would reverse "id" or "home" as a view name (a 500 or
    # a surprise), and "//host" or "/\host" is another site (issue 11, "Input").
    if (target.startswith("/") and not target.startswith(("//", "/\\"))
            and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                request.is_secure())):
        return target
    return reverse(fallback)


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_care_staff:
        return redirect("staff_home")
    patients = list(access.patients_for(user).select_related("care_team").order_by("display_name"))
    return render(request, "accounts/home.html", {"patients": patients})


@login_required
@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest, team_id: int) -> HttpResponse:
    team = access.team_for(request.user, team_id)
    if not access.may_invite(request.user, team):
        raise Http404
    form = PatientForm(posted(request), care_team=team)
    if request.method == "POST" and form.is_valid():
        # The values as the form put them on its instance (defaults kept for fields a
        # browser leaves out), saved by the service.
        values = {name: getattr(form.instance, name) for name in form._meta.fields}
        patient = services.patient_create(team=team, values=values)
        messages.success(request, f"{patient.display_name} added to {team.name}. Now set "
                                  "their treatment plan.")
        # A new patient has no plan until staff set it: the plan page (treatment app, by
        # URL name; accounts imports no app) comes next.
        return redirect("treatment_plan", patient_id=patient.pk)
    return render(request, "accounts/patient_form.html", {"form": form, "team": team})


@login_required
@require_safe
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = access.patient_for(request.user, patient_id)
    if not request.user.is_care_staff:
        return redirect("home")
    record_read(request, patient, "view patient")
    links = patient.caregiver_links.select_related("caregiver").order_by("-created_at")
    return render(
        request,
        "accounts/patient_detail.html",
        {
            "patient": patient,
            "links": links,
            "may_invite": access.may_invite(request.user, patient.care_team),
            "may_record": access.may_record_check_in(request.user, patient),
        },
    )


@login_required
@require_POST
def caregiver_link_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    link = CaregiverLink.objects.filter(pk=link_id).select_related("patient").first()
    # Through access: a link of a patient this user cannot see is 404 like a missing one.
    if link is None or not access.patients_for(request.user).filter(pk=link.patient_id).exists():
        raise Http404
    if not access.may_invite(request.user, link.patient.care_team):
        raise Http404
    services.caregiver_link_revoke(link=link)
    messages.success(request, f"Access for {link.caregiver.full_name} has ended.")
    return redirect("patient_detail", patient_id=link.patient_id)


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    # Inline in HTML: drop the XML declaration, keep the <svg> element.
    return svg[svg.index("<svg"):]


class EnrolmentCodeForm(forms.Form):
    # Strict (portal/fields.py): NUL, control characters and over-long input are refused
    # naming the field.
    code = StrictTextField(
        label="Enrolment code",
        max_length=20,
        help_text="The code your team admin gave you, for example ABCD-EFGH-JKLM.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def _step_up(request: HttpRequest, device: TOTPDevice) -> None:
    # Mark the session verified, then give it a new key: a session id seen before the
    # second factor (shared computer, logs, a fixation) must not carry the verified state.
    otp_login(request, device)
    request.session.cycle_key()


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if enrolment.has_authenticator(user):
        return redirect(f"{reverse('two_factor_verify')}?next={_safe_next(request)}")
    if not enrolment.may_enrol(request, user):
        # Knowing the password is not enough to choose the account's second factor.
        return redirect(f"{reverse('two_factor_code')}?next={_safe_next(request)}")
    # One unconfirmed device per user: reloading the page keeps the same secret, so a code
    # from the app the person just set up still matches.
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    form = TokenForm(posted(request))
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            enrolment.enrolment_done(request)
            _step_up(request, device)
            messages.success(request, "Two-step sign-in is set up.")
            return HttpResponseRedirect(_safe_next(request))
        form.add_error(
            "token", "That code did not match. Check the time on your phone and try again."
        )
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device.config_url),
            "secret": base64.b32encode(device.bin_key).decode(),
            "next": _safe_next(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@limit_by_user("RATE_ENROLMENT_CODE", "enrolment_code")
def two_factor_code(request: HttpRequest) -> HttpResponse:
    """A staff member without an authenticator, outside their invitation's session,
    enters the one-time enrolment code a team admin issued (accounts/enrolment.py)."""
    user = request.user
    if not user.needs_two_factor or enrolment.has_authenticator(user):
        return redirect(_safe_next(request))
    if enrolment.may_enrol(request, user):
        return redirect(f"{reverse('two_factor_setup')}?next={_safe_next(request)}")
    form = EnrolmentCodeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            enrolment.enrolment_code_redeem(request, user, form.cleaned_data["code"])
        except enrolment.EnrolmentError as error:
            form.add_error("code", str(error))
        else:
            return redirect(f"{reverse('two_factor_setup')}?next={_safe_next(request)}")
    return render(request, "accounts/two_factor_code.html",
                  {"form": form, "next": _safe_next(request)})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect(f"{reverse('two_factor_setup')}?next={_safe_next(request)}")
    form = TokenForm(posted(request))
    if request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_is_allowed()[0] and device.verify_token(form.cleaned_data["token"]):
                _step_up(request, device)
                return HttpResponseRedirect(_safe_next(request))
        form.add_error("token", "That code did not match. Try the newest code your app shows.")
    return render(request, "accounts/two_factor_verify.html",
                  {"form": form, "next": _safe_next(request)})


@login_required
@require_POST
def enrolment_code_create(request: HttpRequest, user_id: int) -> HttpResponse:
    """A team admin issues a one-time enrolment code for a member of staff with an active
    place in the team named by the POST field `team` (accounts/enrolment.py), and sees it
    once. Anyone without such a place is 404, like a missing id."""
    teams = [team for team in access.teams_for(request.user)
             if access.may_manage_team(request.user, team)]
    if not any(access.people_of_team(team).filter(pk=user_id).exists() for team in teams):
        raise Http404
    team = next((t for t in teams if str(t.pk) == request.POST.get("team", "")), None)
    if team is None:
        messages.error(request, "Choose the team the enrolment code is for.")
        return redirect("staff_home")
    person = access.person_in_team_for(request.user, team, user_id)
    try:
        code = enrolment.enrolment_code_issue(user=person, issued_by=request.user)
    except enrolment.EnrolmentError as error:
        messages.error(request, str(error))
        return redirect("team_people", team_id=team.pk)
    return render(request, "accounts/enrolment_code.html",
                  {"person": person, "team": team, "code": code,
                   "hours": int(enrolment.CODE_TTL.total_seconds() // 3600),
                   "has_authenticator": enrolment.has_authenticator(person)})


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Shown instead of the page when a rate limit is hit (settings.RATELIMIT_VIEW)."""
    return render(request, "accounts/rate_limited.html", status=429)
