"""The header's open-alert counts for staff, on every page."""

from __future__ import annotations

from django.http import HttpRequest

from alerts.selectors import open_alert_counts


def alert_counts(request: HttpRequest) -> dict[str, object]:
    """Staff with a verified second factor: {"alert_counts": {"red": n, "amber": n}} of the
    open alerts of their patients. Nothing for anyone else (patients see no alerts)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_care_staff:
        return {}
    if not user.is_verified():
        return {}
    return {"alert_counts": open_alert_counts(user)}
