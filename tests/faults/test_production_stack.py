"""The issue's black-box case on the production stack: gunicorn with DJANGO_ENV=production
(Redis as cache and broker, PostgreSQL, manifest static files, HTTPS-only cookies behind a
TLS proxy), Redis refused or hung while a patient signs in and saves a red check-in.

Requests reach gunicorn as the TLS proxy passes them on (X-Forwarded-Proto: https and
X-Forwarded-For), so the secure cookies, CSRF referer check and HTTPS redirect all apply.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import make_password

from notifications.models import Delivery, DeliveryState
from symptoms.models import CheckIn
from tests.alerts.conftest import broker
from tests.alerts.support import ROOT, RedisServer, free_port, wait_until
from tests.factories import PASSWORD
from tests.faults.test_check_in_faults import ADVICE_WITHIN, CALL_NOW, _sweep_until_sent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class Browser:
    """Cookies by name, and every request as the TLS proxy forwards it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None,
                referer: str | None = None) -> tuple[int, dict, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https",
                   "X-Forwarded-For": "198.51.100.7"}
        body = None
        if data is not None:
            body = urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://127.0.0.1:{self.port}{referer or path}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for raw in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, dict(response.headers), text

    def form_post(self, path: str, data: dict) -> tuple[int, dict, str]:
        status, _, page = self.request("GET", path)
        assert status == 200, (path, status)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return self.request("POST", path, {"csrfmiddlewaretoken": token, **data})


@pytest.fixture
def production_web(shared_database, own_redis, smtp, tmp_path):
    """gunicorn on the test database with the production settings and our own Redis."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "ALERT_", "RATE_", "CELERY_", "EMAIL_", "CACHE_"))
           and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_ENV="production",
        DJANGO_SETTINGS_MODULE="tests.faults.production_settings",
        FAULT_TEST_STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SECRET_KEY="fault-test-" + "f" * 64,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=shared_database,
        REDIS_URL=own_redis.url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity",
                    "0"], cwd=ROOT, env=env, check=True, timeout=120)
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--config", "portal/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "30"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def answers() -> bool:
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
        try:
            return Browser(port).request("GET", "/accounts/login/")[0] == 200
        except OSError:
            return False

    try:
        wait_until(answers, timeout=60, what="gunicorn to answer", interval=0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.mark.parametrize("fault", ["refused", "hung"])
def test_production_stack_redis_down_sign_in_red_check_in_and_advice_within_3_s(
    fault, production_web, own_redis, smtp, settings, tmp_path, patient, patient_user
):
    settings.ALERT_REQUEUE_GRACE_SECONDS = 0
    # Tests hash with MD5 for speed; production checks Argon2 (and PBKDF2) only.
    patient_user.password = make_password(PASSWORD, hasher="argon2")
    patient_user.save(update_fields=["password"])
    browser = Browser(production_web)
    # The web process has already used Redis (cache and broker) before it fails.
    browser.form_post("/accounts/login/", {"username": "nobody@example.org",
                                           "password": "wrong password"})
    port = own_redis.port
    if fault == "refused":
        own_redis.stop()
    else:
        own_redis.pause()
    try:
        started = time.monotonic()
        status, headers, _ = browser.form_post(
            "/accounts/login/", {"username": patient_user.email, "password": PASSWORD})
        assert status == 302, status
        status, headers, _ = browser.form_post(
            _check_in_path(patient),
            {"submission_key": str(uuid.uuid4()), "unit": "c", "temperature": "39.1"})
        assert status == 302, status
        status, _, advice = browser.request("GET", headers["Location"])
        elapsed = time.monotonic() - started
    finally:
        if fault == "hung":
            own_redis.resume()
    assert status == 200
    assert CALL_NOW in advice
    assert elapsed < ADVICE_WITHIN, elapsed
    assert CheckIn.objects.get().severity == "red"
    assert Delivery.objects.filter(state=DeliveryState.PENDING).exists()
    # The error pages (templates/500.html) link the stylesheets by their plain names, since
    # they cannot use the manifest; production serves those too.
    for path in ("/static/css/homeline.css", "/static/vendor/bootstrap-5.3.9.min.css"):
        assert browser.request("GET", path)[0] == 200, path
    back = RedisServer(tmp_path, port=port).start() if fault == "refused" else None
    try:
        with broker(own_redis.url) as app:
            _sweep_until_sent(smtp, app)
    finally:
        if back is not None:
            back.stop()
    assert smtp.mailbox.count() == 1


def _check_in_path(patient) -> str:
    from django.urls import reverse

    return reverse("check_in_new", args=[patient.pk])
