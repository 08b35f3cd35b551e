"""`python -m bench`: run the benchmarks and print their tables (`make bench`).

    python -m bench                  # all, in order
    python -m bench alerts scale     # some (by module name)
    python -m bench --write-docs     # and write the printed text into docs/performance.md

Each benchmark is a module of this package with a `main() -> None`. Those that need the
production-like stack (bench/stack.py) start it on first use; it is stopped at the end.
Memory runs last, to read the peaks the others left.
"""

from __future__ import annotations

import importlib
import sys
import time

from bench import report, stack

BENCHMARKS = ["bench.rules", "bench.throughput", "bench.alerts", "bench.scale", "bench.sweep",
              "bench.memory"]


def main(argv: list[str]) -> None:
    write_docs = "--write-docs" in argv
    names = [a for a in argv if not a.startswith("-")]
    unknown = [n for n in names if f"bench.{n}" not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from "
                         f"{[b.rsplit('.', 1)[-1] for b in BENCHMARKS]}")
    chosen = [name for name in BENCHMARKS if not names or name.rsplit(".", 1)[-1] in names]
    tee = report.capture()
    began = time.perf_counter()
    report.header()
    try:
        for name in chosen:
            importlib.import_module(name).main()
        running = stack.running()
        if running is not None:
            report.summary(running.shared.get("summary", []))
            report.note(f"stack: PostgreSQL {running.versions.get('PostgreSQL')}, Redis "
                        f"{running.versions.get('Redis')}; {running.database_note}")
    finally:
        stack.stop()
    report.note(f"whole run: {(time.perf_counter() - began) / 60:.1f} min")
    sys.stdout = tee.stream
    if write_docs:
        report.write_docs(tee.copy.getvalue())


if __name__ == "__main__":
    main(sys.argv[1:])
