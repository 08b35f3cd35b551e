from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the sign-in signal receivers (lockout reset, first-enrolment grant).
        from accounts import enrolment, lockout  # noqa: F401
