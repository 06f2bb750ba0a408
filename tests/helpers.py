"""Helpers shared by the tests: real JPEGs, cameras over real sockets, clips, waiting.

The one home of what more than one test module uses (fixtures live in the conftest.py files).
Free ports come from `harness.hass_process.free_port`, shared with the bench and the e2e tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
import contextlib
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
import fcntl
import functools
import io
import itertools
import json
import os
from pathlib import Path
import random
import shutil
import struct
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
from homeassistant.auth.models import User
from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, CONF_NAME, CONF_TOKEN
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MockHAClientWebSocket
from websockets.asyncio.server import Server, ServerConnection, serve

from custom_components.esp32_camera.clips import AviWriter, ClipFrame, read_avi
from custom_components.esp32_camera.const import (
    CONF_CONTROL_PORT,
    CONF_RETENTION_DAYS,
    CONF_SAVE_DIRECTORY,
    CONF_STREAM_PORT,
    DOMAIN,
    EVENT_CLIP_SAVED,
)
from custom_components.esp32_camera.disk.layout import clip_path
from custom_components.esp32_camera.hub.image_saver import ImageSaver
from custom_components.esp32_camera.hub.store import STORAGE_VERSION, storage_key
from custom_components.esp32_camera.listener import CameraRecord, DeviceListener
from custom_components.esp32_camera.motion import (
    MotionDetector,
    MotionEvent,
    MotionEventType,
    MotionSettings,
)
from custom_components.esp32_camera.protocol import Frame
from esp32_simulator.scenes import FPS as SCENE_FPS, SceneSize, build_scenes
from harness.hass_process import free_port

REPOSITORY = Path(__file__).resolve().parents[1]
INTEGRATION = REPOSITORY / "custom_components" / DOMAIN

# The suite's order ------------------------------------------------------------------------------

# The longest tests, by node id prefix, with their rough wall time in seconds (`-n 0 --durations`;
# only the order and the rough size matter): most of it waiting for a real-time stream, a clip or a
# `hass` process. Each xdist worker starts on its share of them (longest first) while the short ones
# fill the gaps; left to the collection order, one of them started late and ended the run alone.
LONGEST_TESTS: dict[str, float] = {
    "tests/scripts/test_demo.py": 75,
    "tests/listener/test_many_cameras.py": 61,
    "tests/hub/test_motion_detection.py::test_a_crossing_turns": 23,
    "tests/listener/test_attacks_on_the_listener.py::test_the_token_cannot_make_any_number": 20,
    "tests/hub/test_motion_detection.py::test_a_busy_scene": 17,
    "tests/platforms/test_h264_consumers.py::test_go2rtc": 15,
    "tests/motion/test_detector.py::test_uxga[crossing]": 12,
    "tests/hub/test_motion_detection.py::test_a_camera_whose_analysis": 12,
    "tests/motion/test_detector.py::test_uxga[lamp]": 9,
    "tests/hub/test_motion_detection.py::test_a_lamp": 9,
    "tests/motion/test_detector.py::test_uxga[shake]": 7,
}


def longest_first(node_ids: list[str], workers: int) -> list[str]:
    """Order the collection so that each xdist worker's first tests are its share of the longest.

    `--dist worksteal` hands each of the N workers a contiguous share of the collection (the
    first gets len // N, the next len of the rest // (N - 1), ...) and later moves the tails of
    busy workers' shares to idle ones: what heads a share starts at once, the rest balances.
    Every worker collects and orders for itself: the order depends on the collection alone.
    """

    def seconds(node_id: str) -> float:
        return max(
            (time for prefix, time in LONGEST_TESTS.items() if node_id.startswith(prefix)),
            default=0.0,
        )

    longest = sorted((node for node in node_ids if seconds(node)), key=seconds, reverse=True)
    others = [node for node in node_ids if not seconds(node)]
    sizes: list[int] = []
    for worker in range(workers):
        sizes.append((len(node_ids) - sum(sizes)) // (workers - worker))
    # Longest first onto the least loaded worker whose share still has room.
    heads: list[list[str]] = [[] for _ in sizes]
    loads = [0.0 for _ in sizes]
    for node in longest:
        worker = min(
            (w for w, size in enumerate(sizes) if len(heads[w]) < size), key=lambda w: loads[w]
        )
        heads[worker].append(node)
        loads[worker] += seconds(node)
    ordered: list[str] = []
    for worker, size in enumerate(sizes):
        ordered += heads[worker]
        ordered += others[: size - len(heads[worker])]
        del others[: size - len(heads[worker])]
    return ordered


# Waiting ----------------------------------------------------------------------------------------


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    """Poll a condition in the test (not in the code under test)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


# JPEGs ------------------------------------------------------------------------------------------


def jpeg_bytes(
    width: int = 160,
    height: int = 120,
    color: int | tuple[int, int, int] = (200, 0, 0),
    *,
    quality: int = 75,
    noise_seed: int | None = None,
    mode: str = "RGB",
    picture: Image.Image | None = None,
    progressive: bool = False,
) -> bytes:
    """A real JPEG made by Pillow: of one colour, or of noise, or of a picture drawn by the test.

    Noise (`noise_seed`) makes every block differ, so the JPEG is large and unlike any other seed's.
    `color` is an int for the one-band modes ("L").
    """
    if picture is None:
        if noise_seed is None:
            picture = Image.new(mode, (width, height), color)
        else:
            rng = random.Random(noise_seed)
            noise = bytes(rng.getrandbits(8) for _ in range(width * height * len(mode)))
            picture = Image.frombytes(mode, (width, height), noise)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality, progressive=progressive)
    return buffer.getvalue()


@functools.cache
def _shaded_jpeg(shade: int) -> bytes:
    return jpeg_bytes(64, 48, (shade, 40, 90))


def numbered_jpeg(number: int) -> bytes:
    """A small real JPEG unlike any other: its number in a comment segment (COM) after SOI.

    (Near colours alone can encode to the same bytes.)
    """
    picture, tag = _shaded_jpeg(number % 8 * 32), f"frame {number}".encode()
    return picture[:2] + b"\xff\xfe" + struct.pack(">H", 2 + len(tag)) + tag + picture[2:]


def coloured_jpegs(count: int, width: int = 160, height: int = 120) -> list[bytes]:
    """Return `count` real JPEGs, each of its own colour."""
    return [
        jpeg_bytes(width, height, color=(40 * index % 256, 255 - 30 * index % 256, 90))
        for index in range(count)
    ]


# The simulator's scenes (labelled motion) ---------------------------------------------------------

VGA = SceneSize(640, 480, (800, 600))
UXGA = SceneSize(1600, 1200, (1280, 720))


# Rendering a scene costs seconds of CPU (8 s for the crossing at UXGA), and every xdist worker
# that needed one rendered it again: the first renders it into the run's folder (conftest.py names
# it in this variable), the others wait for it and read it.
SCENES_FOLDER_VARIABLE = "ESP32_CAMERA_TEST_SCENES"
_FRAME_LENGTH = struct.Struct("<I")


@functools.cache
def scene_jpegs(name: str, size: SceneSize = VGA) -> tuple[bytes, ...]:
    """Every frame of a scene (rendered once per run, whatever the number of workers)."""
    folder = os.environ.get(SCENES_FOLDER_VARIABLE)
    if folder is None:
        return tuple(build_scenes(size)[name])
    path = (
        Path(folder) / f"{name}-{size.width}x{size.height}-{size.alternate[0]}x{size.alternate[1]}"
    )
    with path.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if path.exists():
            packed = memoryview(path.read_bytes())
            frames: list[bytes] = []
            offset = 0
            while offset < len(packed):
                (length,) = _FRAME_LENGTH.unpack_from(packed, offset)
                offset += _FRAME_LENGTH.size
                frames.append(bytes(packed[offset : offset + length]))
                offset += length
            return tuple(frames)
        rendered = tuple(build_scenes(size)[name])
        partial = path.with_suffix(".part")
        partial.write_bytes(b"".join(_FRAME_LENGTH.pack(len(jpeg)) + jpeg for jpeg in rendered))
        partial.rename(path)  # complete or absent, even if this worker is killed meanwhile
        return rendered


@functools.cache
def scene_labels(name: str, size: SceneSize = VGA) -> tuple[tuple[int, int], ...]:
    """The frame ranges of a scene in which something moves."""
    return build_scenes(size)[name].motion


@dataclass
class Playback:
    """What a detector made of a scene played at 20 fps."""

    events: list[tuple[int, MotionEvent]] = field(default_factory=list)
    active_frames: set[int] = field(default_factory=set)
    analysed: int = 0

    @property
    def starts(self) -> list[int]:
        return [frame for frame, event in self.events if event.type is MotionEventType.STARTED]


def play(
    name: str, settings: MotionSettings | None = None, size: SceneSize = VGA
) -> tuple[Playback, MotionDetector]:
    """Offer every frame of a scene like the hub does: analyse when due, else count a skip."""
    detector = MotionDetector(settings or MotionSettings())
    playback = Playback()
    for number, jpeg in enumerate(scene_jpegs(name, size)):
        timestamp = 100.0 + number / SCENE_FPS
        if not detector.due(timestamp):
            detector.count_skip()
        else:
            result = detector.analyse(jpeg, timestamp)
            assert result is not None
            playback.analysed += 1
            if result.event is not None:
                playback.events.append((number, result.event))
        if detector.active:
            playback.active_frames.add(number)
    return playback, detector


# Clips as files -----------------------------------------------------------------------------------

# The start of an ISO Base Media (MP4) file: what SavedImageView must pass through unchanged.
MP4_BYTES = bytes.fromhex("0000001c667479706d703432000000006d7034326973366d69736f6d") + bytes(64)


def scene_clip_frames(count: int, start: float = 0.0) -> list[ClipFrame]:
    """A camera's frames at 20 fps, each one a distinct JPEG of the crossing scene."""
    jpegs = scene_jpegs("crossing")
    return [
        ClipFrame(jpegs[number % len(jpegs)], start + number / SCENE_FPS) for number in range(count)
    ]


def crashed_part(folder: Path, name: str, count: int, *, keep: int | None = None) -> Path:
    """A `.part` as a crash leaves it after `count` frames (cut at `keep` bytes, if given)."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = AviWriter(folder / name)
    for frame in scene_clip_frames(count):
        writer.add_frame(frame.data, frame.timestamp)
    live = writer._temporary
    left = folder / f".{name}.crashed.part"
    shutil.copyfile(live, left)  # the Python buffer is lost, as in a crash
    writer.abort()
    if keep is not None:
        os.truncate(left, keep)
    return left


def local(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    """Return a time in Home Assistant's time zone (the layout's names are local time)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=dt_util.get_default_time_zone())


def write_clip(
    root: Path,
    camera_id: str,
    when: datetime,
    *,
    reason: str = "motion",
    times: list[float] | None = None,
    mp4: bool = False,
    thumbnail: bool = True,
) -> Path:
    """Write a clip as the hub does (frames at `times`, seconds from its start); return the AVI.

    The layout is disk.layout's: `<save directory>/<camera>/clips/<day>/<time>_<reason>.avi`, with
    an `.mp4` and a `.jpg` thumbnail of the same stem beside it when they were made.
    """
    times = times if times is not None else [0.0, 0.1, 0.2]
    path = clip_path(root, camera_id, when, reason)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = coloured_jpegs(len(times))
    with AviWriter(path) as writer:
        for frame, at in zip(frames, times, strict=True):
            writer.add_frame(frame, 1000.0 + at)
        writer.commit()
    if mp4:
        path.with_suffix(".mp4").write_bytes(MP4_BYTES)
    if thumbnail:
        path.with_suffix(".jpg").write_bytes(frames[0])
    return path


def avi_frames(path: str | Path) -> list[bytes]:
    """Return the JPEGs of a clip, as the AVI holds them."""
    return list(read_avi(Path(path)).iter_frames())


# A hub in a real Home Assistant, with cameras over real sockets -----------------------------------

HUB_TOKEN = "test-hub-token-0123456789abcdef"
# The camera entity of `cam1`, the camera most tests connect.
ENTITY = "camera.esp32_camera_cam1"
# Frames a test camera sends per second (the firmware's default).
CAMERA_FPS = 20


class CameraClient:
    """A camera speaking the firmware's protocol over a real WebSocket."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws

    async def register(self, **extra: Any) -> None:
        await self.ws.send_str(json.dumps({"type": "register", "device": "camera", **extra}))
        await self.ws.receive_json(timeout=5)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def send_frame(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


def add_hub_entry(
    hass: HomeAssistant, title: str, save_directory: str, entry_id: str | None = None
) -> MockConfigEntry:
    """Add a hub entry on free ports to `hass` (not set up)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title=title,
        data={
            CONF_NAME: title,
            CONF_HOST: "127.0.0.1",
            CONF_STREAM_PORT: free_port(),
            CONF_CONTROL_PORT: free_port(),
            CONF_TOKEN: HUB_TOKEN,
        },
        # Retention off: the tests write clips and images with fixed old dates, which the hub's
        # first sweep (in the background) would race to remove; retention has its own tests.
        options={CONF_SAVE_DIRECTORY: save_directory, CONF_RETENTION_DAYS: 0},
    )
    entry.add_to_hass(hass)
    return entry


def stored_cameras(
    hass_storage: dict[str, Any], entry_id: str, names: dict[str, str | None]
) -> None:
    """Give the hub a store that knows these cameras (by id: name), as after an earlier run."""
    hass_storage[storage_key(entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": storage_key(entry_id),
        "data": {
            "cameras": {
                camera_id: {
                    "name": name,
                    "firmware": None,
                    "settings": {},
                    "saving": False,
                    "saving_rate": 0.0,
                    "motion": {},
                }
                for camera_id, name in names.items()
            },
            "approved": {},
            "refused": [],
        },
    }


async def hub_settings_form(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Open the hub's options at its settings form (the menu's "Hub settings")."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["step_id"] == "settings"
    return dict(result)


def settings_input(form: dict[str, Any], **changes: Any) -> dict[str, dict[str, Any]]:
    """Return the settings form's values by section, as shown, with `changes` (form units)."""
    values = {
        key.schema: {field.schema: field.default() for field in value.schema.schema}
        for key, value in form["data_schema"].schema.items()
    }
    for name, value in changes.items():
        section = next(section for section in values.values() if name in section)
        section[name] = value
    return values


async def websocket_command(client: MockHAClientWebSocket, **message: Any) -> dict[str, Any]:
    """Send a command over HA's WebSocket API; return its result (events in between are skipped)."""
    await client.send_json_auto_id(message)
    while True:
        answer: dict[str, Any] = await client.receive_json()
        if answer["type"] == "result" and answer["id"] == message["id"]:
            return answer


def control_url(entry: MockConfigEntry, path: str) -> str:
    """The URL of `path` on the hub's control port."""
    return f"http://127.0.0.1:{entry.data[CONF_CONTROL_PORT]}{path}"


async def answer(camera: CameraClient, status: str = "ok") -> dict[str, Any]:
    """Receive the next command as the camera and answer it; return the command."""
    command: dict[str, Any] = await camera.ws.receive_json(timeout=5)
    await camera.send_json(
        {"type": "response", "cmd": command["cmd"], "status": status, "value": command["val"]}
    )
    return command


def shorten_command_timeout(hub: Any, seconds: float = 0.2) -> None:
    """Make the hub's listener give up waiting for a command's response sooner."""
    hub.listener.settings = dataclasses.replace(hub.listener.settings, command_timeout=seconds)


async def setup_with_camera(hass: HomeAssistant, hub_entry: MockConfigEntry, start: Any) -> Any:
    """Set the hub up, start a camera and wait until its entity is available."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await start()
    await wait_for(lambda: (state := hass.states.get(ENTITY)) and state.state != "unavailable")
    return camera


def ring_frames(hub: Any) -> int:
    """Frames in cam1's ring buffer (0 before its first frame)."""
    ring = hub.clips.stats("cam1")["ring"]
    return 0 if ring is None else int(ring["frames"])


class Sender:
    """A camera client sending distinct frames at 20 fps until stopped."""

    def __init__(self, camera: Any) -> None:
        self.camera = camera
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            self.sent += 1
            await self.camera.send_frame(numbered_jpeg(self.sent))
            # On a schedule, as the firmware: a late frame does not delay the next ones.
            await asyncio.sleep(max(0.0, started + self.sent / CAMERA_FPS - loop.time()))

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class ClipEvents:
    """The `esp32_camera_clip_saved` events."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.events: list[dict[str, Any]] = []
        hass.bus.async_listen(EVENT_CLIP_SAVED, self._event)

    @callback
    def _event(self, event: Event[Any]) -> None:
        self.events.append(dict(event.data))


# Actions ----------------------------------------------------------------------------------------


async def call_action(
    hass: HomeAssistant, action: str, user: User | None = None, **data: Any
) -> dict[str, Any]:
    """Call an action on cam1's camera entity as `user` (None: an automation); return its response."""
    response = await hass.services.async_call(
        DOMAIN,
        action,
        {"entity_id": ENTITY, **data},
        blocking=True,
        return_response=True,
        context=Context(user_id=None if user is None else user.id),
    )
    assert response is not None
    result: dict[str, Any] = response[ENTITY]  # type: ignore[assignment]
    return result


async def refused_action(
    hass: HomeAssistant, action: str, user: User | None = None, **data: Any
) -> HomeAssistantError:
    """Call an action that must be refused; return the error."""
    with pytest.raises(HomeAssistantError) as error:
        await call_action(hass, action, user, **data)
    return error.value


async def record_clip(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call esp32_camera.record on cam1's camera entity (as an automation); return its response."""
    return await call_action(hass, "record", **data)


# A frame the action tests send before a snapshot or a clip.
ACTION_FRAME = jpeg_bytes(color=(9, 99, 199))


async def with_frame(hass: HomeAssistant, hub_entry: MockConfigEntry, connect: Any) -> Any:
    """Set the hub up with cam1 connected, and wait until the hub holds a frame of it."""
    camera = await setup_with_camera(hass, hub_entry, connect)
    await camera.send_frame(ACTION_FRAME)
    await wait_for(lambda: hub_entry.runtime_data.cameras["cam1"].latest_frame is not None)
    return camera


async def record_one_frame(
    hass: HomeAssistant, hub_entry: MockConfigEntry, camera: Any, user: User | None, **data: Any
) -> dict[str, Any]:
    """Record a one-second clip holding one frame sent during it."""
    task = hass.async_create_task(call_action(hass, "record", user, duration=1, pre_roll=0, **data))
    await wait_for(lambda: task.done() or hub_entry.runtime_data.clips.open_clips("cam1"))
    if not task.done():
        await camera.send_frame(numbered_jpeg(2))
    return await task


# The image saver without a hub -----------------------------------------------------------------

# A minimal JPEG (SOI, APP0 marker, bytes, EOI): the saver checks the markers, not the picture.
SAVER_JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


class FrameBus:
    """Stands in for the hub's frame fan-out (`FrameBroker.async_add_listener`)."""

    def __init__(self) -> None:
        self.listeners: dict[str, list[Callable[[Any, Any], None]]] = {}

    def add(self, listener: Callable[[Any, Any], None], camera_id: str) -> Callable[[], None]:
        self.listeners.setdefault(camera_id, []).append(listener)
        return lambda: self.listeners[camera_id].remove(listener)

    def publish(self, camera_id: str, data: bytes, at: float) -> None:
        camera = SimpleNamespace(camera_id=camera_id)
        frame = SimpleNamespace(data=data, started_at=at, completed_at=at)
        for listener in list(self.listeners.get(camera_id, ())):
            listener(camera, frame)


def make_saver(hass: HomeAssistant, directory: Path, bus: FrameBus, **kwargs: Any) -> ImageSaver:
    """An image saver writing into `directory`, fed by `bus`, retention off unless given."""
    kwargs.setdefault("retention_days", 0)
    kwargs.setdefault("retention_size_mb", 0)
    return ImageSaver(hass, "entry", directory=str(directory), add_frame_listener=bus.add, **kwargs)


async def written(hass: HomeAssistant, saver: ImageSaver) -> None:
    """Wait until the saver has written everything queued and applied retention.

    Polls through the executor: the loop's clock stands still under `freezer`.
    """
    await hass.async_block_till_done()
    for _ in range(2000):
        if not saver.busy:
            return
        await hass.async_add_executor_job(time.sleep, 0.002)
    pytest.fail("the saver did not become idle")


# MJPEG streams read as go2rtc reads them -------------------------------------------------------

# What Chromium sends for an <img> on any origin (no Sec-Fetch-* headers over plain http).
CHROMIUM_IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


class MultipartRuleError(Exception):
    """The stream breaks go2rtc's multipart rules."""


class Go2rtcPartReader:
    """Read parts as go2rtc does: boundary line, MIME headers, Content-Length, exact body."""

    def __init__(self, content: aiohttp.StreamReader) -> None:
        self.content = content

    async def next_part(self) -> tuple[dict[str, str], bytes]:
        while True:
            line = await self.content.readline()
            if not line:
                raise MultipartRuleError("stream ended")
            if line.startswith(b"--"):
                break
            if line != b"\r\n":
                raise MultipartRuleError(f"wrong boundary: {line!r}")
        headers: dict[str, str] = {}
        while (line := await self.content.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("ascii").partition(":")
            headers[name.strip().title()] = value.strip()
        if "Content-Length" not in headers:
            raise MultipartRuleError("no content length")
        body = await self.content.readexactly(int(headers["Content-Length"]))
        if await self.content.readexactly(2) != b"\r\n":
            raise MultipartRuleError("no CRLF after the body")
        return headers, body


# The device listener alone, with raw WebSocket clients as cameras --------------------------------

LISTENER_TOKEN = "s3cret-token"
SMALL_JPEG = jpeg_bytes(160, 120, (200, 40, 40), quality=80)
OTHER_JPEG = jpeg_bytes(80, 60, (200, 40, 40), quality=80)  # what an impostor sends
LARGE_JPEG = jpeg_bytes(320, 240, quality=95, noise_seed=0)

type ListenerFactory = Callable[..., Awaitable[DeviceListener]]


class RecordingObserver:
    """Keeps every callback of the listener for assertions."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.frames: list[tuple[str, Frame]] = []
        self.frame_event = asyncio.Event()

    def camera_connected(self, camera: CameraRecord) -> None:
        self.events.append(("connected", camera.camera_id))

    def camera_disconnected(self, camera: CameraRecord) -> None:
        self.events.append(("disconnected", camera.camera_id))

    def camera_pending(self, camera: CameraRecord) -> None:
        self.events.append(("pending", camera.address))

    def camera_updated(self, camera: CameraRecord) -> None:
        self.events.append(("updated", camera.camera_id))

    def frame_received(self, camera: CameraRecord, frame: Frame) -> None:
        self.frames.append((camera.camera_id, frame))
        self.frame_event.set()

    def pending_overflow(self, sources: Sequence[str]) -> None:
        self.events.append(("overflow", tuple(sources)))

    def authentication_failed(self, address: str, reason: str) -> None:
        self.events.append(("auth_failed", address))
        raise RuntimeError("observer bug")  # must not break the listener

    async def wait_frames(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.frames) < count:
                self.frame_event.clear()
                await self.frame_event.wait()


def listener_url(listener: DeviceListener, *, control: bool = False, query: str = "") -> str:
    """The URL of the listener's stream (or control) port, with a query."""
    port = listener.settings.control_port if control else listener.settings.stream_port
    return f"http://127.0.0.1:{port}/{query}"


async def register(ws: aiohttp.ClientWebSocketResponse, **extra: str) -> dict[str, Any]:
    """Register a raw WebSocket as a camera; return the listener's reply."""
    await ws.send_str(json.dumps({"type": "register", "device": "camera", **extra}))
    reply: dict[str, Any] = await ws.receive_json(timeout=5)
    return reply


@contextlib.asynccontextmanager
async def connect_from(source: str, address: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A WebSocket from another loopback address (a camera elsewhere on the LAN)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as client,
        client.ws_connect(address) as ws,
    ):
        yield ws


_read_markers = itertools.count()


async def read_through(
    listener: DeviceListener, ws: aiohttp.ClientWebSocketResponse, camera_id: str
) -> None:
    """Return once the listener has read everything sent on `ws` so far.

    A camera's messages are read in order and most get no answer: a `status` message sent last,
    once recorded on the camera, shows that those before it were read.
    """
    marker = f"read through {next(_read_markers)}"
    await ws.send_str(json.dumps({"type": "status", "msg": marker}))
    await wait_for(
        lambda: (
            (camera := listener.cameras.get(camera_id)) is not None and camera.last_status == marker
        )
    )


async def assert_silent(ws: aiohttp.ClientWebSocketResponse) -> None:
    """The hub sends this socket nothing (no command) for a while."""
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.3)


async def answer_command(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """Receive one command as the camera (a raw WebSocket) and answer it."""
    command: dict[str, Any] = await ws.receive_json(timeout=5)
    await ws.send_str(
        json.dumps(
            {"type": "response", "cmd": command["cmd"], "status": "ok", "value": command["val"]}
        )
    )
    return command


class FakeClock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# A recording server standing in for the listener (the simulator's tests) ------------------------


@dataclass
class ServerEvent:
    """One message the recording server received."""

    at: float
    text: dict[str, Any] | None = None
    data: bytes | None = None

    @property
    def type(self) -> str | None:
        return None if self.text is None else self.text.get("type")


@dataclass
class RecordedSession:
    """One camera connection as the recording server saw it."""

    connection: ServerConnection
    path: str
    headers: dict[str, str]
    remote_address: str
    events: list[ServerEvent] = field(default_factory=list)
    closed: bool = False

    def texts(self, message_type: str | None = None) -> list[dict[str, Any]]:
        return [
            event.text
            for event in self.events
            if event.text is not None and (message_type is None or event.type == message_type)
        ]

    async def send_command(self, cmd: str, val: str = "") -> None:
        await self.connection.send(json.dumps({"type": "command", "cmd": cmd, "val": val}))


@dataclass
class AssembledFrame:
    """A frame reassembled from one of the three framings, checked against the protocol."""

    framing: str
    data: bytes
    frame_id: int | None
    header: dict[str, Any] | None = None
    chunk_lengths: tuple[int, ...] = ()


class RecordingServer:
    """Accepts camera connections on 127.0.0.1, records every message, sends commands."""

    def __init__(self) -> None:
        self.sessions: list[RecordedSession] = []
        self.port = 0
        self._changed = asyncio.Event()
        self._server: Server | None = None

    async def start(self) -> None:
        self._server = await serve(self._handler, "127.0.0.1", 0, max_size=8 << 20)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _handler(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        session = RecordedSession(
            connection=connection,
            path=request.path,
            headers={key.lower(): value for key, value in request.headers.raw_items()},
            remote_address=connection.remote_address[0],
        )
        self.sessions.append(session)
        self._notify()
        try:
            async for message in connection:
                now = time.monotonic()
                if isinstance(message, str):
                    session.events.append(ServerEvent(now, text=json.loads(message)))
                else:
                    session.events.append(ServerEvent(now, data=message))
                self._notify()
        except Exception:  # noqa: BLE001 - an aborted camera socket is a normal end here
            pass
        finally:
            session.closed = True
            self._notify()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    async def wait_session(self, index: int = 0, timeout: float = 5.0) -> RecordedSession:
        await self.wait_for(lambda: len(self.sessions) > index, timeout)
        return self.sessions[index]

    async def wait_frames(
        self, count: int, session_index: int = 0, timeout: float = 5.0
    ) -> list[AssembledFrame]:
        def enough() -> bool:
            return (
                len(self.sessions) > session_index
                and len(assemble_frames(self.sessions[session_index].events)) >= count
            )

        await self.wait_for(enough, timeout)
        return assemble_frames(self.sessions[session_index].events)


def assemble_frames(events: list[ServerEvent]) -> list[AssembledFrame]:
    """Reassemble the complete frames of a session, asserting the framing rules on the way."""
    frames: list[AssembledFrame] = []
    position = 0
    while position < len(events):
        event = events[position]
        if event.data is not None:
            frames.append(AssembledFrame("binary", event.data, None))
            position += 1
            continue
        header = event.text or {}
        if header.get("type") == "frame_start":
            if position + 2 >= len(events):
                break  # still in flight
            data, footer = events[position + 1].data, events[position + 2].text
            assert data is not None
            assert len(data) == header["size"]
            assert footer == {"type": "frame_end", "id": header["id"]}
            frames.append(AssembledFrame("frame", data, header["id"], header))
            position += 3
            continue
        if header.get("type") == "img_start":
            chunks = events[position + 1 : position + 1 + header["chunks"]]
            if len(chunks) < header["chunks"] or any(chunk.data is None for chunk in chunks):
                break  # in flight or cut
            payload = b"".join(chunk.data or b"" for chunk in chunks)
            assert len(payload) == header["size"]
            frames.append(
                AssembledFrame(
                    "chunked",
                    payload,
                    header["id"],
                    header,
                    tuple(len(chunk.data or b"") for chunk in chunks),
                )
            )
            position += 1 + header["chunks"]
            continue
        position += 1  # register, info, health, response, status, img_end
    return frames


async def setup_ffmpeg(hass: HomeAssistant, binary: str | None = None) -> str:
    """Load Home Assistant's ffmpeg integration with the system's ffmpeg (or `binary`)."""
    ffmpeg = binary or shutil.which("ffmpeg")
    assert ffmpeg is not None, "these tests need ffmpeg (scripts/setup installs it)"
    assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {"ffmpeg_bin": ffmpeg}})
    return ffmpeg


def h264_switch_entity(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """The entity id of cam1's "H.264 stream" switch."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{entry.entry_id}_cam1_h264_stream"
    )
    assert entity_id is not None
    return entity_id


async def turn_switch(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    """Turn a switch on or off as a user would."""
    await hass.services.async_call(
        "switch", "turn_on" if on else "turn_off", {ATTR_ENTITY_ID: entity_id}, blocking=True
    )
