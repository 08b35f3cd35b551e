"""/healthz: whether the outbox, its workers and the database are healthy."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from notifications.health import health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """{"status": "ok"|"failing"} (200/503) for anyone; the checks' details only with the
    monitoring token (settings.HEALTHZ_TOKEN) as "Authorization: Bearer <token>"."""
    report = health_report()
    status = 200 if report["status"] == "ok" else 503
    if not _monitoring_token_given(request):
        return JsonResponse({"status": report["status"]}, status=status)
    return JsonResponse(report, status=status)


def _monitoring_token_given(request: HttpRequest) -> bool:
    expected = settings.HEALTHZ_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    # Constant time: the comparison says nothing about how much of a guess was right.
    return hmac.compare_digest(given.strip().encode(), expected.encode())
