"""Extra panels on a team's settings page, contributed by the apps above accounts.

accounts imports none of them; an app registers a provider in its `AppConfig.ready()`:

    team_panels.register(provider)

A provider takes the team and returns a `TeamPanel`: the template context it adds and the
ids of the patients it shows (they are written to the read log).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from accounts.models import CareTeam


@dataclass(frozen=True)
class TeamPanel:
    """What one provider adds to the team settings page."""

    context: dict[str, object]
    patient_ids: list[int] = field(default_factory=list)


TeamPanelProvider = Callable[[CareTeam], TeamPanel]
_providers: dict[str, TeamPanelProvider] = {}


def register(name: str, provider: TeamPanelProvider) -> None:
    """Add (or, under the same name, replace) a provider of team settings panels."""
    _providers[name] = provider


def panels_for(team: CareTeam) -> TeamPanel:
    """Every registered panel for `team`, merged: one context, all patient ids."""
    context: dict[str, object] = {}
    patient_ids: list[int] = []
    for provider in _providers.values():
        panel = provider(team)
        context.update(panel.context)
        patient_ids.extend(panel.patient_ids)
    return TeamPanel(context=context, patient_ids=patient_ids)
