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
import contextlib
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

import aiohttp
from playwright.async_api import async_playwright
from yarl import URL

from bench.browser import (
    CHROMIUM_ARGS,
    STAMP_BITS,
    STAMP_OF,
    latency_summary,
    open_logged_in,
    start_sampling,
    stop_sampling,
)
from bench.measure import cpu_seconds, rss_mib
from bench.plan import QUICK
from bench.testbed import proxy_stream_path
from custom_components.esp32_camera.hub.h264_streams import stream_credential
from custom_components.esp32_camera.views.h264_stream import URL_USER
from esp32_simulator import SimulatedCamera
from esp32_simulator.jpeg import PatternRenderer
from esp32_simulator.scenes import FPS, Scene, build_scenes

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

    from bench.testbed import Bench

WIDTH, HEIGHT = 640, 480
VGA = 5  # the simulator's resolution index
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
  const strip = new OffscreenCanvas(1, 1);  // resized to the stamp's strip once it is known
  const context = strip.getContext("2d", { willReadFrequently: true });
  const sampler = { seen: {}, frames: 0, stopped: false };
  const read = (now) => {
    if (sampler.stopped) return;
    const width = video.videoWidth, height = video.videoHeight;
    const side = [16, 8].find((size) => blocks * size <= width && size <= height);
    if (side) {
      strip.width = blocks * side;
      strip.height = side;
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


# Through a real hub --------------------------------------------------------------------------

HUB_CAMERAS = 8  # the memory workload's cameras, each transcoding
READERS_PER_CAMERA = 3
SETTLE_SECONDS = 3.0  # after a reader opens, before a CPU window
STOP_WAIT = 10.0  # the transcoder stops IDLE_STOP_DELAY (5 s) after its last reader leaves
H264_SWITCH = "h264_stream"
DASHBOARD = "h264-bench"
# A stream is read for as long as the workload wants (aiohttp's default ends a request at 5 minutes).
STREAMING = aiohttp.ClientTimeout(total=None, sock_connect=30)
MJPEG_IMG = "ha-more-info-dialog ha-camera-stream img"


def ffmpeg_children(parent: int) -> list[int]:
    """The ffmpeg processes whose parent is `parent` (the transcoders of a `hass`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
        except OSError:
            continue  # gone meanwhile
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if name == "ffmpeg" and int(rest.split()[1]) == parent:
            found.append(int(entry.name))
    return found


def pss_mib(pid: int) -> float:
    """A process's proportional set size in MiB: shared libraries divided among their users."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _processes_cpu(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


class StreamReader:
    """Reads a URL to its end in the background, counting bytes (an H.264 or MJPEG viewer)."""

    def __init__(self, session: aiohttp.ClientSession, url: str, **request: Any) -> None:
        self.bytes = 0
        self.first_bytes_at: float | None = None
        self.error: str | None = None  # why it stopped reading before it was closed
        self._task = asyncio.create_task(self._read(session, url, request))

    async def _read(self, session: aiohttp.ClientSession, url: str, request: Any) -> None:
        try:
            async with session.get(url, **request) as response:
                response.raise_for_status()
                async for chunk in response.content.iter_any():
                    if self.first_bytes_at is None:
                        self.first_bytes_at = time.monotonic()
                    self.bytes += len(chunk)
        except (aiohttp.ClientError, TimeoutError) as err:
            self.error = repr(err)

    async def close(self) -> None:
        """Stop reading (the connection closes)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def h264_url(bench: Bench, camera_id: str) -> tuple[str, aiohttp.BasicAuth]:
    """The camera's stream URL on the hub's control port and its credential."""
    return (
        f"http://127.0.0.1:{bench.control_port}/h264/{camera_id}.ts",
        aiohttp.BasicAuth(URL_USER, stream_credential(bench.hub_token)),
    )


async def _window(bench: Bench, seconds: float) -> dict[str, float]:
    """hass's and its ffmpeg children's CPU over `seconds`, each as a share of one core (%)."""
    hass_pid = bench.hass.pid
    children = ffmpeg_children(hass_pid)
    hass_before, ffmpeg_before = cpu_seconds(hass_pid), _processes_cpu(children)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    return {
        "hass_core_percent": round(100 * (cpu_seconds(hass_pid) - hass_before) / elapsed, 2),
        "ffmpeg_core_percent": round(100 * (_processes_cpu(children) - ffmpeg_before) / elapsed, 2),
        "ffmpeg_processes": len(children),
        "load": float(Path("/proc/loadavg").read_text(encoding="ascii").split()[0]),
    }


async def transcoder_cpu(bench: Bench, camera_id: str, seconds: float) -> dict[str, Any]:
    """One camera: nobody watching, one MJPEG viewer, one H.264 reader (alternated windows)."""
    url, auth = h264_url(bench, camera_id)
    mjpeg_url = f"{bench.hass.url}{proxy_stream_path(await _entity(bench, camera_id))}"
    figures: dict[str, Any] = {"nobody": await _window(bench, seconds)}
    async with aiohttp.ClientSession(timeout=STREAMING) as session:
        viewer = StreamReader(session, mjpeg_url, headers=bench.auth_headers)
        await asyncio.sleep(SETTLE_SECONDS)
        start_bytes = viewer.bytes
        figures["mjpeg"] = await _window(bench, seconds)
        figures["mjpeg"]["kbit_s"] = round((viewer.bytes - start_bytes) * 8 / seconds / 1000, 1)
        await viewer.close()
        reader = StreamReader(session, url, auth=auth)
        await asyncio.sleep(SETTLE_SECONDS)
        start_bytes = reader.bytes
        figures["h264"] = await _window(bench, seconds)
        figures["h264"]["kbit_s"] = round((reader.bytes - start_bytes) * 8 / seconds / 1000, 1)
        await reader.close()
    await asyncio.sleep(STOP_WAIT)
    figures["after"] = {"ffmpeg_processes": len(ffmpeg_children(bench.hass.pid))}
    return figures


async def _entity(bench: Bench, camera_id: str) -> str:
    return (await bench.camera_entities(camera_id, 1))[camera_id]


async def time_to_first_segment(bench: Bench, camera_id: str) -> dict[str, float]:
    """HA's `camera/stream` -> its answer, the master playlist (two segments), the first segment.

    Beside it, the MJPEG stream's first JPEG through HA's camera proxy. The transcoder is cold.
    """
    entity_id = await _entity(bench, camera_id)
    figures: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        viewer = StreamReader(
            session, f"{bench.hass.url}{proxy_stream_path(entity_id)}", headers=bench.auth_headers
        )
        while viewer.first_bytes_at is None:
            await asyncio.sleep(0.005)
        figures["mjpeg_first_bytes_s"] = round(viewer.first_bytes_at - started, 3)
        await viewer.close()
        started = time.monotonic()
        async with bench.hass.websocket() as call:
            master_path = (await call("camera/stream", entity_id=entity_id))["url"]
        figures["url_s"] = round(time.monotonic() - started, 3)
        base = URL(bench.hass.url)
        master_url = base.join(URL(master_path))
        async with session.get(master_url, headers=bench.auth_headers) as answer:
            master = await answer.text()
        figures["master_playlist_s"] = round(time.monotonic() - started, 3)
        media = master_url.join(URL(_uris(master)[-1]))
        async with session.get(media, headers=bench.auth_headers) as answer:
            playlist = await answer.text()
        first_segment = media.join(URL(_uris(playlist)[1]))  # after the init section
        async with session.get(first_segment, headers=bench.auth_headers) as answer:
            await answer.read()
        figures["first_segment_s"] = round(time.monotonic() - started, 3)
    return figures


def _uris(playlist: str) -> list[str]:
    """An m3u8's URIs: the EXT-X-MAP's first, then the lines that are not tags."""
    lines = playlist.splitlines()
    maps = [line.split('URI="', 1)[1].split('"', 1)[0] for line in lines if "EXT-X-MAP" in line]
    return maps + [line for line in lines if line and not line.startswith("#")]


async def display_delay(bench: Bench, camera: SimulatedCamera, seconds: float) -> dict[str, Any]:
    """The more-info dialog in Chromium: HLS <video> (switch on) beside HA's MJPEG <img> (off)."""
    assert camera.camera_id is not None
    entity_id = await _entity(bench, camera.camera_id)
    async with bench.hass.websocket() as call:
        await call("lovelace/dashboards/create", url_path=DASHBOARD, title="H.264", mode="storage")
        card = {"type": "custom:esp32-camera-card", "entity": entity_id}
        await call(
            "lovelace/config/save",
            url_path=DASHBOARD,
            config={"views": [{"title": "H.264", "cards": [card]}]},
        )
    figures: dict[str, Any] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        # H.264 first (its switch is on), then HA's MJPEG with the switch off.
        for mode in ("h264", "mjpeg"):
            await bench.hass.switch_cameras([camera.camera_id], [H264_SWITCH], on=mode == "h264")
            page = await open_logged_in(browser, bench.hass, f"/{DASHBOARD}/0")
            if mode == "h264":
                video = await open_more_info_video(page)
                since = time.time()  # frames sent before may be on screen already
                sample = await sample_video_stamps(page, video, seconds)
                seen, presented = sample["seen"], sample["frames"]
            else:
                await page.locator(CARD_PICTURE).first.click()
                image = page.locator(MJPEG_IMG).first
                await image.wait_for(timeout=60_000)
                since = time.time()
                await start_sampling(page, [image])
                await asyncio.sleep(seconds)
                seen = (await stop_sampling(page))["seen"][0]
                presented = len(seen)
            figures[mode] = latency_summary(seen, dict(camera.stamp_sent_at), since)
            figures[mode]["stamps_read"] = len(seen)
            figures[mode]["frames_presented"] = presented
            figures[mode]["load"] = float(
                Path("/proc/loadavg").read_text(encoding="ascii").split()[0]
            )
            await page.context.close()
        await browser.close()
    return figures


async def hub_memory(bench: Bench, cameras: list[str], seconds: float) -> dict[str, Any]:
    """hass's memory (and its transcoders') with every camera read by 3 readers, over `seconds`.

    Beside it the same cameras streaming with nobody reading (the MJPEG path idle).
    """
    hass_pid = bench.hass.pid
    samples: dict[str, list[dict[str, float]]] = {"baseline": [], "readers": []}

    async def sample(into: list[dict[str, float]], duration: float) -> None:
        end = time.monotonic() + duration
        while time.monotonic() < end:
            children = ffmpeg_children(hass_pid)
            ffmpeg_pss = 0.0
            for pid in children:
                with contextlib.suppress(OSError):
                    ffmpeg_pss += pss_mib(pid)
            into.append(
                {
                    "hass_mib": round(rss_mib(hass_pid), 1),
                    "ffmpeg_pss_mib": round(ffmpeg_pss, 1),
                    "ffmpeg_processes": len(children),
                }
            )
            await asyncio.sleep(min(10.0, duration / 6))

    await sample(samples["baseline"], min(30.0, seconds / 2))
    cpu = {"baseline": await _window(bench, 10.0)}
    # Each camera's readers come from three addresses, as three consumers would (HA's stream,
    # HomeKit, go2rtc): the control port admits at most 16 connections from one address.
    sessions = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(f"127.0.0.{n + 2}", 0)),
            timeout=STREAMING,
        )
        for n in range(READERS_PER_CAMERA)
    ]
    readers = []
    try:
        for camera_id in cameras:
            url, auth = h264_url(bench, camera_id)
            readers += [StreamReader(session, url, auth=auth) for session in sessions]
        await asyncio.sleep(SETTLE_SECONDS)
        cpu["readers"] = await _window(bench, 10.0)
        await sample(samples["readers"], seconds)
        read = sorted(reader.bytes for reader in readers)
        errors = [reader.error for reader in readers if reader.error]
        for reader in readers:
            await reader.close()
    finally:
        for session in sessions:
            await session.close()
    await asyncio.sleep(STOP_WAIT)
    return {
        "cameras": len(cameras),
        "readers": len(readers),
        "seconds": seconds,
        "samples": samples,
        "cpu": cpu,
        "reader_mb_min": round(read[0] / 1e6, 2),
        "reader_errors": errors,
        "after": {
            "ffmpeg_processes": len(ffmpeg_children(hass_pid)),
            "hass_mib": round(rss_mib(hass_pid), 1),
        },
    }


async def run(bench: Bench) -> None:
    """The `h264` workload: its figures in bench.results["h264"]."""
    quick = bench.plan is QUICK
    points = await asyncio.to_thread(curve, quick=quick)
    chosen = choose_default(points)
    results: dict[str, Any] = {
        "curve": [{**dataclasses.asdict(p), "ratio": round(p.ratio, 2)} for p in points],
        "default_crf": chosen.crf,
        "default_from_curve": dataclasses.asdict(chosen),
    }
    bench.results["h264"] = results
    frames = list(build_scenes()["crossing"])

    def camera(camera_id: str, **options: Any) -> SimulatedCamera:
        """A simulated VGA camera at 20 fps into the hub, sending as fast as the firmware can."""
        return SimulatedCamera(
            "127.0.0.1",
            bench.stream_port,
            camera_id=camera_id,
            token=bench.hub_token,
            resolution=VGA,
            mode="speed",
            pacing=False,
            **options,
        )

    crossing = camera("h264-crossing", frames=frames)
    stamped = camera("h264-stamped", stamp_frames=True)
    others = [camera(f"h264-memory-{n}", frames=frames) for n in range(2, HUB_CAMERAS + 1)]
    seconds = 10.0 if quick else 30.0
    try:
        for simulated in (crossing, stamped):
            simulated.start()
        await asyncio.gather(*(sim.wait_frames(3, timeout=30) for sim in (crossing, stamped)))
        ids = ["h264-crossing", "h264-stamped"]
        await bench.camera_entities("h264-", 2)
        await bench.hass.switch_cameras(ids, [H264_SWITCH], on=True)
        log("transcoder CPU (crossing scene, VGA 20 fps)")
        results["cpu"] = await transcoder_cpu(bench, "h264-crossing", seconds)
        for simulated in others:
            simulated.start()
        await asyncio.gather(*(simulated.wait_frames(3, timeout=30) for simulated in others))
        memory_ids = ["h264-crossing", *(f"h264-memory-{n}" for n in range(2, HUB_CAMERAS + 1))]
        await bench.camera_entities("h264-", HUB_CAMERAS + 1)
        await bench.hass.switch_cameras(memory_ids, [H264_SWITCH], on=True)
        log(f"memory: {HUB_CAMERAS} cameras transcoding, {READERS_PER_CAMERA} readers each")
        results["memory"] = await hub_memory(bench, memory_ids, 60.0 if quick else 300.0)
        for simulated in others:
            await simulated.stop()
        log("camera/stream to the first HLS segment")
        results["time_to_segment"] = await time_to_first_segment(bench, "h264-stamped")
        log("display delay in Chromium: more-info HLS player beside HA's MJPEG")
        results["display_delay_ms"] = await display_delay(bench, stamped, seconds)
    finally:
        for simulated in (crossing, stamped, *others):
            await simulated.stop()


def table(results: dict[str, Any]) -> list[str]:
    """The h264 workload's section of the table, when it ran."""
    if (figures := results.get("h264")) is None:
        return []
    lines = curve_table(
        [CurvePoint(**{k: v for k, v in p.items() if k != "ratio"}) for p in figures["curve"]]
    )
    lines.append(f"  default: CRF {figures['default_crf']} (choose_default)")
    if cpu := figures.get("cpu"):
        lines += ["", "H.264 transcoder, one VGA camera at 20 fps (crossing scene), % of a core"]
        for name in ("nobody", "mjpeg", "h264"):
            row = cpu[name]
            lines.append(
                f"  {name:<8} ffmpeg {row['ffmpeg_core_percent']:>6.1f}  hass "
                f"{row['hass_core_percent']:>6.1f}  processes {row['ffmpeg_processes']}  "
                f"kbit/s {row.get('kbit_s', '-')}  load {row['load']}"
            )
        lines.append(f"  after the reader left: {cpu['after']['ffmpeg_processes']} ffmpeg")
    if timing := figures.get("time_to_segment"):
        lines.append(f"H.264 start (s): {timing}")
    if delay := figures.get("display_delay_ms"):
        for mode, summary in delay.items():
            lines.append(f"Display delay in more-info, {mode}: {summary}")
    if memory := figures.get("memory"):
        for name, samples in memory["samples"].items():
            hass_mib = [sample["hass_mib"] for sample in samples]
            ffmpeg_mib = [sample["ffmpeg_pss_mib"] for sample in samples]
            lines.append(
                f"Memory {name}: hass {hass_mib[0]}..{hass_mib[-1]} MiB (max {max(hass_mib)}), "
                f"ffmpeg PSS {ffmpeg_mib[0]}..{ffmpeg_mib[-1]} MiB; CPU {memory['cpu'][name]}"
            )
        lines.append(
            f"  after: {memory['after']}; each reader read >= {memory['reader_mb_min']} MB; "
            f"readers that stopped early: {memory.get('reader_errors') or 'none'}"
        )
    return lines
