"""A trivial page for the benchmarks (`make bench`), and nothing else.

Wired only when HOMELINE_BENCH_VIEWS=1 (the benchmark stack sets it): otherwise this module
has no URLs. The view does no work of its own but sits behind every middleware a real page
has (session, CSRF, sign-in, idle timeout, two-step sign-in, ...), so that check-in
throughput can be measured against it as a ratio. It takes no id: it shows nothing about
anybody.
"""

from __future__ import annotations

import os

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_http_methods


@login_required
@require_http_methods(["GET", "POST"])
def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = (
    [path("trivial/", trivial, name="bench_trivial")]
    if os.environ.get("HOMELINE_BENCH_VIEWS") == "1"
    else []
)
