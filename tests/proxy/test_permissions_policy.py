"""Permissions-Policy on every page, generated from the URL configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import verified_client

ROOT = Path(__file__).resolve().parents[2]
DENIED_FEATURES = ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()")


def url_paths(resolver=None, prefix="") -> list[str]:
    """Every URL pattern as a path, its parameters filled with small ids or a word."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += url_paths(entry, route)
        elif isinstance(entry, URLPattern):
            path = (route.replace("<int:", "<").replace("<str:", "<").replace("<path:", "<")
                    .replace("<slug:", "<").replace("<uuid:", "<"))
            while "<" in path:
                start, end = path.index("<"), path.index(">")
                path = path[:start] + "1" + path[end + 1:]
            if path.startswith("^") or "(?P" in path:
                path = path.lstrip("^").split("(?P", 1)[0]
            found.append("/" + path.rstrip("$"))
    return sorted(set(found))


def assert_policy(response, path):
    policy = response.get("Permissions-Policy", "")
    for feature in DENIED_FEATURES:
        assert feature in policy, f"{path} ({response.status_code}): {policy!r}"


@pytest.mark.django_db
def test_every_url_answers_with_a_permissions_policy(nurse, patient):
    paths = url_paths()
    assert len(paths) > 20
    for client in (Client(), verified_client(nurse), verified_client(patient.user)):
        for path in paths:
            assert_policy(client.get(path), path)


def test_production_settings_send_the_policy():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_ENV="production", DJANGO_SECRET_KEY="p-" + "0123456789abcdef" * 4,
               REDIS_URL="redis://127.0.0.1:6379/0")
    code = ("import django; django.setup(); from django.conf import settings; "
            "print('django_permissions_policy.PermissionsPolicyMiddleware' in "
            "settings.MIDDLEWARE, sorted(k for k, v in settings.PERMISSIONS_POLICY.items() "
            "if v == []))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True")
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"'{feature}'" in result.stdout
