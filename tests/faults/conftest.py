"""The fault tests reuse the alert tests' real services: an SMTP server on loopback, a
redis-server of the test's own that can be stopped and paused, a database that worker
threads share, and the short retry settings."""

from tests.alerts.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    _alert_settings,
    _local_redis,
    broker_url,
    celery_app,
    own_redis,
    shared_database,
    smtp,
)
