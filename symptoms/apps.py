from django.apps import AppConfig


class SymptomsConfig(AppConfig):
    name = "symptoms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal receivers: a team's new escalation minutes move its open alerts' due times.
        from symptoms.alerting import escalation  # noqa: F401
