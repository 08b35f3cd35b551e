"""Every write on check-ins and thresholds. Views and tasks call these."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.core import signing
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from accounts import access
from accounts.models import Patient, Role, User
from symptoms.models import CheckIn, NeuroTool, RecordedAs, ThresholdChange
from symptoms.signals import check_in_saved
from symptoms.thresholds import ruleset_for_patient, team_base
from triage.rules import OverridesRefused, RuleSet, evaluate, validate_overrides
from triage.validation import NON_FIELD, CheckInData, CheckInInvalid, to_canonical_dict

# A reading "taken" later than this after the server's clock is a mistyped time.
FUTURE_TOLERANCE = timedelta(minutes=5)
# A reading taken longer ago than this is a mistyped date (or an old note, not a check-in):
# it would be judged against the wrong 72 h and attached to today's alert. A week covers a
# reading written down at home and entered at the next clinic visit.
PAST_LIMIT = timedelta(days=7)

log = logging.getLogger(__name__)


class NotAllowed(Exception):
    """The user may not do this to this patient (views answer 404)."""


class ThresholdsChangedMeanwhile(Exception):
    """The thresholds changed after the page that is being saved was shown (another
    nurse's tab, the admin site): nothing was written. `seen` and `current` are the
    overrides mappings then and now; `changes` the ThresholdChange rows made since, newest
    first (who, when, why), so the page can say what changed."""

    def __init__(self, *, seen: dict | None, current: dict, changes: list) -> None:
        self.seen = seen
        self.current = current
        self.changes = changes
        super().__init__("the thresholds changed since the page was shown")


@dataclass(frozen=True)
class ThresholdsSeen:
    """What a thresholds page showed: the overrides in force (None when the page's token
    could not be read: treated as changed) and the id of the latest ThresholdChange then
    (0 if none). Carried by the form as a signed token (thresholds_seen_token)."""

    thresholds: dict | None
    last_change_id: int


_SEEN_SALT = "symptoms.thresholds.seen"


def _thresholds_of(target) -> dict:
    # A stored non-object (written before the admin checked it) counts as no overrides,
    # as the rule set reads it.
    return target.thresholds if isinstance(target.thresholds, dict) else {}


def _threshold_changes_of(target):
    if isinstance(target, Patient):
        return ThresholdChange.objects.filter(patient=target)
    return ThresholdChange.objects.filter(care_team=target, patient__isnull=True)


def thresholds_seen_token(target) -> str:
    """A signed token of the overrides `target` (a Patient or CareTeam) has now and its
    latest change id, for the form to carry back (see thresholds_seen_from_token)."""
    last = _threshold_changes_of(target).order_by("-pk").values_list("pk", flat=True).first()
    return signing.dumps({"t": _thresholds_of(target), "c": last or 0}, salt=_SEEN_SALT,
                         compress=True)


def thresholds_seen_from_token(token: str) -> ThresholdsSeen | None:
    """The ThresholdsSeen a form carried; None if the form carried none (not checked); a
    token that does not verify gives thresholds=None (refused as changed, never trusted)."""
    if not token:
        return None
    try:
        data = signing.loads(token, salt=_SEEN_SALT)
        return ThresholdsSeen(thresholds=dict(data["t"]), last_change_id=int(data["c"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return ThresholdsSeen(thresholds=None, last_change_id=0)


class CheckInNotSaved(Exception):
    """The database failed twice while saving a valid check-in; nothing was saved. The
    view shows a page, rendered without the database, that tells the patient to call."""


def _recorded_as(user: User) -> str:
    if user.role == Role.PATIENT:
        return RecordedAs.PATIENT
    if user.role == Role.CAREGIVER:
        return RecordedAs.CAREGIVER
    return RecordedAs.STAFF_PHONE


def check_in_previous(*, patient: Patient, before: datetime, ruleset: RuleSet) -> list[CheckInData]:
    """The patient's check-ins inside the worsening window before `before`.

    The window is measured in real time: `before` is converted to UTC first, because
    subtracting hours from a datetime in a ZoneInfo zone is wall-clock arithmetic (71 or
    73 real hours across a clock change).
    """
    before = before.astimezone(UTC)
    since = before - timedelta(hours=ruleset.worsening_window_hours)
    # Only what `worsening` reads: the time and the symptom grades.
    # Up to and including `before`: an earlier check-in given the same time (two readings
    # typed "taken at 08:00") is still an earlier check-in; evaluate() reads it the same way.
    rows = patient.check_ins.filter(recorded_at__gte=since, recorded_at__lte=before).order_by(
        "-recorded_at"
    ).values_list("recorded_at", "symptoms")
    return [CheckInData(recorded_at=at, symptoms=symptoms) for at, symptoms in rows]


def recorded_at_refusal(recorded_at: datetime, now: datetime) -> str | None:
    """Why a reading's time is not plausible (None if it is): not more than 5 minutes
    ahead of the server's clock, not more than PAST_LIMIT (7 days) before it."""
    if recorded_at > now + FUTURE_TOLERANCE:
        return "is in the future; give the time the reading was taken"
    if recorded_at < now - PAST_LIMIT:
        return (f"is more than {PAST_LIMIT.days} days ago; give the time the reading was "
                "taken, or leave it empty for now")
    return None


def _same_reading(saved: CheckIn, data: CheckInData) -> bool:
    """Whether a resent submission carries what was saved under its key. A resend without
    a time of its own ("now") matches whatever time the first one was given."""
    sent = to_canonical_dict(data)
    kept = to_canonical_dict(saved.to_data())
    if data.recorded_at is None:
        kept.pop("recorded_at", None)
    else:
        sent["recorded_at"] = data.recorded_at.astimezone(UTC).isoformat()
        kept["recorded_at"] = saved.recorded_at.astimezone(UTC).isoformat()
    return sent == kept


def _key_for_changed_resend(submission_key: uuid.UUID, data: CheckInData) -> uuid.UUID:
    """The key a resend with different content is saved under: derived from the first key
    and the content, so resending that same changed form again is still one check-in."""
    content = json.dumps(to_canonical_dict(data), sort_keys=True, default=str)
    return uuid.uuid5(submission_key, content)


def check_in_record(
    *,
    patient: Patient,
    recorded_by: User,
    data: CheckInData,
    submission_key: uuid.UUID | None = None,
    now: datetime | None = None,
    neuro_items: Mapping[str, object] | None = None,
) -> tuple[CheckIn, bool]:
    """Save a check-in with its result, in one transaction. Returns (check_in, created).

    `neuro_items`: the item answers of a neurological self-check, stored beside its total
    for the nurse ({"tool": "ice"|"capd", "answers": {item code: answer},
    "unresponsive": bool}; see symptoms.forms.NeuroCheckFields); the totals themselves are
    canonical fields of `data` (ice_score, capd_score) and are what the rules read.

    A check-in that passes validation is saved; nothing here limits how many.
    Resends (the unique submission_key):
    - same key, same content: the check-in already saved is returned (a double tap or a
      resent form makes one check-in);
    - same key, different content (the form sent back with a changed reading): the new
      reading is saved as a check-in of its own, under a key derived from the first key
      and the content (so resending that changed form again still makes one). A reading
      is never dropped.
    The alert (and the delivery rows) are opened in the same transaction; sending happens
    after commit. If the database connection drops during the transaction, the whole
    transaction is tried once more on a new connection (the submission key makes that
    safe); a second failure raises CheckInNotSaved.

    Raises NotAllowed, CheckInInvalid (recorded_at outside the plausible window, naming
    the field), CheckInNotSaved.
    """
    now = now or timezone.now()
    if not access.may_record_check_in(recorded_by, patient):
        raise NotAllowed
    # Stored and compared in UTC: window arithmetic on a zone's wall clock is wrong
    # across clock changes.
    recorded_at = (data.recorded_at or now).astimezone(UTC)
    refusal = recorded_at_refusal(recorded_at, now)
    if refusal:
        raise CheckInInvalid({"recorded_at": refusal})
    key = submission_key or uuid.uuid4()
    for attempt in (1, 2):
        outer = transaction.get_connection().in_atomic_block
        try:
            return _record_once(patient, recorded_by, data, key, recorded_at, now,
                                neuro_items=neuro_items)
        except (OperationalError, InterfaceError):
            # Only a transaction of our own can be replayed; inside a caller's it is theirs.
            if outer or attempt == 2:
                log.exception("check-in of patient %s not saved", patient.pk)
                raise CheckInNotSaved from None
            log.warning("database connection lost while saving a check-in; trying once "
                        "more", exc_info=True)
            transaction.get_connection().close()
    raise AssertionError("unreachable")


def _record_once(
    patient: Patient, recorded_by: User, data: CheckInData, key: uuid.UUID,
    recorded_at: datetime, now: datetime, *, changed_resend: bool = False,
    neuro_items: Mapping[str, object] | None = None,
) -> tuple[CheckIn, bool]:
    try:
        with transaction.atomic():
            # The patient row is locked before the earlier check-ins are read: two check-ins
            # of one patient at once are judged one after the other, so the second sees the
            # first (`worsening`). The thresholds are read under the same lock.
            locked = (Patient.objects.select_for_update(of=("self",))
                      .select_related("care_team").get(pk=patient.pk))
            ruleset = ruleset_for_patient(locked)
            previous = check_in_previous(patient=locked, before=recorded_at, ruleset=ruleset)
            result = evaluate(replace(data, recorded_at=recorded_at), previous, ruleset,
                              now=now)
            check_in = CheckIn.objects.create(
                patient=locked,
                recorded_at=recorded_at,
                recorded_by=recorded_by,
                recorded_as=_recorded_as(recorded_by),
                submission_key=key,
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
                ice_score=data.ice_score,
                capd_score=data.capd_score,
                worry=data.worry,
                neuro_tool=_neuro_tool(data, neuro_items),
                neuro_items=dict(neuro_items or {}),
                notes=data.notes,
                severity=result.severity,
                emergency=result.emergency,
                findings=[f.to_json() for f in result.findings],
                rules_version=result.rules_version,
                ruleset=ruleset.to_json(),
            )
            _after_check_in(check_in)
    except IntegrityError:
        # The unique submission_key is the double-submit guard. Not looked up beforehand:
        # a resend is rare and every check-in would pay for it.
        existing = CheckIn.objects.filter(submission_key=key).first()
        if existing is None:
            raise
        if (existing.patient_id, existing.recorded_by_id) != (patient.pk, recorded_by.pk):
            raise NotAllowed from None
        if _same_reading(existing, data):
            return existing, False
        if changed_resend:
            raise  # a derived key taken by other content: cannot happen short of a collision
        return _record_once(patient, recorded_by, data, _key_for_changed_resend(key, data),
                            recorded_at, now, changed_resend=True, neuro_items=neuro_items)
    return check_in, True


def _neuro_tool(data: CheckInData, neuro_items: Mapping[str, object] | None) -> str:
    # The tool follows the total given (the `triage` command or an API gives a total and
    # no items); the items name it when the check stopped at "cannot be woken" without one.
    if data.ice_score is not None:
        return NeuroTool.ICE
    if data.capd_score is not None:
        return NeuroTool.CAPD
    tool = (neuro_items or {}).get("tool")
    return tool if tool in (NeuroTool.ICE, NeuroTool.CAPD) else NeuroTool.NONE


def _after_check_in(check_in: CheckIn) -> None:
    """Tell the apps above (alerts: open or raise the patient's alert) in the same
    transaction, through symptoms.signals.check_in_saved."""
    check_in_saved.send(sender=CheckIn, check_in=check_in)


def thresholds_set(
    *,
    changed_by: User,
    reason: str,
    overrides: dict[str, object],
    patient: Patient | None = None,
    team=None,
    seen: ThresholdsSeen | None = None,
) -> ThresholdChange:
    """Replace a patient's (or a team's) threshold overrides, with a written reason.

    Refused (OverridesRefused naming each key) if any override would loosen a rule beyond
    the limits of clinical-rules.md, or would cross another threshold of the same rule:
    a patient's against the team's in force; a team's against the overrides of every one
    of its patients (so no combination saved here contradicts itself). Every change is
    kept with who, when, why, old and new.

    `seen` is what the page being saved showed (None: not checked, for callers without a
    page). If the stored overrides differ from it, ThresholdsChangedMeanwhile is raised and
    nothing is written: the form holds a whole set of overrides, so saving an old page
    would silently undo a colleague's stricter value. Checked under the row lock, so of
    two saves from the same page only the first passes.
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
    elif not access.may_manage_team(changed_by, team):
        raise NotAllowed
    target = patient if patient is not None else team
    with transaction.atomic():
        # Locked before checking: a team change and a patient change at the same moment
        # must not each pass against the other's old value.
        if patient is not None:
            type(patient.care_team).objects.select_for_update().get(pk=patient.care_team_id)
        target = type(target).objects.select_for_update().get(pk=target.pk)
        if seen is not None and (seen.thresholds is None
                                 or seen.thresholds != _thresholds_of(target)):
            raise ThresholdsChangedMeanwhile(
                seen=seen.thresholds, current=_thresholds_of(target),
                changes=list(_threshold_changes_of(target).filter(pk__gt=seen.last_change_id)
                             .select_related("changed_by").order_by("-pk")[:20]),
            )
        errors = (patient_thresholds_refusals(target, overrides) if patient is not None
                  else team_thresholds_refusals(target, overrides))
        if errors:
            raise OverridesRefused(errors)
        old = target.thresholds or {}
        target.thresholds = overrides
        target.save(update_fields=["thresholds"])
        return ThresholdChange.objects.create(
            patient=patient, care_team=team, changed_by=changed_by, reason=reason.strip(),
            old=old, new=overrides,
        )


def patient_thresholds_refusals(patient: Patient, overrides: object) -> dict[str, str]:
    """Why these overrides may not be saved for this patient ({} if they may): the limits
    of clinical-rules.md, and no crossing with the team's thresholds in force."""
    if not isinstance(overrides, dict):
        return {NON_FIELD: "thresholds must be an object of names and values"}
    return validate_overrides(overrides, team_base(patient))


def team_thresholds_refusals(team, overrides: object) -> dict[str, str]:
    """Why these overrides may not be saved for this care team ({} if they may): the
    limits, and for each patient of the team with overrides of their own, no crossing
    with them (the error names the patient, whose thresholds are to be changed first).
    Used by thresholds_set and by the admin site's team form."""
    if not isinstance(overrides, dict):
        return {NON_FIELD: "thresholds must be an object of names and values"}
    errors = validate_overrides(overrides, RuleSet.default())
    if errors:
        return errors
    team_rules = RuleSet.default().with_overrides(overrides)
    # A team being created (the admin's add form) has no patients yet.
    patients = Patient.objects.filter(care_team=team) if team.pk else Patient.objects.none()
    for patient in patients.exclude(thresholds={}).order_by("pk"):
        if not isinstance(patient.thresholds, dict):
            continue
        crossing = validate_overrides(patient.thresholds, team_rules)
        if crossing:
            errors[NON_FIELD] = (
                f"contradicts the thresholds of patient {patient.hospital_number} "
                f"({'; '.join(f'{k}: {v}' for k, v in crossing.items())}); change that "
                "patient's thresholds first"
            )
            break
    return errors


__all__ = [
    "NON_FIELD",
    "CheckInInvalid",
    "CheckInNotSaved",
    "NotAllowed",
    "check_in_record",
    "thresholds_set",
]
