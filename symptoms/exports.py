"""A patient's data for download: check-ins as CSV, everything held as JSON.

An export holds what its requester may see, no more:
- care-team staff of the patient's team: everything the team holds (every caregiver link
  with its email, ended and revoked ones too; nurses' notes; who changed thresholds);
- the patient, or a caregiver with an active link: the patient's own record, check-ins and
  alerts, and the requester's own link; no other person's email or link, no staff notes
  (resolve notes, threshold-change reasons) and no staff names.
Who may export at all is decided by accounts.access (the views fetch through it).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from accounts.models import CaregiverLink, Patient, User
from symptoms.models import CheckIn
from treatment import calendar
from triage.catalogue import SYMPTOM_CODES

CSV_FIELDS = (
    "recorded_at_utc", "recorded_at_local", "recorded_as", "recorded_by",
    # Where the patient was in the plan that day (treatment/calendar.py, from the plan now).
    "cycle", "phase", "phase_day",
    "temperature_c", "antipyretic_last_6h", "feels_suddenly_unwell",
    *(f"symptom_{code}" for code in SYMPTOM_CODES),
    "stools_above_baseline", "diarrhoea_with_blood", "vomiting_episodes_24h",
    "unable_to_keep_fluids", "pump", "spo2", "systolic_bp", "heart_rate",
    # v2: the neurological self-check (tool, total, item answers as JSON) and the worry.
    "neuro_tool", "ice_score", "capd_score", "neuro_items", "worry", "notes",
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


def _is_staff_export(requester: User) -> bool:
    return requester.is_care_staff


def _recorder(check_in: CheckIn, requester: User) -> str:
    """Staff see who recorded; the family see a name only for themselves, otherwise
    how it was recorded ("a caregiver", "a nurse, after a phone call")."""
    if _is_staff_export(requester) or check_in.recorded_by_id == requester.pk:
        return check_in.recorded_by.full_name
    return check_in.get_recorded_as_display()


def _where(check_in: CheckIn, patient: Patient, plan: calendar.Schedule | None
           ) -> dict[str, object]:
    """cycle (1-5), phase ("infusion" | "break") and phase_day (1-based) on the check-in's
    local date, from the plan; None each outside treatment or without a plan."""
    position = plan.position(check_in.recorded_at.astimezone(patient.tz).date()) if plan else None
    if position is None:
        return {"cycle": None, "phase": None, "phase_day": None}
    return {"cycle": position.cycle, "phase": position.phase, "phase_day": position.day}


def _row(check_in: CheckIn, patient: Patient, requester: User,
         plan: calendar.Schedule | None = None) -> list[str]:
    values: dict[str, Any] = {
        "recorded_at_utc": check_in.recorded_at.astimezone(UTC).isoformat(),
        "recorded_at_local": check_in.recorded_at.astimezone(patient.tz).isoformat(),
        "recorded_as": check_in.recorded_as,
        "recorded_by": _recorder(check_in, requester),
        **_where(check_in, patient, plan),
        "pump": check_in.pump,
        "neuro_tool": check_in.neuro_tool,
        "neuro_items": (json.dumps(check_in.neuro_items, sort_keys=True)
                        if check_in.neuro_items else ""),
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


def check_ins_csv(patient: Patient, requester: User) -> Iterator[str]:
    """CSV lines (CSV_FIELDS), oldest first, streamed so a long record does not sit in
    memory. `requester` decides whether the recorder's name is shown (see _recorder)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_FIELDS)
    plan = calendar.schedule(patient)  # one query for every row's cycle and phase
    rows = (
        patient.check_ins.select_related("recorded_by").order_by("recorded_at", "pk")
        .iterator(chunk_size=1000)
    )
    for check_in in rows:
        yield writer.writerow(_row(check_in, patient, requester, plan))


def _link_data(link: CaregiverLink, *, with_email: bool) -> dict:
    data = {"name": link.caregiver.full_name, "relationship": link.relationship,
            "may_log": link.may_log,
            "ends_at": link.ends_at.isoformat() if link.ends_at else None,
            "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None}
    if with_email:
        data["email"] = link.caregiver.email
    return data


def _alert_data(alert, *, staff: bool) -> dict:
    data = {
        "opened_at": alert.opened_at.isoformat(), "severity": alert.severity,
        "emergency": alert.emergency, "rules": alert.rules, "state": alert.state,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "outcome": alert.outcome,
        # Which messages went out, by channel and recipient role, never an address.
        "messages": [
            {"step": d.step, "channel": d.channel, "to": d.role, "state": d.state,
             "sent_at": d.sent_at.isoformat() if d.sent_at else None}
            for d in alert.deliveries.all()
        ],
    }
    if staff:
        data["outcome_note"] = alert.outcome_note  # a nurse's note: staff only
    return data


def patient_data(patient: Patient, *, requester: User, now: datetime | None = None) -> dict:
    """What `requester` may see of the patient, as JSON-able data (see the module text).

    `requester` must already be allowed to see the patient (accounts.access); a family
    member gets the family view, care staff the team's view."""
    from triage.validation import to_canonical_dict

    staff = _is_staff_export(requester)
    plan = calendar.schedule(patient)
    check_ins = []
    for c in patient.check_ins.select_related("recorded_by").order_by("recorded_at", "pk"):
        check_ins.append({
            **to_canonical_dict(c.to_data()),
            "recorded_as": c.recorded_as,
            "recorded_by": _recorder(c, requester),
            **_where(c, patient, plan),
            # Beside the totals (canonical fields above): which check, and its answers.
            "neuro_tool": c.neuro_tool,
            "neuro_items": c.neuro_items,
            "saved_at": c.created_at.isoformat(),
            "result": {"severity": c.severity, "emergency": c.emergency,
                       "findings": c.findings, "rules_version": c.rules_version},
        })
    links = patient.caregiver_links.select_related("caregiver").order_by("created_at", "pk")
    own_login = patient.user_id is not None and patient.user_id == requester.pk
    data = {
        "exported_at": (now or timezone.now()).isoformat(),
        "exported_by": requester.email,
        "view": "care team" if staff else "patient and family",
        "patient": {
            "display_name": patient.display_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "hospital_number": patient.hospital_number,
            "care_team": patient.care_team.name,
            "time_zone": patient.time_zone,
            # The plan's cycle start dates as they stand (late ones included); None: no plan.
            "cycle_starts": [d.isoformat() for d in plan.starts] if plan else None,
            # The patient's own sign-in email: to staff and to the patient themself.
            "login": patient.user.email if patient.user and (staff or own_login) else None,
            "threshold_overrides": patient.thresholds,
        },
        "check_ins": check_ins,
        "alerts": [
            _alert_data(a, staff=staff)
            for a in patient.alerts.prefetch_related("deliveries").order_by("opened_at")
        ],
    }
    if staff:
        data["caregivers"] = [_link_data(link, with_email=True) for link in links]
        data["threshold_changes"] = [
            {"changed_at": t.changed_at.isoformat(), "changed_by": t.changed_by.full_name,
             "reason": t.reason, "old": t.old, "new": t.new}
            for t in patient.threshold_changes.select_related("changed_by")
        ]
    else:
        data["caregivers"] = [_link_data(link, with_email=True) for link in links
                              if link.caregiver_id == requester.pk and link.is_active()]
        data["threshold_changes"] = [
            {"changed_at": t.changed_at.isoformat(), "old": t.old, "new": t.new}
            for t in patient.threshold_changes.all()
        ]
    return data
