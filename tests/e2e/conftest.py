"""Browser tests: pytest-playwright driving Debian's Chromium against live_server."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import require

# live_server runs Django in a thread beside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browser here: use the distribution's Chromium,
    # with the flags a root, network-less, GPU-less machine needs.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(autouse=True)
def _chromium_present():
    require(bool(shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)),
            f"Chromium at {CHROMIUM} (apt-get install chromium)")


PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
