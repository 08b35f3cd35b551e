"""Rate limits (django-ratelimit) on the doors people can knock on without an account.
Rates are settings (RATE_*), read when a request arrives so tests and operators can change
them. Counters are keyed on the client's own address (portal.http.client_address), never
on the proxy's: behind nginx every request has the proxy's REMOTE_ADDR, and a limit keyed
on it would be one limit for the whole site."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.decorators import ratelimit

from portal.http import client_address


def _rate(name: str) -> Callable[[object, object], str]:
    return lambda group, request: getattr(settings, name)


def client_address_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit key: the client's address ("203.0.113.5"; see client_address)."""
    return client_address(request) or "unknown"


def account_or_address_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit key: the signed-in account ("user:<pk>"), else the address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_address_key(group, request)}"


def limit_by_ip(name: str, group: str) -> Callable:
    """Limit POSTs per client address at the rate in settings.<name> ("count/period")."""
    return ratelimit(group=group, key=client_address_key, rate=_rate(name), method="POST",
                     block=True)


def limit_by_user(name: str, group: str) -> Callable:
    """Limit POSTs per signed-in account (else per address) at the rate in settings.<name>."""
    return ratelimit(group=group, key=account_or_address_key, rate=_rate(name),
                     method="POST", block=True)
