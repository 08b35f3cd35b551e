"""The alert sweep without the broker: for when Redis (or the worker) is the fault.

    manage.py alerts_sweep --once      one sweep, sending every row that is due, then exit
    manage.py alerts_sweep --loop      sweep every ALERT_SWEEP_SECONDS until stopped
    manage.py alerts_sweep --status    list undelivered and failed rows, send nothing

It does what beat's `alerts.sweep` and the workers do together, in this process: rows stuck
in flight go back to retry, due rows are claimed and sent, unacknowledged alerts escalate,
missed check-ins are reminded and alerted. Claims make it safe beside running workers.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from alerts.sweeps import deliveries_due, sweep_run
from notifications.dispatch import broker_bypassed
from notifications.models import UNDELIVERED, Delivery, DeliveryState
from notifications.outbox import delivery_send


class Command(BaseCommand):
    help = "Sweep alerts and send due deliveries directly, without the Celery broker."

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--once", action="store_true", help="one sweep, then exit")
        mode.add_argument("--loop", action="store_true", help="sweep until stopped")
        mode.add_argument("--status", action="store_true", help="show rows, send nothing")
        parser.add_argument("--interval", type=float, default=None,
                            help="seconds between sweeps with --loop "
                                 "(default ALERT_SWEEP_SECONDS)")

    def handle(self, *args: object, **options: object) -> None:
        if options["status"]:
            self._status()
            return
        interval = options["interval"] or settings.ALERT_SWEEP_SECONDS
        while True:
            sent = self._sweep_once()
            self.stdout.write(f"{timezone.now():%Y-%m-%d %H:%M:%S} UTC sweep: {sent}")
            if options["once"]:
                return
            time.sleep(interval)

    def _sweep_once(self) -> dict[str, int]:
        with broker_bypassed():
            report = sweep_run(heartbeat="sweep-command")
            results: dict[str, int] = {}
            # Everything due now, including the rows this sweep just made (no grace: nobody
            # else is going to publish them). Retries due later wait for the next sweep.
            for _ in range(5):
                ids = deliveries_due(now=timezone.now(), grace=0)
                if not ids:
                    break
                for delivery_id in ids:
                    state = str(delivery_send(delivery_id=delivery_id).state)
                    results[state] = results.get(state, 0) + 1
        return {**report.summary(), **results}

    def _status(self) -> None:
        now = timezone.now()
        rows = Delivery.objects.filter(state__in=[*UNDELIVERED, DeliveryState.FAILED]).order_by(
            "created_at").select_related("patient")
        if not rows:
            self.stdout.write("No undelivered or failed deliveries.")
        for row in rows:
            age = int((now - row.created_at).total_seconds())
            self.stdout.write(
                f"#{row.pk} {row.state:<9} {row.channel:<5} {row.step:<16} "
                f"patient {row.patient.hospital_number} attempts {row.attempts} "
                f"age {age}s next {row.next_attempt_at:%H:%M:%S} UTC "
                f"{row.last_error[:80]}"
            )
