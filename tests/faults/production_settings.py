"""The portal's production settings (portal/settings.py read with DJANGO_ENV=production),
with static files collected into the test's temporary directory instead of var/static."""

import os
from pathlib import Path

from portal.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["FAULT_TEST_STATIC_ROOT"])
