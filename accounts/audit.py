"""The read log: who looked at or exported a patient's data, when, and from where."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import AccessLog, Patient


def client_address(request: HttpRequest) -> str | None:
    # Behind a proxy, the deployment sets the real address into REMOTE_ADDR (gunicorn's
    # --forwarded-allow-ips); trusting X-Forwarded-For here would let anyone forge it.
    return request.META.get("REMOTE_ADDR") or None


def record_read(request: HttpRequest, patient: Patient, action: str) -> None:
    """Log a staff read of a patient's data, or any export. Patients reading their own
    pages are not logged: the log is for reads by others."""
    user = request.user
    if not (user.is_care_staff or action.startswith("export")):
        return
    AccessLog.objects.create(
        user=user,
        patient=patient,
        action=action,
        path=request.get_full_path()[:300],
        ip_address=client_address(request),
    )
