"""How django-axes counts failed sign-ins: by the account sign-in would reach, and by the
client's own address; and what a successful sign-in clears.

Wired in portal/settings.py (AXES_USERNAME_CALLABLE, AXES_CLIENT_IP_CALLABLE, and the
user_logged_in receiver below, connected in accounts/apps.py through this module's import).
"""

from __future__ import annotations

from collections.abc import Mapping

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from portal.http import client_address

_CACHE_ATTRIBUTE = "_homeline_lockout_names"


def normalised_username(value: object) -> str | None:
    """The name failures are counted under, for a username as typed ("NURSE@Example.org ").

    Sign-in strips the field and finds the account case-insensitively
    (User.objects.get_by_natural_key), so every spelling that reaches one account must be
    counted as that account: its stored email. A name with no account is stripped and
    lower-cased, so that guesses at it in different cases are counted together too.
    Returns None for a missing or empty name. Never raises.
    """
    if not isinstance(value, str):
        return None
    typed = value.strip()
    if not typed:
        return None
    User = get_user_model()
    try:
        return User._default_manager.get_by_natural_key(typed).get_username()
    except (User.DoesNotExist, User.MultipleObjectsReturned, ValueError):
        # ValueError: PostgreSQL refuses NUL in text; such a name has no account either.
        return typed.lower()


def axes_username(request: HttpRequest | None, credentials: Mapping | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the normalised username of this sign-in attempt, from the
    credentials given to authenticate() (portal login, admin login, any other caller), else
    from the posted form. Remembered on the request: axes asks several times."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        typed = credentials.get(field)
    elif request is not None:
        typed = getattr(request, "data", request.POST).get(field)
    else:
        typed = None
    if request is None:
        return normalised_username(typed)
    seen: dict[object, str | None] = request.__dict__.setdefault(_CACHE_ATTRIBUTE, {})
    if typed not in seen:
        seen[typed] = normalised_username(typed)
    return seen[typed]


def axes_client_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the same client address as rate limits and the read log."""
    return client_address(request)


@receiver(user_logged_in, dispatch_uid="homeline_lockout_reset_own_failures")
def reset_own_failures(sender: object, request: HttpRequest | None, user, **kwargs) -> None:
    """After a successful sign-in, forget the failures against this account from this
    address, and nothing else.

    axes' own AXES_RESET_ON_SUCCESS deletes every attempt that matches any lockout
    parameter, so signing in to one's own account would also wipe that address's
    failures against other accounts (four guesses at the nurse, one own sign-in, repeat:
    the nurse never locks). Failures against this account from other addresses stay: the
    person signing in here cannot have typed them.
    """
    if request is None:
        return
    AccessAttempt.objects.filter(
        username=user.get_username(), ip_address=client_address(request)
    ).delete()
