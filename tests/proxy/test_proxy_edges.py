"""Edges of the production stack found by a configuration trial (issue 11 follow-up), each
against Debian's nginx in front of gunicorn on production settings (tests/proxy/stack.py):
who may say a request came over HTTPS, a locked address locking others out, bodies over
the limits, and tokens in percent-encoded paths."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt

from tests.factories import PASSWORD, UserFactory
from tests.proxy.stack import Browser, wait_for_log

STACK_ENV = {"RATE_LOGIN": "100/10m"}


def _rehash():
    """Production's hashers (Argon2, PBKDF2) do not read the tests' MD5 hashes: re-hash
    every user's password with PBKDF2 before gunicorn checks it."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    User.objects.update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))


# Only the proxy says the request came over HTTPS ----------------------------------------------

def test_a_client_straight_to_gunicorn_cannot_claim_https(stack):
    """X-Forwarded-Proto from an address that is not the proxy is ignored: the HTTPS
    redirect, no HSTS (Django used to read the raw header from anyone)."""
    direct = Browser(stack, "127.0.0.8", direct=True)
    for header in ({"X-Forwarded-Proto": "https"}, {"X-Forwarded-Ssl": "on"},
                   {"X-Forwarded-Protocol": "ssl"}):
        answer = direct.get("/accounts/login/", **header)
        assert answer.status == 301, (header, answer.status)
        assert answer.header("Location").startswith("https://"), header
        assert not answer.header("Strict-Transport-Security"), header


def test_through_nginx_the_request_is_https(stack):
    answer = Browser(stack, "127.0.0.8").get("/accounts/login/")
    assert answer.status == 200
    assert answer.header("Strict-Transport-Security").startswith("max-age=31536000")
    # nginx overwrites X-Forwarded-Proto; the headers it passes on unchanged are not
    # believed (gunicorn's default would have taken X-Forwarded-Ssl too).
    answer = Browser(stack, "127.0.0.8").get("/accounts/login/", **{"X-Forwarded-Ssl": "on"})
    assert answer.status == 200


# A locked address does not lock other accounts ------------------------------------------------

def test_a_locked_address_cannot_lock_out_the_owner_of_another_account(stack):
    for n in range(3, 8):
        UserFactory(email=f"victim{n}@example.org")
    _rehash()
    attacker = Browser(stack, "127.0.0.5")
    answers = [attacker.sign_in(f"victim{n}@example.org", "wrong").status for n in range(3, 8)]
    assert answers == [200, 200, 200, 200, 429]
    for _ in range(5):
        assert attacker.sign_in("victim6@example.org", "wrong").status == 429
    assert AccessAttempt.objects.get(username="victim6@example.org").failures_since_start == 1
    assert Browser(stack, "127.0.0.6").sign_in("victim6@example.org", PASSWORD).status == 302
    assert not AccessAttempt.objects.filter(ip_address="127.0.0.6").exists()


# Bodies over the limits -----------------------------------------------------------------------

def test_a_field_over_its_limit_reaches_django_and_gets_its_message(stack):
    """A 1 MB email address is under nginx's limit: Django answers with the field's
    message, not nginx with its bare 413."""
    browser = Browser(stack, "127.0.0.9")
    page = browser.get("/accounts/password_reset/")
    token = browser.cookies["csrftoken"]
    body = f"csrfmiddlewaretoken={token}&email={'a' * 1_000_000}@example.org".encode()
    answer = browser.request("POST", "/accounts/password_reset/", body)
    assert page.status == 200
    assert answer.status == 200, answer.body[:300]
    assert "Email address: at most 254 characters" in answer.body


def test_a_body_over_djangos_limit_is_a_400_that_says_to_call(stack):
    browser = Browser(stack, "127.0.0.10")
    browser.get("/accounts/password_reset/")
    token = browser.cookies["csrftoken"]
    body = f"csrfmiddlewaretoken={token}&email={'a' * 2_800_000}".encode()
    answer = browser.request("POST", "/accounts/password_reset/", body)
    assert answer.status == 400
    assert "nothing was saved" in answer.body
    assert "call your 24-hour hospital line now" in answer.body
    assert 'href="tel:999"' in answer.body


# Tokens in percent-encoded paths --------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/accounts/%69nvitation/SECRETTOKENA3/",
    "/accounts/invit%61tion/SECRETTOKENA3/",
    "/accounts%2Finvitation%2FSECRETTOKENA3/",
    "/accounts/%72eset/MQ/SECRETTOKENA3/",
])
def test_a_percent_encoded_token_path_is_redacted_in_both_access_logs(stack, path):
    browser = Browser(stack, "127.0.0.11")
    answer = browser.get(path)
    assert answer.status in (200, 302, 404), answer.status
    marker = f"marker={abs(hash(path))}"
    browser.get(f"/accounts/login/?{marker}",
                Referer=f"https://127.0.0.1:{stack.port}{path}")
    for name in ("gunicorn-access.log", "nginx-access.log"):
        text = wait_for_log(stack.tmp / name, marker)
        assert "SECRETTOKENA3" not in text, f"{name}:\n{text}"
    assert "SECRETTOKENA3" not in (stack.tmp / "gunicorn.log").read_text()


def test_the_encoded_invitation_path_is_routed_as_an_invitation(stack):
    """Why the decoded path matters: gunicorn and Django route it (the no-referrer policy
    of the invitation page shows it was the invitation view that answered)."""
    answer = Browser(stack, "127.0.0.12").get("/accounts/%69nvitation/SECRETTOKENA3/")
    assert answer.header("Referrer-Policy") == "no-referrer"


# gunicorn's control socket is never shared between instances ---------------------------------

def _gunicorn_config(**env: str) -> dict[str, str]:
    import os
    import subprocess
    import sys

    from tests.proxy.stack import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "--config",
         "portal/gunicorn.conf.py", "portal.wsgi"],
        cwd=ROOT, env={**os.environ, "DJANGO_ENV": "test", **env}, capture_output=True,
        text=True, timeout=60, check=True)
    return {name.strip(): value.strip() for name, _, value in
            (line.partition("=") for line in result.stdout.splitlines()) if value}


def test_gunicorn_control_socket_is_off_unless_set_per_instance(tmp_path):
    """gunicorn 25.1+ opens ~/.gunicorn/gunicorn.ctl by default, one path for every
    instance on the host; Homeline's config turns it off, or uses the path given."""
    config = _gunicorn_config()
    assert config["control_socket_disable"] == "True"
    own = str(tmp_path / "web.ctl")
    config = _gunicorn_config(GUNICORN_CONTROL_SOCKET=own)
    assert config["control_socket_disable"] == "False"
    assert config["control_socket"] == own
    # The scheme is believed from the proxy's address only, from one header only.
    assert config["secure_scheme_headers"] == "{'X-FORWARDED-PROTO': 'https'}"
