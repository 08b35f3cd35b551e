"""Every write on check-ins and thresholds. Views and tasks call these."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import access
from accounts.models import Patient, Role, User
from symptoms.models import CheckIn, RecordedAs, ThresholdChange
from symptoms.rules import OverridesRefused, RuleSet, evaluate, validate_overrides
from symptoms.thresholds import ruleset_for_patient
from symptoms.validation import NON_FIELD, CheckInData, CheckInInvalid

# A reading "taken" later than this after the server's clock is a mistyped time.
FUTURE_TOLERANCE = timedelta(minutes=5)


class NotAllowed(Exception):
    """The user may not do this to this patient (views answer 404)."""


def _recorded_as(user: User) -> str:
    if user.role == Role.PATIENT:
        return RecordedAs.PATIENT
    if user.role == Role.CAREGIVER:
        return RecordedAs.CAREGIVER
    return RecordedAs.STAFF_PHONE


def check_in_previous(*, patient: Patient, before: datetime, ruleset: RuleSet) -> list[CheckInData]:
    """The patient's check-ins inside the worsening window before `before`."""
    since = before - timedelta(hours=ruleset.worsening_window_hours)
    # Only what `worsening` reads: the time and the symptom grades.
    rows = patient.check_ins.filter(recorded_at__gte=since, recorded_at__lt=before).order_by(
        "-recorded_at"
    ).values_list("recorded_at", "symptoms")
    return [CheckInData(recorded_at=at, symptoms=symptoms) for at, symptoms in rows]


def check_in_record(
    *,
    patient: Patient,
    recorded_by: User,
    data: CheckInData,
    submission_key: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[CheckIn, bool]:
    """Save a check-in with its result, in one transaction. Returns (check_in, created).

    The same submission_key returns the check-in already saved for it, so a double tap
    makes one check-in. The alert (and the delivery rows) are opened in the same
    transaction; sending happens after commit.
    """
    now = now or timezone.now()
    if not access.may_record_check_in(recorded_by, patient):
        raise NotAllowed
    recorded_at = data.recorded_at or now
    if recorded_at > now + FUTURE_TOLERANCE:
        raise CheckInInvalid({"recorded_at": "is in the future; give the time the reading "
                                             "was taken"})
    ruleset = ruleset_for_patient(patient)
    try:
        with transaction.atomic():
            previous = check_in_previous(patient=patient, before=recorded_at, ruleset=ruleset)
            result = evaluate(data, previous, ruleset, now=now)
            check_in = CheckIn.objects.create(
                patient=patient,
                recorded_at=recorded_at,
                recorded_by=recorded_by,
                recorded_as=_recorded_as(recorded_by),
                submission_key=submission_key or uuid.uuid4(),
                temperature_c=data.temperature_c,
                antipyretic_last_6h=data.antipyretic_last_6h,
                feels_suddenly_unwell=data.feels_suddenly_unwell,
                symptoms=dict(data.symptoms),
                stools_above_baseline=data.stools_above_baseline,
                diarrhoea_with_blood=data.diarrhoea_with_blood,
                vomiting_episodes_24h=data.vomiting_episodes_24h,
                unable_to_keep_fluids=data.unable_to_keep_fluids,
                pump=data.pump or "",
                spo2=data.spo2,
                systolic_bp=data.systolic_bp,
                heart_rate=data.heart_rate,
                notes=data.notes,
                severity=result.severity,
                emergency=result.emergency,
                findings=[f.to_json() for f in result.findings],
                rules_version=result.rules_version,
                ruleset=ruleset.to_json(),
            )
            _after_check_in(check_in)
    except IntegrityError:
        # The unique submission_key is the double-submit guard: a second submit of the same
        # form (double tap, resend, or a race between the two) returns the first check-in.
        # Not looked up beforehand: a resend is rare and every check-in would pay for it.
        if submission_key is not None:
            existing = CheckIn.objects.filter(submission_key=submission_key).first()
            if existing is not None:
                if (existing.patient_id, existing.recorded_by_id) != (patient.pk,
                                                                       recorded_by.pk):
                    raise NotAllowed from None
                return existing, False
        raise
    return check_in, True


def _after_check_in(check_in: CheckIn) -> None:
    """Open or raise the patient's alert in the same transaction (symptoms.alerting)."""
    from symptoms.alerting.services import alert_for_check_in

    alert_for_check_in(check_in=check_in)


def thresholds_set(
    *,
    changed_by: User,
    reason: str,
    overrides: dict[str, object],
    patient: Patient | None = None,
    team=None,
) -> ThresholdChange:
    """Replace a patient's (or a team's) threshold overrides, with a written reason.

    Refused (OverridesRefused naming each key) if any override would loosen a rule beyond
    the limits of clinical-rules.md. Every change is kept with who, when, why, old and new.
    """
    if (patient is None) == (team is None):
        raise ValueError("give exactly one of patient or team")
    if not reason.strip():
        raise OverridesRefused({"reason": "say why the thresholds change"})
    if patient is not None:
        if changed_by.role not in (Role.NURSE, Role.CLINICIAN) or not access.patients_for(
            changed_by
        ).filter(pk=patient.pk).exists():
            raise NotAllowed
        base = RuleSet.default().with_overrides(patient.care_team.thresholds or {})
    else:
        if not access.may_manage_team(changed_by, team):
            raise NotAllowed
        base = RuleSet.default()
    errors = validate_overrides(overrides, base)
    if errors:
        raise OverridesRefused(errors)
    target = patient if patient is not None else team
    with transaction.atomic():
        target = type(target).objects.select_for_update().get(pk=target.pk)
        old = target.thresholds or {}
        target.thresholds = overrides
        target.save(update_fields=["thresholds"])
        return ThresholdChange.objects.create(
            patient=patient, care_team=team, changed_by=changed_by, reason=reason.strip(),
            old=old, new=overrides,
        )


__all__ = [
    "NON_FIELD",
    "CheckInInvalid",
    "NotAllowed",
    "check_in_record",
    "thresholds_set",
]
