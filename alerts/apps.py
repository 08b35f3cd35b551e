from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts: grouping check-ins into a patient's alert, acknowledge / resolve, escalation,
    missed check-ins and their sweeps."""

    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal receivers: a team's new escalation minutes move its open alerts' due times
        # (escalation); a check-in saved opens or raises the patient's alert (receivers).
        # hooks registers this app's answers to the outbox (notifications.hooks), team_panel
        # its part of the team settings page (accounts.team_panels), health its checks in
        # /healthz (notifications.health).
        from alerts import escalation, health, hooks, receivers, team_panel  # noqa: F401
