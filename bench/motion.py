"""Motion detection and clips, measured in this process (no Home Assistant needed).

    scripts/bench --only motion [--quick]

- CPU: process CPU time of the detector over a 20 fps stream of the crossing scene, per analysed
  frame and as a share of one core per camera, at VGA and UXGA, with the default rate cap (10
  analyses/s: every other frame) and with every frame; beside it the baselines: a full-size decode
  of every frame (what any detector working on full pictures pays before comparing anything) and
  the 1/8-scale decode alone.
- Detection: per scene, the detected motion intervals against the labelled ones, the on-delay in
  frames, and the events outside the labels; beside it a plain frame difference (grey 1/8 picture
  against a running average, same threshold and area) as the baseline.
- Ring buffer: frames, bytes and memory (tracemalloc) of 10 s at 20 fps.
- Clips: AVI write cost, a recorder's clip against the frames sent in its window (pre-roll
  complete), ffprobe's reading of the AVI and of the MP4 made from it (when ffmpeg is installed).
"""

from __future__ import annotations

import io
from pathlib import Path
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import Any

from PIL import Image, ImageChops

from custom_components.esp32_camera.clips import (
    AviWriter,
    ClipFrame,
    ClipInfo,
    ClipRecorder,
    ClipRequest,
    FrameRing,
    Mp4Error,
    ThreadedAviSink,
    convert_to_mp4,
    read_avi,
)
from custom_components.esp32_camera.motion import (
    MotionDetector,
    MotionEventType,
    MotionSettings,
    decode_small,
)
from esp32_simulator.scenes import FPS, SCENE_NAMES, SceneSize, build_scenes

SIZES = {"VGA": SceneSize(640, 480, (800, 600)), "UXGA": SceneSize(1600, 1200, (1280, 720))}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _cpu_per_frame(frames: list[bytes], work: Any, rounds: int) -> float:
    """Median over rounds of process CPU seconds per offered frame."""
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        work(frames)
        samples.append((time.process_time() - started) / len(frames))
    return statistics.median(samples)


def _detect(max_rate: float) -> Any:
    def work(frames: list[bytes]) -> None:
        detector = MotionDetector(MotionSettings(max_rate=max_rate))
        for number, jpeg in enumerate(frames):
            timestamp = number / FPS
            if detector.due(timestamp):
                detector.analyse(jpeg, timestamp)
            else:
                detector.count_skip()

    return work


def _full_decode(frames: list[bytes]) -> None:
    for jpeg in frames:
        Image.open(io.BytesIO(jpeg)).load()


def _small_decode(frames: list[bytes]) -> None:
    for jpeg in frames:
        decode_small(jpeg)


def cpu(frames_by_size: dict[str, list[bytes]], rounds: int) -> list[dict[str, Any]]:
    """CPU per frame and share of a core per 20 fps camera, beside the baselines."""
    rows = []
    for size, frames in frames_by_size.items():
        workloads = {
            "motion, 10 analyses/s (default)": (_detect(10.0), 0.5),
            "motion, every frame": (_detect(0.0), 1.0),
            "baseline: full decode, every frame": (_full_decode, 1.0),
            "1/8 decode alone, every frame": (_small_decode, 1.0),
        }
        for name, (work, analysed_share) in workloads.items():
            seconds = _cpu_per_frame(frames, work, rounds)
            rows.append(
                {
                    "size": size,
                    "workload": name,
                    "jpeg_kb": round(statistics.mean(map(len, frames)) / 1000, 1),
                    "cpu_ms_per_analysed_frame": round(seconds * 1000 / analysed_share, 3),
                    "core_percent_at_20fps": round(seconds * FPS * 100, 3),
                }
            )
            log(f"cpu {size} {name}: {rows[-1]['core_percent_at_20fps']} % of a core")
    return rows


def active_intervals(active: list[bool]) -> list[tuple[int, int]]:
    """The [start, end) frame intervals in which `active` holds."""
    intervals = []
    start = None
    for number, on in enumerate([*active, False]):
        if on and start is None:
            start = number
        elif not on and start is not None:
            intervals.append((start, number))
            start = None
    return intervals


class FrameDifference:
    """The baseline: grey 1/8 picture against a running average; same threshold and area."""

    def __init__(self, settings: MotionSettings) -> None:
        self.settings = settings
        self.background: Image.Image | None = None
        self.table = [255 if value > settings.threshold else 0 for value in range(256)]

    def moving(self, jpeg: bytes) -> bool:
        _size, grey = decode_small(jpeg)
        if self.background is None or self.background.size != grey.size:
            self.background = grey
            return False
        changed = ImageChops.difference(grey, self.background).point(self.table)
        self.background = Image.blend(self.background, grey, 0.1)
        share = 100 * changed.histogram()[255] / (grey.width * grey.height)
        return share >= self.settings.min_area


def detection(scenes: dict[str, Any], names: tuple[str, ...] = SCENE_NAMES) -> list[dict[str, Any]]:
    """Per scene: labelled and detected intervals, on-delay, events outside the labels."""
    rows = []
    settings = MotionSettings()  # the defaults: 10 analyses/s, 5 s cool-down
    for name in names:
        scene = scenes[name]
        frames = list(scene)
        detector = MotionDetector(settings)
        baseline = FrameDifference(settings)
        active, baseline_active, starts = [], [], []
        baseline_on = False
        for number, jpeg in enumerate(frames):
            timestamp = number / FPS
            if detector.due(timestamp):
                result = detector.analyse(jpeg, timestamp)
                if result and result.event and result.event.type is MotionEventType.STARTED:
                    starts.append(number)
                baseline_on = baseline.moving(jpeg)
            active.append(detector.active)
            baseline_active.append(baseline_on)
        labels = list(scene.motion)
        delays = [
            min((start - first for start in starts if first <= start < end), default=None)
            for first, end in labels
        ]
        outside = [
            start for start in starts if not any(first <= start < end for first, end in labels)
        ]
        baseline_events = len(active_intervals(baseline_active))
        baseline_outside = [
            start
            for start, _end in active_intervals(baseline_active)
            if not any(first <= start < end for first, end in labels)
        ]
        rows.append(
            {
                "scene": name,
                "labels": labels,
                "detected": active_intervals(active),
                "on_delay_frames": delays,
                "missed": sum(delay is None for delay in delays),
                "false_events": len(outside),
                "baseline_events": baseline_events,
                "baseline_false_events": len(baseline_outside),
            }
        )
        log(f"detection {name}: {rows[-1]}")
    return rows


def ring_memory(frames: list[bytes], seconds: float = 10.0) -> dict[str, Any]:
    """What 10 s of 20 fps frames cost in the ring, as reported and as measured."""
    copies = [bytes(jpeg) for jpeg in frames]  # the frames exist before the ring (the listener's)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    ring = FrameRing(max_seconds=seconds)
    count = int(seconds * FPS) + 1
    held = [copies[number % len(copies)] for number in range(count)]
    for number, jpeg in enumerate(held):
        ring.append(ClipFrame(jpeg, number / FPS))
    overhead = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {
        "frames": len(ring),
        "jpeg_bytes": ring.bytes,
        "reported_memory": ring.memory,
        "measured_overhead_bytes": overhead,  # the ring's own structures (the JPEGs are shared)
    }


def clips(frames: list[bytes], work: Path) -> dict[str, Any]:
    """AVI write cost, a recorder clip's completeness, and what ffprobe makes of the files."""
    sent = [ClipFrame(frames[number % len(frames)], number / FPS) for number in range(400)]
    started_cpu, started = time.process_time(), time.perf_counter()
    with AviWriter(work / "write.avi") as writer:
        for frame in sent[:200]:
            writer.add_frame(frame.data, frame.timestamp)
        info = writer.commit()
    write = {
        "frames": info.frames,
        "mb": round(info.size / 1e6, 2),
        "cpu_ms_per_frame": round((time.process_time() - started_cpu) * 1000 / info.frames, 3),
        "wall_ms_per_frame": round((time.perf_counter() - started) * 1000 / info.frames, 3),
    }

    results: list[ClipInfo | Exception] = []
    sinks: list[ThreadedAviSink] = []

    def open_sink(request: ClipRequest) -> ThreadedAviSink:
        sinks.append(ThreadedAviSink(work / "motion.avi", results.append))
        return sinks[-1]

    recorder = ClipRecorder(FrameRing(max_seconds=10.0), open_sink, pre_roll=5.0, post_roll=2.0)
    for number, frame in enumerate(sent):
        recorder.add_frame(frame)
        if number == 150:
            recorder.motion_started(frame.timestamp)
        elif number == 250:
            recorder.motion_ended(frame.timestamp)
    for sink in sinks:
        sink.join(30)
    (clip,) = results
    assert isinstance(clip, ClipInfo)
    window = [f for f in sent if 150 / FPS - 5.0 - 1e-9 <= f.timestamp <= 250 / FPS + 2.0 + 1e-9]
    stored = list(read_avi(clip.path).iter_frames())
    recorder_row = {
        "frames_sent_in_window": len(window),
        "frames_in_clip": clip.frames,
        "identical": stored == [frame.data for frame in window],
        "pre_roll_frames": sum(1 for f in window if f.timestamp < 150 / FPS),
        "duration_s": round(clip.duration, 3),
    }
    ffmpeg = shutil.which("ffmpeg")
    probe: dict[str, Any] = {"ffmpeg": ffmpeg}
    if ffmpeg and shutil.which("ffprobe"):
        probe["avi"] = _ffprobe(clip.path)
        decode = subprocess.run(
            [ffmpeg, "-v", "error", "-i", str(clip.path), "-f", "null", "-"],
            capture_output=True,
            check=False,
        )
        probe["avi_decodes_cleanly"] = decode.returncode == 0 and not decode.stderr
        started_cpu = time.process_time()
        started = time.perf_counter()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            mp4: Path | None = convert_to_mp4(clip.path, work / "motion.mp4", ffmpeg=ffmpeg)
        except Mp4Error as error:
            log(f"mp4: {error}")
            mp4 = None
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        probe["mp4_seconds"] = round(time.perf_counter() - started, 2)
        probe["mp4_cpu_seconds"] = round(
            children.ru_utime
            + children.ru_stime
            - children_before.ru_utime
            - children_before.ru_stime
            + time.process_time()
            - started_cpu,
            2,
        )
        if mp4 is not None:
            probe["mp4"] = _ffprobe(mp4)
            probe["mp4_mb"] = round(mp4.stat().st_size / 1e6, 2)
    return {"write": write, "recorder": recorder_row, "ffprobe": probe}


def _ffprobe(path: Path) -> dict[str, str]:
    output = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,avg_frame_rate,nb_read_frames,duration",
            "-of",
            "default=noprint_wrappers=1",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def run(*, quick: bool) -> dict[str, Any]:
    """Every motion figure."""
    rounds = 3 if quick else 7
    log("rendering the scenes")
    scenes = {name: build_scenes(size) for name, size in SIZES.items()}
    crossing = {name: list(scenes[name]["crossing"]) for name in SIZES}
    results: dict[str, Any] = {"cpu": cpu(crossing, rounds)}
    results["detection"] = detection(scenes["VGA"])
    results["ring"] = {name: ring_memory(frames) for name, frames in crossing.items()}
    with tempfile.TemporaryDirectory(prefix="esp32-camera-bench-clips-") as work:
        results["clips"] = clips(crossing["VGA"], Path(work))
    return results


def table(results: dict[str, Any]) -> list[str]:
    """The motion figures as table lines, when the workload ran."""
    if (figures := results.get("motion")) is None:
        return []
    lines = ["", "Motion: CPU per camera at 20 fps (crossing scene; process CPU time)"]

    def row(*cells: object) -> None:
        lines.append("  ".join(f"{c:>12}" if i else f"{c:<42}" for i, c in enumerate(cells)))

    row("size / workload", "JPEG kB", "ms/analysed", "% of a core")
    for item in figures["cpu"]:
        row(
            f"{item['size']} {item['workload']}",
            item["jpeg_kb"],
            f"{item['cpu_ms_per_analysed_frame']:.3f}",
            f"{item['core_percent_at_20fps']:.2f}",
        )
    lines += ["", "Motion: detection per scene (VGA, defaults) beside a plain frame difference"]
    row("scene", "labels", "detected", "on-delay", "false ev.", "baseline fp")
    for item in figures["detection"]:
        row(
            item["scene"],
            str(item["labels"]) if item["labels"] else "-",
            str(item["detected"]) if item["detected"] else "-",
            ",".join(str(d) for d in item["on_delay_frames"]) or "-",
            item["false_events"],
            item["baseline_false_events"],
        )
    lines += ["", "Ring buffer: 10 s at 20 fps"]
    for size, ring in figures["ring"].items():
        lines.append(
            f"  {size}: {ring['frames']} frames, {ring['jpeg_bytes'] / 1e6:.1f} MB of JPEG, "
            f"reported {ring['reported_memory'] / 1e6:.2f} MB, ring structures measured "
            f"{ring['measured_overhead_bytes'] / 1e3:.1f} kB"
        )
    clip = figures["clips"]
    lines += [
        "",
        (
            f"Clips: AVI write {clip['write']['cpu_ms_per_frame']} ms CPU/frame; recorder clip "
            f"{clip['recorder']['frames_in_clip']} frames of {clip['recorder']['frames_sent_in_window']}"
            f" sent in its window (identical: {clip['recorder']['identical']}, pre-roll "
            f"{clip['recorder']['pre_roll_frames']} frames)"
        ),
        f"ffprobe: {clip['ffprobe']}",
    ]
    return lines
