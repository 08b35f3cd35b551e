"""Every `next` the portal follows is a local path, never a view name to reverse nor another
site (issue 11, "Input": `next=id` answered 500 on the alert views; the sign-in steps read
`next` the same way). The alert views' own tests: tests/alerts/test_acknowledge_resolve.py."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.views import _safe_next


@pytest.mark.parametrize("target", ["id", "home", "alert_list", "https://evil.example/",
                                    "//evil.example/", "/\\evil.example", "javascript:x",
                                    " /alerts/", ""])
def test_the_sign_in_steps_follow_only_a_local_path(target):
    request = RequestFactory().post("/account/two-factor/", {"next": target})
    assert _safe_next(request) == "/"


def test_a_local_path_is_kept():
    request = RequestFactory().get("/account/two-factor/", {"next": "/alerts/?page=2"})
    assert _safe_next(request) == "/alerts/?page=2"
