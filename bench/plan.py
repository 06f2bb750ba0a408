"""How long and how large each workload runs: the quick and the full plan, and the frame sizes."""

from __future__ import annotations

from dataclasses import dataclass

# Real JPEG sizes of the OV3660 at the default quality (firmware-protocol.md).
FRAME_SIZES = {"QVGA": 10_000, "VGA": 30_000, "XGA": 80_000, "UXGA": 200_000, "QXGA": 500_000}


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Durations and sizes of one run."""

    ingest_sizes: tuple[str, ...]
    ingest_seconds: float
    ingest_rounds: int
    latency_seconds: float
    fanout_viewers: tuple[int, ...]
    fanout_seconds: dict[int, float]
    # Rounds of each viewer count, alternating hub and relay; the median round is kept. One
    # viewer's frames cost the hub about as much as its idle moves between windows.
    fanout_rounds: dict[int, int]
    saving_seconds: float
    churn_seconds: float
    reloads: int
    record_pre_roll: float
    record_seconds: float
    motion_sensor_rounds: int
    browser_cpu_seconds: float  # each page's CPU window (Chromium not instrumented)
    browser_cpu_warmup: float  # after the page shows its pictures, before the window
    browser_cpu_paint_seconds: float  # then the page's painted frames are counted
    browser_cpu_runs: int
    demo_logbook_seconds: float
    budget_seconds: float  # each configuration's CPU window (bench/budget.py)
    budget_rounds: int


QUICK = Plan(
    ingest_sizes=("VGA", "XGA", "UXGA"),
    ingest_seconds=4,
    ingest_rounds=3,
    latency_seconds=10,
    fanout_viewers=(1, 10, 50),
    fanout_seconds={1: 8, 10: 5, 50: 10},
    fanout_rounds={1: 3, 10: 3, 50: 1},
    saving_seconds=6,
    churn_seconds=15,
    reloads=10,
    record_pre_roll=5.0,
    record_seconds=5.0,
    motion_sensor_rounds=1,
    demo_logbook_seconds=120,
    browser_cpu_seconds=10.0,
    browser_cpu_warmup=3.0,
    browser_cpu_paint_seconds=5.0,
    browser_cpu_runs=1,
    budget_seconds=4.0,
    budget_rounds=1,
)
FULL = Plan(
    ingest_sizes=tuple(FRAME_SIZES),
    ingest_seconds=10,
    ingest_rounds=3,
    latency_seconds=30,
    fanout_viewers=(1, 10, 50),
    fanout_seconds={1: 20, 10: 20, 50: 120},
    fanout_rounds={1: 3, 10: 3, 50: 1},
    saving_seconds=20,
    churn_seconds=60,
    reloads=100,
    record_pre_roll=10.0,
    record_seconds=20.0,
    motion_sensor_rounds=5,
    demo_logbook_seconds=600,
    browser_cpu_seconds=30.0,
    browser_cpu_warmup=10.0,
    browser_cpu_paint_seconds=10.0,
    browser_cpu_runs=2,
    budget_seconds=8.0,
    budget_rounds=2,
)
