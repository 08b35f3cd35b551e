"""The alerts panel of a team's settings page (accounts.team_panels)."""

from __future__ import annotations

from accounts import team_panels
from accounts.models import CareTeam
from alerts.undeliverable import team_missing_contacts, undeliverable_for_team


def alerts_panel(team: CareTeam) -> team_panels.TeamPanel:
    """What the settings lack for every escalation step to reach someone
    (`missing_contacts`), and the latest 20 steps that already reached nobody on open
    alerts (`undeliverable`, rows naming patients)."""
    undeliverable = list(undeliverable_for_team(team)[:20])
    return team_panels.TeamPanel(
        context={"missing_contacts": team_missing_contacts(team),
                 "undeliverable": undeliverable},
        patient_ids=[row.patient_id for row in undeliverable],
    )


team_panels.register("alerts", alerts_panel)
