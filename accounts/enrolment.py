"""Who may set up a staff account's first authenticator app.

A staff account without a confirmed authenticator would otherwise be enrolled by whoever
first signs in with its password, and that phone would then be the account's second
factor. So the first enrolment needs one of:

- the session in which the person accepted their invitation (they proved they hold the
  link sent to the account's email address), granted when that sign-in happens; or
- a one-time enrolment code issued by a team admin of one of their teams or a superuser
  (enrolment_code_issue), for someone whose invitation session ended before enrolling, an
  account created in the admin site, or a lost phone after the old device was removed.

A grant lives in the session only; signing out or the session ending drops it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import EnrolmentCode, User

SESSION_KEY = "homeline_enrolment_grant"
# Codes are read out or handed over by a person: no look-alike characters (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12  # 31**12, about 59 bits: unguessable within the rate limit
CODE_TTL = timedelta(hours=72)
INVITATION_URL_NAME = "invitation_accept"


class EnrolmentError(Exception):
    """A code was refused; the message says why, for the person entering it."""


def has_authenticator(user: User) -> bool:
    """True when `user` has a confirmed TOTP device."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrolment_allow(request: HttpRequest, user: User) -> None:
    """Let this session set up `user`'s first authenticator (see module docstring)."""
    request.session[SESSION_KEY] = user.pk


def may_enrol(request: HttpRequest, user: User) -> bool:
    """True when this session may set up `user`'s first authenticator."""
    return request.session.get(SESSION_KEY) == user.pk


def enrolment_done(request: HttpRequest) -> None:
    """Drop the grant once the authenticator is confirmed: it is good for one enrolment."""
    request.session.pop(SESSION_KEY, None)


@receiver(user_logged_in, dispatch_uid="homeline_enrolment_grant_on_invitation")
def grant_on_invitation(sender: object, request: HttpRequest | None, user: User,
                        **kwargs: object) -> None:
    """The sign-in that ends an invitation's acceptance grants the first enrolment.

    Keyed on the URL name so that the invitation view (owned and rewritten elsewhere)
    needs no call of its own; tests/accounts/test_security.py checks it through the real
    acceptance."""
    if request is None or not user.needs_two_factor:
        return
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name == INVITATION_URL_NAME and not has_authenticator(
        user
    ):
        enrolment_allow(request, user)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _canonical(code: str) -> str:
    # People type codes with spaces or dashes, in any case.
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def enrolment_code_issue(*, user: User, issued_by: User | None,
                         now: datetime | None = None) -> str:
    """Issue a one-time enrolment code for `user` (a staff account) and return it, formatted
    "ABCD-EFGH-JKLM". It is shown once; only its SHA-256 is stored. Earlier unused codes of
    the same user stop working. Valid for CODE_TTL (72 h).

    Raises EnrolmentError if `user` does not use two-step sign-in. Whether `issued_by` may
    issue for `user` is the caller's decision (team admin of a shared team, superuser)."""
    if not user.needs_two_factor:
        raise EnrolmentError("Only staff accounts set up an authenticator app.")
    now = now or timezone.now()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    with transaction.atomic():
        EnrolmentCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        EnrolmentCode.objects.create(user=user, code_hash=_digest(code), issued_by=issued_by,
                                     created_at=now, expires_at=now + CODE_TTL)
    return "-".join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def enrolment_code_redeem(request: HttpRequest, user: User, code: str,
                          now: datetime | None = None) -> None:
    """Use `code` for `user` and grant this session the first enrolment.

    Raises EnrolmentError (nothing changed) when the code is unknown, another user's,
    used or expired; the message does not say which."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            EnrolmentCode.objects.select_for_update()
            .filter(code_hash=_digest(_canonical(code)), user=user, used_at__isnull=True,
                    expires_at__gt=now)
            .first()
        )
        if row is None:
            raise EnrolmentError(
                "That enrolment code is not valid. Codes work once and expire after 72 hours: "
                "ask your team admin for a new one."
            )
        row.used_at = now
        row.save(update_fields=["used_at"])
    enrolment_allow(request, user)
