"""Reading settings from the environment, failing at start with the variable's name.

django-environ parses the values; this wrapper turns its errors (and our own checks) into
one `ImproperlyConfigured` that names the variable and says what is accepted, so a typo in
a deployment stops the process before it serves anyone instead of surfacing later.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()

_SQLITE_OPTIONS = {
    # web, worker and beat share one SQLite file in the embedded default: WAL lets readers
    # run beside the writer, IMMEDIATE takes the write lock at BEGIN (no upgrade deadlock),
    # and the busy timeout makes a writer wait instead of failing with "database is locked".
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


class _Env:
    @staticmethod
    def fail(name: str, message: str) -> None:
        raise ImproperlyConfigured(f"Environment variable {name}: {message}")

    def _get(self, kind: str, name: str, default: Any, required: bool = False, **kw: Any) -> Any:
        if name not in os.environ:
            if required:
                self.fail(name, "must be set")
            return default
        try:
            return getattr(_env, kind)(name, **kw)
        except (ValueError, TypeError, KeyError, ImproperlyConfigured) as exc:
            self.fail(name, f"could not read {os.environ.get(name)!r} as {kind} ({exc})")

    def str(self, name: str, default: str = "", required: bool = False) -> str:
        return self._get("str", name, default, required)

    def bool(self, name: str, default: bool) -> bool:
        raw = os.environ.get(name)
        if raw is None:
            return default
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        self.fail(name, f"{raw!r} is not a boolean (use true or false)")
        return default  # unreachable

    def int(self, name: str, default: int) -> int:
        return self._get("int", name, default)

    def float(self, name: str, default: float) -> float:
        return self._get("float", name, default)

    def list(self, name: str, default: list[str]) -> list[str]:
        value = self._get("list", name, default)
        return [item.strip() for item in value if item.strip()]

    def choice(self, name: str, choices: Iterable[str], default: str) -> str:
        value = os.environ.get(name, default)
        allowed = tuple(choices)
        if value not in allowed:
            self.fail(name, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def email(self, name: str, default: str) -> dict[str, Any]:
        raw = os.environ.get(name, default)
        scheme = raw.split("://", 1)[0] if "://" in raw else ""
        if scheme not in environ.Env.EMAIL_SCHEMES:
            self.fail(name, f"{raw!r} is not a mail URL (smtp://, smtp+tls://, filemail://...)")
        config = environ.Env.email_url_config(raw)
        if scheme == "filemail":
            config["EMAIL_FILE_PATH"] = raw.split("://", 1)[1] or None
        return config


env = _Env()


def read_env_file(path: Path) -> None:
    """Load a `.env` file if there is one; the real environment wins over it."""
    if path.is_file():
        environ.Env.read_env(str(path), overwrite=False)


def read_database(var_dir: Path) -> dict[str, Any]:
    raw = os.environ.get("DATABASE_URL", f"sqlite:///{var_dir / 'homeline.sqlite3'}")
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        env.fail(
            "DATABASE_URL",
            f"{raw!r} is not a database URL this portal supports "
            "(postgres://user@host:5432/name or sqlite:///path/to/file.sqlite3)",
        )
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:
        env.fail("DATABASE_URL", f"could not be read ({exc})")
    if not config.get("NAME"):
        env.fail("DATABASE_URL", f"{raw!r} names no database")
    if config["ENGINE"].endswith("sqlite3"):
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {**_SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
        config.setdefault("OPTIONS", {})["connect_timeout"] = 5
    config["ATOMIC_REQUESTS"] = False
    return config
