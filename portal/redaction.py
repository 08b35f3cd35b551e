"""Keeping secrets in URLs out of logs.

A password-reset link (/accounts/reset/<uidb64>/<token>/), an invitation link
(/accounts/invitation/<token>/) and a calendar feed (/calendar/<token>.ics) are bearer
secrets: whoever reads one from a log can
take over or create the account. They reach logs as the request path (gunicorn's access
log, Django's "Not Found: /path" warnings) and as the Referer of the request that follows.
redact() replaces them; RedactingFilter applies it to Django's log records and
portal/gunicorn.conf.py's logger class to gunicorn's access log.

Pages at these paths also send Referrer-Policy: no-referrer
(accounts.middleware.SecretPathReferrerPolicyMiddleware), so browsers do not pass the URL on.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# Django's reset URL once the token is in the session: a name, not a secret.
SET_PASSWORD_STEP = "set-password"  # noqa: S105
INVITATION_CONTINUE_STEP = "accept"  # accounts/invitation_views.py CONTINUE

# Path segments, after which the next one or two segments are secrets. Matched anywhere in a
# string (a full URL in a Referer, a path in a request line, a query string after "next=").
# The server routes the percent-decoded path, so "/accounts/%69nvitation/TOKEN/" is an
# invitation too: every character of the names and separators may be written as itself or
# percent-encoded, once or several times over ("%2F", "%252F", "%69", "%2569"), in any mix.


def _encoded(char: str) -> str:
    """A regex matching `char` as itself or percent-encoded any number of times."""
    hex_code = f"{ord(char):02X}"
    # Hex digits in either case: "%2f" and "%2F" are the same byte.
    hex_pattern = "".join(f"[{d.lower()}{d}]" if d.isalpha() else d for d in hex_code)
    return f"(?:{re.escape(char)}|%(?:25)*{hex_pattern})"


def _word(text: str) -> str:
    return "".join(_encoded(char) for char in text)


_SEP = _encoded("/")
# A segment: anything up to the next separator (plain or encoded), "?", "#" or whitespace.
_SEGMENT = rf"(?:(?!{_SEP})[^/?#\s])+"
_SECRET_PATHS = re.compile(
    rf"(?P<head>{_SEP}{_word('reset')}{_SEP})(?P<uid>{_SEGMENT})(?P<mid>{_SEP})"
    rf"(?P<token>{_SEGMENT})"
    rf"|(?P<ihead>{_SEP}(?:{_word('invitation')}|{_word('invite')}){_SEP})(?P<itoken>{_SEGMENT})"
    # A family's calendar feed (/calendar/<token>.ics, treatment/feed_views.py): a phone
    # fetches it without signing in, so the token is the only key.
    rf"|(?P<fhead>{_SEP}{_word('calendar')}{_SEP})(?P<ftoken>{_SEGMENT})",
    # In any letter case: "/CALENDAR/<token>.ics" is a 404, but the token in it is still the
    # family's (a phone or a person retyping the link), so it never reaches a log either.
    re.IGNORECASE,
)
# Cheap test before the regex: every secret path has one of these in some spelling.
_HINTS = ("reset", "invit", "calendar", "%")


def _replace(match: re.Match[str]) -> str:
    if match.group("fhead"):
        return f"{match.group('fhead')}{REDACTED}"
    if match.group("head"):
        segment = match.group("token")
        # Django's own tokenless step after the redirect keeps its name.
        tail = segment if segment == SET_PASSWORD_STEP else REDACTED
        return f"{match.group('head')}{REDACTED}{match.group('mid')}{tail}"
    segment = match.group("itoken")
    # The invitation's tokenless page (the token is kept in the session) keeps its name.
    tail = segment if segment == INVITATION_CONTINUE_STEP else REDACTED
    return f"{match.group('ihead')}{tail}"


def redact(text: str) -> str:
    """`text` with every reset uid/token and invitation token replaced by "[redacted]".

    "/accounts/reset/MQ/cb2-5f1e/" -> "/accounts/reset/[redacted]/[redacted]/";
    "/accounts/invitation/Xy_12/" -> "/accounts/invitation/[redacted]/";
    "/calendar/Xy_12.ics" -> "/calendar/[redacted]";
    "/accounts/%69nvitation/Xy_12/" -> "/accounts/%69nvitation/[redacted]/" (names and
    separators are recognised percent-encoded too). Other text is returned unchanged.
    Never raises for a str."""
    if not any(hint in text.lower() for hint in _HINTS):
        return text
    return _SECRET_PATHS.sub(_replace, text)


def is_secret_path(path: str) -> bool:
    """True for a request path that carries a reset, invitation or calendar feed secret."""
    return redact(path) != path


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secret URLs from a record's message and arguments
    (Django's request warnings pass the path as an argument). Always keeps the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        return True
