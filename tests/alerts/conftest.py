"""Fixtures for the alert tests: the SMTP server, the broker, workers, a Redis of our own.

The broker is Redis DB 9 (only that database is flushed): CI's REDIS_URL, or on a developer's
machine a redis-server the suite starts itself; a throwaway SQLAlchemy/SQLite broker in tmp
if there is no redis-server (and in the test that proves `make run`'s embedded broker).
Workers run in the test process (celery.contrib.testing.worker.start_worker) or, where a
test must kill one, as a subprocess on the same test database.
"""

from __future__ import annotations

import os
import runpy
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock
from urllib.parse import quote, urlsplit, urlunsplit

import kombu.pools
import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection, transaction

from notifications.channels.sms import LocmemBackend
from notifications.models import Delivery
from symptoms.services import check_in_record
from tests.alerts.support import (
    REDIS_SERVER,
    ROOT,
    RedisServer,
    SmtpServer,
    WorkerProcess,
    free_port,
)
from tests.conftest import require
from triage.validation import parse_check_in

REDIS_URL = os.environ.get("REDIS_URL", "")
TEST_REDIS_DB = 9


@pytest.fixture(autouse=True)
def _alert_settings(settings):
    # Short back-offs keep the retry tests fast; SMS stays in memory.
    settings.ALERT_RETRY_BASE_SECONDS = 0.2
    settings.ALERT_RETRY_MAX_SECONDS = 0.5
    settings.ALERT_MAX_ATTEMPTS = 3
    settings.ALERT_SMS_BACKEND = "notifications.channels.sms.LocmemBackend"
    settings.SITE_URL = "https://homeline.example.org"
    LocmemBackend.outbox.clear()


@pytest.fixture
def sms_outbox():
    return LocmemBackend.outbox


def record(patient, by, **data):
    """A check-in through the real service (its own transaction; tasks after commit)."""
    check_in, _ = check_in_record(patient=patient, recorded_by=by, data=parse_check_in(data),
                                  submission_key=uuid.uuid4())
    return check_in


def record_and_roll_back(patient, by, **data) -> None:
    """A check-in saved inside an outer transaction that is then rolled back."""
    with transaction.atomic():
        record(patient, by, **data)
        assert Delivery.objects.exists()  # the rows were there, inside the transaction
        transaction.set_rollback(True)


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp(settings) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, and the portal's mail pointed at it."""
    server = SmtpServer().start()
    use_smtp(settings, server.port)
    yield server
    server.stop()


# Broker ------------------------------------------------------------------------------------

def _redis_db9(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{TEST_REDIS_DB}"))


@pytest.fixture(scope="session")
def _local_redis(tmp_path_factory) -> Iterator[RedisServer | None]:
    """Without REDIS_URL (a developer's machine), a redis-server of the suite's own if the
    binary is there; None otherwise (the workers then use a SQLAlchemy broker)."""
    if REDIS_URL or not Path(REDIS_SERVER).exists():
        yield None
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def broker_url(_local_redis, tmp_path) -> str:
    """Redis DB 9 (flushed: it is the suite's own): CI's server, or a local one of ours.
    Failing both, a throwaway SQLAlchemy broker on SQLite, like `make run`'s."""
    if not REDIS_URL and _local_redis is None:
        return sqla_broker_url(tmp_path)
    import redis

    url = _redis_db9(REDIS_URL or _local_redis.url)
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        require(False, f"Redis at {url} ({exc})")
    finally:
        client.close()
    return url


def sqla_broker_url(tmp_path: Path) -> str:
    return f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"


def transport_options_for(url: str) -> dict:
    """The broker options portal/settings.py itself gives for this broker URL."""
    with mock.patch.dict(os.environ, {"CELERY_BROKER_URL": url}):
        namespace = runpy.run_path(str(ROOT / "portal" / "settings.py"))
    return namespace["CELERY_BROKER_TRANSPORT_OPTIONS"]


def _reset_pools(app) -> None:
    # Pools are shared per broker URL in kombu's registry: close and forget them all, or the
    # next test on the same URL would be handed a closed pool.
    kombu.pools.reset()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@contextmanager
def broker(url: str):
    """Point the portal's Celery app (publishing and embedded workers) at this broker."""
    from portal.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options_for(url)
    _reset_pools(app)
    try:
        yield app
    finally:
        _reset_pools(app)
        app.conf.broker_url, app.conf.broker_transport_options = saved


@pytest.fixture
def celery_app(broker_url):
    with broker(broker_url) as app:
        yield app


# Database shared with other threads and processes ------------------------------------------

@pytest.fixture
def shared_database(transactional_db, tmp_path) -> Iterator[str]:
    """A test database that a worker thread or process can open too; yields its URL.

    PostgreSQL's test database already is one. SQLite's is in memory: it is copied into a
    file for this test (WAL, busy timeout) and the connection moved onto it, then moved back
    so that the suite's in-memory database (flushed after the test) is untouched.
    """
    settings_dict = connection.settings_dict
    if connection.vendor != "sqlite":
        user = quote(settings_dict["USER"] or "")
        password = quote(settings_dict["PASSWORD"] or "")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        yield (f"postgres://{auth}{settings_dict['HOST'] or '127.0.0.1'}:"
               f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}")
        return
    if not connection.is_in_memory_db():
        yield f"sqlite:///{settings_dict['NAME']}"
        return
    path = tmp_path / "shared.sqlite3"
    connection.ensure_connection()
    memory = connection.connection
    with sqlite3.connect(path) as copy:
        memory.backup(copy)
    copy.close()
    memory_name = settings_dict["NAME"]
    # Forget the in-memory connection without closing it (closing would drop the database).
    connection.connection = None
    settings_dict["NAME"] = str(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        connection.close()
        settings_dict["NAME"] = memory_name
        connection.connection = memory


# Workers -----------------------------------------------------------------------------------

@pytest.fixture
def worker(celery_app, shared_database):
    """A real Celery worker in this process (a thread), on the test broker and database."""
    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False,
                      shutdown_timeout=30, loglevel="WARNING") as embedded:
        yield embedded


@pytest.fixture
def worker_processes(broker_url, shared_database, tmp_path):
    """Start `celery worker` subprocesses on the test's database, broker and SMTP port."""
    started: list[WorkerProcess] = []

    def start(smtp_port: int, count: int = 1, queues: str | None = None,
              production: bool = False, **extra_env: str) -> list[WorkerProcess]:
        env = worker_env(smtp_port, production=production, **extra_env)
        workers = [WorkerProcess(name=f"w{len(started) + i}", env=env, queues=queues,
                                 log=tmp_path / f"worker{len(started) + i}.log").start()
                   for i in range(count)]
        started.extend(workers)
        for process in workers:
            process.wait_ready()
        return workers

    def worker_env(smtp_port: int, production: bool = False, **extra_env: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ALERT_"))}
        env.update(
            DJANGO_ENV="test", DATABASE_URL=shared_database, CELERY_BROKER_URL=broker_url,
            EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}", EMAIL_TIMEOUT_SECONDS="5",
            SITE_URL="https://homeline.example.org", ALERT_SMS_BACKEND=
            "notifications.channels.sms.ConsoleBackend", ALERT_RETRY_BASE_SECONDS="0.2",
            ALERT_RETRY_MAX_SECONDS="0.5", ALERT_MAX_ATTEMPTS="3", LOG_LEVEL="WARNING",
            CELERY_SKIP_CHECKS="1", ALERT_LEASE_SECONDS="2", ALERT_LEASE_RENEW_SECONDS="0.5",
        )
        if production:
            # portal/settings.py as production reads it: Redis as broker and cache, the
            # strict settings; only the time constants above are the tests' shorter ones.
            require(broker_url.startswith("redis://"), "a redis-server for production settings")
            env.update(DJANGO_ENV="production", REDIS_URL=broker_url,
                       DJANGO_SECRET_KEY="fault-table-" + "0123456789abcdef" * 4,
                       DJANGO_ALLOWED_HOSTS="homeline.example.org")
        env.update(extra_env)
        return env

    start.env = worker_env  # for a beat process beside them
    yield start
    for process in started:
        process.stop()


# A Redis of the test's own -----------------------------------------------------------------

@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    require(Path(REDIS_SERVER).exists(), f"redis-server at {REDIS_SERVER} "
                                         "(apt-get install redis-server)")
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def unused_port() -> int:
    return free_port()
