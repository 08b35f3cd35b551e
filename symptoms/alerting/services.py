"""Alerts for the care team (issue 4 fills this in)."""

from __future__ import annotations


def alert_for_check_in(*, check_in) -> None:
    """Open, raise or attach the patient's alert for an amber or red check-in."""
