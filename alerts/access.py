"""Which alerts a user may see and act on, built on accounts.access.patients_for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from accounts.access import one_or_404, patients_for, signed_in
from accounts.models import Role
from alerts.models import Alert

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def alerts_for(user: User | AnonymousUser) -> QuerySet[Alert]:
    """Alerts of the patients this member of staff looks after (nobody else sees alerts)."""
    if not signed_in(user) or not user.is_care_staff:
        return Alert.objects.none()
    return Alert.objects.filter(patient__in=patients_for(user))


def alert_for(user: User | AnonymousUser, alert_id: object) -> Alert:
    """One alert the user may see; Http404 for any other id, as for one that does not
    exist."""
    return one_or_404(
        alerts_for(user).select_related("patient__care_team", "acknowledged_by", "resolved_by"),
        alert_id,
        "alert",
    )


def may_act_on_alert(user: User | AnonymousUser, alert: Alert) -> bool:
    """Nurses and clinicians of the patient's team acknowledge and resolve; a team admin
    sees alerts but does not act on them clinically."""
    return (
        signed_in(user)
        and user.role in (Role.NURSE, Role.CLINICIAN)
        and patients_for(user).filter(pk=alert.patient_id).exists()
    )
