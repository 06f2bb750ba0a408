"""Continuous saving: 8 cameras at 20 fps VGA with the image saver on, against the same cameras
with saving off.

The cameras are on the core path (motion detection and recording on motion off: bench/ingest.py's
`core_path`), so that both rows are streaming and saving alone, as in the runs before motion
detection existed; what analysis costs is the per-frame budget's (bench/budget.py).

    scripts/bench --only saving
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.ingest import core_path
from bench.measure import Agent, cpu_seconds
from bench.plan import FRAME_SIZES
from bench.table_format import cells, number
from bench.testbed import Bench, log, loop_lag

CAMERAS = 8
PREFIX = "save"


async def run(bench: Bench) -> None:
    """Continuous saving of 8 cameras at 20 fps, against the same cameras without saving."""
    spec = bench.camera_spec(PREFIX, CAMERAS, size=FRAME_SIZES["VGA"], fps=20)
    cameras = await Agent.run("saving cameras", "cameras", spec)
    rows = []
    try:
        await bench.camera_entities(f"{PREFIX}-", CAMERAS)
        await core_path(bench, spec["ids"])
        rows = [await _run_once(bench, spec["ids"], enabled) for enabled in (False, True)]
    finally:
        await _set_saving(bench, spec["ids"], enabled=False)
        await cameras.stop()
    bench.results["saving"] = rows


async def _set_saving(bench: Bench, camera_ids: list[str], *, enabled: bool) -> None:
    async with bench.hass.websocket() as call:
        for camera_id in camera_ids:
            await call("esp32_camera/saver", camera_id=camera_id, enabled=enabled)


async def _run_once(bench: Bench, camera_ids: list[str], enabled: bool) -> dict[str, Any]:
    await _set_saving(bench, camera_ids, enabled=enabled)
    await asyncio.sleep(1.0)
    before = await _saver_counts(bench, camera_ids)
    frames_0, _ = await bench.hub_counters(f"{PREFIX}-")
    await bench.probe(reset=True)
    cpu_0 = cpu_seconds(bench.hass.pid)
    await asyncio.sleep(bench.plan.saving_seconds)
    cpu = cpu_seconds(bench.hass.pid) - cpu_0
    lag = loop_lag(await bench.probe())
    frames_1, _ = await bench.hub_counters(f"{PREFIX}-")
    after = await _saver_counts(bench, camera_ids)
    seconds = bench.plan.saving_seconds
    frames = frames_1 - frames_0
    row = {
        "saving": enabled,
        "received_fps": frames / seconds,
        "saved_fps": (after["saved_total"] - before["saved_total"]) / seconds,
        "dropped": after["dropped"] - before["dropped"],
        "errors": after["errors"] - before["errors"],
        "cpu_ms_per_frame": cpu / frames * 1000 if frames else None,
        "cpu_ms_per_frame_above_idle": (cpu - bench.idle_cpu_share * seconds) / frames * 1000
        if frames
        else None,
        "lag_ms": lag,
    }
    log(
        f"saving {'on ' if enabled else 'off'} saved {row['saved_fps']:.0f}/s of "
        f"{row['received_fps']:.0f}/s, dropped {row['dropped']}, lag p99 {lag['p99']:.1f} ms"
    )
    return row


async def _saver_counts(bench: Bench, camera_ids: list[str]) -> dict[str, int]:
    """The image saver's counters, summed over `camera_ids`."""
    stats = await bench.get("/api/esp32_camera/stats")
    totals = {"saved_total": 0, "dropped": 0, "errors": 0}
    for hub in stats["hubs"]:
        for camera_id, counters in hub["saver"]["cameras"].items():
            if camera_id in camera_ids:
                for key in totals:
                    totals[key] += counters[key]
    return totals


def table(results: dict[str, Any]) -> list[str]:
    """The saving section: saving on beside saving off."""
    if not (saving := results.get("saving")):
        return []
    lines = [
        "",
        f"Continuous saving ({CAMERAS} cameras, 20 fps VGA; core: no motion, no recording)",
        cells("saving", "saved/s", "dropped", "CPU ms/frame", "above idle", "lag p99 ms"),
    ]
    lines.extend(
        cells(
            "on" if item["saving"] else "off (baseline)",
            number(item["saved_fps"], 0),
            item["dropped"],
            number(item["cpu_ms_per_frame"], 3),
            number(item["cpu_ms_per_frame_above_idle"], 3),
            number(item["lag_ms"]["p99"], 1),
        )
        for item in saving
    )
    return lines
