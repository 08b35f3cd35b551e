from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The delivery outbox: claim, send, record; channels; /healthz. Knows nothing of what
    the messages are about: the sending app registers its hooks (notifications.hooks)."""

    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"
