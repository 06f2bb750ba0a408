"""Issue 18's attacks on motion detection and on the clip reader (findings 2 and 8's AVI).

    scripts/bench --only attacks
    ESP32_CAMERA_ATTACKS="tiny JPEGs,crafted clips" scripts/bench --only attacks   # these two only

(the names of the steps: "tiny JPEGs", "crafted clips", "crafted clip 1M index"; the other
attacks' names are those of `bench.attacks.run`.)

Run from `bench.attacks.run` beside the other attacks, each measured by `bench.attack_tools.Phase` (hass RSS,
loop lag, API latency, repair issues, tracebacks), with the legitimate camera streaming.

- **tiny JPEGs**: an admitted camera sends 1x1, 2x2, 16x2, 1x200, 65500x1 and 1x65500 JPEGs and
  one whose header claims 65500x65500; then another admitted camera plays the simulator's crossing.
  Before issue 18 the first 2x2 killed the hub's one motion worker thread: the crossing was never
  detected. Figures: whether and how fast the crossing turned the watching camera's motion sensor
  on, and the attacker's counters from diagnostics.
- **crafted clips**: files in the legitimate camera's clips folder beside a valid clip: dwRate 0 (and
  no `tims`, as a foreign AVI: the replay then divides by the rate), a 49-day `tims`. Figures: the replay's status, how long the 49-day replay holds a viewer (cut at
  HOLD_LIMIT), whether the panel's clip list answers and what it lists.
- **crafted clip, 1M-entry index**: a 16 MB AVI whose index has 1,000,000 entries, listed and
  replayed. Figure: hass RSS growth (the phase's peak and after).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import io
from pathlib import Path
import struct
import time
from typing import TYPE_CHECKING, Any

import aiohttp
from PIL import Image

from bench.attack_tools import Phase
from bench.wire import WireCamera, footer_count, frame_messages
from custom_components.esp32_camera.clips import AviWriter
from esp32_simulator.scenes import FPS, build_scenes

if TYPE_CHECKING:
    from bench.testbed import Bench

WATCH = "motionavi-watch"  # plays the crossing: its motion must still be detected
TINY = "motionavi-tiny"  # the glitching (or hostile) admitted camera
CLIPS_OF = "legit-1"  # the attacks' legitimate camera (bench.attacks): the crafted clips' folder
TINY_SIZES = ((1, 1), (2, 2), (16, 2), (1, 200), (65500, 1), (1, 65500))
DETECT_TIMEOUT = 30.0  # seconds of crossing (played in a loop) before "not detected"
HOLD_LIMIT = 15.0  # seconds a replay may hold the viewer before the bench gives up on it
DAY = "2026-01-02"

type Step = tuple[str, Callable[[], Awaitable[Any]]]


def _log(message: str) -> None:
    print(f"[bench] attacks (motion-avi): {message}", flush=True)


def motion_avi_steps(bench: Bench) -> list[Step]:
    """Return this module's attacks as named steps of `attacks()`."""
    return [
        ("tiny JPEGs", lambda: _tiny_jpegs(bench)),
        ("crafted clips", lambda: _crafted_clips(bench)),
        ("crafted clip 1M index", lambda: _huge_index(bench)),
    ]


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


def _claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its SOF header claiming another size (cheap to send, costly to decode)."""
    data = bytearray(jpeg)
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


async def _state(bench: Bench, entity_id: str) -> str | None:
    with contextlib.suppress(aiohttp.ClientError):
        return str((await bench.get(f"/api/states/{entity_id}"))["state"])
    return None


async def _motion_counters(bench: Bench, camera_id: str) -> dict[str, Any]:
    """The camera's motion figures from the hub's diagnostics (keys a release lacks are absent)."""
    try:
        diagnostics = await bench.get(f"/api/diagnostics/config_entry/{bench.hass.hub_entry_id}")
    except aiohttp.ClientError as err:
        return {"error": repr(err)}
    motion = diagnostics["data"]["cameras"].get(camera_id, {}).get("motion", {})
    keys = ("analysed", "errors", "unsupported", "failures", "active")
    return {key: motion[key] for key in keys if key in motion}


class _Streamer:
    """A WireCamera sending a list of JPEGs in a loop at FPS until stopped."""

    def __init__(self, camera: WireCamera, jpegs: list[bytes]) -> None:
        self._camera = camera
        self._messages = [(frame_messages(j, frame_id=1), footer_count(len(j))) for j in jpegs]
        self._task: asyncio.Task[None] | None = None

    def play(self, jpegs: list[bytes] | None = None) -> None:
        if jpegs is not None:
            self._messages = [(frame_messages(j, frame_id=1), footer_count(len(j))) for j in jpegs]
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        next_at = time.monotonic()
        number = 0
        while True:
            messages, footers = self._messages[number % len(self._messages)]
            await self._camera.send_frame(messages, footers)
            number += 1
            next_at += 1 / FPS
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._task
            self._task = None


async def _tiny_jpegs(bench: Bench) -> dict[str, Any]:
    """An admitted camera's tiny and degenerate JPEGs; then another camera's crossing."""
    crossing = list(build_scenes()["crossing"])
    watch = WireCamera("127.0.0.1", bench.stream_port, WATCH, bench.hub_token)
    tiny = WireCamera("127.0.0.1", bench.stream_port, TINY, bench.hub_token)
    await watch.connect()
    await tiny.connect()
    streamer = _Streamer(watch, crossing[:1])  # the empty room while the entities appear
    streamer.play()
    try:
        entities = await bench.hass.set_up_motion([WATCH, TINY], cooldown=2.0)
        sensor = entities["binary_sensor", f"{WATCH}_motion"]
        await asyncio.sleep(2.0)  # a settled background
        async with Phase(bench) as phase:
            hostile = [_jpeg(width, height) for width, height in TINY_SIZES]
            hostile.append(_claiming(_jpeg(64, 48), 65500, 65500))
            for _ in range(5):  # each a few times, past the rate cap
                for jpeg in hostile:
                    await tiny.send_frame(frame_messages(jpeg, frame_id=1), footer_count(len(jpeg)))
                    await asyncio.sleep(0.15)
            await asyncio.sleep(1.0)
            started = time.monotonic()
            streamer.play(crossing)
            detected_s = None
            while time.monotonic() - started < DETECT_TIMEOUT:
                if await _state(bench, sensor) == "on":
                    detected_s = round(time.monotonic() - started, 2)
                    break
                await asyncio.sleep(0.1)
        counters = await _motion_counters(bench, TINY)
    finally:
        await streamer.stop()
        watch.abort()
        tiny.abort()
    _log(f"crossing detected after {detected_s} s; attacker's motion counters {counters}")
    return await phase.result(
        "tiny JPEGs 1x1..65500x1, then a crossing",
        hostile_frames=5 * (len(TINY_SIZES) + 1),
        other_camera_motion_detected=detected_s is not None,
        detected_after_s=detected_s,
        attacker_motion=counters,
    )


def _valid_clip(path: Path, frames: int = 10) -> bytes:
    crossing = list(build_scenes()["crossing"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with AviWriter(path) as writer:
        for number in range(frames):
            writer.add_frame(crossing[number], number / FPS)
        writer.commit()
    return path.read_bytes()


def _patched(data: bytes, fourcc: bytes, offset: int, value: int) -> bytes:
    position = data.index(fourcc) + 8 + offset
    return data[:position] + struct.pack("<I", value) + data[position + 4 :]


def _clips_folder(bench: Bench) -> Path:
    # The hub's default save directory (hub.options.default_save_directory): media/esp32_camera.
    return bench.hass.config / "media" / "esp32_camera" / CLIPS_OF / "clips" / DAY


async def _list(bench: Bench) -> dict[str, Any]:
    """The panel's clip list of the camera: success, listed names, skipped (when reported)."""
    started = time.perf_counter()
    try:
        async with bench.hass.websocket() as call:
            result = await call("esp32_camera/clips", camera_id=CLIPS_OF)
    except Exception as err:  # noqa: BLE001 - the failure is the figure
        return {"ok": False, "error": str(err)[:120], "ms": _ms(started)}
    return {
        "ok": True,
        "listed": [Path(clip["name"]).name for clip in result["clips"]],
        "skipped": result.get("skipped"),
        "ms": _ms(started),
    }


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


async def _replay(bench: Bench, name: str) -> dict[str, Any]:
    """GET the clip's replay: its status, and how long it held the viewer (cut at HOLD_LIMIT)."""
    url = (
        f"{bench.hass.url}/api/esp32_camera/clip/{bench.hass.hub_entry_id}/{CLIPS_OF}/{DAY}/{name}"
    )
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=HOLD_LIMIT)
    try:
        async with bench.hass.session.get(
            url, headers=bench.auth_headers, timeout=timeout
        ) as answer:
            status = answer.status
            body = await answer.read()
    except TimeoutError:
        return {"status": 200, "held_s": f">= {HOLD_LIMIT:g}", "ended": False}
    return {
        "status": status,
        "held_s": round(time.monotonic() - started, 2),
        "ended": True,
        "bytes": len(body),
    }


async def _crafted_clips(bench: Bench) -> dict[str, Any]:
    """dwRate 0 and a 49-day tims beside a valid clip: replays and the clip list."""
    folder = _clips_folder(bench)
    valid = await asyncio.to_thread(_valid_clip, folder / "10-00-00_motion.avi")
    rate_zero = folder / "10-00-01_motion.avi"
    long_tims = folder / "10-00-02_motion.avi"

    def write() -> None:
        no_times = valid.replace(b"tims", b"JUNK", 1)  # an unknown chunk: paced by the rate
        rate_zero.write_bytes(_patched(no_times, b"strh", 24, 0))
        times = valid.index(b"tims") + 8
        data = valid[: times + 4] + struct.pack("<I", 49 * 86_400_000) + valid[times + 8 :]
        long_tims.write_bytes(data)

    await asyncio.to_thread(write)
    async with Phase(bench) as phase:
        listing = await _list(bench)
        zero = await _replay(bench, rate_zero.name)
        held = await _replay(bench, long_tims.name)
        good = await _replay(bench, "10-00-00_motion.avi")
    _log(f"list {listing}; rate 0 {zero}; 49-day tims {held}; valid {good}")
    return await phase.result(
        "crafted clips: dwRate 0, 49-day tims",
        clip_list=listing,
        replay_rate_0=zero,
        replay_49_day_tims=held,
        replay_valid=good,
    )


async def _huge_index(bench: Bench) -> dict[str, Any]:
    """A 16 MB AVI with a 1,000,000-entry index (each entry pointing at its one frame)."""
    folder = _clips_folder(bench)
    path = folder / "10-00-03_motion.avi"

    def write() -> int:
        data = _valid_clip(folder / ".template.avi", frames=1)
        (folder / ".template.avi").unlink()
        position = data.index(b"idx1")
        entry = data[position + 8 : position + 24]
        entries = 1_000_000
        data = data[:position] + b"idx1" + struct.pack("<I", 16 * entries) + entry * entries
        data = data[:4] + struct.pack("<I", len(data) - 8) + data[8:]
        path.write_bytes(data)
        return len(data)

    size = await asyncio.to_thread(write)
    async with Phase(bench) as phase:
        listing = await _list(bench)
        replay = await _replay(bench, path.name)
    _log(f"{size / 2**20:.1f} MB; list {listing}; replay {replay}")
    return await phase.result(
        "crafted clip, 1M-entry index (16 MB)",
        file_mib=round(size / 2**20, 1),
        clip_list=listing,
        replay=replay,
    )
