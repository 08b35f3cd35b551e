"""Sign-in security behind a real reverse proxy: Debian's nginx in front of gunicorn on
production settings (tests/proxy/stack.py). Clients connect from different loopback
addresses; nginx appends each one's address to X-Forwarded-For, as it would on the
internet. Before TRUSTED_PROXY_COUNT, every request looked like nginx's 127.0.0.1 to the
app: five failures by anyone locked every sign-in, and the rate limits were site-wide.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessLog
from tests.factories import PASSWORD
from tests.proxy.stack import Browser, wait_for_log

STACK_ENV = {"RATE_PASSWORD_RESET": "2/h", "RATE_LOGIN": "50/10m"}
A, B, C = "127.0.0.2", "127.0.0.3", "127.0.0.4"
TOKEN = "c0ffee-5ecret7oken9"


@pytest.fixture(autouse=True)
def _production_password_hashes(request):
    """Tests hash with MD5 for speed; production's hashers (Argon2, PBKDF2) do not read it.
    Re-hash the password of every user fixture this test uses, with PBKDF2."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    for name in ("patient", "nurse"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
    User.objects.update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))


def test_two_clients_behind_nginx_are_locked_out_apart(stack, patient):
    first = Browser(stack, A)
    answers = [first.sign_in(f"nobody{n}@example.org", "guess").status for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the fifth failure locks this address
    assert first.sign_in("sam@example.org", PASSWORD).status == 429
    # Someone else behind the same proxy signs in.
    assert Browser(stack, B).sign_in("sam@example.org", PASSWORD).status == 302


def test_a_spoofed_forwarded_for_gains_nothing(stack, patient):
    guesser = Browser(stack, A)
    for n in range(5):
        guesser.sign_in(f"nobody{n}@example.org", "guess", **{"X-Forwarded-For": f"192.0.2.{n}"})
    # Claiming to be someone else does not lift the lockout ...
    assert guesser.sign_in("sam@example.org", PASSWORD,
                           **{"X-Forwarded-For": "198.51.100.1"}).status == 429
    # ... and failures sent in another client's name do not lock that client out.
    framer = Browser(stack, C)
    for n in range(5):
        framer.sign_in(f"other{n}@example.org", "guess", **{"X-Forwarded-For": B})
    assert Browser(stack, B).sign_in("sam@example.org", PASSWORD).status == 302


def test_rate_limits_count_clients_behind_nginx_apart(stack, patient):
    first = Browser(stack, A)
    for _ in range(2):
        assert first.post_form("/accounts/password_reset/",
                               {"email": "sam@example.org"}).status == 302
    assert first.post_form("/accounts/password_reset/", {"email": "sam@example.org"}).status == 429
    assert first.post_form("/accounts/password_reset/", {"email": "sam@example.org"},
                           **{"X-Forwarded-For": "192.0.2.44"}).status == 429
    assert Browser(stack, B).post_form("/accounts/password_reset/",
                                       {"email": "sam@example.org"}).status == 302


def test_the_read_log_records_the_client_address(stack, nurse, patient):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    browser = Browser(stack, B)
    assert browser.sign_in(nurse.email, PASSWORD).status == 302
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    assert browser.post_form("/accounts/two-factor/verify/", {"token": code}).status == 302
    page = browser.get(f"/accounts/patients/{patient.pk}/",
                       **{"X-Forwarded-For": "192.0.2.99"})
    assert page.status == 200, page.body[:300]
    assert list(AccessLog.objects.filter(patient=patient).values_list("ip_address", flat=True)
                ) == [B]


def test_no_token_in_any_log_or_address(stack, patient):
    browser = Browser(stack, A)
    assert browser.post_form("/accounts/password_reset/", {"email": "sam@example.org"}
                             ).status == 302
    message = next(Path(stack.mail_dir).iterdir()).read_text()
    link = re.search(r"https://\S+/accounts/reset/[^/\s]+/[^/\s]+/", message).group(0)
    path = "/" + link.split("/", 3)[3]
    token = path.rstrip("/").rsplit("/", 1)[-1]
    first = browser.get(path)
    assert first.status == 302
    assert token not in first.header("Location")
    assert first.header("Referrer-Policy") == "no-referrer"
    form = browser.get(first.header("Location"), Referer=link)
    assert form.status == 200
    assert form.header("Referrer-Policy") == "no-referrer"
    # The page's own static files, with the token page as Referer (an older browser).
    css = re.search(r'href="(/static/[^"]+\.css)"', form.body).group(1)
    assert browser.get(css, Referer=link).status == 200
    # An invitation link, and a request whose Referer is one.
    invitation = browser.get(f"/accounts/invitation/{TOKEN}/")
    assert invitation.header("Referrer-Policy") == "no-referrer"
    browser.get("/accounts/login/", Referer=f"https://x.example/accounts/invitation/{TOKEN}/")
    # A family's calendar feed URL is a bearer token too (phones fetch it without signing
    # in), written plainly, percent-encoded and in capitals, and as a Referer.
    for feed in (f"/calendar/{TOKEN}.ics", f"/%63alendar/{TOKEN}.ics", f"/CALENDAR/{TOKEN}.ics"):
        assert browser.get(feed).status == 404
    browser.get("/accounts/login/", Referer=f"https://x.example/calendar/{TOKEN}.ics")
    logs = {name: wait_for_log(stack.tmp / name, "/accounts/login/")
            for name in ("gunicorn-access.log", "nginx-access.log")}
    for name, text in logs.items():
        assert "[redacted]" in text, name
        for secret in (token, TOKEN):
            assert secret not in text, f"{secret} in {name}:\n{text}"
    process_log = (stack.tmp / "gunicorn.log").read_text()
    assert token not in process_log
    assert TOKEN not in process_log


PAGES = ["/accounts/login/", "/accounts/password_reset/", "/accounts/reset/done/",
         "/healthz", "/no-such-page/", f"/accounts/invitation/{TOKEN}/"]


def test_production_sends_a_permissions_policy_on_every_page(stack, patient):
    browser = Browser(stack, A)
    answers = {path: browser.get(path) for path in PAGES}
    assert browser.sign_in("sam@example.org", PASSWORD).status == 302
    for path in ("/", f"/patients/{patient.pk}/check-in/", f"/patients/{patient.pk}/history/"):
        answers[path] = browser.get(path)
    for path, answer in answers.items():
        policy = answer.header("Permissions-Policy")
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
            assert feature in policy, f"{path} ({answer.status}): {policy!r}"
    assert answers["/accounts/login/"].header("Strict-Transport-Security")
