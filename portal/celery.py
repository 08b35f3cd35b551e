"""The Celery app. Settings come from Django's settings (CELERY_* names)."""

import os

from celery import Celery, signals
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The alert queues (settings.ALERT_QUEUE_*), red first. A worker started without -Q consumes
# all of them; the Procfile gives red deliveries and sweeps workers of their own.
ALERT_QUEUES = ("alerts.red", "alerts.deliveries", "alerts.reminders", "alerts.sweeps")
app.conf.task_queues = [Queue(name, routing_key=name) for name in ALERT_QUEUES]


# The worker keeps its database connection between tasks (Celery's Django fix-up would
# otherwise open a new one for every alert), and Django's own rules close it when it is
# older than CONN_MAX_AGE or has failed its health check, as for a web request.
@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(**kwargs: object) -> None:
    from django.db import close_old_connections

    close_old_connections()
