from django.apps import AppConfig


class NursingConfig(AppConfig):
    """The staff pages: the alert queue, alert detail, the patient timeline."""

    name = "nursing"
    default_auto_field = "django.db.models.BigAutoField"
