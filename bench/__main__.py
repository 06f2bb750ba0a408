"""Benchmarks of the ESP32 camera hub in a real Home Assistant, each beside its baseline.

    scripts/bench --quick              # every workload, short windows and fewer rounds
    scripts/bench                      # every workload, full length (about 12 minutes)
    scripts/bench --only ingest,latency
    scripts/bench --only record        # the record action's clip against what the camera sent
    scripts/bench --soak 10            # churn and reloads for 10 minutes
    scripts/bench --quick --compare docs/benchmarks/quick.json   # the default for --quick

After the table, every cost that got slower by more than 15 % than in the last recorded run of
the same mode (docs/benchmarks/<mode>.json; bench/compare.py) is printed.

One process tree: this runner, a `hass` process (fresh configuration, the integration and the
`bench_probe` component), the baseline server (`bench.floor`) and the load agents
(`bench.agents`), each in its own process; for the fan-out's windows a second `hass` with the
integration of 2026-11-29 (bench/reference.py). Runs of a workload and its baseline alternate, so
that the machine's noise falls on both. Prints a table; writes every figure as JSON.
The run loop is bench/runner.py; each workload is a module of its own (bench/ingest.py, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import sys

from bench import compare, runner
from bench.measure import REPO


def main() -> int:
    """Parse arguments, run, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="short windows, fewer sizes and rounds"
    )
    parser.add_argument("--only", help=f"comma-separated workloads: {', '.join(runner.WORKLOADS)}")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="churn and reloads only")
    parser.add_argument(
        "--json", type=Path, default=REPO / "bench" / "results" / "latest.json", help="output"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the hub's event loop in ingest and fan-out (bench/results/)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="JSON",
        help="the recorded run to compare with (default: docs/benchmarks/<mode>.json)",
    )
    parser.add_argument("--no-compare", action="store_true", help="print no comparison")
    arguments = parser.parse_args()
    results = asyncio.run(
        runner.run(
            quick=arguments.quick,
            only=arguments.only,
            soak=arguments.soak,
            profile=arguments.profile,
            keep=arguments.keep,
        )
    )
    lines: list[str] = []
    if not arguments.no_compare:
        recorded = arguments.compare or compare.recorded_run(results["mode"])
        lines, results["compared"] = compare.compare_with(recorded, results)
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(runner.table(results))
    print("\n".join(lines))
    print(f"\n{results['mode']} run: {results['seconds']} s; figures in {arguments.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
