"""Printing the benchmarks' tables, and writing them into docs/performance.md.

Everything a benchmark prints goes through sys.stdout, which `capture()` copies, so that
`python -m bench --write-docs` writes exactly the text that was printed.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
START = "<!-- bench-results:start (written by `make bench-docs`; edits here are lost) -->"
END = "<!-- bench-results:end -->"


class _Tee(io.TextIOBase):
    def __init__(self, stream) -> None:
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def capture() -> _Tee:
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    return tee


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({model or platform.processor()}){memory}"


def versions() -> str:
    names = ["Django", "celery", "kombu", "gunicorn", "psycopg", "redis"]
    found = []
    for name in names:
        with contextlib.suppress(Exception):  # not installed: say nothing
            found.append(f"{name} {version(name)}")
    return f"Python {platform.python_version()}, " + ", ".join(found)


def header() -> None:
    print(f"Homeline benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"  machine: {machine()}; {platform.system()} {platform.release()}")
    print(f"  software: {versions()}")
    print("  Absolute times vary with this shared, noisy machine; the ratios, measured in one "
          "run, are the figures to compare.")


def title(text: str) -> None:
    print(f"\n{text}", flush=True)


def note(text: str) -> None:
    print(f"  {text}", flush=True)


def table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for n, row in enumerate([headers, *rows]):
        cells = [str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                 for i, c in enumerate(row)]
        print("  " + "  ".join(cells).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    sys.stdout.flush()


def ratio(label: str, value: float, *, goal: str, ok: bool) -> None:
    print(f"  {label}: {value:.2f}   goal {goal}: {'met' if ok else 'NOT MET'}", flush=True)


def summary(rows: list[tuple[str, str, str, bool]]) -> None:
    if not rows:
        return
    title("Goals (ratios measured in this run)")
    table(["", "measured", "goal", ""], [[a, b, c, "met" if ok else "NOT MET"]
                                         for a, b, c, ok in rows])


def write_docs(text: str) -> None:
    block = f"{START}\n\n```text\n{text.strip()}\n```\n\n{END}"
    current = DOCS.read_text() if DOCS.exists() else "# Performance\n\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1]
        current = before + block + after
    else:
        current = current.rstrip() + "\n\n## Latest run\n\n" + block + "\n"
    DOCS.write_text(current)
    print(f"\nWritten to {DOCS.relative_to(DOCS.parent.parent)}")
