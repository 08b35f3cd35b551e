"""Running wrk (the load generator: a separate process, on the same machine) with
bench/checkin.lua, and reading what it measured."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.cast import SignedIn

SCRIPT = Path(__file__).with_name("checkin.lua")
THREADS = 1  # one wrk thread: on a 2-core machine wrk must not take a core of its own


def require_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (make bench installs "
                         "it when it can)")
    return found


def version() -> str:
    result = subprocess.run([require_wrk(), "--version"], capture_output=True, text=True)
    return (result.stdout or result.stderr).split(" [")[0].replace("wrk ", "").strip()


def check_in_bodies() -> dict[str, str]:
    """Form bodies as a browser sends them (every radio's checked value), with {CSRF},
    {KEY} and {TEMP} for the script to fill in per request."""
    from triage.catalogue import SYMPTOMS

    def body(grades: dict[str, int]) -> str:
        fields = {"csrfmiddlewaretoken": "{CSRF}", "submission_key": "{KEY}",
                  "temperature": "{TEMP}", "unit": "c"}
        fields.update({f"symptom_{s.code}": str(grades.get(s.code, 0)) for s in SYMPTOMS})
        fields.update({name: "" for name in ("stools_above_baseline", "vomiting_episodes_24h",
                                             "spo2", "systolic_bp", "heart_rate", "notes",
                                             "taken_at")})
        return urlencode(fields, safe="{}")

    return {
        "green": body({"fatigue": 1}),
        "amber": body({"headache": 2, "fatigue": 1}),
        "red": body({"chills": 1}),
    }


def write_data(path: Path, netloc: str, patients: list[SignedIn]) -> None:
    bodies = check_in_bodies()
    lines = [f"H\t{netloc}"]
    lines += [f"P\t{p.patient_id}\t{p.sessionid}\t{p.csrftoken}" for p in patients]
    lines += [f"B\t{kind}\t{text}" for kind, text in bodies.items()]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Run:
    mode: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    unexpected: int
    first_bad_status: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _command(base_url: str, data: Path, mode: str, seconds: float, connections: int,
             delay_ms: float) -> list[str]:
    script = SCRIPT
    if delay_ms > 0:
        # Paced load (a fixed pause before each request on each connection): a copy of the
        # script with wrk's delay() hook; without it wrk sends as fast as it can.
        script = data.parent / f"checkin-paced-{delay_ms:.0f}.lua"
        hook = f"\nfunction delay()\n  return {delay_ms:.3f}\nend\n"
        script.write_text(SCRIPT.read_text() + hook)
    seed = random.randrange(1, 2**31)
    return [require_wrk(), "-t", str(THREADS), "-c", str(connections), "-d", f"{seconds:g}s",
            "--timeout", "30s", "-s", str(script), base_url, "--", mode, str(data), str(seed)]


def _parse(returncode: int, stdout: str, stderr: str, mode: str) -> Run:
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if returncode or line is None:
        raise RuntimeError(f"wrk failed ({returncode}):\n{stdout}\n{stderr}")
    raw = json.loads(line.split(" ", 1)[1])
    errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    return Run(mode, raw["requests"], raw["duration_us"] / 1e6, raw["p50_us"] / 1000,
               raw["p95_us"] / 1000, raw["p99_us"] / 1000, errors, raw["unexpected"],
               raw["first_bad_status"])


def run(base_url: str, data: Path, mode: str, seconds: float, *, connections: int,
        delay_ms: float = 0.0) -> Run:
    """Load for `seconds`, then what wrk measured."""
    result = subprocess.run(_command(base_url, data, mode, seconds, connections, delay_ms),
                            capture_output=True, text=True, timeout=seconds + 120)
    return _parse(result.returncode, result.stdout, result.stderr, mode)


def start(base_url: str, data: Path, mode: str, *, connections: int,
          delay_ms: float = 0.0) -> subprocess.Popen:
    """Load in the background until finish() (at most 30 minutes)."""
    return subprocess.Popen(_command(base_url, data, mode, 1800, connections, delay_ms),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, mode: str) -> Run:
    """Stop background load (wrk prints its figures on SIGINT) and read them."""
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return _parse(0 if process.returncode in (0, -signal.SIGINT) else process.returncode,
                  stdout, stderr, mode)
