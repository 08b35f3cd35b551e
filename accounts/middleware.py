"""Session and page policies that apply to every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import patch_cache_control

from portal.redaction import is_secret_path

Handler = Callable[[HttpRequest], HttpResponse]

# Requests that keep a page fresh in the background (the nurse queue polls) must not count
# as activity, or a screen left open would never time out.
BACKGROUND_HEADER = "HTTP_X_HOMELINE_BACKGROUND"
SESSION_KEY = "homeline_last_activity"

# A check-in posted by a session that had idled out is not saved (the timeout protects
# shared phones), but its answers are kept in the fresh, signed-out session for the same
# user, so that they come back pre-filled, on the page they were sent from, after signing in
# (symptoms/views.py). Shape: {"user_id": int, "patient_id": int, "page": a URL name of
# CHECK_IN_URL_NAMES, "kept_at": float (epoch s), "fields": {name: [str]}}.
KEPT_CHECK_IN_KEY = "homeline_kept_check_in"
KEPT_CHECK_IN_SECONDS = 2 * 60 * 60
# The daily check-in and the neuro-only check-in (whose one-tap "cannot be woken" is an
# emergency: losing it to the timeout is the worst case).
CHECK_IN_URL_NAMES = ("check_in_new", "check_in_neuro")
# Kept answers from before pages were recorded (sessions older than this field) were the
# daily form's, the only page kept then.
DEFAULT_CHECK_IN_PAGE = "check_in_new"


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError


def posted_check_in(request: HttpRequest, *, check_csrf: bool = True) -> dict[str, object] | None:
    """The answers of a check-in form POST (the daily or the neuro-only page), as
    {"page": its URL name (one of CHECK_IN_URL_NAMES), "patient_id": int,
    "fields": {name: [str]}}, or None if this request is not a genuine check-in POST
    (another page, or one that fails Django's CSRF check: a forged post must never pre-fill
    anybody's form). check_csrf=False only for a caller that has made its own same-origin
    check (symptoms.views.csrf_failure)."""
    if request.method != "POST":
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.url_name not in CHECK_IN_URL_NAMES:
        return None
    if check_csrf and CsrfViewMiddleware(_no_view).process_view(
            request, _no_view, (), {}) is not None:
        return None
    fields = {name: request.POST.getlist(name) for name in request.POST
              if name != "csrfmiddlewaretoken"}
    return {"page": match.url_name, "patient_id": int(match.kwargs["patient_id"]),
            "fields": fields}


def keep_check_in(request: HttpRequest, user_id: int, posted: dict[str, object]) -> None:
    """Keeps posted check-in answers (from posted_check_in) in the current session for
    user_id, for KEPT_CHECK_IN_SECONDS. Nothing is saved as a check-in."""
    request.session[KEPT_CHECK_IN_KEY] = {**posted, "user_id": user_id, "kept_at": time.time()}


def kept_check_in(request: HttpRequest, patient_id: int,
                  page: str = DEFAULT_CHECK_IN_PAGE) -> dict[str, list[str]] | None:
    """Takes (removes) the answers kept for the signed-in user, this patient and this page
    (a URL name of CHECK_IN_URL_NAMES), or None. Answers kept for another page or patient
    are left for it; answers older than KEPT_CHECK_IN_SECONDS are dropped (and answers
    kept for another user are dropped by IdleTimeoutMiddleware before any view runs)."""
    kept = request.session.get(KEPT_CHECK_IN_KEY)
    if not isinstance(kept, dict):
        return None
    if (kept.get("user_id") != request.user.pk or kept.get("patient_id") != patient_id
            or kept.get("page", DEFAULT_CHECK_IN_PAGE) != page):
        return None
    del request.session[KEPT_CHECK_IN_KEY]
    if time.time() - float(kept.get("kept_at", 0)) > KEPT_CHECK_IN_SECONDS:
        return None
    fields = kept.get("fields")
    return fields if isinstance(fields, dict) else None


def _plural_minutes(minutes: int) -> str:
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


class IdleTimeoutMiddleware:
    """Signs a user out after a period without activity: staff 15 min, patients 30 min."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            limit = (
                settings.SESSION_IDLE_SECONDS_STAFF
                if user.needs_two_factor
                else settings.SESSION_IDLE_SECONDS_PATIENT
            )
            now = time.time()
            kept = request.session.get(KEPT_CHECK_IN_KEY)
            if isinstance(kept, dict) and (
                kept.get("user_id") != user.pk
                or now - float(kept.get("kept_at", 0)) > KEPT_CHECK_IN_SECONDS
            ):
                # Someone else signed in on this browser, or the answers are stale: they
                # must never be shown.
                del request.session[KEPT_CHECK_IN_KEY]
            last = request.session.get(SESSION_KEY)
            if last is not None and now - float(last) > limit:
                posted = posted_check_in(request)
                logout(request)
                if posted is not None:
                    keep_check_in(request, user.pk, posted)
                messages.info(
                    request,
                    f"You were signed out after {_plural_minutes(limit // 60)} without "
                    "activity.",
                )
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse('login')}?{query}")
            if not request.META.get(BACKGROUND_HEADER):
                request.session[SESSION_KEY] = now
        return self.get_response(request)


class HtmxSignInRedirectMiddleware:
    """A background htmx request whose session ended gets a whole-page redirect to sign in
    (HX-Redirect), instead of having the sign-in form swapped into a corner of the page."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.headers.get("HX-Request")
            and response.status_code == 302
            and response["Location"].startswith(settings.LOGIN_URL_PATH)
        ):
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response


class StaffTwoFactorMiddleware:
    """Care-team staff and admin-site users must pass TOTP before any other page."""

    ALLOWED_NAMES = ("two_factor_setup", "two_factor_code", "two_factor_verify", "logout")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self._allowed: tuple[str, ...] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.needs_two_factor
            and not user.is_verified()
        ):
            if self._allowed is None:
                self._allowed = tuple(reverse(name) for name in self.ALLOWED_NAMES)
            path = request.path
            if not (path in self._allowed or path.startswith(settings.STATIC_URL)):
                from django_otp import devices_for_user

                target = (
                    "two_factor_verify"
                    if any(True for _ in devices_for_user(user, confirmed=True))
                    else "two_factor_setup"
                )
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse(target)}?{query}")
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages may carry health data: no browser or proxy may keep a copy."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(settings.STATIC_URL):
            patch_cache_control(response, no_store=True, private=True)
        return response


class SecretPathReferrerPolicyMiddleware:
    """Pages whose URL carries a secret (a password-reset or invitation link, see
    portal/redaction.py) send Referrer-Policy: no-referrer, so that the browser does not
    hand the link on as the Referer of the page's own static files, the next page, or any
    link followed from it. Other pages keep the site-wide policy (same-origin)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_secret_path(request.path):
            response["Referrer-Policy"] = "no-referrer"
        return response
