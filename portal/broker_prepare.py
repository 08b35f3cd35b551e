"""Declare the alert queues once, before `make run` starts its workers and beat.

With the embedded broker (kombu's SQLAlchemy transport on a SQLite file), the first worker
to start creates the broker's tables and one row per queue; two workers starting at the same
moment on an empty file both try, and the loser dies on `UNIQUE constraint failed:
kombu_queue.name` (seen on a first `make run`), which stops the whole Procfile. Declaring
every queue here, in one process, first, leaves the workers nothing to race on. Harmless
with Redis (a declaration is a no-op there). Run as `python -m portal.broker_prepare`.
"""

from __future__ import annotations

import os


def broker_prepare() -> list[str]:
    """Declares every queue of portal.celery's task_queues on the configured broker;
    returns their names. Raises what kombu raises if the broker cannot be reached."""
    from portal.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.conf.task_queues:
            queue(channel).declare()
    return [queue.name for queue in app.conf.task_queues]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    print("broker queues declared:", ", ".join(broker_prepare()))


if __name__ == "__main__":
    main()
