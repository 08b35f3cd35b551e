"""The alert lifecycle under production settings (issue 10, kind 2): the cache and the
broker are Redis as production configures them (portal/settings.py read with
DJANGO_ENV=production, on a redis-server of the test's own), a real Celery worker, a real
SMTP server on loopback, PostgreSQL in CI.

The nurse's story from the issue, end to end: an amber alert is open on her screen; the
patient then reports 39.4 °C and a disconnected pump; "resolve: no action needed" from the
old page is refused and the page says what changed; escalation emails that were waiting
for a retry never arrive after she acknowledges.
"""

from __future__ import annotations

import os
import runpy
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import caches
from django.utils import timezone

from alerts.models import Alert, AlertState
from alerts.sweeps import alerts_escalate
from notifications.dispatch import deliveries_enqueue
from notifications.models import Channel, Delivery, DeliveryState, Purpose
from tests.alerts.conftest import broker, record
from tests.alerts.support import ROOT, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def production_settings(redis_url: str) -> dict:
    env = {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "lifecycle-test-" + "0123456789abcdef" * 4,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "REDIS_URL": redis_url,
        "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:///unused.sqlite3"),
    }
    with mock.patch.dict(os.environ, env):
        for key in ("CACHE_URL", "CELERY_BROKER_URL"):
            os.environ.pop(key, None)
        return runpy.run_path(str(ROOT / "portal" / "settings.py"))


@pytest.fixture
def production(settings, own_redis, shared_database):
    """Production's cache on our Redis, and a worker on production's Redis broker."""
    from celery.contrib.testing.worker import start_worker

    prod = production_settings(own_redis.url)
    assert "redis" in prod["CACHES"]["default"]["BACKEND"]
    assert prod["CELERY_BROKER_URL"].startswith("redis://")
    settings.CACHES = prod["CACHES"]
    with broker(prod["CELERY_BROKER_URL"]) as app, start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=30,
            loglevel="WARNING"):
        yield prod
    caches["default"].close()


def test_a_stale_resolve_is_refused_and_no_escalation_arrives_after_the_acknowledgement(
    production, settings, smtp, patient, patient_user, nurse, as_user
):
    settings.ALERT_MAX_ATTEMPTS = 50  # keep retrying for the whole test: no fallback
    # A back-off long enough that the rows are seen waiting for their retry, as in the
    # issue (an email mid-send when the nurse acknowledges cannot be called back).
    settings.ALERT_RETRY_BASE_SECONDS = settings.ALERT_RETRY_MAX_SECONDS = 6
    record(patient, patient_user, symptoms={"headache": 2})
    smtp.mailbox.wait_for(1)  # "An AMBER alert needs you"
    alert = Alert.objects.get()
    client = as_user(nurse)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert f'name="seen_version" value="{alert.version}"' in page

    record(patient, patient_user, temperature_c=39.4, pump="disconnected")
    second = smtp.mailbox.wait_for(2)[1]
    assert second.message["Subject"] == "[Homeline] A RED alert needs you (raised again)"

    response = client.post(f"/alerts/{alert.pk}/resolve",
                           {"outcome": "no_action", "note": "no action needed",
                            "seen_version": alert.version, "next": "/alerts/"}, follow=True)
    html = response.content.decode()
    assert "changed since you opened it" in html
    assert "39.4" in html
    alert.refresh_from_db()
    assert (alert.state, alert.severity) == (AlertState.OPEN, "red")

    # Escalation at 15 minutes, while the mail server says "try later".
    smtp.mailbox.refuse = "451 4.3.0 Mailbox busy, try again later"
    now = timezone.now()
    Alert.objects.filter(pk=alert.pk).update(escalation_from=now - timedelta(minutes=16),
                                             escalation_due_at=now - timedelta(minutes=1))
    alerts_escalate(now=now)
    rows = list(Delivery.objects.filter(purpose=Purpose.ESCALATION, channel=Channel.EMAIL))
    assert len(rows) == 2
    wait_until(lambda: all(Delivery.objects.get(pk=r.pk).state == DeliveryState.RETRY
                           for r in rows),
               timeout=15, what="the escalation emails to be refused and wait for a retry")

    fresh = client.get(f"/alerts/{alert.pk}/")
    version = fresh.context["alert"].version
    response = client.post(f"/alerts/{alert.pk}/acknowledge",
                           {"seen_version": version, "next": "/alerts/"})
    assert response["Location"] == "/alerts/"
    smtp.mailbox.refuse = None
    wait_until(lambda: not Delivery.objects.filter(
        pk__in=[r.pk for r in rows],
        state__in=[DeliveryState.PENDING, DeliveryState.RETRY, DeliveryState.IN_FLIGHT],
    ).exists(), timeout=15, what="the escalation rows to settle")
    # Their retries, now rather than in seconds: the worker must find nothing to send.
    deliveries_enqueue([r.pk for r in rows])
    time.sleep(1.0)
    assert not [m for m in smtp.mailbox.received if "ESCALATED" in m.message["Subject"]]
    assert set(Delivery.objects.filter(pk__in=[r.pk for r in rows])
               .values_list("state", flat=True)) == {DeliveryState.CANCELLED}
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert page.count('data-delivery-state="cancelled"') == 2
