"""Alert latency: from a red check-in's commit to the SMTP server receiving the email.

Printed beside the round trip of a no-op Celery task on the same broker, in the same run,
with the same (embedded) worker, so that the ratio says what the alert path itself costs
(claiming the row, rendering, SMTP) over the broker's own hop.

    make bench-alerts                      # SQLite in a temp dir; REDIS_URL's Redis if set,
                                           # else a redis-server of its own if installed
    BENCH_ALERTS=500 make bench-alerts     # more samples (default 200)
    BENCH_BROKER_URL=redis://... make bench-alerts

The database is a throwaway: a temporary SQLite file, or with DATABASE_URL (PostgreSQL) a
database "homeline_bench" created beside it and dropped after. The broker queue has a name
of its own, so a running worker on the same Redis takes none of these tasks.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from tests.alerting.support import REDIS_SERVER, RedisServer, SmtpServer

SAMPLES = int(os.environ.get("BENCH_ALERTS", "200"))
WARM_UP = 10


def _configure_environment(tmp: Path, stack: ExitStack) -> None:
    os.environ["DJANGO_ENV"] = "test"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ["LOG_LEVEL"] = "WARNING"
    broker = os.environ.get("BENCH_BROKER_URL") or os.environ.get("REDIS_URL")
    if not broker and Path(REDIS_SERVER).exists():
        # No Redis given: a redis-server of our own, so the figures are Redis's, not the
        # embedded SQLite broker's one-second polling.
        redis = RedisServer(tmp).start()
        stack.callback(redis.stop)
        broker = redis.url
    os.environ["CELERY_BROKER_URL"] = broker or f"sqla+sqlite:///{tmp / 'broker.sqlite3'}"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="homeline-bench-") as tmp, ExitStack() as stack:
        _configure_environment(Path(tmp), stack)
        import django

        django.setup()
        _run()


def _run() -> None:
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings
    from django.db import connection, transaction
    from django.test.utils import setup_test_environment

    from portal.celery import app

    setup_test_environment()  # fast password hashing, no outside mail by accident
    old_name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    else:
        connection.settings_dict.setdefault("TEST", {})["NAME"] = "homeline_bench"
        connection.creation.create_test_db(verbosity=0, autoclobber=True)

    smtp = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.ALERT_SMS_BACKEND = "symptoms.alerting.sms.LocmemBackend"

    done: dict[str, threading.Event] = {}

    @app.task(name="bench.noop", ignore_result=True)
    def noop(token: str) -> None:
        done[token].set()

    app.conf.task_default_queue = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            nurse, patients = _cast(SAMPLES + WARM_UP)
            noop_times = []
            alert_times = []
            for index, patient in enumerate(patients):
                # Alternate which goes first, so neither always finds the worker just idle.
                if index % 2:
                    noop_times.append(_noop_round_trip(noop, done))
                alert_times.append(_alert_latency(patient, nurse, smtp, index + 1,
                                                  transaction))
                if not index % 2:
                    noop_times.append(_noop_round_trip(noop, done))
            noop_times, alert_times = noop_times[WARM_UP:], alert_times[WARM_UP:]
    finally:
        smtp.stop()
        if connection.vendor != "sqlite":
            connection.creation.destroy_test_db(old_name, verbosity=0)
    _print(app.conf.broker_url, connection.vendor, noop_times, alert_times)


def _cast(count: int):
    from datetime import date

    from accounts.models import CareTeam, Membership, Patient, Role, User

    team = CareTeam.objects.create(name="Bench team", line_phone="01632 960001",
                                   duty_email="duty@example.org")
    nurse = User.objects.create_user("bench-nurse@example.org", "x" * 12, full_name="Bench",
                                     role=Role.NURSE)
    Membership.objects.create(user=nurse, team=team)
    patients = Patient.objects.bulk_create(
        Patient(care_team=team, display_name=f"Bench Patient {n}",
                date_of_birth=date(1970, 1, 1), hospital_number=f"B-{n:05d}")
        for n in range(count)
    )
    return nurse, patients


def _noop_round_trip(noop, done: dict[str, threading.Event]) -> float:
    token = uuid.uuid4().hex
    done[token] = threading.Event()
    started = time.perf_counter()
    noop.apply_async((token,))
    if not done[token].wait(30):
        raise RuntimeError("the no-op task did not run within 30 s")
    return time.perf_counter() - started


def _alert_latency(patient, nurse, smtp, expected: int, transaction) -> float:
    from symptoms.services import check_in_record
    from symptoms.validation import parse_check_in

    committed: list[float] = []
    with transaction.atomic():
        # Registered first, so it runs first at commit: the clock starts at the commit.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        check_in_record(patient=patient, recorded_by=nurse,
                        data=parse_check_in({"temperature_c": 38.6}),
                        submission_key=uuid.uuid4())
    received = smtp.mailbox.wait_for(expected, timeout=30)[-1]
    return received.at - committed[0]


def _print(broker: str, database: str, noop_times: list[float],
           alert_times: list[float]) -> None:
    def ms(value: float) -> str:
        return f"{value * 1000:9.1f}"

    rows = [
        ("no-op task round trip", noop_times),
        ("red check-in commit -> SMTP", alert_times),
    ]
    scheme = broker.split("://", 1)[0]
    print(f"\nAlert latency ({len(alert_times)} alerts; broker {scheme}; database {database}; "
          "embedded solo worker)")
    print(f"{'':32}{'median ms':>10}{'p95 ms':>10}")
    for name, values in rows:
        print(f"{name:32}{ms(statistics.median(values))}{ms(_percentile(values, 0.95))}")
    ratio_median = statistics.median(alert_times) / statistics.median(noop_times)
    ratio_p95 = _percentile(alert_times, 0.95) / _percentile(noop_times, 0.95)
    print(f"{'ratio alert / no-op':32}{ratio_median:9.1f}x{ratio_p95:9.1f}x")
