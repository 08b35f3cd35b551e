"""The Thresholds page: a nurse or clinician of the team tightens a patient's thresholds."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import access
from accounts.audit import record_read
from accounts.models import Role
from nursing.threshold_forms import PatientThresholdsForm, describe_threshold_changes
from portal.http import posted
from symptoms import services
from symptoms.thresholds import ruleset_for_patient, team_base, threshold_conflicts
from triage.rules import OverridesRefused


@login_required
@require_http_methods(["GET", "POST"])
def patient_thresholds(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A nurse or clinician of the team tightens this patient's thresholds, with a reason."""
    patient = access.patient_for(request.user, patient_id)
    if request.user.role not in (Role.NURSE, Role.CLINICIAN):
        raise Http404
    record_read(request, patient, "view thresholds")
    base = team_base(patient)
    in_force = ruleset_for_patient(patient)
    form = PatientThresholdsForm(
        posted(request), base=base, in_force=in_force,
        # A stored value that is not an object (written before the admin site checked it)
        # shows as "no overrides" rather than breaking the page; the rule set ignores it too.
        current=patient.thresholds if isinstance(patient.thresholds, dict) else {},
        initial={"seen": services.thresholds_seen_token(patient)},
    )
    stale = None
    if request.method == "POST" and form.is_valid():
        try:
            services.thresholds_set(
                changed_by=request.user, reason=form.cleaned_data["reason"],
                overrides=form.overrides(), patient=patient, seen=form.seen_value(),
            )
        except OverridesRefused as refused:
            form.add_override_errors(refused.errors)
        except services.ThresholdsChangedMeanwhile as changed:
            # Nothing saved: show the values in force now and what changed, keep the
            # typed reason, and say what this page would have set.
            stale = {
                "changes": changed.changes,
                "lines": describe_threshold_changes(changed.seen, changed.current),
                "yours": describe_threshold_changes(changed.current, form.overrides()),
            }
            patient.refresh_from_db()
            in_force = ruleset_for_patient(patient)
            form = PatientThresholdsForm(
                None, base=team_base(patient), in_force=in_force,
                current=patient.thresholds if isinstance(patient.thresholds, dict) else {},
                initial={"seen": services.thresholds_seen_token(patient),
                         "reason": form.cleaned_data["reason"]},
            )
        else:
            messages.success(request, f"Thresholds for {patient.display_name} saved.")
            return redirect("patient_thresholds", patient_id=patient.pk)
    status = 409 if stale is not None else 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "nursing/patient_thresholds.html",
        {
            "patient": patient,
            "form": form,
            "in_force": in_force,
            "conflicts": threshold_conflicts(patient),
            # Each change in words ("ICE baseline ...: the team's value → 8"), not as the
            # stored mappings.
            "changes": [
                (change, describe_threshold_changes(change.old, change.new))
                for change in patient.threshold_changes.select_related("changed_by")[:50]
            ],
            "stale": stale,
        },
        status=status,
    )
