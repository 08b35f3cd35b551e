"""One client address for lockout, rate limits and the read log (portal/http.py), set by
the number of trusted proxies. In-process, with the headers a proxy would send; the same
behaviour through a real nginx is tests/proxy/test_behind_nginx.py."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import AccessLog
from portal.http import client_address
from tests.factories import PASSWORD

PROXY = "10.0.0.5"  # what REMOTE_ADDR is for every request behind the proxy


def address(*, forwarded: str | None = None, remote: str = PROXY) -> str | None:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


def test_without_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert address(forwarded="203.0.113.5", remote="198.51.100.1") == "198.51.100.1"


@pytest.mark.parametrize(("forwarded", "expected"), [
    ("203.0.113.5", "203.0.113.5"),                    # what nginx sends
    ("6.6.6.6, 203.0.113.5", "203.0.113.5"),           # the client wrote 6.6.6.6 itself
    ("127.0.0.1, 10.9.9.9, 203.0.113.5", "203.0.113.5"),
    ("not an address, 203.0.113.5", "203.0.113.5"),    # junk on the left changes nothing
    ("2001:db8::7", "2001:db8::7"),
    ("", PROXY),                                       # not through the proxy
    (None, PROXY),
])
def test_one_proxy_takes_the_address_it_appended(settings, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = 1
    assert address(forwarded=forwarded) == expected


def test_two_proxies_take_the_address_the_outer_one_appended(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert address(forwarded="6.6.6.6, 203.0.113.5, 10.0.0.9") == "203.0.113.5"
    # Fewer entries than proxies: the request did not come through both; never the
    # client-written entry.
    assert address(forwarded="203.0.113.5") == PROXY


def test_a_negative_proxy_count_stops_the_process():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "TRUSTED_PROXY_COUNT": "-1", "DJANGO_ENV": "test"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
        timeout=60, check=False)
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in result.stderr


def test_production_assumes_one_proxy_unless_told():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "TRUSTED_PROXY_COUNT"}}
    env.update(DJANGO_ENV="production", DJANGO_SECRET_KEY="p-" + "0123456789abcdef" * 4,
               REDIS_URL="redis://127.0.0.1:6379/0")
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.TRUSTED_PROXY_COUNT)")
    root = Path(__file__).resolve().parents[2]
    for extra, expected in (({}, "1"), ({"TRUSTED_PROXY_COUNT": "0"}, "0"),
                            ({"DJANGO_ENV": "test"}, "0")):
        result = subprocess.run([sys.executable, "-c", code], cwd=root, env={**env, **extra},
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected, extra


# Lockout, rate limits and the read log all use it --------------------------------------------

def behind_proxy(client_ip: str, spoof: str | None = None) -> Client:
    """A test client as nginx passes it on: REMOTE_ADDR the proxy, the client's address
    appended to whatever X-Forwarded-For the client sent."""
    forwarded = f"{spoof}, {client_ip}" if spoof else client_ip
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def sign_in(client: Client, email: str, password: str = PASSWORD) -> int:
    return client.post(reverse("login"), {"username": email, "password": password}).status_code


@pytest.mark.django_db
def test_lockout_counts_clients_behind_the_proxy_apart(settings, patient):
    settings.TRUSTED_PROXY_COUNT = 1
    guesser = behind_proxy("203.0.113.80")
    for n in range(5):
        sign_in(guesser, f"nobody{n}@example.org", "guess")
    assert sign_in(guesser, "sam@example.org") == 429
    # Another person behind the same proxy is not locked out.
    assert sign_in(behind_proxy("198.51.100.80"), "sam@example.org") == 302


@pytest.mark.django_db
def test_a_forged_header_does_not_escape_the_lockout(settings, patient):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        sign_in(behind_proxy("203.0.113.81", spoof=f"192.0.2.{n}"), f"x{n}@example.org", "g")
    assert sign_in(behind_proxy("203.0.113.81", spoof="192.0.2.200"), "sam@example.org") == 429


@pytest.mark.django_db
def test_a_forged_header_cannot_lock_out_someone_else(settings, patient):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        sign_in(behind_proxy("203.0.113.82", spoof="198.51.100.82"), f"y{n}@example.org", "g")
    assert sign_in(behind_proxy("198.51.100.82"), "sam@example.org") == 302


@pytest.mark.django_db
def test_rate_limits_count_clients_behind_the_proxy_apart(settings, patient):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_PASSWORD_RESET = "2/h"
    first = behind_proxy("203.0.113.83")
    url = reverse("password_reset")
    for _ in range(2):
        assert first.post(url, {"email": "sam@example.org"}).status_code == 302
    assert first.post(url, {"email": "sam@example.org"}).status_code == 429
    spoofing = behind_proxy("203.0.113.83", spoof="192.0.2.9")
    assert spoofing.post(url, {"email": "sam@example.org"}).status_code == 429
    assert behind_proxy("198.51.100.83").post(url, {"email": "sam@example.org"}
                                             ).status_code == 302


@pytest.mark.django_db
def test_the_read_log_records_the_client_not_the_proxy(settings, nurse, patient):
    from tests.conftest import verified_client

    settings.TRUSTED_PROXY_COUNT = 1
    client = verified_client(nurse)
    client.get(reverse("patient_detail", args=[patient.pk]), REMOTE_ADDR=PROXY,
               HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.84")
    assert AccessLog.objects.get(patient=patient).ip_address == "203.0.113.84"
