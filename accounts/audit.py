"""The read log: who looked at or exported a patient's data, when, and from where.

Every staff page that shows a patient's data calls record_read (one patient) or
record_reads (a list: the queue, the staff home); tests/test_read_log_matrix.py makes each
URL declare whether it logs. Admin pages log through ReadLoggedAdmin.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AccessLog, Patient
from portal import http

# A list that refreshes itself (the queue polls every 10 s) would write a row per patient
# per poll; the same reader, patient and action within this window is one read.
LIST_READ_WINDOW = timedelta(minutes=10)


def client_address(request: HttpRequest) -> str | None:
    """The reader's own address: the same one lockout and rate limits use (behind our
    trusted proxies, the client's; a forged X-Forwarded-For is ignored)."""
    return http.client_address(request)


def _logs_reads_of(request: HttpRequest, action: str) -> bool:
    # Patients and caregivers reading their own pages are not logged (the log is for
    # reads by others); any export is. Care staff and Django staff (the admin) always are.
    user = request.user
    return bool(user.is_authenticated and (
        user.is_care_staff or user.is_staff or user.is_superuser or action.startswith("export")
    ))


def _path(request: HttpRequest) -> str:
    return request.get_full_path()[:300]


def record_read(request: HttpRequest, patient: Patient, action: str) -> None:
    """Log one read of `patient`'s data by request.user (action: a short verb phrase,
    at most 40 characters, e.g. "view alert"). Nothing is written for a patient or
    caregiver reading their own pages, except exports."""
    if not _logs_reads_of(request, action):
        return
    AccessLog.objects.create(
        user=request.user,
        patient=patient,
        action=action,
        path=_path(request),
        ip_address=client_address(request),
    )


def record_reads(request: HttpRequest, patients: Iterable[Patient | int], action: str) -> int:
    """Log a list page's read of several patients (objects or ids) in one insert.

    A patient already logged for the same reader and action within LIST_READ_WINDOW is
    not logged again, so a page that refreshes itself does not flood the log. Returns
    the number of rows written."""
    if not _logs_reads_of(request, action):
        return 0
    ids = {p if isinstance(p, int) else p.pk for p in patients}
    if not ids:
        return 0
    since = timezone.now() - LIST_READ_WINDOW
    seen = set(AccessLog.objects.filter(
        user=request.user, action=action, patient_id__in=ids, at__gte=since,
    ).values_list("patient_id", flat=True))
    address, path = client_address(request), _path(request)
    rows = [AccessLog(user=request.user, patient_id=pk, action=action, path=path,
                      ip_address=address) for pk in sorted(ids - seen)]
    AccessLog.objects.bulk_create(rows)
    return len(rows)
