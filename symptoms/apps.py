from django.apps import AppConfig


class SymptomsConfig(AppConfig):
    name = "symptoms"
    default_auto_field = "django.db.models.BigAutoField"
