"""A production-like web stack for the proxy tests: Debian's nginx in front of gunicorn
(DJANGO_ENV=production, Redis cache of its own, the test's PostgreSQL database), both on
free loopback ports with configuration in a temporary directory, and an HTTP client that
connects from a chosen loopback source address (127.0.0.2, 127.0.0.3, ...), so that nginx
sees different clients exactly as it would on the internet.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from tests.alerts.support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECRET_KEY = "proxy-test-" + "0123456789abcdef" * 4

# The nginx configuration docs/security.md gives, with this test's ports and paths. The
# maps keep reset and invitation tokens out of nginx's own access log.
NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
{user}
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    # Tokens out of nginx's access log. The path is matched decoded ($uri, as gunicorn
    # and Django route it), so "/accounts/%69nvitation/TOKEN/" is caught; the query and the
    # Referer (raw) are redacted whole when they hold a secret path or any %-encoding.
    map $uri $homeline_path {{
        "~^(?<a>.*/reset/)[^/]+/[^/]+(?<b>.*)$" "${{a}}[redacted]/[redacted]${{b}}";
        "~^(?<c>.*/invit(?:ation|e)/)[^/]+(?<d>.*)$" "${{c}}[redacted]${{d}}";
        "~*^(?<f>.*/calendar/)[^/]+(?<g>.*)$" "${{f}}[redacted]${{g}}";
        "~%" "/[redacted]";
        default $uri;
    }}
    map $args $homeline_args {{
        "" "";
        "~*(?:%|reset|invit|calendar)" "?[redacted]";
        default "?$args";
    }}
    map $http_referer $homeline_referer {{
        "~*^(?<e>[a-z]+://[^/]*)/.*(?:%|reset|invit|calendar)" "${{e}}/[redacted]";
        "~*(?:%|reset|invit|calendar)" "[redacted]";
        default $http_referer;
    }}
    log_format homeline '$remote_addr [$time_local] "$request_method $homeline_path$homeline_args" '
                        '$status $body_bytes_sent "$homeline_referer" "$http_user_agent"';
    access_log {tmp}/nginx-access.log homeline;

    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        # Above Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB), so that an
        # over-long note reaches Django and is refused with the field's message.
        client_max_body_size 3m;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $http_host;
            # Appends the address nginx received the request from to what the client sent:
            # the app takes the last entry (TRUSTED_PROXY_COUNT=1).
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # Here nginx stands in for the TLS terminator; it overwrites any client value.
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"""


@dataclass
class Stack:
    tmp: Path
    database_url: str
    redis_url: str
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = 0
    upstream: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def mail_dir(self) -> Path:
        return self.tmp / "mail"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DJANGO_", "RATE_", "AXES_", "TRUSTED_", "GUNICORN_"))
               and k not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL",
                             "EMAIL_URL"}}
        env.update(
            DJANGO_ENV="production",
            DJANGO_SECRET_KEY=SECRET_KEY,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            EMAIL_URL=f"filemail://{self.mail_dir}",
            SITE_URL=f"https://127.0.0.1:{self.port}",
            TRUSTED_PROXY_COUNT="1",
            GUNICORN_ACCESS_LOG=str(self.tmp / "gunicorn-access.log"),
        )
        env.update(self.env_extra)
        return env

    def collect_static(self) -> None:
        # Production serves hashed file names from the manifest (as `make run` collects).
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                       cwd=ROOT, env=self.env(), check=True, timeout=300,
                       capture_output=True)

    def start(self) -> Stack:
        self.port, self.upstream = free_port(), free_port()
        self.mail_dir.mkdir(exist_ok=True)
        self.collect_static()
        log = (self.tmp / "gunicorn.log").open("w")
        self.processes["gunicorn"] = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "--config",
             "portal/gunicorn.conf.py", "--bind", f"127.0.0.1:{self.upstream}",
             "--workers", "1"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=self.tmp, port=self.port,
                                          upstream=self.upstream, user=user))
        self.processes["nginx"] = subprocess.Popen(
            [NGINX, "-p", str(self.tmp), "-c", str(conf)],
            stdout=(self.tmp / "nginx.out").open("w"), stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout=60, what="gunicorn behind nginx to answer")
        return self

    def _answers(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.logs()}")
        try:
            return Browser(self, "127.0.0.1").get("/accounts/login/").status == 200
        except OSError:
            return False

    def logs(self) -> str:
        texts = []
        for name in ("gunicorn.log", "gunicorn-access.log", "nginx-access.log",
                     "nginx-error.log", "nginx.out"):
            path = self.tmp / name
            if path.exists():
                texts.append(f"--- {name}\n{path.read_text()}")
        return "\n".join(texts)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


class Browser:
    """A client at loopback address `source` talking to the stack's nginx, keeping its own
    cookies (production's are Secure; nginx here stands in for the TLS end)."""

    def __init__(self, stack: Stack, source: str, *, direct: bool = False) -> None:
        """`direct`: talk to gunicorn itself, bypassing nginx (what a client could do if
        gunicorn listened where it is reachable)."""
        self.stack = stack
        self.source = source
        self.port = stack.upstream if direct else stack.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict[str, str] | bytes | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        origin = f"https://127.0.0.1:{self.port}"
        sent = {"Host": f"127.0.0.1:{self.port}", "User-Agent": "homeline-proxy-test"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if isinstance(data, bytes):
            body = data
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = origin
        elif data is not None:
            body = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = origin
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                                source_address=(self.source, 0))
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for raw in response.msg.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Answer(response.status, response.msg, text)

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, data: dict[str, str], **headers: str) -> Answer:
        """GET the page for its CSRF token, then POST `data` with it."""
        page = self.get(path)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        token = match.group(1) if match else self.cookies.get("csrftoken", "")
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": token}, headers)

    def sign_in(self, email: str, password: str, **headers: str) -> Answer:
        return self.post_form("/accounts/login/", {"username": email, "password": password},
                              **headers)


def wait_for_log(path: Path, needle: str, timeout: float = 10) -> str:
    def read() -> str | None:
        text = path.read_text() if path.exists() else ""
        return text if needle in text else None

    return wait_until(read, timeout=timeout, what=f"{needle!r} in {path.name}")
