"""Downloads of a patient's data. Every export is written to the read log."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts import access
from accounts.audit import record_read
from symptoms.exports import check_ins_csv, patient_data


def _filename(patient, extension: str) -> str:
    stamp = timezone.now().strftime("%Y%m%d")
    return f"homeline-{patient.hospital_number}-{stamp}.{extension}"


@login_required
@require_safe
def export_csv(request: HttpRequest, patient_id: int) -> StreamingHttpResponse:
    patient = access.patient_for(request.user, patient_id)
    record_read(request, patient, "export csv")
    response = StreamingHttpResponse(check_ins_csv(patient, request.user),
                                     content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{_filename(patient, "csv")}"'
    return response


@login_required
@require_safe
def export_json(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = access.patient_for(request.user, patient_id)
    record_read(request, patient, "export json")
    body = json.dumps(patient_data(patient, requester=request.user),
                      cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(patient, "json")}"'
    return response
