"""`make run` declares the alert queues once before its workers start (portal/broker_prepare.py):
on an empty embedded broker, two workers creating the same queue row at once killed one."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _prepare(broker: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CELERY_BROKER_URL": f"sqla+sqlite:///{broker}",
           "DJANGO_ENV": "development"}
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "portal.broker_prepare"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_every_alert_queue_exists_in_a_fresh_embedded_broker_before_any_worker(tmp_path):
    broker = tmp_path / "broker.sqlite3"
    done = _prepare(broker)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(broker) as db:
        names = sorted(row[0] for row in db.execute("select name from kombu_queue"))
    assert names == ["alerts.deliveries", "alerts.red", "alerts.reminders", "alerts.sweeps"]


def test_declaring_again_changes_nothing(tmp_path):
    broker = tmp_path / "broker.sqlite3"
    assert _prepare(broker).returncode == 0
    again = _prepare(broker)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(broker) as db:
        assert db.execute("select count(*) from kombu_queue").fetchone() == (4,)
