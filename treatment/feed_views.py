"""GET /calendar/<token>.ics: a family's private calendar feed, fetched by a phone's
calendar app without signing in; the token in the URL is the only key.

Only the token's SHA-256 is stored; a revoked or unknown token answers 404, the same. The
response is not stored by caches (Cache-Control: no-store, NoStoreMiddleware too), sends
no Referer onwards (the path is secret: portal/redaction.py, so
SecretPathReferrerPolicyMiddleware sets no-referrer) and its path is redacted from the
access log and Django's logs (portal/redaction.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.access import patients_for
from treatment.feeds import feed_calendar
from treatment.models import CalendarFeed
from treatment.services import token_digest

# last_used_at is written at most this often (a phone polls every few minutes to hours).
LAST_USED_EVERY = timedelta(hours=1)
# A token is secrets.token_urlsafe(32): 43 characters; anything much longer is not one.
TOKEN_MAX_CHARS = 100


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed as text/calendar; 404 for a revoked or unknown token."""
    if len(token) > TOKEN_MAX_CHARS:
        raise Http404("No such calendar.")
    feed = (CalendarFeed.objects.select_related("patient__care_team", "created_by")
            .filter(token_digest=token_digest(token), revoked_at__isnull=True).first())
    # A feed is its maker's view of the patient: it ends when their access does (a
    # caregiver's link ends, a nurse leaves the team, an account is closed), checked at
    # every fetch like every page, and answers exactly as an unknown token.
    if feed is None or not patients_for(feed.created_by).filter(pk=feed.patient_id).exists():
        raise Http404("No such calendar.")
    now = timezone.now()
    if feed.last_used_at is None or feed.last_used_at < now - LAST_USED_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    body = feed_calendar(feed.patient, now).to_ical()
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Content-Disposition"] = 'inline; filename="homeline.ics"'
    return response
