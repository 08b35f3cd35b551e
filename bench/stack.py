"""The production-like stack the benchmarks run against, started (and stopped) by them.

- PostgreSQL: a database "homeline_bench" created beside DATABASE_URL's (dropped after), or,
  without DATABASE_URL, a PostgreSQL server of its own (initdb) on a free loopback port;
- Redis (broker, rate-limit cache): REDIS_URL's server with database BENCH_REDIS_DB (11;
  the test suite uses 9 and 10; flushed before and after), or a redis-server of its own;
- gunicorn with 2 workers and a Celery worker, started with the Procfile's commands;
- an SMTP sink on loopback (aiosmtpd, in this process) that the alert emails go to;
- DJANGO_ENV=production (DEBUG off, Argon2, manifest static files, secure cookies): the
  load generators send `X-Forwarded-Proto: https` as the TLS proxy in front would.

Only what a benchmark must change is changed, and `overrides()` lists it for the report:
rate limits are raised (a load test is many check-ins a second from few accounts), SMS is
logged not written, and static files are collected into a temporary directory.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.alerts.support import REDIS_SERVER, RedisServer, SmtpServer, free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "homeline_bench"
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "11"))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))

# Settings the benchmark changes from production's defaults, and why (printed with results).
OVERRIDES = {
    "RATE_CHECK_IN": ("1000000/h", "a load test posts many check-ins per account"),
    "RATE_LOGIN": ("1000000/h", "idem for sign-ins"),
    "ALERT_SMS_BACKEND": ("notifications.channels.sms.ConsoleBackend", "no SMS files"),
}


class StackError(RuntimeError):
    pass


class Sink:
    """The SMTP server's handler: when each message arrived, by the hospital number in it."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.arrivals: dict[str, float] = {}
        self.count = 0
        self._pattern = re.compile(r"\b(LAT[0-9A-Z-]+)\b")

    async def handle_DATA(self, server, session, envelope) -> str:
        at = time.perf_counter()
        text = envelope.content.decode("utf-8", "replace")
        with self.lock:
            self.count += 1
            for number in self._pattern.findall(text):
                self.arrivals.setdefault(number, at)
            self.lock.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, number: str, timeout: float = 30.0) -> float:
        with self.lock:
            if not self.lock.wait_for(lambda: number in self.arrivals, timeout):
                raise StackError(f"no alert email for {number} within {timeout} s")
            return self.arrivals[number]


class UdpSink:
    """Where the benchmark's no-op task reports that it ran: one datagram per task."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Condition()
        self.arrivals: dict[str, float] = {}
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data = self.sock.recv(256)
            except OSError:
                return
            at = time.perf_counter()
            with self.lock:
                self.arrivals[data.decode()] = at
                self.lock.notify_all()

    def wait_for(self, token: str, timeout: float = 30.0) -> float:
        with self.lock:
            if not self.lock.wait_for(lambda: token in self.arrivals, timeout):
                raise StackError(f"the no-op task {token} did not run within {timeout} s")
            return self.arrivals.pop(token)

    def close(self) -> None:
        self.sock.close()


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode:
        raise StackError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise StackError(f"PostgreSQL's {name} not found: set DATABASE_URL to a PostgreSQL "
                         "server, or install PostgreSQL (apt-get install postgresql)")
    return found


class Stack:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="homeline-bench-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._stops: list = []
        self.processes: dict[str, subprocess.Popen] = {}
        self.env: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self.database_note = ""
        self.redis_note = ""
        # What one benchmark leaves for another (wrk's data file, the check-in peak, ...).
        self.shared: dict = {}

    # ------------------------------------------------------------------ start and stop
    def start(self) -> Stack:
        atexit.register(self.stop)
        started = time.perf_counter()
        database_url = self._database()
        redis_url = self._redis()
        self.sink = Sink()
        self.smtp = SmtpServer()
        self.smtp.mailbox = self.sink
        self.smtp.start()
        self._stops.append(self.smtp.stop)
        self.udp = UdpSink()
        self._stops.append(self.udp.close)
        self.env = self._environment(database_url, redis_url)
        self._manage("migrate", "--noinput")
        self._manage("collectstatic", "--noinput", "--verbosity", "0")
        self._setup_django()
        self._start_web()
        self._start_worker()
        self.started_in = time.perf_counter() - started
        return self

    def stop(self) -> None:
        for name in ("web", "worker"):
            process = self.processes.pop(name, None)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        if self.env.get("DJANGO_SETTINGS_MODULE") == os.environ.get("DJANGO_SETTINGS_MODULE"):
            from django.db import connections

            with contextlib.suppress(Exception):  # closing is a courtesy; dropping forces
                connections.close_all()
        while self._stops:
            try:
                self._stops.pop()()
            except Exception as exc:  # keep stopping the rest
                print(f"  (stopping: {exc})", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------ PostgreSQL
    def _database(self) -> str:
        given = os.environ.get("DATABASE_URL", "")
        if given and not given.startswith(("postgres://", "postgresql://", "pgsql://")):
            raise StackError(f"DATABASE_URL={given!r}: the benchmarks need PostgreSQL")
        if given:
            return self._database_beside(given)
        return self._database_of_our_own()

    def _database_beside(self, url: str) -> str:
        import psycopg

        parts = urlsplit(url)
        maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')

        def drop() -> None:
            with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')

        self._stops.append(drop)
        self.database_note = (f"database {BENCH_DATABASE} on DATABASE_URL's server "
                              f"{parts.hostname}:{parts.port or 5432} (dropped after)")
        return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))

    def _database_of_our_own(self) -> str:
        initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
        # A directory of its own: as root, the server runs as the postgres user and owns it.
        root = Path(tempfile.mkdtemp(prefix="homeline-bench-pg-"))
        self._stops.append(lambda: shutil.rmtree(root, ignore_errors=True))
        data, sockets = root / "data", root / "sockets"
        sockets.mkdir()
        as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            import pwd

            owner = pwd.getpwnam("postgres")
            for path in (root, sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            as_postgres = ["runuser", "-u", "postgres", "--"]
        port = free_port()
        _run([*as_postgres, initdb, "-D", str(data), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--no-instructions"])
        _run([*as_postgres, pg_ctl, "-D", str(data), "-l", str(sockets / "server.log"), "-w",
              "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1", "start"])
        self._stops.append(lambda: _run([*as_postgres, pg_ctl, "-D", str(data), "-m", "fast",
                                         "-w", "stop"]))
        url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1),
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        self.database_note = f"a PostgreSQL server of its own on port {port} (initdb defaults)"
        return f"postgres://postgres@127.0.0.1:{port}/{BENCH_DATABASE}"

    # ------------------------------------------------------------------ Redis
    def _redis(self) -> str:
        import redis

        given = os.environ.get("REDIS_URL", "")
        if given:
            parts = urlsplit(given)
            url = urlunsplit(parts._replace(path=f"/{BENCH_REDIS_DB}"))
            self.redis_note = (f"REDIS_URL's server {parts.hostname}:{parts.port or 6379}, "
                               f"database {BENCH_REDIS_DB} (flushed before and after)")
        else:
            if not Path(REDIS_SERVER).exists():
                raise StackError("redis-server not found: set REDIS_URL, or "
                                 "apt-get install redis-server")
            server = RedisServer(self.tmp).start()
            self._stops.append(server.stop)
            url = server.url
            self.redis_note = f"a redis-server of its own on port {server.port}"
        client = redis.Redis.from_url(url, socket_timeout=5)
        client.flushdb()
        self.versions["Redis"] = client.info("server")["redis_version"]
        self._stops.append(lambda: redis.Redis.from_url(url, socket_timeout=5).flushdb())
        return url

    # ------------------------------------------------------------------ the portal
    def _environment(self, database_url: str, redis_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DJANGO_", "ALERT_", "RATE_", "CELERY_", "EMAIL_"))
               and k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "SITE_URL")}
        static_root = self.tmp / "static"
        env.update(
            DJANGO_ENV="production",
            DJANGO_SETTINGS_MODULE="bench.stack_settings",
            BENCH_STATIC_ROOT=str(static_root),
            DJANGO_SECRET_KEY="bench-only-" + "b" * 64,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            EMAIL_URL=f"smtp://127.0.0.1:{self.smtp.port}",
            SITE_URL=self.base_url,
            LOG_LEVEL="WARNING",
            HOMELINE_BENCH_VIEWS="1",
            ALERT_SMS_FILE_PATH=str(self.tmp / "sms"),
            PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            PYTHONPATH=str(ROOT),
        )
        env.update({name: value for name, (value, _why) in OVERRIDES.items()})
        return env

    def _manage(self, *args: str) -> None:
        _run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env)

    def _setup_django(self) -> None:
        """This process talks to the same database and broker (the alert benchmark saves
        check-ins through the service; the scale benchmark loads rows and counts queries)."""
        os.environ.update({k: v for k, v in self.env.items() if k != "PATH"})
        import django

        django.setup()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            self.versions["PostgreSQL"] = cursor.fetchone()[0].split(" ")[0]
        connection.close()

    def _log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = self._log(name).open("w")
        process = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def _start_web(self) -> None:
        # The Procfile's `web` line, with its worker count.
        self._spawn("web", [sys.executable, "-m", "gunicorn", "portal.wsgi",
                            "--config", "portal/gunicorn.conf.py", "--bind",
                            f"127.0.0.1:{self.port}", "--workers", str(WEB_WORKERS)])
        from bench.http import Client

        client = Client(self.base_url)
        deadline = time.monotonic() + 60
        while True:
            self._check_alive("web")
            try:
                if client.get("/accounts/login/").status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"gunicorn did not answer:\n{self.log_tail('web')}")
            time.sleep(0.2)

    def _start_worker(self) -> None:
        # The Procfile's `worker` line, plus the benchmark's no-op task (bench/tasks.py).
        self._spawn("worker", [sys.executable, "-m", "celery", "-A", "portal", "worker",
                               "--loglevel", "INFO", "--concurrency", str(WORKER_CONCURRENCY),
                               "--include", "bench.tasks"])
        deadline = time.monotonic() + 60
        while " ready." not in self._log("worker").read_text():
            self._check_alive("worker")
            if time.monotonic() > deadline:
                raise StackError(f"the Celery worker did not start:\n{self.log_tail('worker')}")
            time.sleep(0.2)

    def _check_alive(self, name: str) -> None:
        if self.processes[name].poll() is not None:
            raise StackError(f"{name} exited:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        try:
            return "\n".join(self._log(name).read_text().splitlines()[-lines:])
        except OSError:
            return ""

    # ------------------------------------------------------------------ facts for the report
    def pids(self, name: str) -> tuple[int, list[int]]:
        """(main process, its children) of `web` (gunicorn) or `worker` (Celery)."""
        main = self.processes[name].pid
        children = []
        for task in Path(f"/proc/{main}/task").iterdir():
            children += [int(pid) for pid in (task / "children").read_text().split()]
        return main, children

    def overrides(self) -> str:
        return "; ".join(f"{name}={value} ({why})" for name, (value, why) in OVERRIDES.items())


_stack: Stack | None = None


def get() -> Stack:
    """The one stack of this run, started on first use."""
    global _stack
    if _stack is None:
        print("\nStarting the benchmark stack (PostgreSQL, Redis, gunicorn, Celery, SMTP) ...",
              flush=True)
        _stack = Stack()
        try:
            _stack.start()
        except BaseException:
            _stack.stop()
            raise
        print(f"  up in {_stack.started_in:.0f} s: {_stack.database_note}; "
              f"{_stack.redis_note}; gunicorn {WEB_WORKERS} workers on {_stack.base_url}; "
              f"Celery worker --concurrency {WORKER_CONCURRENCY}", flush=True)
        print(f"  settings: DJANGO_ENV=production (DEBUG off); changed for the benchmark: "
              f"{_stack.overrides()}", flush=True)
    return _stack


def running() -> Stack | None:
    return _stack


def stop() -> None:
    global _stack
    if _stack is not None:
        _stack.stop()
        _stack = None


__all__ = ["Stack", "StackError", "get", "running", "stop"]
