"""A valid check-in is saved, graded and answered whatever fails around it (issue 10, kind 1).

Each test runs against the real services: PostgreSQL (or SQLite locally), a redis-server of
the test's own that is stopped (refused) or SIGSTOPped (hung), an SMTP server on loopback and
a Celery worker in the test process. The cache and broker settings are those production
builds (portal/settings.py read with DJANGO_ENV=production), not the test defaults.
"""

from __future__ import annotations

import os
import runpy
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import caches
from django.db import connection, connections
from django.urls import reverse

from alerts import tasks
from alerts.models import Alert
from notifications import tasks as notification_tasks
from notifications.models import Delivery, DeliveryState
from symptoms import services
from symptoms.models import CheckIn
from tests.alerts.conftest import broker
from tests.alerts.support import ROOT, RedisServer, wait_until
from tests.factories import PASSWORD, PatientFactory
from triage.validation import parse_check_in

# The guarantee: with the cache and the broker refused or hung, a patient signs in,
# saves a red check-in and sees the advice within 3 s.
ADVICE_WITHIN = 3.0
CALL_NOW = "Call your 24-hour hospital line now"


def production_settings(redis_url: str) -> dict:
    """portal/settings.py as production reads it, with Redis at `redis_url`."""
    env = {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "fault-test-" + "0123456789abcdef" * 4,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "REDIS_URL": redis_url,
        "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:///unused.sqlite3"),
    }
    drop = [k for k in os.environ if k in ("CACHE_URL", "CELERY_BROKER_URL")]
    with mock.patch.dict(os.environ, env):
        for key in drop:
            os.environ.pop(key)
        return runpy.run_path(str(ROOT / "portal" / "settings.py"))


@pytest.fixture
def production_cache(settings, own_redis):
    """The portal's cache and rate limits configured as in production, on our own Redis."""
    prod = production_settings(own_redis.url)
    settings.CACHES = prod["CACHES"]
    settings.RATELIMIT_FAIL_OPEN = prod["RATELIMIT_FAIL_OPEN"]
    for name in ("RATELIMIT_VIEW", "RATELIMIT_IP_META_KEY", "RATE_LOGIN"):
        setattr(settings, name, prod[name])
    yield prod
    caches["default"].close()


def _sweep_until_sent(smtp, app) -> None:
    """A worker and the sweeps, until the waiting alert email has gone out."""
    sweeps = [getattr(tasks, name) for name in ("alerts_sweep_task", "deliveries_sweep_task")
              if hasattr(tasks, name)]
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30,
                      loglevel="WARNING"):
        def sent() -> bool:
            for sweep in sweeps:
                sweep()
            return smtp.mailbox.count() >= 1
        wait_until(sent, timeout=30, what="the waiting alert email", interval=0.5)
        wait_until(lambda: not Delivery.objects.filter(state=DeliveryState.PENDING,
                                                        channel="email").exists(),
                   timeout=15, what="the email row to leave pending")


def sign_in_and_save_red_check_in(client, user, patient) -> tuple[float, str]:
    """The patient's whole path: the sign-in form, the check-in form, the advice page."""
    started = time.monotonic()
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    response = client.post(reverse("check_in_new", args=[patient.pk]),
                           {"submission_key": str(uuid.uuid4()), "unit": "c",
                            "temperature": "39.1"})
    assert response.status_code == 302, response.status_code
    advice = client.get(response["Location"]).content.decode()
    return time.monotonic() - started, advice


pytestmark_db = pytest.mark.django_db(transaction=True)


# 1. The cache and the broker refused or hung ---------------------------------------------

@pytestmark_db
def test_production_cache_is_redis_that_fails_open(production_cache, own_redis):
    # The fault tests below would prove nothing on the database cache.
    assert "redis" in production_cache["CACHES"]["default"]["BACKEND"]
    assert production_cache["RATELIMIT_FAIL_OPEN"] is True
    cache = caches["default"]
    cache.set("probe", 1)
    assert cache.get("probe") == 1
    own_redis.pause()
    try:
        assert cache.get("probe") is None  # no error, no value
        assert cache.add("other", 1) is None
    finally:
        own_redis.resume()


@pytestmark_db
@pytest.mark.worker
@pytest.mark.parametrize("fault", ["refused", "hung"])
def test_redis_down_a_patient_signs_in_saves_a_red_check_in_and_sees_the_advice(
    fault, production_cache, own_redis, smtp, shared_database, settings, tmp_path, client,
    patient, patient_user,
):
    settings.ALERT_REQUEUE_GRACE_SECONDS = 0
    port = own_redis.port
    with broker(own_redis.url) as app:
        if fault == "refused":
            own_redis.stop()
        else:
            # The web process already holds pooled connections when Redis hangs.
            caches["default"].set("warm", 1)
            notification_tasks.delivery_send_task.apply_async((0,))
            own_redis.pause()
        try:
            elapsed, advice = sign_in_and_save_red_check_in(client, patient_user, patient)
        finally:
            if fault == "hung":
                own_redis.resume()
        assert elapsed < ADVICE_WITHIN, elapsed
        assert CALL_NOW in advice
        check_in = CheckIn.objects.get()
        assert check_in.severity == "red"
        # Nothing was lost: the rows wait for Redis.
        assert Delivery.objects.filter(state=DeliveryState.PENDING).exists()
        back = RedisServer(tmp_path, port=port).start() if fault == "refused" else None
        try:
            _sweep_until_sent(smtp, app)
        finally:
            if back is not None:
                back.stop()
    assert smtp.mailbox.count() == 1


# 2. No limiter refuses a valid check-in ------------------------------------------------------

def _form(**fields) -> dict:
    return {"submission_key": str(uuid.uuid4()), "unit": "c", **fields}


@pytest.mark.django_db
def test_a_patient_after_many_check_ins_and_refusals_still_saves_a_fever(as_user, patient):
    client = as_user(patient.user)
    url = reverse("check_in_new", args=[patient.pk])
    for n in range(30):
        if n % 3 == 0:
            assert client.post(url, _form(temperature="98.6")).status_code == 400  # °F in °C
        else:
            assert client.post(url, _form(temperature="36.8")).status_code == 302
    response = client.post(url, _form(temperature="39.1"))
    assert response.status_code == 302
    assert CheckIn.objects.filter(temperature_c="39.1", severity="red").count() == 1


@pytest.mark.django_db
def test_a_nurse_entering_check_ins_for_many_patients_is_never_refused(as_user, nurse, team):
    client = as_user(nurse)
    patients = [PatientFactory(care_team=team) for _ in range(12)]
    for patient in patients * 4:
        response = client.post(reverse("check_in_new", args=[patient.pk]),
                               _form(temperature="36.9"))
        assert response.status_code == 302
    assert CheckIn.objects.count() == 48


# 7. The database connection dropped in the middle of a check-in ------------------------------

def _terminate_own_backend() -> None:
    """Kill this connection's PostgreSQL backend from another session, as a failover or
    an administrator's pg_terminate_backend would."""
    import psycopg

    pid = connection.connection.info.backend_pid
    config = connection.settings_dict
    with psycopg.connect(dbname=config["NAME"], user=config["USER"] or None,
                         password=config["PASSWORD"] or None,
                         host=config["HOST"] or None, port=config["PORT"] or None,
                         autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])


def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        from tests.conftest import require
        require(False, "PostgreSQL (DATABASE_URL) for connection faults and row locks")


@pytestmark_db
def test_a_dropped_connection_mid_check_in_is_retried_once_and_saves_one_check_in(
    as_user, patient
):
    _needs_postgres()
    real = services._after_check_in
    calls = []

    def drop_first(check_in):
        calls.append(check_in.submission_key)
        if len(calls) == 1:
            _terminate_own_backend()
        real(check_in)

    client = as_user(patient.user)
    key = uuid.uuid4()
    with mock.patch.object(services, "_after_check_in", drop_first):
        response = client.post(reverse("check_in_new", args=[patient.pk]),
                               {"submission_key": str(key), "unit": "c", "temperature": "39.0"})
    assert response.status_code == 302
    assert len(calls) == 2  # the whole transaction ran again
    check_in = CheckIn.objects.get()
    assert check_in.submission_key == key
    assert check_in.severity == "red"
    assert Alert.objects.count() == 1
    assert CALL_NOW in client.get(response["Location"]).content.decode()


@pytestmark_db
def test_a_connection_dropped_twice_answers_a_page_that_says_to_call_and_saves_nothing(
    as_user, patient
):
    _needs_postgres()
    real = services._after_check_in

    def always_drop(check_in):
        _terminate_own_backend()
        real(check_in)

    client = as_user(patient.user)
    with mock.patch.object(services, "_after_check_in", always_drop):
        response = client.post(reverse("check_in_new", args=[patient.pk]),
                               _form(temperature="39.0"))
    assert response.status_code == 503
    page = response.content.decode()
    assert "was not saved" in page
    assert "999" in page
    assert "treatment card" in page
    assert not CheckIn.objects.exists()
    assert not Delivery.objects.exists()


@pytestmark_db
def test_two_check_ins_at_once_the_second_sees_the_first_and_finds_worsening(patient):
    """Two real transactions on PostgreSQL. The first is held open after saving; the
    second must wait for the patient row, then read the first (cough 1 -> 3 = worsening)."""
    _needs_postgres()
    now = datetime.now(UTC)
    in_first = threading.Event()
    release_first = threading.Event()
    real = services._after_check_in
    results: dict[str, object] = {}

    def hold_first(check_in):
        real(check_in)
        if check_in.symptoms == {"cough": 1}:
            in_first.set()
            release_first.wait(timeout=30)

    def record(name, grade, at):
        try:
            check_in, _ = services.check_in_record(
                patient=patient, recorded_by=patient.user,
                data=parse_check_in({"symptoms": {"cough": grade}, "recorded_at": at}),
                submission_key=uuid.uuid4(),
            )
            results[name] = check_in
        except Exception as exc:  # reported below, in the test's thread
            results[name] = exc
        finally:
            connections.close_all()

    with mock.patch.object(services, "_after_check_in", hold_first):
        first = threading.Thread(target=record,
                                 args=("first", 1, now - timedelta(minutes=5)))
        first.start()
        assert in_first.wait(timeout=30)
        second = threading.Thread(target=record, args=("second", 3, now))
        second.start()
        second.join(timeout=1.0)
        # The second is waiting on the patient row the first holds (not a speed check:
        # it must not have read the earlier check-ins yet).
        assert second.is_alive()
        release_first.set()
        first.join(timeout=30)
        second.join(timeout=30)
    assert not isinstance(results["first"], Exception), results["first"]
    assert not isinstance(results["second"], Exception), results["second"]
    second_check_in = CheckIn.objects.get(pk=results["second"].pk)
    assert "worsening" in {f["rule"] for f in second_check_in.findings}


# 1. (again) What else reads the cache on the patient's path -----------------------------------

@pytestmark_db
def test_with_redis_hung_the_history_and_result_pages_do_not_touch_it(
    production_cache, own_redis, as_user, patient
):
    client = as_user(patient.user)
    response = client.post(reverse("check_in_new", args=[patient.pk]), _form(temperature="37"))
    own_redis.pause()
    try:
        started = time.monotonic()
        assert client.get(response["Location"]).status_code == 200
        assert client.get(reverse("check_in_history", args=[patient.pk])).status_code == 200
        assert client.get(reverse("check_in_new", args=[patient.pk])).status_code == 200
        elapsed = time.monotonic() - started
    finally:
        own_redis.resume()
    # Three pages inside the one guaranteed budget: none waited on the hung cache.
    assert elapsed < ADVICE_WITHIN, elapsed


@pytest.mark.django_db
def test_a_caregiver_signs_in_with_redis_refused(production_cache, own_redis, client, child,
                                                  caregiver):
    own_redis.stop()
    response = client.post(reverse("login"), {"username": caregiver.email,
                                              "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("check_in_new", args=[child.pk])).status_code == 200
