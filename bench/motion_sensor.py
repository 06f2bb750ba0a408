"""From the first moving frame to the motion binary sensor turning on, in a real Home Assistant.

    scripts/bench --only motion_sensor

One token camera (this process, the wire protocol) plays the crossing scene at 20 fps with motion
detection on; a WebSocket client subscribed to `state_changed` notes when the camera's motion
binary sensor turns on. The delay runs from the moment the first labelled moving frame's last byte
reached the kernel to the state change's arrival at the client, both on this machine's monotonic
clock: it includes the hub's analysis rate cap, the worker thread, the entity's state write and
Home Assistant's event bus and WebSocket. Beside it, the baseline: the same detector on the same
frames in this process, with nothing around it (the on-delay that is the detector's own).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any, Self

import aiohttp

from bench.measure import summarize
from bench.motion import detection
from bench.wire import WireCamera, footer_count, frame_messages
from esp32_simulator.scenes import FPS, build_scenes
from harness.hass_process import camera_entities, wait_until

if TYPE_CHECKING:
    from bench.testbed import Bench

CAMERA_ID = "motion-1"
FRAME_PERIOD_MS = 1000 / FPS


def _log(message: str) -> None:
    print(f"[bench] motion_sensor: {message}", flush=True)


class _StateWatch:
    """A WebSocket subscribed to one entity's state changes: when (monotonic ns) it became what."""

    def __init__(self, bench: Bench, entity_id: str) -> None:
        self._bench = bench
        self._entity_id = entity_id
        self.changes: list[tuple[int, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._subscribed.wait(), 30)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def state(self) -> str | None:
        return self.changes[-1][1] if self.changes else None

    async def _run(self) -> None:
        hass = self._bench.hass
        async with hass.session.ws_connect(f"{hass.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self._bench.access_token})
            await ws.receive_json()
            await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                arrived = time.monotonic_ns()
                answer = message.json()
                if answer.get("type") == "result":
                    self._subscribed.set()
                    continue
                data = answer.get("event", {}).get("data", {})
                if data.get("entity_id") == self._entity_id and data.get("new_state"):
                    self.changes.append((arrived, data["new_state"]["state"]))


async def _entity_ids(bench: Bench) -> tuple[str, str]:
    """Return the camera's motion binary sensor and motion detection switch."""
    sensor, switch = (
        ("binary_sensor", f"{CAMERA_ID}_motion"),
        ("switch", f"{CAMERA_ID}_motion_detection"),
    )
    found: dict[tuple[str, str], str] = {}

    async def listed() -> bool:
        async with bench.hass.websocket() as call:
            found.update(await camera_entities(call, [CAMERA_ID]))
        return sensor in found and switch in found

    await wait_until(f"the motion entities of {CAMERA_ID}", listed, timeout=60)
    return found[sensor], found[switch]


async def run(bench: Bench) -> None:
    """Play the crossing scene the plan's rounds times; store the on-delays in bench.results."""
    rounds = bench.plan.motion_sensor_rounds
    scene = build_scenes()["crossing"]
    frames = list(scene)
    labels = list(scene.motion)
    messages = [frame_messages(jpeg, frame_id=1) for jpeg in frames]
    footers = [footer_count(len(jpeg)) for jpeg in frames]
    camera = WireCamera("127.0.0.1", bench.stream_port, CAMERA_ID, bench.hub_token)
    await camera.connect()
    period = 1.0 / FPS
    stop_idle = asyncio.Event()

    async def idle() -> None:  # the empty room until motion detection is on, and between rounds
        next_at = time.monotonic()
        while not stop_idle.is_set():
            await camera.send_frame(messages[0], footers[0])
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    delays_ms: list[float] = []
    missed = 0
    try:
        idling = asyncio.create_task(idle())
        sensor, switch = await _entity_ids(bench)
        async with bench.hass.websocket() as call:
            await call(
                "call_service",
                domain="switch",
                service="turn_on",
                service_data={"entity_id": switch},
            )
        async with _StateWatch(bench, sensor) as watch:
            for round_number in range(rounds):
                await asyncio.sleep(2.0)  # a settled background
                stop_idle.set()
                await idling
                sent_at: list[int] = []
                next_at = time.monotonic()
                for number, frame in enumerate(messages):
                    sent_at.append(await camera.send_frame(frame, footers[number]))
                    next_at += period
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                stop_idle.clear()
                idling = asyncio.create_task(idle())
                deadline = time.monotonic() + 30
                while watch.state() != "off" and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)  # the cool-down after the last crossing
                ons = [arrived for arrived, state in watch.changes if state == "on"]
                _log(f"round {round_number + 1}: sensor states {[s for _, s in watch.changes]}")
                for first, end in labels:
                    start, stop = sent_at[first], sent_at[end - 1] + int(5e9)
                    hit = [arrived for arrived in ons if start <= arrived <= stop]
                    if hit:
                        delays_ms.append((hit[0] - start) / 1e6)
                    else:
                        missed += 1
                watch.changes.clear()
                _log(f"round {round_number + 1}: delays so far {delays_ms} ms, missed {missed}")
        stop_idle.set()
        await idling
    finally:
        camera.abort()
    if not delays_ms:
        raise RuntimeError(f"the motion sensor never turned on over {rounds} rounds")
    baseline = detection({"crossing": scene}, ("crossing",))[0]["on_delay_frames"]
    summary = summarize(delays_ms)
    bench.results["motion_sensor"] = {
        "camera_fps": FPS,
        "crossings": len(labels) * rounds,
        "missed": missed,
        "on_delay_ms": summary,
        "on_delay_frames": {
            key: value / FRAME_PERIOD_MS for key, value in summary.items() if key != "count"
        },
        "detector_alone_frames": baseline,
    }
    _log(
        f"on-delay p50 {summary['p50']:.0f} ms ({summary['p50'] / FRAME_PERIOD_MS:.1f} frames), "
        f"max {summary['max']:.0f} ms; detector alone {baseline} frames; missed {missed}"
    )


def table(results: dict[str, Any]) -> list[str]:
    """The bench's table section for the motion sensor's on-delay, when it ran."""
    if (figures := results.get("motion_sensor")) is None:
        return []
    delay, frames = figures["on_delay_ms"], figures["on_delay_frames"]
    return [
        "",
        f"Motion sensor on-delay, crossing scene at {figures['camera_fps']} fps (real hass)",
        f"  crossings {figures['crossings']}, missed {figures['missed']}",
        (
            f"  first moving frame -> binary sensor on: p50 {delay['p50']:.0f} ms "
            f"({frames['p50']:.1f} frames), p99 {delay['p99']:.0f} ms ({frames['p99']:.1f} frames), "
            f"max {delay['max']:.0f} ms ({frames['max']:.1f} frames)"
        ),
        (
            f"  baseline, the detector alone on the same frames: {figures['detector_alone_frames']} "
            "frames"
        ),
    ]
