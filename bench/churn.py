"""Churn: 16 cameras that come and go (half in mid-frame) while the hub entry reloads; what the
hub holds (tasks, file descriptors, sockets, threads, memory) before against after.

    scripts/bench --only churn
    scripts/bench --soak 10        # idle and churn only, for 10 minutes, at least 100 reloads
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from bench.measure import Agent, rss_mib, summarize
from bench.table_format import cells, number
from bench.testbed import Bench, log
from harness.hass_process import wait_until

CAMERAS = 16
PREFIX = "churn"
COUNTED = ("tasks", "fds", "sockets", "threads", "rss_mib")


async def run(bench: Bench) -> None:
    """16 cameras that come and go (half in mid-frame) while the hub entry reloads."""
    seconds, reloads = bench.plan.churn_seconds, bench.plan.reloads
    spec = bench.camera_spec(PREFIX, CAMERAS, size=40_000, fps=10, churn=True)  # chunked
    # Warm up: the cameras' devices and entities exist, and the hub has been reloaded once,
    # before the "before" counts, so that both counts see the same hub.
    warmup = await Agent.run("churn warm-up", "cameras", {**spec, "churn": False})
    await bench.camera_entities(f"{PREFIX}-", CAMERAS)
    await _reload(bench)
    await bench.camera_entities(f"{PREFIX}-", CAMERAS)
    await warmup.stop()
    await _wait_disconnected(bench, f"{PREFIX}-")
    await _wait_recorder(bench)
    before = await bench.probe(collect=True)
    before["rss_mib"] = rss_mib(bench.hass.pid)
    cameras = await Agent.run("churn cameras", "cameras", spec)
    reload_results = []
    rss_by_reload: list[float] = []
    try:
        # One reload at a random moment of each slot, cameras churning throughout.
        slot, started = seconds / max(1, reloads), time.monotonic()
        for reload_number in range(reloads):
            moment = started + (reload_number + random.random()) * slot
            await asyncio.sleep(max(0.0, moment - time.monotonic()))
            reload_results.append(await _reload(bench))
            rss_by_reload.append(rss_mib(bench.hass.pid))
        await asyncio.sleep(max(0.0, started + seconds - time.monotonic()) + 2.0)
    finally:
        sent = await cameras.stop()
    await _wait_disconnected(bench, f"{PREFIX}-")
    backlog = (await bench.probe()).get("recorder_backlog")
    # Every reload makes each entity unavailable and back: hundreds of states for the
    # recorder, which on two cores falls behind; its queue is memory, not a leak. Count
    # after it has caught up.
    await _wait_recorder(bench)
    after = await bench.probe(collect=True)
    after["rss_mib"] = rss_mib(bench.hass.pid)
    result = bench.results["churn"] = {
        "cameras": CAMERAS,
        "seconds": seconds,
        "reloads": len(reload_results),
        "reloads_with_ports_free": sum(all(r["ports_free"]) for r in reload_results),
        "reloads_loaded_again": sum(r["loaded"] for r in reload_results),
        "unload_ms": summarize(r["unload_s"] * 1000 for r in reload_results),
        "setup_ms": summarize(r["setup_s"] * 1000 for r in reload_results),
        "connections": sent.get("connections"),
        "vanished_mid_frame": sent.get("vanished_mid_frame"),
        "frames_sent": sent.get("frames"),
        "before": {key: before[key] for key in COUNTED},
        "after": {key: after[key] for key in COUNTED},
        # A leak grows with every reload; a warming cache grows early and then stays.
        "rss_growth_first_half_mib": _growth(rss_by_reload[: len(rss_by_reload) // 2 + 1]),
        "rss_growth_second_half_mib": _growth(rss_by_reload[len(rss_by_reload) // 2 :]),
        "recorder_backlog_at_end": backlog,
        "objects_before": before.get("objects"),
        "objects_after": after.get("objects"),
    }
    log(
        f"churn {result['reloads']} reloads ({result['reloads_with_ports_free']} freed both "
        f"ports), {result['connections']} connections, {result['vanished_mid_frame']} vanished "
        f"mid-frame; before {result['before']} after {result['after']}"
    )


async def _reload(bench: Bench) -> dict[str, Any]:
    """Reload the hub entry through the probe (which checks that both ports were freed)."""
    return dict(
        await bench.post(
            "/api/bench_probe/reload",
            {
                "entry_id": bench.hass.hub_entry_id,
                "ports": [bench.stream_port, bench.control_port],
            },
        )
    )


async def _wait_recorder(bench: Bench) -> None:
    async def caught_up() -> bool:
        return not (await bench.probe()).get("recorder_backlog")

    await wait_until("the recorder to catch up", caught_up, timeout=300)


async def _wait_disconnected(bench: Bench, prefix: str) -> None:
    async def gone() -> bool:
        stats = await bench.get("/api/esp32_camera/stats")
        return not any(
            camera["connected"]
            for hub in stats["hubs"]
            for camera_id, camera in hub["cameras"].items()
            if camera_id.startswith(prefix)
        )

    await wait_until(f"cameras {prefix}* to disconnect", gone, timeout=60)
    await asyncio.sleep(1.0)  # closing sockets and their tasks finish


def _growth(samples: list[float]) -> float | None:
    return samples[-1] - samples[0] if len(samples) > 1 else None


def table(results: dict[str, Any]) -> list[str]:
    """The churn section: the hub's resources before and after the reloads."""
    if not (churn := results.get("churn")):
        return []
    lines = [
        "",
        (
            f"Churn: {churn['cameras']} cameras coming and going, {churn['reloads']} reloads "
            f"in {churn['seconds']:.0f} s ({churn['reloads_with_ports_free']} freed both ports)"
        ),
        cells("", "tasks", "fds", "sockets", "threads", "RSS MiB"),
    ]
    for when in ("before", "after"):
        item = churn[when]
        lines.append(
            cells(
                when,
                item["tasks"],
                item["fds"],
                item["sockets"],
                item["threads"],
                number(item["rss_mib"], 1),
            )
        )
    lines.append(
        f"RSS growth over the first half of the reloads "
        f"{number(churn['rss_growth_first_half_mib'], 1)} MiB, over the second half "
        f"{number(churn['rss_growth_second_half_mib'], 1)} MiB; "
        f"unload p50 {number(churn['unload_ms']['p50'], 0)} ms max "
        f"{number(churn['unload_ms']['max'], 0)} ms, "
        f"set-up p50 {number(churn['setup_ms']['p50'], 0)} ms"
    )
    return lines
