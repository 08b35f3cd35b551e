"""The missed check-in sweep at 1,000 and 100,000 patients on infusion: its time and its
queries, and the ratio of the two sizes.

Each size is a care team of its own whose cut-off was an hour ago (so every patient is in
the window), half of its patients with a check-in today. Two sweeps are measured: the first
(it finds every patient who missed, writes their missed-day rows and claims their
reminders; the patients here have no login, so no email is made) and the steady state (a
later sweep that finds everything already done), the median of five. Queries are counted
with Django's CaptureQueriesContext. The previous size's patients are taken off infusion
first, so each size is measured alone. Before the set-based rewrite the sweep ran two or
more queries per patient (5,000 patients: 10,001).

    BENCH_SWEEP_LARGE=100000    patients at the large size
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench import report, stack

SIZES = (1_000, max(2_000, int(os.environ.get("BENCH_SWEEP_LARGE", "100000"))))
STEADY_RUNS = 5


ZONE = "Europe/London"


def _team(size: int, now: datetime):
    from bench.cast import teams

    team = teams(f"Sweep {size}", 1)[0]
    cutoff = (now - timedelta(hours=1)).astimezone(ZoneInfo(ZONE))
    team.check_in_cutoff = cutoff.time().replace(second=0, microsecond=0)
    team.save(update_fields=["check_in_cutoff"])
    return team


def _patients(team, size: int, now: datetime) -> list[int]:
    from accounts.models import Patient
    from bench.cast import plans_create

    start = now.date() - timedelta(days=5)  # day 6 of 28 on infusion
    made = Patient.objects.bulk_create(
        (Patient(care_team=team, display_name=f"Sweep Patient {n}",
                 date_of_birth=date(1980, 1, 1), hospital_number=f"SW{size}-{n:06d}",
                 time_zone=ZONE)
         for n in range(size)), batch_size=5000)
    ids = [p.pk for p in made]
    plans_create([(pid, start, 2) for pid in ids])
    Patient.objects.filter(pk__in=ids).update(created_at=now - timedelta(days=30))
    return ids


def _check_ins(team, patient_ids: list[int], now: datetime) -> None:
    """A check-in today for every other patient: one real one (a nurse of the team records
    it), copied."""
    from accounts.models import Patient
    from bench.cast import nurse
    from symptoms.models import CheckIn
    from symptoms.services import check_in_record
    from triage.validation import parse_check_in

    recorder = nurse(team, f"sweep-nurse-{team.pk}@bench.invalid")
    first = Patient.objects.get(pk=patient_ids[0])
    model, _ = check_in_record(patient=first, recorded_by=recorder,
                               data=parse_check_in({"temperature_c": 36.8}),
                               submission_key=uuid.uuid4())
    copies = []
    for pk in patient_ids[2::2]:
        model.pk = None
        model.patient_id = pk
        model.submission_key = uuid.uuid4()
        model.recorded_at = now - timedelta(minutes=90)
        copies.append(CheckIn(**{f.attname: getattr(model, f.attname)
                                 for f in CheckIn._meta.concrete_fields}))
    CheckIn.objects.bulk_create(copies, batch_size=5000)


def _measure(now: datetime) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts.sweeps import missed_check_ins_sweep

    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        missed_check_ins_sweep(now=now)
        seconds = time.perf_counter() - began
    return seconds, len(queries.captured_queries)


def main() -> None:
    stack.get()
    from django.utils import timezone

    from treatment.models import TreatmentPlan

    report.title("Missed check-in sweep: 1,000 and 100,000 patients on infusion")
    rows, results = [], {}
    previous: list[int] = []
    for size in SIZES:
        TreatmentPlan.objects.filter(patient_id__in=previous).delete()  # off treatment
        now = timezone.now()
        team = _team(size, now)
        print(f"  (sweep: loading {size:,} patients ...)", flush=True)
        ids = _patients(team, size, now)
        _check_ins(team, ids, now)
        first, first_queries = _measure(now)
        steady = []
        for n in range(STEADY_RUNS):
            seconds, queries = _measure(now + timedelta(seconds=n + 1))
            steady.append(seconds)
        steady_time = report.median(steady)
        results[size] = (first, steady_time)
        rows.append([f"{size:,}", f"{first * 1000:,.0f} ms", str(first_queries),
                     f"{steady_time * 1000:,.0f} ms", str(queries)])
        previous = ids
    report.table(["patients", "first sweep", "queries", "steady sweep (median)", "queries"],
                 rows)
    small, large = SIZES
    ratio = results[large][1] / max(results[small][1], 1e-9)
    report.ratio(f"steady sweep time, {large:,} / {small:,} patients", ratio,
                 goal=f"<= {large / small:.0f} (linear in the patients, never per-patient "
                      "queries)", ok=ratio <= large / small)
    report.note("queries are the same at both sizes: set-based (patients, their check-ins in "
                "the window, their missed-day rows; a few more on the first sweep)")
    running = stack.running()
    if running is not None:
        running.shared.setdefault("summary", []).append(
            ("missed check-in sweep, 100x patients", f"{ratio:.1f}x time",
             f"<= {large / small:.0f}x", ratio <= large / small))
