"""The bench's run loop: one `hass` with the hub and the baselines, each chosen workload in turn.

The workloads are modules, each with `run(bench)` (its figures in `bench.results[name]`) and
`table(results)` (its section of the printed table); `motion` is measured in this process without
Home Assistant (`motion.run(quick=...)`), before `hass` starts. bench/__main__.py parses the
command line and calls `run` and `table`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
import contextlib
import dataclasses
import datetime as dt
import os
from pathlib import Path
import platform
import shutil
import tempfile
import time
from typing import Any

from bench import (
    assembler,
    attacks,
    browser,
    browser_cpu,
    budget,
    churn,
    demo_logbook,
    fanout,
    h264,
    idle,
    ingest,
    latency,
    motion,
    motion_sensor,
    record,
    reference,
    saving,
)
from bench.measure import REPO
from bench.plan import FULL, QUICK, Plan
from bench.table_format import cells, number
from bench.testbed import Bench, log
from harness.hass_process import HomeAssistant, free_port

PROBE = REPO / "bench" / "probe" / "bench_probe"
# The workloads run in a real Home Assistant, in this order.
HASS_WORKLOADS: Mapping[str, Callable[[Bench], Awaitable[None]]] = {
    "idle": idle.run,
    "ingest": ingest.run,
    "latency": latency.run,
    "fanout": fanout.run,
    "saving": saving.run,
    "churn": churn.run,
    "budget": budget.run,
    "browser": browser.run,
    "browser_cpu": browser_cpu.run,
    "attacks": attacks.run,
    "record": record.run,
    "motion_sensor": motion_sensor.run,
    "demo_logbook": demo_logbook.run,
    "h264": h264.run,
}
# Measured in this process, without Home Assistant.
LOCAL_WORKLOAD = "motion"
# Also in this process, a second long: the frame assembler alone, with the workloads whose
# figures it is part of (its own figure is stable enough to flag a slower assembler).
ASSEMBLER = "assembler"
ASSEMBLER_WITH = frozenset({"ingest", "budget"})
# Every workload's name, as `--only` takes them.
WORKLOADS = (
    "idle",
    "ingest",
    "latency",
    "fanout",
    "saving",
    "churn",
    "budget",
    "browser",
    "browser_cpu",
    "attacks",
    "record",
    LOCAL_WORKLOAD,
    ASSEMBLER,
    "motion_sensor",
    "demo_logbook",
    "h264",
)
SOAK_WORKLOADS = frozenset({"idle", "churn"})
SOAK_MIN_RELOADS = 100


def loop_lag_table(results: dict[str, Any]) -> list[str]:
    """The event loop lag of every workload that sampled it (ingest, latency, saving)."""
    lag_rows = [
        (f"ingest {r['size']}", r["lag_ms"]) for r in results.get("ingest", []) if "lag_ms" in r
    ]
    if latency_figures := results.get("latency"):
        lag_rows.append(("latency", latency_figures["lag_ms"]))
    lag_rows += [
        (f"saving {'on' if r['saving'] else 'off'}", r["lag_ms"]) for r in results.get("saving", [])
    ]
    if not lag_rows:
        return []
    lines = [
        "",
        "Event loop lag under load (probe: 5 ms sleeps)",
        cells("workload", "p50 ms", "p99 ms", "max ms", "longest GC ms"),
    ]
    for name, lag in lag_rows:
        lines.append(
            cells(
                name,
                number(lag["p50"]),
                number(lag["p99"]),
                number(lag["max"]),
                number(lag.get("gc_max")),
            )
        )
    return lines


# The table's sections, in the order printed.
TABLE_SECTIONS: tuple[Callable[[dict[str, Any]], list[str]], ...] = (
    idle.table,
    ingest.table,
    latency.table,
    fanout.table,
    saving.table,
    churn.table,
    loop_lag_table,
    assembler.table,
    budget.table,
    browser.table,
    browser_cpu.table,
    motion.table,
    motion_sensor.table,
    attacks.table,
    record.table,
    demo_logbook.table,
    h264.table,
)


def table(results: dict[str, Any]) -> str:
    """Return the results as a plain-text table, each workload beside its baseline."""
    return "\n".join(line for section in TABLE_SECTIONS for line in section(results))


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def chosen(only: str | None, soak: float | None) -> set[str]:
    """The workloads to run: `--only`'s comma-separated names, the soak's, or all."""
    if soak is not None:
        return set(SOAK_WORKLOADS)
    names = set(only.split(",")) if only else set(WORKLOADS)
    return names | {ASSEMBLER} if names & ASSEMBLER_WITH else names


def _hass(directory: Path, extra_yaml: str, **options: Any) -> HomeAssistant:
    """A hass with the probe, its configuration in `directory` (not started)."""
    hass = HomeAssistant(
        directory / "config",
        free_port(),
        custom_components=[PROBE],
        extra_yaml=f"bench_probe:\n{extra_yaml}",
        **options,
    )
    (directory / "config").mkdir(parents=True)
    return hass


def _reference_bench(plan: Plan, work: Path, *, profile: bool) -> Bench | None:
    """The 11-29 integration in a hass of its own (bench/reference.py); None without its commit."""
    directory = work / "reference"
    try:
        component = reference.export(directory)
    except reference.ReferenceUnavailableError as err:
        log(f"the fan-out runs without the 11-29 reference: {err}")
        return None
    hass = _hass(directory, "", integration=component)
    label = f"reference hass ({reference.REFERENCE_DATE})"
    return Bench(plan, directory, hass, profile=profile, with_baselines=False, label=label)


async def run(
    *, quick: bool, only: str | None, soak: float | None, profile: bool, keep: bool
) -> dict[str, Any]:
    """Run the chosen workloads; return every figure."""
    plan = QUICK if quick else FULL
    if soak is not None:
        # The soak is churn for `soak` minutes, with at least SOAK_MIN_RELOADS reloads.
        plan = dataclasses.replace(
            plan, churn_seconds=soak * 60, reloads=max(plan.reloads, SOAK_MIN_RELOADS)
        )
    names = chosen(only, soak)
    started = time.monotonic()
    local: dict[str, Any] = {}
    if LOCAL_WORKLOAD in names:
        local[LOCAL_WORKLOAD] = motion.run(quick=quick)
    if ASSEMBLER in names:
        local[ASSEMBLER] = assembler.run(quick=quick)
    mode = "soak" if soak is not None else "quick" if quick else "full"
    if names <= {LOCAL_WORKLOAD, ASSEMBLER}:
        return {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "mode": mode,
            "seconds": round(time.monotonic() - started),
            "machine": machine(),
            **local,
        }
    work = Path(tempfile.mkdtemp(prefix="esp32-camera-bench-"))
    # ffmpeg: the record workload's clips get their MP4 as a user's would.
    # stream: the h264 workload's HLS (HA's player, camera/stream).
    hass = _hass(work, "camera:\n  - platform: bench_probe\nffmpeg:\nstream:\n")
    bench = Bench(
        plan,
        work,
        hass,
        profile=profile,
        reference=_reference_bench(plan, work, profile=profile) if "fanout" in names else None,
    )
    try:
        await bench.start()
        for name, workload in HASS_WORKLOADS.items():
            if name in names:
                await workload(bench)
    finally:
        await bench.stop()
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "seconds": round(time.monotonic() - started),
        "machine": machine(),
        **bench.results,
        **local,
    }
