"""Clips through a real hub: the record action with a pre-roll, read back against what was sent.

    scripts/bench --only record [--quick]

Per frame size (VGA, UXGA): one camera agent (bench.wire: each frame's sequence number is in its
JPEG, and its send time is recorded) streams at 20 fps into the hub of a real `hass`, long enough
to fill the ring buffer; the runner calls `esp32_camera.record` with a pre-roll, learns the clip's
trigger from the probe (the hub's `time.monotonic`, the clock of the agent's send times too), reads
the AVI back with `read_avi` and compares its frames with the frames the camera sent in the clip's
window, its baseline.

The ring buffer's cost per frame on the event loop, with and without an open clip: the time the
hub's clip listener takes (timed by the hub, wall clock: a busy machine's preemption included), the
loop thread's CPU for the same code replayed in this process (thread CPU time: an open clip's
writer thread is not the loop's), and beside them, as the baseline, the hub's whole CPU per frame
above what the idle hub spends (measured before the camera starts).
"""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path
import tempfile
import time
from typing import TYPE_CHECKING, Any

from bench.measure import Agent, cpu_seconds, sent_times
from bench.plan import FRAME_SIZES
from bench.wire import read_sequence, sequenced_jpeg
from custom_components.esp32_camera.clips import (
    ClipFrame,
    ClipRecorder,
    FrameRing,
    ThreadedAviSink,
    read_avi,
)
from custom_components.esp32_camera.hub.clip_recording import RING_BYTES_PER_CAMERA
from custom_components.esp32_camera.hub.recording_settings import RING_SECONDS

if TYPE_CHECKING:
    from bench.testbed import Bench

FPS = 20
SIZES = ("VGA", "UXGA")
WARM_UP = RING_SECONDS + 1.0  # the ring holds its seconds before the clip is asked for
IDLE_SECONDS = 3.0
REPLAYED_FRAMES = 400


def _log(message: str) -> None:
    print(f"[bench] record: {message}", flush=True)


def compare(
    clip: list[int | None], sent: dict[int, int], start_ns: int, end_ns: int
) -> dict[str, Any]:
    """Compare a clip's sequence numbers with those the camera sent in [start, end] (ns)."""
    window = sorted(sequence for sequence, sent_at in sent.items() if start_ns <= sent_at <= end_ns)
    stored = [sequence for sequence in clip if sequence is not None]
    in_clip, in_window = set(stored), set(window)
    return {
        "frames_in_clip": len(clip),
        "frames_sent_in_window": len(window),
        "missing": len(in_window - in_clip),  # sent in the window, not in the clip
        "extra": len(in_clip - in_window),  # in the clip, sent outside the window
        "unreadable": len(clip) - len(stored),
        "gaps": sum(1 for a, b in pairwise(stored) if b != a + 1),
        "identical": stored == window and len(stored) == len(clip),
    }


async def _probe(bench: Bench, camera_id: str) -> dict[str, Any]:
    return dict(await bench.get(f"/api/bench_probe/clips?camera={camera_id}"))


async def _point(bench: Bench, camera_id: str, prefix: str) -> dict[str, float]:
    """The hub's frames, CPU and clip listener time at one moment."""
    listener = (await _probe(bench, camera_id))["clips"]["listener"]
    frames, _ = await bench.hub_counters(prefix)
    return {
        "at": time.monotonic(),
        "frames": frames,
        "cpu": cpu_seconds(bench.hass.pid),
        "listener_frames": listener["frames"],
        "listener_seconds": listener["seconds"],
    }


def _costs(
    before: dict[str, float], after: dict[str, float], idle_share: float, seconds: float
) -> dict[str, float | None]:
    frames = after["frames"] - before["frames"]
    listened = after["listener_frames"] - before["listener_frames"]
    cpu = after["cpu"] - before["cpu"] - idle_share * seconds
    return {
        "frames": frames,
        "ring_us_per_frame": (after["listener_seconds"] - before["listener_seconds"])
        / listened
        * 1e6
        if listened
        else None,
        "hub_cpu_us_per_frame_above_idle": cpu / frames * 1e6 if frames else None,
    }


def loop_cpu_us_per_frame(frame_bytes: int, *, open_clip: bool) -> float:
    """The loop thread's CPU per frame of the hub's ring and recorder, replayed here.

    As the hub builds them (`RING_SECONDS`, `RING_BYTES_PER_CAMERA`); with `open_clip`, an action
    clip is open the whole time and its AVI written by its own thread (not counted: not the loop).
    """
    jpeg = bytes(sequenced_jpeg(frame_bytes))
    with tempfile.TemporaryDirectory(prefix="esp32-camera-bench-ring-") as folder:
        sinks: list[ThreadedAviSink] = []

        def open_sink(_request: object) -> ThreadedAviSink:
            sinks.append(ThreadedAviSink(Path(folder) / "clip.avi", lambda _result: None))
            return sinks[-1]

        recorder = ClipRecorder(
            FrameRing(max_seconds=RING_SECONDS, max_bytes=RING_BYTES_PER_CAMERA), open_sink
        )
        if open_clip:
            recorder.record(0.0, duration=REPLAYED_FRAMES / FPS + 1, pre_roll=0)
        started = time.thread_time()
        for number in range(REPLAYED_FRAMES):
            recorder.add_frame(ClipFrame(jpeg, number / FPS))
        seconds = time.thread_time() - started
        recorder.close()
        for sink in sinks:
            sink.join(60)
    return seconds / REPLAYED_FRAMES * 1e6


async def _run_size(
    bench: Bench, size: str, frame_bytes: int, pre_roll: float, duration: float
) -> dict[str, Any]:
    prefix = f"rec-{size.lower()}"
    record_file = bench.work / f"{prefix}.bin"
    spec = bench.camera_spec(prefix, 1, size=frame_bytes, fps=FPS, record=str(record_file))
    camera_id = spec["ids"][0]
    idle_cpu = cpu_seconds(bench.hass.pid)
    await asyncio.sleep(IDLE_SECONDS)
    idle_share = (cpu_seconds(bench.hass.pid) - idle_cpu) / IDLE_SECONDS
    cameras = await Agent.run(f"record camera {size}", "cameras", spec)
    try:
        entity = (await bench.camera_entities(f"{prefix}-", 1))[camera_id]
        await asyncio.sleep(WARM_UP - 3.0)
        start = await _point(bench, camera_id, prefix)
        await asyncio.sleep(3.0)
        before = await _point(bench, camera_id, prefix)
        ring_seconds = time.monotonic() - start["at"]
        called = time.monotonic()
        call = asyncio.create_task(
            bench.post(
                "/api/services/esp32_camera/record?return_response",
                {"entity_id": entity, "duration": duration, "pre_roll": pre_roll},
            )
        )
        triggers: list[float] = []
        while not triggers and not call.done():
            triggers = (await _probe(bench, camera_id))["triggers"]
            await asyncio.sleep(0.05)
        answer = await call
        answered = time.monotonic() - called
        after = await _point(bench, camera_id, prefix)
        clips = (await _probe(bench, camera_id))["clips"]
    finally:
        await cameras.stop()
    (trigger,) = triggers
    response = answer["service_response"][entity]
    avi = read_avi(Path(response["path"]))
    sequences = [read_sequence(jpeg) for jpeg in avi.iter_frames()]
    sent = {sequence: sent_at for (_index, sequence), sent_at in sent_times(record_file).items()}
    window_ns = (round((trigger - pre_roll) * 1e9), round((trigger + duration) * 1e9))
    row = {
        "size": size,
        "frame_bytes": frame_bytes,
        "pre_roll": pre_roll,
        "duration": duration,
        **compare(sequences, sent, *window_ns),
        "pre_roll_frames_sent": sum(
            1 for sent_at in sent.values() if window_ns[0] <= sent_at < trigger * 1e9
        ),
        "pre_roll_complete": response["pre_roll_complete"],
        "clip_seconds": response["duration"],
        "mp4": response["mp4_pending"],  # the MP4 follows the answer (issue 20)
        "answered_s": answered,
        "ring_only": {
            **_costs(start, before, idle_share, ring_seconds),
            "loop_cpu_us_per_frame": loop_cpu_us_per_frame(frame_bytes, open_clip=False),
        },
        "recording": {
            **_costs(before, after, idle_share, after["at"] - before["at"]),
            "loop_cpu_us_per_frame": loop_cpu_us_per_frame(frame_bytes, open_clip=True),
        },
        "idle_cpu_share": idle_share,
        "ring_memory_mib": clips["ring_memory"] / 2**20,
        "ring_limit_mib": clips["ring_bytes_per_camera"] / 2**20,
    }
    _log(
        f"{size}: {row['frames_in_clip']} frames in the clip, {row['frames_sent_in_window']} sent "
        f"in its window (identical {row['identical']}), pre-roll complete "
        f"{row['pre_roll_complete']}, ring {row['ring_only']['ring_us_per_frame']} us/frame"
    )
    return row


async def run(bench: Bench) -> None:
    """Run the record workload per frame size; store the figures in bench.results["record"]."""
    plan = bench.plan
    bench.results["record"] = [
        await _run_size(bench, size, FRAME_SIZES[size], plan.record_pre_roll, plan.record_seconds)
        for size in SIZES
    ]


def table(results: dict[str, Any]) -> list[str]:
    """The bench's table section for the record workload, when it ran."""
    if "record" not in results:
        return []
    lines = [
        "",
        (
            "Record action: one camera at 20 fps, the AVI read back against the frames sent in "
            "its window (baseline)"
        ),
    ]

    def row(*cells: object) -> None:
        lines.append("  ".join(f"{c:>12}" if i else f"{c:<26}" for i, c in enumerate(cells)))

    def us(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    row("size, pre-roll + duration", "in clip", "sent", "identical", "pre-roll ok", "MP4")
    for item in results["record"]:
        row(
            f"{item['size']} {item['pre_roll']:g} s + {item['duration']:g} s",
            item["frames_in_clip"],
            item["frames_sent_in_window"],
            "yes" if item["identical"] else "no",
            "yes" if item["pre_roll_complete"] else "no",
            "yes" if item["mp4"] else "no",
        )
    lines.append("")
    row("loop cost per frame (us)", "hub listener", "loop CPU", "hub CPU", "ring share")
    for item in results["record"]:
        for phase in ("ring_only", "recording"):
            costs = item[phase]
            ring, hub = costs["ring_us_per_frame"], costs["hub_cpu_us_per_frame_above_idle"]
            share = f"{ring / hub * 100:.1f} %" if ring is not None and hub else "-"
            label = "ring" if phase == "ring_only" else "ring + open clip"
            row(
                f"{item['size']} {label}",
                us(ring),
                us(costs["loop_cpu_us_per_frame"]),
                us(hub),
                share,
            )
    return lines
