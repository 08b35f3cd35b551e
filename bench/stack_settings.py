"""Settings of the benchmark stack: the portal's own (portal/settings.py, read from the
environment the stack sets: DJANGO_ENV=production), with static files collected into the
benchmark's temporary directory instead of var/static."""

import os
from pathlib import Path

from portal.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])
