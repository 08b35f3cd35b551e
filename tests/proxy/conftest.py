"""The nginx + gunicorn stack, started once per module of tests/proxy that asks for it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.alerts.support import REDIS_SERVER, RedisServer
from tests.conftest import require
from tests.proxy.stack import NGINX, Stack


def _database_url(django_db_blocker) -> str:
    from django.db import connection

    with django_db_blocker.unblock():
        settings = connection.settings_dict
        require(connection.vendor == "postgresql",
                "the proxy tests run gunicorn on the test database: PostgreSQL "
                "(DATABASE_URL=postgres://...)")
    user = quote(settings["USER"] or "")
    password = quote(settings["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return (f"postgres://{auth}{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
            f"/{settings['NAME']}")


@pytest.fixture(scope="module")
def _proxy_redis(tmp_path_factory) -> Iterator[RedisServer]:
    require(Path(REDIS_SERVER).exists(), "redis-server (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("proxy-redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy_stack(request, django_db_setup, django_db_blocker, _proxy_redis,
                tmp_path_factory) -> Iterator[Stack]:
    """nginx -> gunicorn (production settings, TRUSTED_PROXY_COUNT=1). Module settings
    may add environment variables with a `STACK_ENV` dict."""
    require(Path(NGINX).exists() or bool(shutil.which("nginx")),
            "nginx (apt-get install nginx)")
    stack = Stack(tmp=tmp_path_factory.mktemp("proxy"),
                  database_url=_database_url(django_db_blocker),
                  redis_url=_proxy_redis.url,
                  env_extra=getattr(request.module, "STACK_ENV", {}))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def stack(proxy_stack, _proxy_redis, transactional_db) -> Stack:
    """The running stack, with empty rate-limit counters and mail folder, and (through
    transactional_db) rows this test commits visible to gunicorn."""
    import redis

    client = redis.Redis.from_url(_proxy_redis.url)
    client.flushall()
    client.close()
    for message in proxy_stack.mail_dir.iterdir():
        message.unlink()
    return proxy_stack
