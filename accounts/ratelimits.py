"""Rate limits (django-ratelimit) on the doors people can knock on without an account,
and on check-in submission. Rates are settings (RATE_*), read when a request arrives so
tests and operators can change them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django_ratelimit.decorators import ratelimit


def _rate(name: str) -> Callable[[object, object], str]:
    return lambda group, request: getattr(settings, name)


def limit_by_ip(name: str, group: str) -> Callable:
    """Limit POSTs per client address at the rate in settings.<name>."""
    return ratelimit(group=group, key="ip", rate=_rate(name), method="POST", block=True)


def limit_by_user(name: str, group: str) -> Callable:
    return ratelimit(group=group, key="user_or_ip", rate=_rate(name), method="POST", block=True)
