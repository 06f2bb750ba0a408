"""Latency: 8 cameras at 20 fps, 2 viewers each, the push stream against HA's default stream path.

    scripts/bench --only latency

The baseline cameras are the probe's (`camera.pull_*`): Home Assistant's default MJPEG stream of
the same cameras, which pulls a still image at its own pace.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench.measure import (
    Agent,
    cpu_seconds,
    latencies_ms,
    sent_times,
    summarize,
    update_delays_ms,
    viewer_reads,
)
from bench.plan import FRAME_SIZES
from bench.table_format import cells, number, ratio
from bench.testbed import Bench, log, loop_lag, proxy_stream_path

CAMERAS = 8
CAMERA_FPS = 20
VIEWERS_PER_CAMERA = 2


async def run(bench: Bench) -> None:
    """8 cameras at 20 fps, 2 viewers each: the push stream against HA's default stream path."""
    record = bench.work / "latency-cameras.bin"
    spec = bench.camera_spec(
        "lat", CAMERAS, size=FRAME_SIZES["VGA"], fps=CAMERA_FPS, record=str(record)
    )
    cameras = await Agent.run("latency cameras", "cameras", spec)
    viewers: Agent | None = None
    try:
        entities = await bench.camera_entities("lat-", CAMERAS)
        pull = {camera_id: f"camera.pull_{e.split('.', 1)[1]}" for camera_id, e in entities.items()}
        await bench.post("/api/bench_probe/pull_cameras", {"entity_ids": list(entities.values())})
        streams = []
        for camera_id in spec["ids"]:
            streams.append(
                {"path": proxy_stream_path(entities[camera_id]), "count": VIEWERS_PER_CAMERA}
            )
            streams.append(
                {"path": proxy_stream_path(pull[camera_id]), "count": VIEWERS_PER_CAMERA}
            )
        record_dir = bench.work / "latency-viewers"
        record_dir.mkdir()
        viewers = await Agent.run(
            "latency viewers", "viewers", bench.viewer_spec(bench.hass.url, streams, record_dir)
        )
        await asyncio.sleep(1.0)
        await bench.probe(reset=True)
        cpu_0 = cpu_seconds(bench.hass.pid)
        await asyncio.sleep(bench.plan.latency_seconds)
        cpu = cpu_seconds(bench.hass.pid) - cpu_0
        lag = loop_lag(await bench.probe())
        seen = await viewers.stop()
        viewers = None
    finally:
        if viewers is not None:
            await viewers.kill()
        await cameras.stop()
    sent = sent_times(record)
    index_of = {camera_id: index for index, camera_id in enumerate(spec["ids"])}
    by_path = {proxy_stream_path(e): index_of[c] for c, e in entities.items()}
    by_path |= {proxy_stream_path(pull[c]): index_of[c] for c in entities}
    push_paths = {proxy_stream_path(e) for e in entities.values()}
    delivered: dict[str, list[float]] = {"push": [], "default": []}
    delays: dict[str, list[float]] = {"push": [], "default": []}
    rates: dict[str, list[float]] = {"push": [], "default": []}
    for viewer in seen["viewers"]:
        kind = "push" if viewer["path"] in push_paths else "default"
        camera_index, reads = by_path[viewer["path"]], viewer_reads(Path(viewer["file"]))
        delivered[kind].extend(latencies_ms(sent, camera_index, reads))
        delays[kind].extend(update_delays_ms(sent, camera_index, reads))
        rates[kind].append(viewer["frames"] / viewer["seconds"])
    seconds = bench.plan.latency_seconds
    result = bench.results["latency"] = {
        "cameras": CAMERAS,
        "viewers_per_camera": VIEWERS_PER_CAMERA,
        "camera_fps": CAMERA_FPS,
        **{
            f"{kind}_{name}": value
            for kind in ("push", "default")
            for name, value in (
                ("ms", summarize(delivered[kind])),
                ("update_delay_ms", summarize(delays[kind])),
                ("fps_per_viewer", sum(rates[kind]) / len(rates[kind])),
            )
        },
        "hub_cpu_share": cpu / seconds,
        "lag_ms": lag,
    }
    log(
        f"latency push p50 {result['push_ms']['p50']:.1f} p99 {result['push_ms']['p99']:.1f} "
        f"ms, update delay p99 {result['push_update_delay_ms']['p99']:.1f} ms; default "
        f"update delay p50 {result['default_update_delay_ms']['p50']:.1f} p99 "
        f"{result['default_update_delay_ms']['p99']:.1f} ms"
    )


def table(results: dict[str, Any]) -> list[str]:
    """The latency section: the push stream beside HA's default stream."""
    if not (latency := results.get("latency")):
        return []
    lines = [
        "",
        "Latency: last byte sent -> frame read by an MJPEG viewer (8 cameras, 20 fps)",
        cells("path", "p50 ms", "p99 ms", "max ms", "fps/viewer"),
    ]
    for name, kind in (("push (this hub)", "push"), ("HA default (baseline)", "default")):
        for what, key in (("frames read", "ms"), ("update delay", "update_delay_ms")):
            item = latency[f"{kind}_{key}"]
            lines.append(
                cells(
                    f"{name}: {what}",
                    number(item["p50"], 1),
                    number(item["p99"], 1),
                    number(item["max"], 1),
                    number(latency[f"{kind}_fps_per_viewer"], 1) if key == "ms" else "",
                )
            )
    push, default = latency["push_update_delay_ms"], latency["default_update_delay_ms"]
    lines.append(
        cells(
            "ratio push/default delay",
            number(ratio(push["p50"], default["p50"]), 3) + " p50",
            number(ratio(push["p99"], default["p99"]), 3) + " p99",
        )
    )
    return lines
