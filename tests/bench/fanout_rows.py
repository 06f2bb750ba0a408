"""A fan-out result row as bench/fanout.py records it, for the table and compare tests."""

from __future__ import annotations

from typing import Any


def fanout_row(target: str, viewers: int, above_idle: float) -> dict[str, Any]:
    """One merged fan-out row: `above_idle` ms per delivered frame, the rest fixed."""
    return {
        "target": target,
        "viewers": viewers,
        "cpu_ms_per_delivered_frame": above_idle + 0.5,
        "cpu_ms_per_delivered_frame_above_idle": above_idle,
        "fast_latency_ms": {"p50": 1.0, "p99": 2.0},
        "rss_mib": {"growth": 0.0},
    }
