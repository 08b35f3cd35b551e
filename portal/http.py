"""Small request helpers shared by the apps' views."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, QueryDict
from ipware import get_client_ip


def posted(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST, or None. Unlike `request.POST or None`, an empty POST is
    still a submission: it binds the form and is refused with errors, not shown afresh."""
    return request.POST if request.method == "POST" else None


def client_address(request: HttpRequest) -> str | None:
    """The address of the person's own device, as a string ("203.0.113.5"), or None.

    The one place that decides it; lockout (django-axes), rate limits (django-ratelimit)
    and the read log all call this. settings.TRUSTED_PROXY_COUNT says how many reverse
    proxies we run in front of gunicorn:

    - 0 (the default): no proxy; REMOTE_ADDR is the client. X-Forwarded-For is ignored.
    - N > 0: each of our N proxies appends the address it received the request from to
      X-Forwarded-For (nginx's $proxy_add_x_forwarded_for), so the client is the N-th entry
      from the right. Entries further left were written by the client and are ignored:
      a forged X-Forwarded-For gains nothing. django-ipware reads the chain.

    When the chain is shorter than N (a request that did not pass the proxies, such as a
    health check on loopback), REMOTE_ADDR is used. Never raises.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        # ipware's proxy_count counts the hops after the client within the header, so our
        # N proxies (the last of which is REMOTE_ADDR, not in the header) are N - 1 there.
        # Not strict: a client-written junk entry on the left must not void the chain
        # (which would fall back to the proxy's address and lock everyone together).
        address, _routable = get_client_ip(
            request,
            proxy_order="left-most",
            proxy_count=count - 1,
            request_header_order=["HTTP_X_FORWARDED_FOR"],
            strict=False,
        )
        if address:
            return address
    return request.META.get("REMOTE_ADDR") or None

