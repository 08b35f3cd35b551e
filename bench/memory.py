"""Memory: the peak resident set (VmHWM) of each web worker and Celery process after the
other benchmarks have run on the stack (run it last)."""

from __future__ import annotations

from pathlib import Path

from bench import report, stack


def _mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    s = stack.running() or stack.get()
    report.title("5. Memory: peak RSS (VmHWM) after the runs")
    rows = []
    for name, label in (("web", "gunicorn"), ("worker", "Celery worker")):
        main_pid, children = s.pids(name)
        rows.append([f"{label} master / main process", f"{_mb(main_pid, 'VmHWM'):.0f}", "",
                     f"{_mb(main_pid, 'VmRSS'):.0f}"])
        peaks = [_mb(pid, "VmHWM") for pid in children]
        rows.append([f"{label} {'workers' if name == 'web' else 'pool processes'}",
                     f"{max(peaks, default=0):.0f}", " / ".join(f"{p:.0f}" for p in peaks),
                     " / ".join(f"{_mb(pid, 'VmRSS'):.0f}" for pid in children)])
    report.table(["process", "peak MB (largest)", "peak each", "now each"], rows)
    from django.contrib.auth.hashers import Argon2PasswordHasher

    if s.shared.get("staff_signed_in"):
        report.note(f"a sign-in hashes its password with Argon2 (memory_cost "
                    f"{Argon2PasswordHasher.memory_cost // 1024} MiB): the web worker that "
                    "served the nurse's sign-in peaks that much higher than the other")
