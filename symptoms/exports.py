"""A patient's data for download: check-ins as CSV, everything held as JSON."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from accounts.models import Patient
from symptoms.catalogue import SYMPTOM_CODES
from symptoms.models import CheckIn

CSV_FIELDS = (
    "recorded_at_utc", "recorded_at_local", "recorded_as", "recorded_by",
    "temperature_c", "antipyretic_last_6h", "feels_suddenly_unwell",
    *(f"symptom_{code}" for code in SYMPTOM_CODES),
    "stools_above_baseline", "diarrhoea_with_blood", "vomiting_episodes_24h",
    "unable_to_keep_fluids", "pump", "spo2", "systolic_bp", "heart_rate", "notes",
    "severity", "emergency", "rules", "rules_version",
)
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _row(check_in: CheckIn, patient: Patient) -> list[str]:
    values: dict[str, Any] = {
        "recorded_at_utc": check_in.recorded_at.astimezone(UTC).isoformat(),
        "recorded_at_local": check_in.recorded_at.astimezone(patient.tz).isoformat(),
        "recorded_as": check_in.recorded_as,
        "recorded_by": check_in.recorded_by.full_name,
        "pump": check_in.pump,
        "notes": check_in.notes,
        "severity": check_in.severity,
        "emergency": check_in.emergency,
        "rules": " ".join(f["rule"] for f in check_in.findings),
        "rules_version": check_in.rules_version,
    }
    for name in CheckIn.DATA_FIELDS:
        values[name] = getattr(check_in, name)
    for code in SYMPTOM_CODES:
        values[f"symptom_{code}"] = check_in.symptoms.get(code)
    return [_cell(values[name]) for name in CSV_FIELDS]


class _Echo:
    def write(self, value: str) -> str:
        return value


def check_ins_csv(patient: Patient) -> Iterator[str]:
    """CSV lines, oldest first, streamed so a long record does not sit in memory."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_FIELDS)
    rows = (
        patient.check_ins.select_related("recorded_by").order_by("recorded_at", "pk")
        .iterator(chunk_size=1000)
    )
    for check_in in rows:
        yield writer.writerow(_row(check_in, patient))


def patient_data(patient: Patient, *, exported_by: str, now: datetime | None = None) -> dict:
    """Everything Homeline holds about the patient, as JSON-able data."""
    from symptoms.validation import to_canonical_dict

    check_ins = []
    for c in patient.check_ins.select_related("recorded_by").order_by("recorded_at", "pk"):
        check_ins.append({
            **to_canonical_dict(c.to_data()),
            "recorded_as": c.recorded_as,
            "recorded_by": c.recorded_by.full_name,
            "saved_at": c.created_at.isoformat(),
            "result": {"severity": c.severity, "emergency": c.emergency,
                       "findings": c.findings, "rules_version": c.rules_version},
        })
    return {
        "exported_at": (now or timezone.now()).isoformat(),
        "exported_by": exported_by,
        "patient": {
            "display_name": patient.display_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "hospital_number": patient.hospital_number,
            "care_team": patient.care_team.name,
            "time_zone": patient.time_zone,
            "infusion_start_date": patient.infusion_start_date.isoformat()
            if patient.infusion_start_date else None,
            "planned_cycles": patient.planned_cycles,
            "login": patient.user.email if patient.user else None,
            "threshold_overrides": patient.thresholds,
        },
        "caregivers": [
            {"name": link.caregiver.full_name, "email": link.caregiver.email,
             "relationship": link.relationship, "may_log": link.may_log,
             "ends_at": link.ends_at.isoformat() if link.ends_at else None,
             "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None}
            for link in patient.caregiver_links.select_related("caregiver")
        ],
        "check_ins": check_ins,
        "alerts": [
            {"opened_at": a.opened_at.isoformat(), "severity": a.severity,
             "emergency": a.emergency, "rules": a.rules, "state": a.state,
             "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
             "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
             "outcome": a.outcome, "outcome_note": a.outcome_note,
             "messages": [
                 {"step": d.step, "channel": d.channel, "to": d.role, "state": d.state,
                  "sent_at": d.sent_at.isoformat() if d.sent_at else None}
                 for d in a.deliveries.all()
             ]}
            for a in patient.alerts.prefetch_related("deliveries").order_by("opened_at")
        ],
        "threshold_changes": [
            {"changed_at": t.changed_at.isoformat(), "changed_by": t.changed_by.full_name,
             "reason": t.reason, "old": t.old, "new": t.new}
            for t in patient.threshold_changes.select_related("changed_by")
        ],
    }
