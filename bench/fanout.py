"""Fan-out: one XGA camera at 20 fps to 1, 10 and 50 viewers plus a slow one, the hub against a
bare relay (bench/floor.py --relay).

The hub is measured on its core path (the camera's motion detection and recording on motion
switched off, its pre-roll 0: bench/ingest.py's `core_path`); one viewer also with a new
camera's defaults (motion detection on), in a row of its own, and, in every round, the
integration of 2026-11-29 (bench/reference.py), in a second `hass` started for these windows:
the core path's limit is its 11-29 cost.

Each window is steady streaming: the server's idle CPU is measured just before it (Home
Assistant's moves from minute to minute, and stays high for seconds after a heavy workload),
the camera streams a warm-up first (a new camera's entities, first states and switches are paid
once, not per frame), and CPU is every thread's run time in nanoseconds (`cpu_ns`: one viewer's
frames cost a few milliseconds a second, near a clock tick's resolution over a short window).
The bench probe's lag monitor (200 wakeups a second) is paused over the idle and CPU windows and
samples the loop's lag after them. One and ten viewers run in rounds, the median kept
(`Plan.fanout_rounds`): the hub and the relay alternate which goes first; with the 11-29 hub,
each of the three is first, second and third once in three rounds.

    scripts/bench --only fanout [--profile]
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
import time
from typing import Any

from bench.ingest import CORE, DEFAULTS, HUB_CONFIGS, core_path, merge_rounds
from bench.measure import (
    Agent,
    cpu_ns,
    idle_cpu_share,
    latencies_ms,
    rss_mib,
    sent_times,
    summarize,
    viewer_reads,
)
from bench.plan import FRAME_SIZES
from bench.reference import REFERENCE_DATE, REFERENCE_TARGET
from bench.table_format import cells, number
from bench.testbed import Bench, log, loop_lag, proxy_stream_path

# After the camera's entities appear and its switches are set, before the viewers: the first
# states (the recorder) and the switches' saves are paid once.
WARMUP_SECONDS = 5.0
# The idle window before each window: at most this long (a full run's windows are longer),
# after the previous workload's cameras and viewers have left and their states are written.
IDLE_SECONDS = 10.0
SETTLE_SECONDS = 5.0
# The event loop's lag is sampled after the CPU window, the load unchanged, for at most this long.
LAG_SECONDS = 5.0
# The figure the limits apply to, by which the median round is chosen.
CPU_ABOVE_IDLE = "cpu_ms_per_delivered_frame_above_idle"


async def run(bench: Bench) -> None:
    """One camera at 20 fps XGA to 1, 10, 50 viewers plus a slow one: hub and baseline relay."""
    async with _started(bench.reference) as reference:
        rows = []
        fewest = min(bench.plan.fanout_viewers)
        for viewers in bench.plan.fanout_viewers:
            for round_number in range(bench.plan.fanout_rounds[viewers]):
                rows.extend(
                    [
                        await _run_once(bench, reference, target, viewers, round_number)
                        for target in _order(viewers, round_number, fewest, reference is not None)
                    ]
                )
    bench.results["fanout"] = merge_rounds(rows, ("viewers", "target"), by=CPU_ABOVE_IDLE)


def _order(viewers: int, round_number: int, fewest: int, reference: bool) -> tuple[str, ...]:
    """The targets of one round, in the order they run."""
    # Alternate which goes first, so that neither always follows the same workload.
    order: tuple[str, ...] = (CORE, "floor") if (viewers + round_number) % 2 else ("floor", CORE)
    if viewers == fewest and reference:
        # One viewer, where the core path's limit is its 11-29 cost: that code too, each of the
        # three first, second and third once in three rounds.
        targets = (CORE, "floor", REFERENCE_TARGET)
        order = targets[round_number % 3 :] + targets[: round_number % 3]
    if viewers == fewest and round_number == 0:
        # The defaults' row (where motion analysis weighs most per frame), once: the limits are
        # the core path's.
        order = (*order, DEFAULTS)
    return order


@contextlib.asynccontextmanager
async def _started(reference: Bench | None) -> AsyncIterator[Bench | None]:
    """The 11-29 hub started for the fan-out's windows, stopped after; None if it cannot start.

    Only for these windows: its idle timers would otherwise run beside every other workload.
    """
    if reference is not None:
        try:
            await reference.start()
        except Exception as err:  # noqa: BLE001 - today's HA may refuse old code: no row, a reason
            log(f"the fan-out runs without the {REFERENCE_DATE} reference: it did not start: {err}")
            await reference.stop()
            reference = None
    try:
        yield reference
    finally:
        if reference is not None:
            await reference.stop()


async def _run_once(
    bench: Bench, reference: Bench | None, target: str, count: int, round_number: int
) -> dict[str, Any]:
    """One window of `target` (a hub configuration, the 11-29 hub, or the relay), `count` viewers."""
    hub = target in (*HUB_CONFIGS, REFERENCE_TARGET)
    server = _server(bench, reference, target)
    name = f"fanout-{target}-{count}-{round_number}"
    record = bench.work / f"{name}.bin"
    # Each configuration its own camera: the hub keeps its switches.
    prefix = "fan" if target != DEFAULTS else "fan_defaults"
    spec = server.camera_spec(prefix, 1, size=FRAME_SIZES["XGA"], fps=20, record=str(record))
    if not hub:
        spec["port"] = bench.relay_port
    pid = server.hass.pid if hub else bench.relay_pid
    seconds = bench.plan.fanout_seconds[count]
    await asyncio.sleep(SETTLE_SECONDS)
    if hub:  # the probe's lag monitor is not in the CPU: it samples in a window of its own
        await server.probe(lag=False)
    idle_share = await idle_cpu_share(pid, min(seconds, IDLE_SECONDS))
    cameras = await Agent.run(f"fanout camera {target}", "cameras", spec)
    viewers: Agent | None = None
    try:
        if hub:
            camera_id = spec["ids"][0]
            entity_id = (await server.camera_entities(f"{prefix}-", 1))[camera_id]
            if target == CORE:
                await core_path(bench, [camera_id])
            url, path = server.hass.url, proxy_stream_path(entity_id)
        else:
            url, path = f"http://127.0.0.1:{bench.relay_port}", "/mjpeg"
        await asyncio.sleep(WARMUP_SECONDS)
        record_dir = bench.work / name
        record_dir.mkdir()
        streams = [{"path": path, "count": count}, {"path": path, "count": 1, "slow": True}]
        viewers = await Agent.run(
            f"fanout viewers {target}", "viewers", server.viewer_spec(url, streams, record_dir)
        )
        await asyncio.sleep(1.0)
        # Every hub window: one viewer is where the hub's fixed costs per frame show most.
        async with server.profiled(name, enabled=hub):
            cpu_0, wall_0, rss = cpu_ns(pid), time.monotonic(), [rss_mib(pid)]
            for _ in range(int(seconds)):
                await asyncio.sleep(1.0)
                rss.append(rss_mib(pid))
            # Per second of the window as it lasted (each sleep wakes a little late).
            cpu_share = (cpu_ns(pid) - cpu_0) / 1e9 / (time.monotonic() - wall_0)
        lag = None
        if hub:  # the loop's lag under the same load, after the CPU window
            await server.probe(reset=True, lag=True)
            await asyncio.sleep(min(seconds, LAG_SECONDS))
            lag = loop_lag(await server.probe())
        seen = await viewers.stop()
        viewers = None
    finally:
        if hub:
            await server.probe(lag=True)
        if viewers is not None:
            await viewers.kill()
        await cameras.stop()
    sent = sent_times(record)
    fast = [v for v in seen["viewers"] if not v["slow"]]
    slow = [v for v in seen["viewers"] if v["slow"]]
    # Frames delivered over each viewer's whole viewing, CPU over the measured window: rates.
    delivered_fps = sum(v["frames"] / v["seconds"] for v in seen["viewers"])
    fast_latency: list[float] = []
    for viewer in fast:
        fast_latency.extend(latencies_ms(sent, 0, viewer_reads(Path(viewer["file"]))))
    quarter = max(1, len(rss) // 4)
    row = {
        "target": target,
        "viewers": count,
        "slow_viewers": 1,
        "delivered_fps": delivered_fps,
        "cpu_ms_per_delivered_frame": cpu_share / delivered_fps * 1000 if delivered_fps else None,
        "cpu_share": cpu_share,
        "idle_cpu_share": idle_share,
        # The server's CPU above what it spends idle (Home Assistant: timers, the recorder).
        CPU_ABOVE_IDLE: (
            (cpu_share - idle_share) / delivered_fps * 1000 if delivered_fps else None
        ),
        "fast_viewer_fps": sum(v["frames"] / v["seconds"] for v in fast) / len(fast),
        "slow_viewer_frames": sum(v["frames"] for v in slow),
        "fast_latency_ms": summarize(fast_latency),
        "rss_mib": {
            "start": rss[0],
            "end": rss[-1],
            "max": max(rss),
            # Growth: the last quarter's mean against the first quarter's.
            "growth": sum(rss[-quarter:]) / quarter - sum(rss[:quarter]) / quarter,
        },
        "seconds": seconds,
    }
    if lag is not None:
        row["lag_ms"] = lag
    log(
        f"fanout {count:3} viewers {target:8} cpu {row['cpu_ms_per_delivered_frame'] or 0:.3f} "
        f"ms/frame, fast p50 {row['fast_latency_ms']['p50']:.1f} p99 "
        f"{row['fast_latency_ms']['p99']:.1f} ms, rss {rss[0]:.0f}->{rss[-1]:.0f} MiB"
    )
    return row


def _server(bench: Bench, reference: Bench | None, target: str) -> Bench:
    """The `hass` whose hub a target measures: the 11-29 hub runs in one of its own."""
    if target != REFERENCE_TARGET:
        return bench
    if reference is None:
        raise ValueError(f"no {REFERENCE_DATE} reference to measure")
    return reference


def table(results: dict[str, Any]) -> list[str]:
    """The fan-out section: each viewer count, the hub beside the bare relay (and 11-29's hub)."""
    if not (fanout := results.get("fanout")):
        return []
    lines = [
        "",
        "Fan-out: one XGA camera at 20 fps, N viewers + 1 slow (1/s); core: no motion, no recording",
        cells(
            "viewers / server",
            "CPU ms/frame",
            "above idle",
            "fast p50 ms",
            "fast p99 ms",
            "RSS growth MiB",
        ),
    ]
    # "hub": a run recorded before the core path had a row of its own (the defaults).
    names = {
        CORE: "hub core",
        DEFAULTS: "hub defaults",
        "hub": "hub",
        REFERENCE_TARGET: f"hub {REFERENCE_DATE}",
        "floor": "floor (baseline)",
    }
    lines.extend(
        cells(
            f"{item['viewers']} {names[item['target']]}",
            number(item["cpu_ms_per_delivered_frame"], 3),
            number(item["cpu_ms_per_delivered_frame_above_idle"], 3),
            number(item["fast_latency_ms"]["p50"], 1),
            number(item["fast_latency_ms"]["p99"], 1),
            number(item["rss_mib"]["growth"], 1),
        )
        for item in fanout
    )
    above = {(row["viewers"], row["target"]): row[CPU_ABOVE_IDLE] for row in fanout}
    for viewers in sorted({row["viewers"] for row in fanout}):
        core, then = above.get((viewers, CORE)), above.get((viewers, REFERENCE_TARGET))
        if core is not None and then:
            lines.append(
                f"{viewers} viewer(s): the core path costs {core / then:.2f}x "
                f"the {REFERENCE_DATE} hub above idle"
            )
    return lines
