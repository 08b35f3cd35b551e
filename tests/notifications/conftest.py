"""The outbox's tests use the same real services as the alerts' (SMTP sink, Redis or
SQLite broker, Celery workers in and out of process): one definition, in
tests/alerts/conftest.py, made visible here."""

from tests.alerts.conftest import (  # noqa: F401
    _alert_settings,
    _local_redis,
    broker_url,
    celery_app,
    own_redis,
    shared_database,
    sms_outbox,
    smtp,
    unused_port,
    worker,
    worker_processes,
)
