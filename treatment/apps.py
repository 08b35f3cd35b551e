from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    """The treatment calendar (clinical-rules.md, "Treatment calendar and bag changes"):
    each patient's plan of 42-day cycles, bag changes, clinic visits and the family's
    private calendar feed."""

    name = "treatment"
    default_auto_field = "django.db.models.BigAutoField"
