"""/healthz, and `manage.py alerts_sweep`, the sweep that needs no broker."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from alerts.sweeps import heartbeat_record
from notifications.dispatch import broker_bypassed
from notifications.models import Delivery, DeliveryState, Heartbeat
from tests.alerts.conftest import broker, record

TOKEN = "monitoring-" + "7" * 40
MONITOR = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def _monitoring_token(settings):
    settings.HEALTHZ_TOKEN = TOKEN


@pytest.fixture
def beat_just_ran(db):
    heartbeat_record(name="beat", now=timezone.now(), summary={})


def test_healthz_is_ok_when_alerts_flow(client, beat_just_ran):
    response = client.get("/healthz", **MONITOR)
    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["database"]["ok"]
    assert checks["broker"]["ok"]
    assert checks["deliveries"]["undelivered"] == 0
    assert checks["beat"]["age_seconds"] < 5


def test_healthz_fails_when_an_undelivered_row_is_too_old(client, beat_just_ran, patient,
                                                          patient_user, settings):
    record(patient, patient_user, temperature_c=38.5)
    ok = client.get("/healthz", **MONITOR)
    later = timezone.now() + timedelta(seconds=settings.ALERT_HEALTH_MAX_UNDELIVERED_SECONDS + 1)
    heartbeat_record(name="beat", now=later, summary={})
    with time_machine.travel(later, tick=False):
        failing = client.get("/healthz", **MONITOR)
    assert ok.status_code == 200
    assert failing.status_code == 503
    deliveries = failing.json()["checks"]["deliveries"]
    assert deliveries["undelivered"] == 1
    assert not deliveries["ok"]
    assert deliveries["oldest_undelivered_seconds"] > settings.ALERT_HEALTH_MAX_UNDELIVERED_SECONDS


def test_healthz_fails_when_beat_has_not_run(client, db):
    response = client.get("/healthz", **MONITOR)
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == {"ok": False, "last_run": None,
                                                 "age_seconds": None}


def test_healthz_fails_when_beat_is_stale(client, db, settings):
    heartbeat_record(name="beat", now=timezone.now() - timedelta(
        seconds=settings.ALERT_HEALTH_MAX_BEAT_SECONDS + 1), summary={})
    assert client.get("/healthz", **MONITOR).status_code == 503


def test_healthz_fails_when_the_broker_is_down(client, beat_just_ran, unused_port):
    with broker(f"redis://127.0.0.1:{unused_port}/0"):
        response = client.get("/healthz", **MONITOR)
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_healthz_says_nothing_about_patients(client, beat_just_ran, patient, patient_user):
    record(patient, patient_user, temperature_c=38.5)
    body = client.get("/healthz", **MONITOR).content.decode()
    assert patient.hospital_number not in body
    assert "Sam" not in body


@pytest.mark.parametrize("headers", [
    {}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
    {"HTTP_AUTHORIZATION": f"Bearer {TOKEN[:-1]}"}, {"HTTP_AUTHORIZATION": "Bearer "},
])
def test_healthz_without_the_token_answers_status_only(client, beat_just_ran, patient,
                                                       patient_user, headers):
    record(patient, patient_user, temperature_c=38.5)
    response = client.get("/healthz", **headers)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_without_the_token_still_says_failing(client, db):
    response = client.get("/healthz")  # beat never ran
    assert response.status_code == 503
    assert response.json() == {"status": "failing"}


def test_healthz_with_no_token_configured_shows_details_to_nobody(client, beat_just_ran,
                                                                   settings):
    settings.HEALTHZ_TOKEN = ""
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}
    assert client.get("/healthz", **MONITOR).json() == {"status": "ok"}


def test_healthz_token_is_compared_in_constant_time(client, beat_just_ran, monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    assert "checks" in client.get("/healthz", **MONITOR).json()
    assert calls


# The sweep command -------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_sweep_command_sends_waiting_alerts_without_a_broker(smtp, unused_port, patient,
                                                             patient_user):
    # The broker is down: the check-in's task could not be published.
    with broker(f"redis://127.0.0.1:{unused_port}/0"):
        record(patient, patient_user, temperature_c=38.5)
        assert Delivery.objects.get().state == DeliveryState.PENDING
        out = StringIO()
        call_command("alerts_sweep", "--once", stdout=out)
        call_command("alerts_sweep", "--once", stdout=out)
    assert smtp.mailbox.count() == 1
    assert Delivery.objects.get().state == DeliveryState.SENT
    assert Heartbeat.objects.filter(name="sweep-command").exists()
    assert "'sent': 1" in out.getvalue()


def test_sweep_command_status_lists_undelivered_rows(patient, patient_user):
    with broker_bypassed():
        record(patient, patient_user, temperature_c=38.5)
    out = StringIO()
    call_command("alerts_sweep", "--status", stdout=out)
    assert "pending" in out.getvalue()
    assert patient.hospital_number in out.getvalue()
