"""H.264 on demand beside MJPEG: the rate-quality curve, the transcoder's cost, HLS and the browser.

    scripts/bench --only h264 [--quick]

- Rate-quality curve (ffmpeg alone, no Home Assistant): the simulator's crossing scene (per-frame
  sensor noise, the hard case) and its test pattern, VGA at 20 fps, encoded as the hub's transcoder
  does (libx264 `ultrafast`, `zerolatency`, no B-frames, a keyframe every 2 s, MPEG-TS) at each
  CRF, with and without a denoise filter: kbit/s of the MPEG-TS beside the MJPEG kbit/s of the same
  JPEGs, and the SSIM (ffmpeg's `ssim` filter) of the decoded H.264 frames against the source JPEGs
  and against the scene rendered without its sensor noise (what the noise hides). The encoder's CPU
  (ffmpeg's user + system time) as a share of a core at 20 fps. `choose_default` picks the default.
- Through a real hub (`run`): a VGA camera at 20 fps with its H.264 switch on: the transcoder's CPU
  (the ffmpeg children of `hass`, from /proc) while one reader reads the URL, and none once nobody
  does; the time from HA's `camera/stream` to the HLS master playlist (two segments) and to the
  first segment's bytes, beside the MJPEG stream's first frame; the display delay in Chromium of
  HA's own more-info dialog (its HLS player, a <video>: each presented frame's stamp read from the
  pixels, `VIDEO_SAMPLER`) beside HA's MJPEG <img> of the same camera; the hub's memory with 8
  cameras transcoding and 3 readers each, beside the same 8 cameras without.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
import dataclasses
from dataclasses import dataclass
import datetime as dt
from pathlib import Path
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

from bench.browser import STAMP_BITS, STAMP_OF
from esp32_simulator.jpeg import PatternRenderer
from esp32_simulator.scenes import FPS, Scene, build_scenes

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

WIDTH, HEIGHT = 640, 480
FRAME_BYTES = WIDTH * HEIGHT * 3 // 2  # one yuv420p picture
KEYFRAME_FRAMES = 2 * FPS  # a keyframe every 2 s, as HLS and WebRTC need
# The goal of issue 21: at least 5x smaller than MJPEG at SSIM >= 0.92 against the source JPEGs.
TARGET_RATIO = 5.0
TARGET_SSIM = 0.92
# Denoise filters tried beside the plain encode: hqdn3d's defaults, and x264's own noise reduction.
DENOISE: dict[str, tuple[str, ...]] = {
    "none": (),
    "hqdn3d": ("-vf", "hqdn3d"),
    "x264 nr=1000": ("-x264-params", "nr=1000"),
}
CRFS_FULL = (20, 23, 24, 25, 26, 27, 28, 30, 32)
CRFS_QUICK = (23, 25, 26, 28)
SSIM_ALL = re.compile(r"All:([0-9.]+)")


def log(message: str) -> None:
    """Print a progress line."""
    print(f"[bench] h264: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, kw_only=True)
class CurvePoint:
    """One encode of one scene: its settings, size, quality and cost."""

    scene: str
    denoise: str
    crf: int
    kbit_s: float
    mjpeg_kbit_s: float
    ssim: float  # against the source JPEGs
    ssim_clean: float | None  # against the scene without its sensor noise
    core_percent: float  # ffmpeg's CPU at 20 fps, share of one core

    @property
    def ratio(self) -> float:
        """How many times smaller than the MJPEG stream of the same frames."""
        return self.mjpeg_kbit_s / self.kbit_s

    @property
    def meets_target(self) -> bool:
        """At least TARGET_RATIO times smaller at SSIM >= TARGET_SSIM."""
        return self.ratio >= TARGET_RATIO and self.ssim >= TARGET_SSIM


def encode_arguments(crf: int, denoise: Sequence[str]) -> list[str]:
    """The transcoder's encoder settings (hub/h264_streams.py), MPEG-TS to stdout's place."""
    return [
        *denoise,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-bf",
        "0",
        "-g",
        str(KEYFRAME_FRAMES),
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        "-f",
        "mpegts",
    ]


def _ffmpeg(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-y", *arguments],
        capture_output=True,
        text=True,
        check=True,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def to_raw(source: Path, raw: Path) -> int:
    """Decode every frame of `source` to yuv420p in `raw`, in order; return the frame count."""
    _ffmpeg("-i", str(source), "-fps_mode", "passthrough", "-pix_fmt", "yuv420p", "-f", "rawvideo",
            str(raw))  # fmt: skip
    frames, rest = divmod(raw.stat().st_size, FRAME_BYTES)
    if rest:
        raise RuntimeError(f"{source}: {raw.stat().st_size} bytes are no whole yuv420p frames")
    return frames


def ssim(decoded: Path, reference: Path) -> float:
    """ffmpeg's SSIM (all planes) of two raw yuv420p files, frame by frame in order."""
    raw = (
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-s",
        f"{WIDTH}x{HEIGHT}",
        "-framerate",
        str(FPS),
    )
    result = _ffmpeg(*raw, "-i", str(decoded), *raw, "-i", str(reference), "-lavfi", "[0:v][1:v]ssim",
                     "-f", "null", "-")  # fmt: skip
    found = SSIM_ALL.findall(result.stderr)
    if not found:
        raise RuntimeError(f"ffmpeg printed no SSIM: {result.stderr[-300:]}")
    return float(found[-1])


@dataclass(frozen=True)
class Footage:
    """A scene's JPEGs as one MJPEG file, their raw pictures, and the noise-free raw pictures."""

    name: str
    mjpeg: Path
    raw: Path
    clean_raw: Path | None
    frames: int

    @property
    def mjpeg_kbit_s(self) -> float:
        """The MJPEG stream's rate: every JPEG at 20 fps (the multipart headers left out)."""
        return self.mjpeg.stat().st_size * 8 / (self.frames / FPS) / 1000


def _write_footage(
    work: Path, name: str, frames: list[bytes], clean: list[bytes] | None
) -> Footage:
    mjpeg = work / f"{name}.mjpeg"
    mjpeg.write_bytes(b"".join(frames))
    raw = work / f"{name}.yuv"
    if (decoded := to_raw(mjpeg, raw)) != len(frames):
        raise RuntimeError(f"{name}: {decoded} frames decoded of {len(frames)}")
    clean_raw = None
    if clean is not None:
        clean_mjpeg = work / f"{name}-clean.mjpeg"
        clean_mjpeg.write_bytes(b"".join(clean))
        clean_raw = work / f"{name}-clean.yuv"
        to_raw(clean_mjpeg, clean_raw)
        clean_mjpeg.unlink()
    return Footage(name, mjpeg, raw, clean_raw, len(frames))


def without_noise(scene: Scene) -> Scene:
    """The same scene as a sensor without temporal noise would see it."""
    look = scene.look
    return dataclasses.replace(scene, look=lambda frame: dataclasses.replace(look(frame), noise=0))


def pattern_frames(count: int) -> list[bytes]:
    """The simulator's test pattern (VGA, stamped), at 20 fps of a fixed clock."""
    renderer = PatternRenderer("bench")
    start = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    return [
        renderer.render(
            WIDTH,
            HEIGHT,
            frame_number=number,
            clock=start + dt.timedelta(seconds=number / FPS),
            stamp=True,
        )
        for number in range(count)
    ]


def footage(work: Path) -> list[Footage]:
    """Render the crossing scene (with its noise-free twin) and the test pattern."""
    crossing = build_scenes()["crossing"]
    frames = list(crossing)
    return [
        _write_footage(work, "crossing", frames, list(without_noise(crossing))),
        _write_footage(work, "pattern", pattern_frames(len(frames)), None),
    ]


def measure_point(work: Path, scene: Footage, crf: int, denoise: str) -> CurvePoint:
    """Encode `scene` at `crf` with `denoise` as the transcoder does; measure it."""
    encoded = work / "encoded.ts"
    cpu_before = _children_cpu()
    _ffmpeg("-f", "mjpeg", "-framerate", str(FPS), "-i", str(scene.mjpeg),
            *encode_arguments(crf, DENOISE[denoise]), str(encoded))  # fmt: skip
    cpu = _children_cpu() - cpu_before
    decoded = work / "decoded.yuv"
    if (frames := to_raw(encoded, decoded)) != scene.frames:
        raise RuntimeError(f"{scene.name} CRF {crf}: {frames} frames decoded of {scene.frames}")
    seconds = scene.frames / FPS
    point = CurvePoint(
        scene=scene.name,
        denoise=denoise,
        crf=crf,
        kbit_s=round(encoded.stat().st_size * 8 / seconds / 1000, 1),
        mjpeg_kbit_s=round(scene.mjpeg_kbit_s, 1),
        ssim=round(ssim(decoded, scene.raw), 4),
        ssim_clean=None if scene.clean_raw is None else round(ssim(decoded, scene.clean_raw), 4),
        core_percent=round(100 * cpu / seconds, 2),
    )
    decoded.unlink()
    return point


def curve(
    *, quick: bool, denoise: Iterable[str] = DENOISE, progress: Callable[[str], None] = log
) -> list[CurvePoint]:
    """The rate-quality curve of every scene, CRF and denoise filter."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not on PATH (scripts/setup installs it)")
    crfs = CRFS_QUICK if quick else CRFS_FULL
    points = []
    with tempfile.TemporaryDirectory(prefix="esp32-camera-bench-h264-") as directory:
        work = Path(directory)
        started = time.monotonic()
        scenes = footage(work)
        progress(f"rendered {len(scenes)} scenes in {time.monotonic() - started:.0f} s")
        for scene in scenes:
            for name in denoise:
                for crf in crfs:
                    points.append(point := measure_point(work, scene, crf, name))
                    progress(
                        f"{scene.name} {name} CRF {crf}: {point.kbit_s:.0f} kbit/s "
                        f"({point.ratio:.1f}x smaller), SSIM {point.ssim:.3f}"
                    )
    return points


def choose_default(points: Sequence[CurvePoint], scene: str = "crossing") -> CurvePoint:
    """The default: on the hard scene, the plain encode meeting the target with the best SSIM.

    When none meets it, the plain encode with the best SSIM among those at least TARGET_RATIO times
    smaller (the saving is what the stream is for; a denoise filter must buy its CPU back).
    """
    plain = [p for p in points if p.scene == scene and p.denoise == "none"]
    meeting = [p for p in plain if p.meets_target]
    if meeting:
        return max(meeting, key=lambda p: p.ssim)
    small = [p for p in plain if p.ratio >= TARGET_RATIO] or plain
    return max(small, key=lambda p: (p.ssim, -p.crf))


def curve_table(points: Sequence[CurvePoint]) -> list[str]:
    """The curve as table lines."""

    def row(*cells: object) -> str:
        return "  ".join(f"{c:>10}" if i else f"{c:<24}" for i, c in enumerate(cells))

    lines = [
        "",
        f"H.264: rate-quality at VGA {FPS} fps (libx264 ultrafast zerolatency, MPEG-TS) beside MJPEG",
        row("scene / denoise", "CRF", "kbit/s", "MJPEG", "smaller", "SSIM", "SSIM clean", "% core"),
    ]
    lines.extend(
        row(
            f"{p.scene} {p.denoise}",
            p.crf,
            f"{p.kbit_s:,.0f}",
            f"{p.mjpeg_kbit_s:,.0f}",
            f"{p.ratio:.1f}x",
            f"{p.ssim:.3f}",
            "-" if p.ssim_clean is None else f"{p.ssim_clean:.3f}",
            f"{p.core_percent:.1f}",
        )
        for p in points
    )
    return lines


if __name__ == "__main__":
    measured = curve(quick="--quick" in sys.argv)
    print("\n".join(curve_table(measured)))
    chosen = choose_default(measured)
    print(f"default: CRF {chosen.crf} ({chosen.ratio:.1f}x smaller, SSIM {chosen.ssim:.3f})")


# The display delay of a <video> (HA's HLS player): each presented frame's stamp, read from the
# video's pixels drawn into a canvas in the video's frame callback; when it was first presented.
VIDEO_SAMPLER = (
    """
([video, bits]) => {
  const blocks = 2 + bits;"""
    + STAMP_OF
    + """
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const sampler = { seen: {}, frames: 0, stopped: false };
  const read = (now) => {
    if (sampler.stopped) return;
    const width = video.videoWidth, height = video.videoHeight;
    const side = [16, 8].find((size) => blocks * size <= width && size <= height);
    if (side) {
      canvas.width = blocks * side;
      canvas.height = side;
      context.drawImage(video, 0, height - side, blocks * side, side, 0, 0, blocks * side, side);
      const number = stampOf(context.getImageData(0, 0, blocks * side, side).data, side, blocks);
      if (number !== null && !(number in sampler.seen)) {
        sampler.seen[number] = performance.timeOrigin + now;
      }
    }
    sampler.frames += 1;
    video.requestVideoFrameCallback(read);
  };
  video.requestVideoFrameCallback(read);
  window.__esp32VideoSampler = sampler;
}
"""
)
VIDEO_SAMPLER_STOP = """
() => {
  const sampler = window.__esp32VideoSampler;
  sampler.stopped = true;
  return { seen: sampler.seen, frames: sampler.frames };
}
"""
# The more-info dialog's camera view: HA's HLS player's <video> (Playwright's CSS pierces shadow DOM).
MORE_INFO_VIDEO = "ha-more-info-dialog ha-hls-player video"
# Our card's picture, whose tap opens HA's more-info dialog of the camera (the default tap action).
CARD_PICTURE = "esp32-camera-card esp32-camera-viewer .frame"


async def open_more_info_video(page: Page) -> Locator:
    """Tap the card's picture on `page` (the card's dashboard); return the dialog's <video>.

    Waits until it plays: the first picture is in (HA's player starts once its stream has two
    segments).
    """
    picture = page.locator(CARD_PICTURE).first
    await picture.wait_for(timeout=60_000)
    await picture.click()
    video = page.locator(MORE_INFO_VIDEO).first
    await video.wait_for(state="attached", timeout=60_000)
    await page.wait_for_function(
        "(video) => video.readyState >= 2 && video.currentTime > 0",
        arg=await video.element_handle(),
        timeout=90_000,
    )
    return video


async def sample_video_stamps(page: Page, video: Locator, seconds: float) -> dict[str, Any]:
    """The stamps `video` presented during `seconds`: {number: first presented (epoch ms)}."""
    await page.evaluate(VIDEO_SAMPLER, [await video.element_handle(), STAMP_BITS])
    await asyncio.sleep(seconds)
    result: dict[str, Any] = await page.evaluate(VIDEO_SAMPLER_STOP)
    return result
