"""`python -m bench`: run every benchmark and print its table.

Each benchmark is a module of this package with a `main() -> None`; add yours to BENCHMARKS.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["bench.alerts"]


def main(argv: list[str]) -> None:
    chosen = [name for name in BENCHMARKS if not argv or name.rsplit(".", 1)[-1] in argv]
    for name in chosen:
        importlib.import_module(name).main()


if __name__ == "__main__":
    main(sys.argv[1:])
