"""The real outside parts the alert tests run against: an SMTP server on loopback
(aiosmtpd), a redis-server of the test's own, a Celery worker as a subprocess, and the
helpers to wait for them."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, what: str,
               interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Received:
    rcpt_tos: list[str]
    message: EmailMessage
    at: float  # time.perf_counter() when the server accepted it


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts.

    `refuse` makes it answer DATA with that reply (e.g. "451 try later"); `hold()` makes it
    hold the next message until `release()`, accepting it only if the client is still there
    (a client killed meanwhile never got "250", so the message was never delivered) unless
    `keep_if_dropped` (a server that queued the message before its answer: the copy stays).
    `hold(at="rcpt")` holds before the body instead, at RCPT. `reply_delay` (seconds): a
    slow server that keeps every message at once and answers "250" that much later.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: str | None = None
        self._lock = threading.Condition()
        self._hold = False
        self.holding = threading.Event()
        self._release = threading.Event()
        self.dropped = threading.Event()
        self.reply_delay = 0.0
        self.keep_if_dropped = False
        self._hold_at = "data"

    def hold(self, at: str = "data") -> None:
        self._hold_at = at
        self._hold, self._release = True, threading.Event()
        self.holding.clear()
        self.dropped.clear()

    def release(self) -> None:
        self._release.set()

    async def _held(self) -> None:
        self._hold = False
        self.holding.set()
        try:
            while not self._release.is_set():
                await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            self.dropped.set()  # the client went away before it was told "250"
            raise

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self._hold and self._hold_at == "rcpt":
            await self._held()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _keep(self, envelope) -> None:
        with self._lock:
            self.received.append(Received(list(envelope.rcpt_tos),
                                          email.message_from_bytes(envelope.content,
                                                                   policy=email.policy.default),
                                          time.perf_counter()))
            self._lock.notify_all()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            return self.refuse
        if self.reply_delay:
            self._keep(envelope)
            await asyncio.sleep(self.reply_delay)
            return "250 Message accepted for delivery"
        if self._hold and self._hold_at == "data":
            try:
                await self._held()
            except asyncio.CancelledError:
                if self.keep_if_dropped:
                    self._keep(envelope)
                raise
        self._keep(envelope)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self._lock:
            return [r.message["Message-ID"] for r in self.received]

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"SMTP server got {len(self.received)} messages, "
                                     f"expected {count} within {timeout} s")
            return list(self.received)


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class RedisServer:
    """A redis-server of the test's own, on a free loopback port, that it may stop, pause
    (SIGSTOP: a hung Redis) and resume."""

    def __init__(self, tmp: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.tmp = tmp
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what="redis-server to answer")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None


class WorkerProcess:
    """`celery -A portal worker` as a subprocess, on the test's database, broker and SMTP."""

    def __init__(self, *, name: str, env: dict[str, str], log: Path,
                 queues: str | None = None) -> None:
        self.name = name
        self.env = env
        self.log = log
        self.queues = queues  # "-Q" as the Procfile gives it; None: every queue
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self._log_file = self.log.open("w")
        queues = ["--queues", self.queues] if self.queues else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--hostname", f"{self.name}@%h", "--without-heartbeat",
             "--without-mingle", "--without-gossip", *queues],
            cwd=ROOT, env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log.read_text()}")
            return " ready." in self.log.read_text()

        wait_until(ready, timeout=timeout, what=f"worker {self.name} to be ready",
                   interval=0.1)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        self._log_file.close()


class BeatProcess:
    """`celery -A portal beat` as a subprocess (the schedule of settings.CELERY_BEAT_SCHEDULE)."""

    def __init__(self, *, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp
        self.process: subprocess.Popen | None = None

    def start(self) -> BeatProcess:
        self._log_file = (self.tmp / "beat.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
             "--schedule", str(self.tmp / "beat-schedule")],
            cwd=ROOT, env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        self._log_file.close()
