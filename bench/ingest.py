"""The ingest ceiling: cameras sending as fast as the socket allows, the hub against a server
that only reads (bench/floor.py), per frame size.

The hub is measured on its core path (receive, assemble, deliver: the cameras' motion detection
and recording on motion switched off, their clip pre-roll 0, through their entities as a user
would) and, in a row of its own, with the defaults a new camera gets (motion detection on, a 5 s
pre-roll kept).

    scripts/bench --only ingest [--profile]
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from bench.measure import Agent, cpu_seconds
from bench.plan import FRAME_SIZES
from bench.table_format import cells, number, ratio
from bench.testbed import Bench, log, loop_lag

CAMERAS = 4
# The hub's configurations, measured each beside the floor: the core path, and a new camera's
# defaults. The core path's row is the one the limits (2.4x the floor) apply to.
CORE = "core"
DEFAULTS = "defaults"
HUB_CONFIGS = (CORE, DEFAULTS)
# What the core path switches off: every feature that costs per frame beyond receiving,
# assembling and delivering: motion detection, recording on motion, and (pre-roll 0) the ring
# that keeps the last seconds for a clip's pre-roll.
CORE_PATH_OFF = ("motion_detection", "record_on_motion")
# The figure the limits apply to, by which the median round is chosen.
CPU_PER_FRAME = "cpu_s_per_1000_frames"
# Before each window: the cameras' connections reach their steady rate (TCP's receive window
# grows over the first seconds; until then a reader wakes for fewer bytes).
WARMUP_SECONDS = 3.0


async def core_path(bench: Bench, camera_ids: list[str]) -> None:
    """Switch the cameras' per-frame features off (they keep it: the hub stores it per camera)."""
    await bench.hass.switch_cameras(camera_ids, CORE_PATH_OFF, on=False)
    await bench.hass.set_camera_numbers(camera_ids, "clip_pre_roll", 0)


async def run(bench: Bench) -> None:
    """Cameras sending as fast as the socket allows: the hub against a reading-only server."""
    rows = []
    for size_name in bench.plan.ingest_sizes:
        for round_number in range(bench.plan.ingest_rounds):
            # Alternate which goes first, so that neither always runs on a warmer machine.
            # The floor between the hub's two configurations: neither always runs beside it.
            order = (
                (CORE, "floor", DEFAULTS) if round_number % 2 == 0 else (DEFAULTS, "floor", CORE)
            )
            rows.extend([await _run_once(bench, target, size_name) for target in order])
    bench.results["ingest"] = merge_rounds(rows, ("size", "target"), by=CPU_PER_FRAME)


async def _run_once(bench: Bench, target: str, size_name: str) -> dict[str, Any]:
    """One window of `target` (a hub configuration, or the floor) at `size_name`."""
    hub = target in HUB_CONFIGS
    # Each configuration's own cameras: the hub keeps their switches from round to round.
    prefix = f"ingest-{target}-{size_name.lower()}"
    spec = bench.camera_spec(prefix, CAMERAS, size=FRAME_SIZES[size_name], fps=0)
    if not hub:
        spec["port"] = bench.floor_port
    pid = bench.hass.pid if hub else bench.floor_pid
    cameras = await Agent.run(f"ingest {target}", "cameras", spec)
    try:
        await asyncio.sleep(WARMUP_SECONDS)  # connections settled, entities created
        if target == CORE:
            await core_path(bench, spec["ids"])
            await asyncio.sleep(0.5)  # an analysis already handed over finishes
        frames_0, bytes_0 = await _received(bench, hub, prefix)
        if hub:
            await bench.probe(reset=True)
        async with bench.profiled(prefix, enabled=hub):
            cpu_0, wall_0 = cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(bench.plan.ingest_seconds)
            cpu_1, wall_1 = cpu_seconds(pid), time.monotonic()
        frames_1, bytes_1 = await _received(bench, hub, prefix)
        lag = loop_lag(await bench.probe()) if hub else None
    finally:
        sent = await cameras.stop()
    frames, elapsed = frames_1 - frames_0, wall_1 - wall_0
    row = {
        "size": size_name,
        "target": target,
        "frame_bytes": FRAME_SIZES[size_name],
        "fps": frames / elapsed,
        "mb_per_s": (bytes_1 - bytes_0) / elapsed / 1e6,
        CPU_PER_FRAME: (cpu_1 - cpu_0) / frames * 1000 if frames else None,
        "cpu_share": (cpu_1 - cpu_0) / elapsed,
        "frames_sent": sent.get("frames"),
    }
    if lag is not None:
        row["lag_ms"] = lag
    log(
        f"ingest {size_name:5} {target:8} {row['fps']:7.0f} frames/s "
        f"{row['mb_per_s']:6.1f} MB/s  cpu {row[CPU_PER_FRAME] or 0:.3f} s/1000"
        + (f"  gc {lag['gc_total']:.0f} ms in {lag['gcs']}" if lag else "")
    )
    return row


async def _received(bench: Bench, hub: bool, prefix: str) -> tuple[int, int]:
    """Frames and bytes received so far by the hub (from `prefix` cameras) or the baseline."""
    if hub:
        return await bench.hub_counters(prefix)
    counters = await bench.floor_counters(bench.floor_port)
    return counters["frames"], counters["bytes"]


def merge_rounds(
    rows: list[dict[str, Any]], keys: tuple[str, ...], *, by: str
) -> list[dict[str, Any]]:
    """Keep the median round of each group of `keys` by the figure `by` (a missing one last).

    By the figure compared, not by another: the round of median frames/s may hold a window
    whose CPU per frame a full garbage collection or another process's burst doubled.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in keys), []).append(row)
    merged = []
    for group in groups.values():
        ordered = sorted(group, key=lambda row: math.inf if row[by] is None else row[by])
        merged.append({**ordered[len(ordered) // 2], "rounds": len(group)})
    return merged


def table(results: dict[str, Any]) -> list[str]:
    """The ingest section: each size's hub row beside its baseline's."""
    if not (ingest := results.get("ingest")):
        return []
    lines = [
        "",
        f"Ingest ceiling ({CAMERAS} cameras, as fast as possible; core: no motion, no recording)",
        cells("size / server", "frames/s", "MB/s", "CPU s/1000 fr", "ratio to floor"),
    ]
    by_key = {(r["size"], r["target"]): r for r in ingest}
    # "hub": a run recorded before the core path had a row of its own (the defaults).
    names = {
        CORE: "hub core",
        DEFAULTS: "hub defaults",
        "hub": "hub",
        "floor": "floor (baseline)",
    }
    for size in dict.fromkeys(r["size"] for r in ingest):
        floor = by_key[(size, "floor")]
        for target, name in names.items():
            if (item := by_key.get((size, target))) is None:
                continue
            cpu_ratio = ratio(item["cpu_s_per_1000_frames"], floor["cpu_s_per_1000_frames"])
            lines.append(
                cells(
                    f"{size} {name}",
                    number(item["fps"], 0),
                    number(item["mb_per_s"], 1),
                    number(item["cpu_s_per_1000_frames"], 3),
                    number(cpu_ratio) + "x cpu",
                )
            )
    return lines
