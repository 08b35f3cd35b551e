"""Check-in throughput: signed-in patients POSTing check-ins, against a trivial view behind
the same middleware, on the benchmark stack (bench/stack.py).

wrk (bench/checkin.lua) posts a realistic mix (about 80 % green, 15 % amber, 5 % red) as
2,000 patients taking turns; the trivial view gets the same body from the same sessions.
After a warm-up of each, they run interleaved (ABBA order) for several rounds; printed are
the requests per second of each (median of the rounds), their median and p95 latency, and
the ratio check-in / trivial. The check-in's median rate is this machine's peak, which the
alert benchmark loads to half.

    BENCH_PATIENTS=2000 BENCH_ROUNDS=4 BENCH_ROUND_SECONDS=10 BENCH_CONNECTIONS=4
"""

from __future__ import annotations

import os
import statistics
import uuid

from bench import report, stack, wrk
from bench.cast import signed_in_patients, teams
from bench.http import Client

PATIENTS = int(os.environ.get("BENCH_PATIENTS", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
ROUND_SECONDS = float(os.environ.get("BENCH_ROUND_SECONDS", "10"))
WARM_UP_SECONDS = float(os.environ.get("BENCH_WARM_UP_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
PER_TEAM = 100


def prepare(s: stack.Stack):
    """The patients and wrk's data file (made once per run; the alert benchmark reuses it
    for its background load)."""
    if "throughput_data" in s.shared:
        return s.shared["throughput_data"]
    cast = signed_in_patients(teams("Throughput", max(1, PATIENTS // PER_TEAM)),
                              PER_TEAM, "THR")
    data = s.tmp / "wrk-patients.tsv"
    wrk.write_data(data, f"127.0.0.1:{s.port}", cast)
    _sanity_check(s, cast[0])
    s.shared["throughput_data"] = data
    s.shared["throughput_patients"] = len(cast)
    return data


def _sanity_check(s: stack.Stack, patient) -> None:
    """One request of each kind through the real stack, checked, before any load."""
    from symptoms.models import CheckIn

    client = Client(s.base_url)
    client.cookies = {"sessionid": patient.sessionid, "csrftoken": patient.csrftoken}
    bodies = wrk.check_in_bodies()
    path = f"/patients/{patient.patient_id}/check-in/"
    for kind, temperature in (("green", "36.8"), ("amber", "37.0"), ("red", "38.4")):
        key = str(uuid.uuid4())
        body = dict(pair.split("=", 1) for pair in bodies[kind].split("&"))
        body.update(csrfmiddlewaretoken=patient.csrftoken, submission_key=key,
                    temperature=temperature)
        answer = client.post(path, body)
        saved = CheckIn.objects.filter(submission_key=key).first()
        if answer.status != 302 or saved is None or saved.severity != kind:
            raise RuntimeError(f"a {kind} check-in answered {answer.status} "
                               f"({saved and saved.severity}):\n{answer.text[:2000]}")
    answer = client.post("/bench/trivial/", {"csrfmiddlewaretoken": patient.csrftoken})
    if answer.status != 200:
        raise RuntimeError(f"the trivial view answered {answer.status}: is "
                           "HOMELINE_BENCH_VIEWS wired in portal/urls.py?")


def peak_rps(s: stack.Stack) -> float:
    """The check-in peak measured in this run, or a short measurement of it."""
    if "checkin_peak_rps" not in s.shared:
        data = prepare(s)
        wrk.run(s.base_url, data, "checkin", WARM_UP_SECONDS, connections=CONNECTIONS)
        s.shared["checkin_peak_rps"] = wrk.run(s.base_url, data, "checkin", ROUND_SECONDS,
                                               connections=CONNECTIONS).rps
    return s.shared["checkin_peak_rps"]


def main() -> None:
    s = stack.get()
    from symptoms.models import CheckIn

    data = prepare(s)
    for mode in ("trivial", "checkin"):
        wrk.run(s.base_url, data, mode, WARM_UP_SECONDS, connections=CONNECTIONS)
    before = CheckIn.objects.count()
    runs: dict[str, list[wrk.Run]] = {"trivial": [], "checkin": []}
    for n in range(ROUNDS):
        order = ("trivial", "checkin") if n % 2 == 0 else ("checkin", "trivial")
        for mode in order:
            runs[mode].append(wrk.run(s.base_url, data, mode, ROUND_SECONDS,
                                      connections=CONNECTIONS))
    saved = CheckIn.objects.count() - before
    mix = _mix()
    rps = {mode: statistics.median(r.rps for r in rs) for mode, rs in runs.items()}
    s.shared["checkin_peak_rps"] = rps["checkin"]
    ratio = rps["checkin"] / rps["trivial"]
    s.shared.setdefault("summary", []).append(
        ("check-in throughput / trivial view", f"{ratio:.2f}", ">= 0.25", ratio >= 0.25))

    report.title("1. Check-in throughput (POST, signed-in patients) against a trivial view")
    report.note(f"wrk {wrk.version()}: {wrk.THREADS} thread, {CONNECTIONS} connections, "
                f"{s.shared['throughput_patients']:,} patients taking turns; warm-up "
                f"{WARM_UP_SECONDS:g} s each, then {ROUNDS} rounds of {ROUND_SECONDS:g} s, "
                "interleaved ABBA")
    report.note(f"check-ins saved in the measured rounds: {saved:,}; all saved so far: {mix}")
    report.note("the trivial view is /bench/trivial/: the same session, CSRF check and "
                "middleware, no work; a check-in answers 302 to its result page (not followed)")
    rows = []
    for mode, label in (("trivial", "trivial view (POST)"), ("checkin", "check-in (POST)")):
        rs = runs[mode]
        bad = sum(r.errors + r.unexpected for r in rs)
        rows.append([label, f"{rps[mode]:,.1f}",
                     " / ".join(f"{r.rps:,.0f}" for r in rs),
                     f"{statistics.median(r.p50_ms for r in rs):.1f}",
                     f"{statistics.median(r.p95_ms for r in rs):.1f}",
                     f"{bad}" + (f" (first status {first_bad})" if (first_bad := next(
                         (r.first_bad_status for r in rs if r.first_bad_status), 0)) else "")])
    report.table(["", "req/s", "rounds req/s", "p50 ms", "p95 ms", "errors"], rows)
    report.ratio("ratio check-in / trivial (req/s)", ratio, goal=">= 0.25", ok=ratio >= 0.25)


def _mix() -> str:
    """Severities of every check-in the load made (the script picks them at random)."""
    from django.db.models import Count

    from symptoms.models import CheckIn

    rows = (CheckIn.objects.filter(patient__hospital_number__startswith="THR")
            .values("severity").annotate(n=Count("pk")))
    total = sum(r["n"] for r in rows) or 1
    return ", ".join(f"{r['severity']} {100 * r['n'] / total:.0f} %"
                     for r in sorted(rows, key=lambda r: r["severity"]))
