"""Security headers and cookies on every page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pages(as_user, patient, nurse):
    patient_client = as_user(patient.user)
    staff_client = as_user(nurse)
    return [
        (None, reverse("login")),
        (patient_client, reverse("home")),
        (patient_client, reverse("check_in_new", args=[patient.pk])),
        (patient_client, reverse("check_in_history", args=[patient.pk])),
        (staff_client, reverse("patient_detail", args=[patient.pk])),
        (staff_client, reverse("staff_home")),
    ]


def test_every_html_page_has_a_strict_content_security_policy(client, pages):
    for signed_in, url in pages:
        response = (signed_in or client).get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "object-src 'none'" in policy


def test_pages_have_no_inline_script_or_style(client, pages):
    for signed_in, url in pages:
        html = (signed_in or client).get(url).content.decode()
        assert "<script>" not in html.replace('<script type="application/json"', "")
        assert "<style" not in html
        assert " style=" not in html, url


def test_pages_with_health_data_are_not_stored(pages, client):
    for signed_in, url in pages:
        response = (signed_in or client).get(url)
        assert "no-store" in response["Cache-Control"], url


def test_frames_and_sniffing_are_refused(client, db):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_session_and_csrf_cookies_are_httponly(client, patient):
    client.get(reverse("login"))
    client.post(reverse("login"), {"username": patient.user.email, "password": PASSWORD})
    assert client.cookies["sessionid"]["httponly"]
    assert client.cookies["csrftoken"]["httponly"]
    assert client.cookies["sessionid"]["samesite"] == "Lax"


def production_settings(*names: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL",
                                                           "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(DJANGO_ENV="production", DJANGO_SECRET_KEY="h-" + "0123456789abcdef" * 4,
               REDIS_URL="redis://127.0.0.1:6379/0")
    code = (
        "import django, os; django.setup(); from django.conf import settings; "
        f"print(' '.join(f'{{n}}={{getattr(settings, n)}}' for n in {names!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                            capture_output=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    return dict(item.split("=", 1) for item in result.stdout.split())


def test_production_cookies_are_secure_and_hsts_is_on():
    values = production_settings("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
                                 "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "DEBUG")
    assert values == {"SESSION_COOKIE_SECURE": "True", "CSRF_COOKIE_SECURE": "True",
                      "SECURE_HSTS_SECONDS": "31536000", "SECURE_SSL_REDIRECT": "True",
                      "DEBUG": "False"}


def test_hsts_header_is_sent_over_https(client, settings, db):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
