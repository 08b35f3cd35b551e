"""A small HTTP client for the benchmarks' set-up and timed page loads.

Requests go to gunicorn on loopback as a TLS-terminating proxy would pass them on
(`X-Forwarded-Proto: https`, which production settings trust), so production's secure
cookies, CSRF referer check and HTTPS redirect all apply. Cookies are kept by name.
"""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.netloc = f"{self.host}:{self.port}"
        self.cookies: dict[str, str] = {}

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> Response:
        all_headers = {"Host": self.netloc, "X-Forwarded-Proto": "https",
                       "User-Agent": "homeline-bench"}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            content = response.read()
            seconds = time.perf_counter() - started
        finally:
            connection.close()
        for raw in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(response.status, response.headers, content, seconds)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return self._request("GET", path, headers=headers)

    def post(self, path: str, data: dict[str, str], referer: str | None = None) -> Response:
        body = urlencode(data).encode()
        return self._request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"https://{self.netloc}{referer or path}",
        })

    def csrf_from(self, response: Response) -> str:
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
        if not found:
            raise RuntimeError("no CSRF token on the page")
        return found.group(1)
