"""The idle hub: the event loop lag and CPU the other workloads' figures compare with.

scripts/bench --only idle
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.measure import cpu_seconds, rss_mib
from bench.table_format import cells, number
from bench.testbed import Bench

SECONDS = 3.0


async def run(bench: Bench) -> None:
    """Event loop lag of the idle hub: the floor the other workloads' lag compares with."""
    await bench.probe(reset=True)
    cpu_0 = cpu_seconds(bench.hass.pid)
    await asyncio.sleep(SECONDS)
    # Kept on the bench: fan-out and saving subtract it to give the hub's own CPU per frame.
    bench.idle_cpu_share = (cpu_seconds(bench.hass.pid) - cpu_0) / SECONDS
    sample = await bench.probe()
    bench.results["idle"] = {
        "lag_ms": sample["lag_ms"],
        "rss_mib": rss_mib(bench.hass.pid),
        "cpu_share": bench.idle_cpu_share,
    }


def table(results: dict[str, Any]) -> list[str]:
    """The idle hub's section of the table (the first: no blank line before it)."""
    if not (idle := results.get("idle")):
        return []
    lag = idle["lag_ms"]
    return [
        "Idle hub: event loop lag",
        cells("", "p50 ms", "p99 ms", "max ms", "CPU share"),
        cells(
            "idle",
            number(lag["p50"]),
            number(lag["p99"]),
            number(lag["max"]),
            number(idle["cpu_share"], 3),
        ),
    ]
