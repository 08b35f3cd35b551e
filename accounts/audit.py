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


def record_reads(request: HttpRequest, patients: Iterable[Patient | int], action: str,
                 *, window: timedelta | None = LIST_READ_WINDOW) -> int:
    """Log a list page's read of several patients (objects or ids) in one insert.

    A patient already logged for the same reader and action within `window` (default
    LIST_READ_WINDOW; None: every read) is not logged again, so a page that refreshes
    itself does not flood the log. Returns the number of rows written."""
    if not _logs_reads_of(request, action):
        return 0
    ids = {p if isinstance(p, int) else p.pk for p in patients if p is not None}
    if not ids:
        return 0
    seen: set[int] = set()
    if window is not None:
        seen = set(AccessLog.objects.filter(
            user=request.user, action=action, patient_id__in=ids,
            at__gte=timezone.now() - window,
        ).values_list("patient_id", flat=True))
    address, path = client_address(request), _path(request)
    rows = [AccessLog(user=request.user, patient_id=pk, action=action, path=path,
                      ip_address=address) for pk in sorted(ids - seen)]
    AccessLog.objects.bulk_create(rows)
    return len(rows)


class ReadLoggedAdmin:
    """ModelAdmin mixin: the admin's list, change and history pages of a model that holds
    patient data write the read log like the staff pages do.

    The list logs each patient on the page once per LIST_READ_WINDOW ("admin list"); a
    change or history page logs every time ("admin view", "admin history"). Set
    `patient_ids_of(obj)` to the ids of the patients an object shows (an empty list for
    none). Put it before the ModelAdmin class in the bases.
    """

    def patient_ids_of(self, obj) -> list[int]:
        raise NotImplementedError

    def patient_ids_for(self, objects: list) -> list[int]:
        """The patients a page of objects shows; override to read them in one query."""
        return [pk for obj in objects for pk in self.patient_ids_of(obj)]

    def _log(self, request, objects, action: str, window) -> None:
        shown = [obj for obj in objects if obj is not None]
        if shown:
            record_reads(request, self.patient_ids_for(shown), action, window=window)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            self._log(request, changelist.result_list, "admin list", LIST_READ_WINDOW)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        self._log(request, [original], "admin view", None)
        return response

    def _object(self, object_id):
        # simple_history renders its history pages without context_data; look the object
        # up (None for a deleted one: its history page names no current patient).
        from django.contrib.admin.utils import unquote

        return self.model._default_manager.filter(pk=unquote(object_id)).first()

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if response.status_code == 200:
            self._log(request, [self._object(object_id)], "admin history", None)
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple_history's page of one past version (SimpleHistoryAdmin only).
        response = super().history_form_view(request, object_id, version_id, extra_context)
        if response.status_code == 200:
            self._log(request, [self._object(object_id)], "admin history", None)
        return response
