from __future__ import annotations

from django.http import HttpRequest

from accounts.access import patients_for


def portal(request: HttpRequest) -> dict[str, object]:
    """The care team's 24-hour number, always visible to patients and caregivers."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_care_staff:
        return {}
    patient = patients_for(user).select_related("care_team").order_by("pk").first()
    if patient is None:
        return {}
    team = patient.care_team
    return {"care_line": {"team": team.name, "phone": team.line_phone,
                          "emergency": team.emergency_number}}
