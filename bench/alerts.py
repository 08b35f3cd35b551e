"""Alert latency: from a red check-in's commit to the SMTP server receiving the email.

On the benchmark stack (bench/stack.py): the Celery worker is the Procfile's (prefork, on
Redis), the database PostgreSQL, the SMTP server a sink on loopback. Printed beside the
round trip of a no-op Celery task through the same broker and worker, in the same run, so
that the ratio says what the alert path itself costs (claiming the row, rendering, SMTP)
over the broker's own hop. Measured twice: on an idle stack, and while wrk posts check-ins
at half the check-in peak measured by bench/throughput.py (whose own red and amber alerts
then queue in the same worker).

The check-ins are saved through the service (symptoms.services.check_in_record) in this
process, so that the clock starts exactly at the commit; the tasks are published after
commit by the same code as in a web request. Each alert is for a patient of its own (a
new alert, so it pages). The no-op task (bench/tasks.py) ends by sending a UDP datagram,
as the alert ends at the SMTP server: both clocks stop in this process.

    make bench-alerts                      # this benchmark alone (measures the peak briefly)
    BENCH_ALERTS=500 make bench-alerts     # more samples (default 200)
"""

from __future__ import annotations

import os
import time
import uuid

from bench import report, stack, wrk

SAMPLES = int(os.environ.get("BENCH_ALERTS", "200"))
WARM_UP = 10
# Many connections each pausing long: the rate then hangs on the pause, not on latency.
LOAD_CONNECTIONS = 8


def _cast(prefix: str, count: int):
    from datetime import date

    from accounts.models import Patient
    from bench.cast import nurse, teams

    team = teams(f"Latency {prefix}", 1)[0]
    recorder = nurse(team, f"latency-{prefix.lower()}@bench.invalid")
    patients = Patient.objects.bulk_create(
        Patient(care_team=team, display_name=f"Latency Patient {n}",
                date_of_birth=date(1970, 1, 1), hospital_number=f"{prefix}-{n:05d}")
        for n in range(count)
    )
    return recorder, patients


def _noop_round_trip(s: stack.Stack, app) -> float:
    token = uuid.uuid4().hex
    started = time.perf_counter()
    app.send_task("bench.noop", args=[token, s.udp.port])
    return s.udp.wait_for(token) - started


def _alert_latency(s: stack.Stack, patient, recorder) -> float:
    from django.db import transaction

    from symptoms.services import check_in_record
    from triage.validation import parse_check_in

    committed: list[float] = []
    with transaction.atomic():
        # Registered first, so it runs first at commit: the clock starts at the commit.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        check_in_record(patient=patient, recorded_by=recorder,
                        data=parse_check_in({"temperature_c": 38.6}),
                        submission_key=uuid.uuid4())
    return s.sink.wait_for(patient.hospital_number) - committed[0]


def _measure(s: stack.Stack, prefix: str) -> tuple[list[float], list[float]]:
    from portal.celery import app

    recorder, patients = _cast(prefix, SAMPLES + WARM_UP)
    noop_times, alert_times = [], []
    for index, patient in enumerate(patients):
        # Alternate which goes first, so neither always finds the worker just idle.
        if index % 2:
            noop_times.append(_noop_round_trip(s, app))
        alert_times.append(_alert_latency(s, patient, recorder))
        if not index % 2:
            noop_times.append(_noop_round_trip(s, app))
    return noop_times[WARM_UP:], alert_times[WARM_UP:]


def _half_load_delay(s: stack.Stack, data, target: float) -> float:
    """The pause per request that makes LOAD_CONNECTIONS connections post `target` a second:
    guessed from the peak, then corrected once from a short paced run."""
    delay = max(1.0, 1000 * LOAD_CONNECTIONS / target / 2)
    probe = wrk.run(s.base_url, data, "checkin", 5, connections=LOAD_CONNECTIONS,
                    delay_ms=delay)
    busy_ms = 1000 * LOAD_CONNECTIONS / probe.rps - delay  # latency and wrk's own overhead
    return max(1.0, 1000 * LOAD_CONNECTIONS / target - busy_ms)


def main() -> None:
    s = stack.get()
    from bench.throughput import peak_rps, prepare

    idle = _measure(s, "LATI")
    peak = peak_rps(s)
    data = prepare(s)
    delay = _half_load_delay(s, data, peak / 2)
    background = wrk.start(s.base_url, data, "checkin", connections=LOAD_CONNECTIONS,
                           delay_ms=delay)
    try:
        time.sleep(2)  # let the load settle
        mails_before = s.sink.count
        loaded = _measure(s, "LATL")
        other_mails = s.sink.count - mails_before - len(loaded[1]) - WARM_UP
    finally:
        load = wrk.finish(background, "checkin")

    report.title("2. Alert latency: red check-in commit -> SMTP sink, beside a no-op Celery "
                 "task round trip")
    report.note(f"{SAMPLES} alerts and {SAMPLES} no-op tasks per phase, interleaved, after "
                f"{WARM_UP} of each; broker Redis; Celery worker prefork, concurrency "
                f"{stack.WORKER_CONCURRENCY}; SMTP sink on loopback")
    report.note(f"under load: wrk posting check-ins at {load.rps:,.1f} req/s (target half the "
                f"peak of {peak:,.1f}: {peak / 2:,.1f}), p95 {load.p95_ms:.0f} ms, "
                f"{load.errors + load.unexpected} errors; their own alerts share the worker "
                f"({other_mails:,} other emails sent meanwhile)")
    rows = []
    for phase, (noop, alert) in (("idle", idle), ("under load", loaded)):
        rows.append([f"{phase}: no-op task round trip", f"{report.median(noop) * 1000:.1f}",
                     f"{report.percentile(noop, 0.95) * 1000:.1f}"])
        rows.append([f"{phase}: red check-in commit -> SMTP",
                     f"{report.median(alert) * 1000:.1f}",
                     f"{report.percentile(alert, 0.95) * 1000:.1f}"])
        rows.append([f"{phase}: ratio alert / no-op",
                     f"{report.median(alert) / report.median(noop):.2f}",
                     f"{report.percentile(alert, 0.95) / report.percentile(noop, 0.95):.2f}"])
    report.table(["", "median ms", "p95 ms"], rows)
    for phase, (noop, alert) in (("idle", idle), ("under load", loaded)):
        ratio = report.percentile(alert, 0.95) / report.percentile(noop, 0.95)
        report.ratio(f"{phase}: alert p95 / no-op p95", ratio, goal="<= 3", ok=ratio <= 3)
        s.shared.setdefault("summary", []).append(
            (f"alert p95 / no-op p95, {phase}", f"{ratio:.2f}", "<= 3", ratio <= 3))
