"""Session and page policies that apply to every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import patch_cache_control

from portal.redaction import is_secret_path

Handler = Callable[[HttpRequest], HttpResponse]

# Requests that keep a page fresh in the background (the nurse queue polls) must not count
# as activity, or a screen left open would never time out.
BACKGROUND_HEADER = "HTTP_X_HOMELINE_BACKGROUND"
SESSION_KEY = "homeline_last_activity"


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
            last = request.session.get(SESSION_KEY)
            if last is not None and now - float(last) > limit:
                logout(request)
                messages.info(
                    request,
                    f"You were signed out after {limit // 60} minutes without activity.",
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
