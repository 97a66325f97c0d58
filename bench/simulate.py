"""How long ``tocsin simulate`` takes for a day of policy time.

Scenario: seed 003's P0 acknowledged at 3 minutes and resolved after 2 hours, run to 24 h,
and seed 000's P1 left unacknowledged for 24 h (every step, reminder and repeat fires).
Baseline, same run: a scenario that only declares (the fixed cost of a throwaway database
built by the migrations and the policy applied). Target: a 24 h scenario under 2 s.

    .venv/bin/python bench/simulate.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from tocsin.simulate.runner import simulate
from tocsin.simulate.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "examples" / "policies"
CASES = {
    "seed 003 P0, ack 3m, 24h": (
        POLICIES / "seed-003-incident-response-procedures.yaml",
        (ROOT / "examples" / "scenarios" / "p0-acknowledged-at-3-minutes.yaml").read_text(),
    ),
    "seed 000 P1, never acked, 24h": (
        POLICIES / "seed-000-arabisch-online-leren.yaml",
        "start: 2026-03-28T23:30:00+01:00\n"
        "events:\n  - {at: 0m, declare: {severity: P1, title: Down}}\nuntil: 24h\n",
    ),
}
BASELINE = "start: 2026-03-28T23:30:00+01:00\nevents:\n  - {at: 0m, declare: {severity: P1}}\n"


async def _time(policy: Path, scenario: str, runs: int) -> tuple[float, int]:
    text = policy.read_text(encoding="utf-8")
    samples, effects = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        effects = len(await simulate(text, load_scenario(scenario)))
        samples.append(time.perf_counter() - began)
    return statistics.median(samples), effects


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base, _ = await _time(POLICIES / "seed-000-arabisch-online-leren.yaml", BASELINE, args.runs)
    print(f"{'scenario':34}{'median':>9}{'effects':>9}{'ratio':>8}")
    print(f"{'baseline: declare only':34}{base:>8.2f}s{'':>9}{1:>7.1f}x")
    for name, (policy, scenario) in CASES.items():
        took, effects = await _time(policy, scenario, args.runs)
        verdict = "under 2 s" if took < 2 else "OVER 2 s"
        print(f"{name:34}{took:>8.2f}s{effects:>9}{took / base:>7.1f}x  {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
