from __future__ import annotations

from django.http import HttpRequest

from accounts.access import patients_for
from accounts.models import CareTeam


def portal(request: HttpRequest) -> dict[str, object]:
    """Patients and caregivers: the care team's 24-hour number, always visible. (Staff:
    the open-alert counts come from alerts.context_processors.alert_counts.)"""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if user.is_care_staff:
        return {}
    patient = patients_for(user).select_related("care_team").order_by("pk").first()
    if patient is None:
        return {}
    return {"care_line": care_line(patient.care_team)}


def care_line(team: CareTeam) -> dict[str, str]:
    """What the header and the advice pages show: the team's 24-hour and emergency numbers."""
    return {"team": team.name, "phone": team.line_phone, "emergency": team.emergency_number}
