"""Settings fail at start, naming the variable, when a value is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# Set by the browser tests for live_server; a deployment must never have it.
NOT_INHERITED = {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SECRET_KEY"}


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(overrides)
    return env


def run_check(**env_overrides: str) -> subprocess.CompletedProcess[str]:
    env = clean_env()
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


def test_production_refuses_to_start_without_redis():
    env = clean_env(DJANGO_ENV="production", DJANGO_SECRET_KEY="k-" + "0123456789abcdef" * 4)
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = clean_env(DJANGO_ENV="production")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    env = clean_env(DJANGO_ENV="production",
                    DJANGO_SECRET_KEY="deploy-check-" + "0123456789abcdef" * 4,
                    DJANGO_ALLOWED_HOSTS="homeline.example.org",
                    REDIS_URL="redis://127.0.0.1:6379/0")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_sqlite_default_uses_wal_immediate_transactions_and_a_busy_timeout(
    monkeypatch, tmp_path
):
    from portal.env import read_database

    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = read_database(tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "homeline.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["timeout"] >= 5


def test_postgres_url_gets_a_connect_timeout(monkeypatch, tmp_path):
    from portal.env import read_database

    monkeypatch.setenv("DATABASE_URL", "postgres://app@db.internal:5432/homeline")
    config = read_database(tmp_path)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "homeline"
    assert config["OPTIONS"]["connect_timeout"] == 5
