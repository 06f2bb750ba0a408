"""The per-frame budget: what each stage of the hub costs per frame, each switched on alone.

    scripts/bench --only budget

Eight cameras at 20 fps (a fixed rate, as cameras send: not the ingest ceiling) send real JPEGs
of VGA, XGA and UXGA pictures. For each size the hub's `hass` is measured in turn with one stage
switched on beside the others off (the probe's stage switch, bench/probe: statistics, the
broker, its consumers, motion analysis; the hub's own settings for saving; an MJPEG viewer per
camera for live delivery). A stage's cost is its configuration's CPU per frame above idle minus
that of the configuration it needs (the ring, the motion hand-off, live delivery and saving need
the broker; motion analysis needs the hand-off). The floor is the baseline server reading and
discarding the same frames. CPU is the run time of every thread of the process
(`/proc/<pid>/task/*/schedstat`, nanoseconds), not clock ticks: the stages cost microseconds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import statistics
import time
from typing import Any

from bench.measure import Agent, cpu_ns, idle_cpu_share
from bench.table_format import cells, number
from bench.testbed import Bench, log, proxy_stream_path

CAMERAS = 8
FPS = 20
# The OV3660's JPEG at its default quality (bench/plan.py's FRAME_SIZES), with the picture's
# real dimensions: motion detection decodes it, and its cost follows the pixels.
SIZES = {"VGA": ((640, 480), 30_000), "XGA": ((1024, 768), 80_000), "UXGA": ((1600, 1200), 200_000)}
SETTLE_SECONDS = 1.0  # after a switch, before the window: queues drained, viewers connected
# After the cameras' entities appear, before the first window: their first states written
# (the recorder), detectors and rings made. Without it the first configuration paid 2-6x.
WARMUP_SECONDS = 5.0

_ALL_OFF: dict[str, Any] = {
    "statistics": False,
    "broker": False,
    "consumers": [],
    "motion_analysis": False,
}
_BROKER = {**_ALL_OFF, "broker": True}


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One configuration of the hub: a stage on beside the others off."""

    name: str
    label: str
    switch: dict[str, Any]  # the probe's body; {"restore": True} is the hub as shipped
    needs: str | None  # the configuration subtracted; None: idle
    viewer: bool = False
    saving: bool = False


STAGES = (
    Stage(name="receive", label="receive and assemble", switch=_ALL_OFF, needs=None),
    Stage(
        name="statistics",
        label="statistics",
        switch={**_ALL_OFF, "statistics": True},
        needs="receive",
    ),
    Stage(name="broker", label="broker, entity updates", switch=_BROKER, needs="receive"),
    Stage(
        name="ring", label="clip ring", switch={**_BROKER, "consumers": ["ring"]}, needs="broker"
    ),
    Stage(
        name="motion_handoff",
        label="motion hand-off",
        switch={**_BROKER, "consumers": ["motion"]},
        needs="broker",
    ),
    Stage(
        name="motion_analysis",
        label="motion analysis (default rate)",
        switch={**_BROKER, "consumers": ["motion"], "motion_analysis": True},
        needs="motion_handoff",
    ),
    Stage(name="live", label="live, 1 MJPEG viewer", switch=_BROKER, needs="broker", viewer=True),
    Stage(name="saving", label="saving every frame", switch=_BROKER, needs="broker", saving=True),
    Stage(name="shipped", label="the hub as shipped", switch={"restore": True}, needs=None),
)
# The stages whose costs add up to the hub as shipped (no viewer, saving off).
SHIPPED_PARTS = ("receive", "statistics", "broker", "ring", "motion_handoff", "motion_analysis")


@dataclass
class _Window:
    """CPU and frames of one measured window."""

    pid: int
    cpu_0: int = 0
    wall_0: float = 0.0
    cpu: float = 0.0  # seconds
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        self.cpu_0, self.wall_0 = cpu_ns(self.pid), time.monotonic()

    def stop(self) -> None:
        self.cpu = (cpu_ns(self.pid) - self.cpu_0) / 1e9
        self.seconds = time.monotonic() - self.wall_0


def per_frame_us(cpu: float, seconds: float, frames: int, idle_share: float) -> float | None:
    """CPU per frame above idle, in microseconds; None without frames."""
    return (cpu - idle_share * seconds) / frames * 1e6 if frames else None


def stage_costs(configurations: dict[str, float | None]) -> dict[str, float | None]:
    """Each stage's cost per frame: its configuration minus the one it needs."""
    costs: dict[str, float | None] = {}
    for stage in STAGES:
        value = configurations.get(stage.name)
        base = configurations.get(stage.needs) if stage.needs else 0.0
        costs[stage.name] = None if value is None or base is None else value - base
    return costs


async def run(bench: Bench) -> None:
    """Every size: idle, the floor, then the hub with each stage alone."""
    rows = []
    for size_name, (resolution, size) in SIZES.items():
        spec_fields = {"size": size, "fps": FPS, "resolution": list(resolution)}
        idle_share = await _idle_share(bench)
        floor = await _floor(bench, spec_fields)
        configurations = await _hub(bench, size_name, spec_fields, idle_share)
        costs = stage_costs({name: c["us_per_frame"] for name, c in configurations.items()})
        parts = [costs[name] for name in SHIPPED_PARTS]
        row = {
            "size": size_name,
            "resolution": list(resolution),
            "frame_bytes": size,
            "cameras": CAMERAS,
            "fps": FPS,
            "idle_cpu_share": idle_share,
            "floor_us_per_frame": floor,
            "configurations": configurations,
            "stage_us_per_frame": costs,
            "sum_of_shipped_parts_us": None if None in parts else sum(p for p in parts if p),
            "motion_percent_of_core_per_camera": _motion_share(costs),
            "motion_ms_per_analysis": _per_analysis(costs, configurations["motion_analysis"]),
        }
        rows.append(row)
        log(
            f"budget {size_name}: floor {number(floor, 1)} us/frame, "
            + ", ".join(f"{name} {number(cost, 1)}" for name, cost in costs.items())
        )
    bench.results["budget"] = rows


def _motion_share(costs: dict[str, float | None]) -> float | None:
    """Motion detection (hand-off and analysis) per camera at 20 fps, % of one core."""
    handoff, analysis = costs.get("motion_handoff"), costs.get("motion_analysis")
    if handoff is None or analysis is None:
        return None
    return (handoff + analysis) * FPS / 1e6 * 100


def _per_analysis(costs: dict[str, float | None], analysing: dict[str, Any]) -> float | None:
    """Motion analysis per analysed frame, ms: its cost per frame over the share analysed."""
    cost, analysed = costs.get("motion_analysis"), analysing.get("analysed_per_s")
    if cost is None or not analysed:
        return None
    return cost * float(analysing["frames_per_s"]) / float(analysed) / 1000


async def _idle_share(bench: Bench) -> float:
    """Home Assistant's CPU share with no camera sending (timers, the recorder)."""
    # After the previous size's (or workload's) cameras left: their states written first.
    await asyncio.sleep(WARMUP_SECONDS)
    return await idle_cpu_share(bench.hass.pid, bench.plan.budget_seconds)


async def _floor(bench: Bench, spec_fields: dict[str, Any]) -> float | None:
    """The baseline server's CPU per frame, reading and discarding the same cameras' frames."""
    spec = bench.camera_spec("budget-floor", CAMERAS, **spec_fields)
    spec["port"] = bench.floor_port
    cameras = await Agent.run("budget floor cameras", "cameras", spec)
    try:
        await asyncio.sleep(SETTLE_SECONDS)
        frames_0 = (await bench.floor_counters(bench.floor_port))["frames"]
        window = _Window(bench.floor_pid)
        window.start()
        await asyncio.sleep(bench.plan.budget_seconds)
        window.stop()
        frames = (await bench.floor_counters(bench.floor_port))["frames"] - frames_0
    finally:
        await cameras.stop()
    return per_frame_us(window.cpu, window.seconds, frames, 0.0)


async def _hub(
    bench: Bench, size_name: str, spec_fields: dict[str, Any], idle_share: float
) -> dict[str, dict[str, Any]]:
    """Every configuration of STAGES, in `plan.budget_rounds` rounds (alternate order)."""
    prefix = f"budget-{size_name.lower()}"
    spec = bench.camera_spec(prefix, CAMERAS, **spec_fields)
    cameras = await Agent.run(f"budget cameras {size_name}", "cameras", spec)
    measured: dict[str, list[dict[str, Any]]] = {stage.name: [] for stage in STAGES}
    try:
        entities = await bench.camera_entities(f"{prefix}-", CAMERAS)
        await asyncio.sleep(WARMUP_SECONDS)
        for round_number in range(bench.plan.budget_rounds):
            order = STAGES if round_number % 2 == 0 else tuple(reversed(STAGES))
            for stage in order:
                window = await _configuration(bench, stage, entities, idle_share)
                measured[stage.name].append(window)
    finally:
        await bench.post("/api/bench_probe/stages", {"restore": True})
        await cameras.stop()
    return {name: _median_round(windows) for name, windows in measured.items()}


def _median_round(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one configuration: the median CPU per frame, the rest of the first."""
    values = [w["us_per_frame"] for w in windows if w["us_per_frame"] is not None]
    return {
        **windows[0],
        "us_per_frame": statistics.median(values) if values else None,
        "rounds": [w["us_per_frame"] for w in windows],
    }


async def _configuration(
    bench: Bench, stage: Stage, entities: dict[str, str], idle_share: float
) -> dict[str, Any]:
    """Measure the hub with `stage`'s switch (its viewers, its saving) for one window."""
    state = await bench.post("/api/bench_probe/stages", stage.switch)
    viewers: Agent | None = None
    if stage.saving:
        await _set_saving(bench, list(entities), enabled=True)
    try:
        if stage.viewer:
            record_dir = bench.work / f"budget-viewers-{time.monotonic_ns()}"
            record_dir.mkdir()
            streams = [{"path": proxy_stream_path(e), "count": 1} for e in entities.values()]
            viewers = await Agent.run(
                "budget viewers",
                "viewers",
                bench.viewer_spec(bench.hass.url, streams, record_dir),
            )
        await asyncio.sleep(SETTLE_SECONDS)
        saved_0 = await _saved(bench, list(entities)) if stage.saving else 0
        counts_0 = await bench.get("/api/bench_probe/stages")
        window = _Window(bench.hass.pid)
        window.start()
        await asyncio.sleep(bench.plan.budget_seconds)
        window.stop()
        counts = await bench.get("/api/bench_probe/stages")
        frames = counts["frames"] - counts_0["frames"]
        saved = await _saved(bench, list(entities)) - saved_0 if stage.saving else None
        delivered = None
        if viewers is not None:
            seen = await viewers.stop()
            viewers = None
            delivered = sum(v["frames"] / v["seconds"] for v in seen["viewers"])
    finally:
        if viewers is not None:
            await viewers.kill()
        if stage.saving:
            await _set_saving(bench, list(entities), enabled=False)
    result = {
        "frames_per_s": frames / window.seconds,
        "cpu_share": window.cpu / window.seconds,
        "us_per_frame": per_frame_us(window.cpu, window.seconds, frames, idle_share),
        "motion_enabled": all(state.get("motion_enabled", {}).values()),
        # The rate cap analyses every second or third frame as the frames' times fall.
        "analysed_per_s": (counts["analysed"] - counts_0["analysed"]) / window.seconds,
    }
    if saved is not None:
        result["saved_per_s"] = saved / window.seconds
    if delivered is not None:
        result["delivered_per_s"] = delivered
    return result


async def _set_saving(bench: Bench, camera_ids: list[str], *, enabled: bool) -> None:
    async with bench.hass.websocket() as call:
        for camera_id in camera_ids:
            await call("esp32_camera/saver", camera_id=camera_id, enabled=enabled)


async def _saved(bench: Bench, camera_ids: list[str]) -> int:
    """Frames the image saver has saved for `camera_ids`."""
    stats = await bench.get("/api/esp32_camera/stats")
    return sum(
        counters["saved_total"]
        for hub in stats["hubs"]
        for camera_id, counters in hub["saver"]["cameras"].items()
        if camera_id in camera_ids
    )


def table(results: dict[str, Any]) -> list[str]:
    """The budget section: each stage's CPU per frame at each size, the floor beside it."""
    if not (budget := results.get("budget")):
        return []
    lines = [
        "",
        f"Per-frame budget ({CAMERAS} cameras at {FPS} fps; CPU us per frame, each stage alone)",
        cells("stage", *(row["size"] for row in budget)),
    ]
    lines.extend(
        cells(stage.label, *(number(row["stage_us_per_frame"][stage.name], 1) for row in budget))
        for stage in STAGES
    )
    lines.append(
        cells(
            "sum of the shipped stages",
            *(number(row["sum_of_shipped_parts_us"], 1) for row in budget),
        )
    )
    lines.append(
        cells("floor (read and discard)", *(number(row["floor_us_per_frame"], 1) for row in budget))
    )
    lines.append(
        cells(
            "motion, ms per analysis",
            *(number(row.get("motion_ms_per_analysis"), 2) for row in budget),
        )
    )
    lines.append(
        cells(
            "motion, % of a core per camera",
            *(number(row["motion_percent_of_core_per_camera"], 2) for row in budget),
        )
    )
    return lines
