"""Settings fail at start, naming the variable, when a value is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_check(**env_overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    "url", ["nonsense", "mysql://root@localhost/x", "postgres://localhost:5432/"]
)
def test_bad_database_url_fails_fast_naming_the_variable(url):
    result = run_check(DATABASE_URL=url)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("AXES_FAILURE_LIMIT", "five"), ("DJANGO_DEBUG", "maybe"), ("DJANGO_ENV", "staging"),
     ("EMAIL_URL", "pigeon://loft")],
)
def test_bad_values_name_their_variable(name, value):
    result = run_check(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_ENV"] = "production"
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    env = dict(os.environ, DJANGO_ENV="production",
               DJANGO_SECRET_KEY="deploy-check-" + "0123456789abcdef" * 4,
               DJANGO_ALLOWED_HOSTS="homeline.example.org")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_sqlite_default_uses_wal_and_immediate_transactions(settings):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("runs on the embedded SQLite default; CI checks PostgreSQL instead")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
