"""The rule engine alone: check-ins judged per second on one core.

A realistic mix (about 80 % green, 15 % amber, 5 % red, with history for `worsening`),
judged by triage.rules.evaluate() with no database. Printed beside the cost of parsing
the same check-ins (triage.validation.parse_check_in), which every saved check-in also
pays, so the ratio says what grading adds to reading.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

ROUNDS = int(os.environ.get("BENCH_RULES_ROUNDS", "5"))
PER_ROUND = int(os.environ.get("BENCH_RULES_CHECK_INS", "20000"))


def _mix(rng: random.Random, n: int) -> list[dict]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    raws = []
    for i in range(n):
        roll = rng.random()
        raw: dict = {"recorded_at": (start + timedelta(hours=8 * i)).isoformat(),
                     "temperature_c": round(rng.uniform(36.1, 37.3), 1)}
        if roll < 0.80:  # green: mild symptoms at most
            raw["symptoms"] = {"fatigue": 1, "nausea": rng.randint(0, 1)}
        elif roll < 0.95:  # amber: one amber finding
            raw["symptoms"] = {"headache": 2, "fatigue": 1}
        else:  # red
            raw["temperature_c"] = 38.2
            raw["symptoms"] = {"chills": 1}
        raws.append(raw)
    return raws


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from triage.rules import RuleSet, evaluate
    from triage.validation import parse_check_in

    rng = random.Random(42)
    raws = _mix(rng, PER_ROUND)
    ruleset = RuleSet.default()
    parse_rates, judge_rates = [], []
    severities: dict[str, int] = {}
    for _ in range(ROUNDS):
        began = time.perf_counter()
        parsed = [parse_check_in(raw) for raw in raws]
        parse_rates.append(len(parsed) / (time.perf_counter() - began))
        began = time.perf_counter()
        history: list = []
        for check_in in parsed:
            result = evaluate(check_in, history, ruleset)
            severities[result.severity] = severities.get(result.severity, 0) + 1
            history = [check_in]
        judge_rates.append(len(parsed) / (time.perf_counter() - began))
    total = sum(severities.values())
    mix = ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in sorted(severities.items()))
    parse_median, judge_median = statistics.median(parse_rates), statistics.median(judge_rates)
    print("\n4. Rule engine alone (one core, no database)")
    print(f"  machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {ROUNDS} rounds of {PER_ROUND}; mix: {mix}")
    print(f"  {'measure':<38}{'median':>14}{'min':>14}{'max':>14}")
    print(f"  {'parse_check_in, per second':<38}{parse_median:>14,.0f}"
          f"{min(parse_rates):>14,.0f}{max(parse_rates):>14,.0f}")
    print(f"  {'evaluate, per second':<38}{judge_median:>14,.0f}"
          f"{min(judge_rates):>14,.0f}{max(judge_rates):>14,.0f}")
    print(f"  {'ratio evaluate / parse':<38}{judge_median / parse_median:>14.2f}")


if __name__ == "__main__":
    main()
