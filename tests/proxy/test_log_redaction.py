"""No reset or invitation token in any log or Referer (portal/redaction.py)."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.urls import reverse

from portal.redaction import redact

TOKEN = "c0ffee-5ecret7oken9"


@pytest.mark.parametrize(("text", "expected"), [
    (f"/accounts/reset/MQ/{TOKEN}/", "/accounts/reset/[redacted]/[redacted]/"),
    (f"GET /accounts/reset/MQ/{TOKEN}/ HTTP/1.1",
     "GET /accounts/reset/[redacted]/[redacted]/ HTTP/1.1"),
    ("/accounts/reset/MQ/set-password/", "/accounts/reset/[redacted]/set-password/"),
    (f"https://homeline.example.org/accounts/invitation/{TOKEN}/",
     "https://homeline.example.org/accounts/invitation/[redacted]/"),
    (f"/invite/{TOKEN}/", "/invite/[redacted]/"),
    (f"/accounts/login/?next=%2Faccounts%2Freset%2FMQ%2F{TOKEN}%2F",
     "/accounts/login/?next=%2Faccounts%2Freset%2F[redacted]%2F[redacted]%2F"),
    ("/accounts/reset/done/", "/accounts/reset/done/"),
    ("/accounts/invitation/accept/", "/accounts/invitation/accept/"),
    ("/accounts/password_reset/done/", "/accounts/password_reset/done/"),
    ("/patients/12/", "/patients/12/"),
    # The server routes the decoded path: any character of the name or the separators may
    # be percent-encoded, once or more, in any mix (trial item 4).
    (f"/accounts/%69nvitation/{TOKEN}/", "/accounts/%69nvitation/[redacted]/"),
    (f"GET /accounts/%69nvitation/{TOKEN}/ HTTP/1.1",
     "GET /accounts/%69nvitation/[redacted]/ HTTP/1.1"),
    (f"/accounts/%2569%6E%76itation/{TOKEN}/", "/accounts/%2569%6E%76itation/[redacted]/"),
    (f"/accounts%2freset%2FMQ%2F{TOKEN}/", "/accounts%2freset%2F[redacted]%2F[redacted]/"),
    (f"/accounts/r%65set/MQ/{TOKEN}/", "/accounts/r%65set/[redacted]/[redacted]/"),
    (f"/accounts/invitation/{TOKEN[:4]}%41{TOKEN[4:]}/", "/accounts/invitation/[redacted]/"),
    (f"https://h.example/accounts/%69nvite/{TOKEN}", "https://h.example/accounts/%69nvite/[redacted]"),
    (f"/accounts/login/?next=%252Faccounts%252Fr%2565set%252FMQ%252F{TOKEN}",
     "/accounts/login/?next=%252Faccounts%252Fr%2565set%252F[redacted]%252F[redacted]"),
    ("/patients/%31%32/", "/patients/%31%32/"),
    # A family's calendar feed, in any letter case (a retyped link still carries the token).
    (f"/calendar/{TOKEN}.ics", "/calendar/[redacted]"),
    (f"GET /CALENDAR/{TOKEN}.ics HTTP/1.1", "GET /CALENDAR/[redacted] HTTP/1.1"),
    (f"/%63alendar/{TOKEN}.ics", "/%63alendar/[redacted]"),
    (f"/Accounts/Invitation/{TOKEN}/", "/Accounts/Invitation/[redacted]/"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_gunicorn_access_log_has_no_token_in_any_field(tmp_path):
    from gunicorn.config import Config

    from portal.gunicorn_logging import RedactingLogger

    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", '%(r)s|%(U)s|%(q)s|%(f)s|%({referer}i)s|%({raw_uri}e)s')
    logger = RedactingLogger(cfg)
    path = f"/accounts/reset/MQ/{TOKEN}/"
    referer = f"https://h.example/accounts/invitation/{TOKEN}/"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path,
               "QUERY_STRING": f"next=/accounts/invitation/{TOKEN}/",
               "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_REFERER": referer, "REMOTE_ADDR": "127.0.0.1"}
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    request = SimpleNamespace(headers=[("REFERER", referer)])
    logger.access(response, request, environ, timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text()
    assert TOKEN not in line
    assert line.count("[redacted]") >= 6


def console_output(run) -> str:
    """What Django's configured console handler writes while `run()` runs."""
    handler = next(h for h in logging.getLogger("django").handlers
                   if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        run()
    finally:
        handler.setStream(previous)
    return buffer.getvalue()


@pytest.mark.django_db
def test_django_request_warnings_are_redacted(client):
    output = console_output(lambda: client.get(f"/accounts/reset/MQ/{TOKEN}/more/"))
    assert "Not Found" in output
    assert TOKEN not in output
    assert "/accounts/reset/[redacted]/[redacted]/more/" in output


@pytest.mark.django_db
def test_rate_limited_invitation_link_is_logged_without_its_token(settings, client):
    settings.RATE_INVITATION = "1/h"
    def run():
        for _ in range(2):
            client.post(f"/accounts/invitation/{TOKEN}/")
    output = console_output(run)
    assert "Too Many Requests" in output
    assert TOKEN not in output


@pytest.mark.django_db
def test_password_reset_link_leaves_no_token_in_the_address_or_referer(client, patient):
    client.post(reverse("password_reset"), {"email": "sam@example.org"})
    link = re.search(r"https?://\S+/accounts/reset/\S+/", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    token = path.rstrip("/").rsplit("/", 1)[-1]
    first = client.get(f"/{path}")
    assert first.status_code == 302
    assert token not in first["Location"]
    assert first["Referrer-Policy"] == "no-referrer"
    page = client.get(first["Location"])
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert token not in page.content.decode()


@pytest.mark.django_db
def test_invitation_link_sends_no_referrer(client):
    response = client.get(f"/accounts/invitation/{TOKEN}/")
    assert response["Referrer-Policy"] == "no-referrer"
    assert TOKEN not in response.get("Location", "")


@pytest.mark.django_db
def test_other_pages_keep_the_same_origin_policy(client):
    assert client.get(reverse("login"))["Referrer-Policy"] == "same-origin"
    assert client.get("/accounts/reset/done/")["Referrer-Policy"] == "same-origin"


def test_gunicorn_error_log_has_no_token(tmp_path):
    from gunicorn.config import Config

    from portal.gunicorn_logging import RedactingLogger

    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = RedactingLogger(cfg)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        # What gunicorn's worker logs when a request fails (workers/base.py).
        logger.exception("Error handling request %s %s", "GET", f"/accounts/reset/MQ/{TOKEN}/")
    logger.error("Error handling request %s", f"/accounts/invitation/{TOKEN}/")
    for handler in logger.error_log.handlers:
        handler.flush()
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request GET /accounts/reset/[redacted]/[redacted]/" in text
    assert TOKEN not in text


def test_gunicorn_access_log_redacts_a_percent_encoded_path(tmp_path):
    """GET /accounts/%69nvitation/TOKEN/ is routed as an invitation (PATH_INFO is decoded):
    neither the raw request line nor the decoded path nor the Referer shows the token."""
    from gunicorn.config import Config

    from portal.gunicorn_logging import RedactingLogger

    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", '%(r)s|%(U)s|%(f)s|%({raw_uri}e)s')
    logger = RedactingLogger(cfg)
    raw = "/accounts/%69nvitation/SECRETTOKENA3/"
    referer = "https://h.example/accounts/%2569nvitation/SECRETTOKENA3/"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": raw,
               "PATH_INFO": "/accounts/invitation/SECRETTOKENA3/", "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_REFERER": referer,
               "REMOTE_ADDR": "127.0.0.1"}
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    logger.access(response, SimpleNamespace(headers=[("REFERER", referer)]), environ,
                  timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text()
    assert "SECRETTOKENA3" not in line
    assert line.count("[redacted]") == 4


@pytest.mark.django_db
def test_a_percent_encoded_invitation_path_is_routed_and_logged_redacted(settings, client):
    """The kind of path the redaction must cover is the one Django routes."""
    from django.urls import resolve

    assert resolve("/accounts/invitation/SECRETTOKENA3/").url_name == "invitation_accept"
    settings.RATE_INVITATION = "1/h"

    def run():
        for _ in range(2):
            client.post("/accounts/%69nvitation/SECRETTOKENA3/")
    output = console_output(run)
    assert "Too Many Requests" in output
    assert "SECRETTOKENA3" not in output
