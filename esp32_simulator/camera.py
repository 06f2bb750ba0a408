"""One simulated ESP32-S3 camera (OV3660 firmware) speaking the firmware's WebSocket protocol.

The camera is the WebSocket client. It behaves like the firmware's Arduino main loop: commands
are applied and answered between frames (never in the middle of a chunked transfer), health is
sent on a timer, and frames are captured at the target rate and sent with one of the three
framings chosen by JPEG size. It reconnects forever, like the firmware, until stopped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import functools
import json
import logging
import random
import re
import time
from typing import Any, Self
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from .jpeg import (
    DEFAULT_QUALITY,
    DEFAULT_RESOLUTION_INDEX,
    RESOLUTIONS,
    STAMP_MODULUS,
    PatternRenderer,
    Resolution,
    is_firmware_sendable,
    jpeg_dimensions,
    resolutions_text,
)

_LOGGER = logging.getLogger(__name__)

BINARY_MAX_SIZE = 10_000  # up to this size: one binary message
FRAMED_MAX_SIZE = 30_000  # up to this size: frame_start / binary / frame_end; above: chunked
CHUNK_SIZES = (1024, 2048, 6144, 12288, 24576)
# The chunk size is the smallest one that keeps a frame within this many chunks: stability mode
# prefers small chunks (each followed by a 30 ms pause), speed mode fewer and larger ones.
STABILITY_MAX_CHUNKS = 32
SPEED_MAX_CHUNKS = 16
FRAME_ID_MODULUS = 2**32
# Frames larger than this are rendered in a worker thread (Pillow releases the GIL while
# encoding), smaller ones inline: the thread hop would cost about as much as the encode.
THREAD_RENDER_MIN_PIXELS = 100_000
USER_AGENT = "arduino-WebSocket-Client"  # what the arduinoWebSockets library sends


class Mode(StrEnum):
    """Sender timing profile."""

    SPEED = "speed"
    STABILITY = "stability"

    @property
    def display_name(self) -> str:
        """The firmware's Spanish name used in the ``info`` message."""
        return "Velocidad" if self is Mode.SPEED else "Estabilidad"


class Framing(StrEnum):
    """How a frame went on the wire (names match the integration's protocol docs)."""

    BINARY = "binary"  # one binary message
    FRAME = "frame"  # frame_start / binary / frame_end
    CHUNKED = "chunked"  # img_start / chunks / img_end


@dataclass(frozen=True, slots=True)
class Pacing:
    """Pauses (seconds) the firmware makes while sending one framed transfer."""

    after_header: float
    between_chunks: float
    after_data: float
    after_footer: float


PACING: dict[Mode, Pacing] = {
    Mode.STABILITY: Pacing(
        after_header=0.15, between_chunks=0.03, after_data=0.15, after_footer=0.15
    ),
    Mode.SPEED: Pacing(
        after_header=0.005, between_chunks=0.001, after_data=0.002, after_footer=0.002
    ),
}
NO_PACING = Pacing(0.0, 0.0, 0.0, 0.0)


def chunk_size_for(size: int, mode: Mode) -> int:
    """Chunk size for a chunked frame of ``size`` bytes: grows with the size and in speed mode."""
    max_chunks = SPEED_MAX_CHUNKS if mode is Mode.SPEED else STABILITY_MAX_CHUNKS
    for chunk_size in CHUNK_SIZES:
        if -(-size // chunk_size) <= max_chunks:
            return chunk_size
    return CHUNK_SIZES[-1]


def image_start_message(
    frame_id: int, size: int, chunk_size: int, width: int, height: int
) -> dict[str, Any]:
    """Return the firmware's `img_start` header of a chunked frame."""
    return {
        "type": "img_start",
        "id": frame_id,
        "size": size,
        "chunks": -(-size // chunk_size),
        "chunkSize": chunk_size,
        "width": width,
        "height": height,
    }


def framing_for(size: int) -> Framing:
    """Return the framing the firmware uses for a JPEG of ``size`` bytes."""
    if size <= BINARY_MAX_SIZE:
        return Framing.BINARY
    if size <= FRAMED_MAX_SIZE:
        return Framing.FRAME
    return Framing.CHUNKED


_LEADING_INTEGER = re.compile(r"\s*([+-]?\d+)")


def arduino_to_int(text: str) -> int:
    """Parse like Arduino's ``String.toInt()``: leading integer, 0 when there is none."""
    match = _LEADING_INTEGER.match(text)
    return int(match.group(1)) if match else 0


def arduino_to_bool(text: str) -> bool:
    """Parse a boolean like the firmware: ``1``, ``true`` or ``on``; anything else is off."""
    return text.strip().lower() in {"1", "true", "on"}


def format_uptime(seconds: float) -> str:
    """Uptime as the firmware prints it, e.g. ``1h 2m 3s``."""
    total = int(seconds)
    return f"{total // 3600}h {total % 3600 // 60}m {total % 60}s"


def _json(message: dict[str, Any]) -> str:
    # The firmware concatenates strings: compact JSON, no spaces.
    return json.dumps(message, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SentFrame:
    """A frame the simulator sent completely (all JPEG bytes handed to the socket)."""

    framing: Framing
    frame_id: int | None  # None for the single-binary framing
    size: int
    width: int | None
    height: int | None
    chunk_size: int | None = None  # chunked framing only
    chunks: int | None = None  # chunked framing only
    completed_at: float = field(default_factory=time.monotonic)
    # Which of the fixed ``frames`` it was (a scene's frame number); None for a rendered frame.
    frame_index: int | None = None


@dataclass(slots=True)
class CameraSettings:
    """Sensor settings the firmware keeps in RAM (reset to these values on boot)."""

    brightness: int = 0
    contrast: int = 0
    exposure: bool = True  # automatic exposure
    gain: bool = True  # automatic gain
    whitebalance: bool = True  # automatic white balance
    hmirror: bool = False
    vflip: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        """Return the settings as a plain dict."""
        return {
            "brightness": self.brightness,
            "contrast": self.contrast,
            "exposure": self.exposure,
            "gain": self.gain,
            "whitebalance": self.whitebalance,
            "hmirror": self.hmirror,
            "vflip": self.vflip,
        }


@dataclass(slots=True)
class _BootState:
    """Everything the firmware loses on a reboot."""

    resolution: Resolution
    quality: int
    fps: int
    mode: Mode
    settings: CameraSettings = field(default_factory=CameraSettings)
    booted_at: float = field(default_factory=time.monotonic)
    next_frame_id: int = 1
    frames_sent: int = 0
    frames_dropped: int = 0
    captures: int = 0


class _RebootRequestedError(Exception):
    """Raised inside a session when the server asked for a reboot."""


class _AbortedMidFrameError(Exception):
    """Raised inside a session after the test hook cut the socket in a chunked frame."""


class SimulatedCamera:
    """A virtual ESP32-S3 / OV3660 camera.

    Stock mode (no ``camera_id``, ``name``, ``token`` or ``firmware``) is byte-for-byte what the
    stock firmware sends. With any of them, ``register`` carries them as extension fields (or,
    with ``identity_in_url``, ``id`` and ``token`` go in the URL query instead).

    Use ``await camera.run()`` (until cancelled or stopped), or ``camera.start()`` /
    ``await camera.stop()``, or ``async with SimulatedCamera(...) as camera``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6972,
        *,
        camera_id: str | None = None,
        name: str | None = None,
        token: str | None = None,
        firmware: str | None = None,
        identity_in_url: bool = False,
        resolution: int = DEFAULT_RESOLUTION_INDEX,
        quality: int = DEFAULT_QUALITY,
        fps: int = 20,
        mode: Mode | str = Mode.STABILITY,
        pacing: bool = True,
        frames: Sequence[bytes] | None = None,
        health_interval: float = 10.0,
        reconnect_interval: float = 3.0,
        reboot_delay: float | None = None,
        announce_interval: float = 0.1,
        source_address: str | None = None,
        ip: str | None = None,
        label: str | None = None,
        seed: int | None = None,
        stamp_frames: bool = False,
    ) -> None:
        """Configure the camera; nothing happens until ``run()`` or ``start()``.

        Args:
            host: the server to dial (``ws://host:port/``).
            port: the server's port (the stock firmware uses 6972).
            camera_id: extension ``id`` (None in stock mode).
            name: extension ``name`` (None in stock mode).
            token: extension ``token`` (None in stock mode).
            firmware: extension ``firmware`` version text (None in stock mode).
            identity_in_url: send ``?id=&token=`` in the URL instead of in ``register``.
            resolution: boot resolution index 0..12 (restored by a reboot).
            quality: boot JPEG quality 5..63, lower is better (restored by a reboot).
            fps: boot frame rate; 0 means unlimited (a simulator-only setting for benchmarks).
            mode: boot timing profile, ``speed`` or ``stability`` (restored by a reboot).
            pacing: False removes the firmware's pauses inside framed transfers.
            frames: stream these JPEGs in a loop instead of rendering the test pattern.
            health_interval: seconds between periodic ``health`` messages.
            reconnect_interval: seconds between connection attempts.
            reboot_delay: seconds "off" during a reboot (default: ``reconnect_interval``).
            announce_interval: pause between register, info and the first health (~100 ms).
            source_address: local address to bind, e.g. ``127.0.0.2`` (distinct stock cameras).
            ip: the ``ip`` reported in health (default: the socket's local address).
            label: text drawn on the frames (default: name, id, or "ESP32-S3 OV3660").
            seed: seed for the simulated RSSI and heap readings.
            stamp_frames: draw each frame's number as blocks (see ``draw_frame_stamp``) and keep
                the wall-clock time each one was sent in ``stamp_sent_at`` (latency benchmarks).

        """
        if not 0 <= resolution < len(RESOLUTIONS):
            raise ValueError(
                f"resolution index must be 0..{len(RESOLUTIONS) - 1}, got {resolution}"
            )
        if not 5 <= quality <= 63:
            raise ValueError(f"quality must be 5..63 (lower is better), got {quality}")
        if fps < 0:
            raise ValueError(f"fps must be 1..30, or 0 for unlimited, got {fps}")
        if frames is not None and not frames:
            raise ValueError("frames must not be empty")
        self.host = host
        self.port = port
        self.camera_id = camera_id
        self.name = name
        self.token = token
        self.firmware = firmware
        self.identity_in_url = identity_in_url
        self.pacing = pacing
        self.health_interval = health_interval
        self.reconnect_interval = reconnect_interval
        self.reboot_delay = reconnect_interval if reboot_delay is None else reboot_delay
        self.announce_interval = announce_interval
        self.source_address = source_address
        self.reported_ip = ip
        self._fixed_frames = list(frames) if frames is not None else None
        self._boot_defaults = (RESOLUTIONS[resolution], quality, fps, Mode(mode))
        self._renderer = PatternRenderer(label or name or camera_id or "ESP32-S3 OV3660")
        self._random = random.Random(seed)
        self.stamp_frames = stamp_frames
        # Stamped number -> time.time() when its last byte went to the socket (bounded by modulus).
        self.stamp_sent_at: dict[int, float] = {}

        self._boot = self._new_boot_state()
        self._rssi = -58
        self._heap = 0
        self._min_heap = 0
        self._reset_heap()

        # Lifetime counters (never reset by a reboot), for tests and summaries.
        self.frames_sent = 0
        self.bytes_sent = 0
        self.frames_dropped = 0
        self.last_frame_size: int | None = None
        self.last_frame: SentFrame | None = None
        self.sent_frames: deque[SentFrame] = deque(maxlen=1000)
        self.connection_count = 0
        self.connect_attempts = 0
        self.reboots = 0
        self.commands_received: list[tuple[str, str]] = []
        self.messages_sent: deque[dict[str, Any]] = deque(maxlen=1000)
        self.server_messages: deque[Any] = deque(maxlen=1000)
        self.last_error: str | None = None
        self.local_address: tuple[str, int] | None = None

        self._connection: ClientConnection | None = None
        self._commands: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._wakeup = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._abort_request: asyncio.Future[int] | None = None
        self._frame_cursor = 0

    # --- public state -------------------------------------------------------------------------

    @property
    def is_stock(self) -> bool:
        """True when the camera sends exactly what the stock firmware sends."""
        return not any((self.camera_id, self.name, self.token, self.firmware))

    @property
    def url(self) -> str:
        """The URL the camera dials."""
        query = {}
        if self.identity_in_url:
            query = {
                key: value
                for key, value in (("id", self.camera_id), ("token", self.token))
                if value is not None
            }
        return f"ws://{self.host}:{self.port}/" + (f"?{urlencode(query)}" if query else "")

    @property
    def connected(self) -> bool:
        """True while a WebSocket session is up."""
        return self._connection is not None

    @property
    def resolution(self) -> Resolution:
        """The current frame size."""
        return self._boot.resolution

    @property
    def quality(self) -> int:
        """The current firmware JPEG quality (lower is better)."""
        return self._boot.quality

    @property
    def fps(self) -> int:
        """The current target frame rate."""
        return self._boot.fps

    @property
    def mode(self) -> Mode:
        """The current sender timing profile."""
        return self._boot.mode

    @property
    def settings(self) -> dict[str, int | bool]:
        """Current sensor settings (brightness, contrast, exposure, gain, ...)."""
        return self._boot.settings.as_dict()

    @property
    def boot_frames_sent(self) -> int:
        """Frames sent since the last (simulated) boot: the ``frames`` of ``health``."""
        return self._boot.frames_sent

    @property
    def uptime(self) -> float:
        """Seconds since the last (simulated) boot."""
        return max(0.0, time.monotonic() - self._boot.booted_at)

    @property
    def measured_fps(self) -> float:
        """Frames completed per second over the last two seconds."""
        horizon = time.monotonic() - 2.0
        recent = [frame for frame in self.sent_frames if frame.completed_at >= horizon]
        return len(recent) / 2.0

    def register_message(self) -> dict[str, Any]:
        """Build the ``register`` message this camera sends."""
        message: dict[str, Any] = {"type": "register", "device": "camera"}
        extensions = {"name": self.name, "firmware": self.firmware}
        if not self.identity_in_url:
            extensions = {"id": self.camera_id, **extensions, "token": self.token}
        message.update({key: value for key, value in extensions.items() if value is not None})
        return message

    def info_message(self) -> dict[str, Any]:
        """Build the ``info`` message for the current state."""
        return {
            "type": "info",
            "resolutions": resolutions_text(),
            "mode": self.mode.display_name,
            "fps": self.fps,
        }

    def health_message(self) -> dict[str, Any]:
        """Build a ``health`` message (this also advances the simulated RSSI and heap)."""
        self._rssi = max(-90, min(-35, self._rssi + self._random.choice((-2, -1, 0, 0, 1, 2))))
        self._heap = max(120_000, min(280_000, self._heap + self._random.randint(-6_000, 6_000)))
        self._min_heap = min(self._min_heap, self._heap)
        ip = self.reported_ip or (self.local_address[0] if self.local_address else "0.0.0.0")  # noqa: S104
        return {
            "type": "health",
            "frames": self._boot.frames_sent,
            "dropped": self._boot.frames_dropped,
            "heap": self._heap,
            "minHeap": self._min_heap,
            "rssi": self._rssi,
            "uptime": format_uptime(self.uptime),
            "ip": ip,
            "model": "OV3660",
            "resolution": self.resolution.label,
            "quality": self.quality,
        }

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start the camera in the background."""
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the camera."""
        await self.stop()

    def start(self) -> asyncio.Task[None]:
        """Run the camera in a background task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"simulated camera {self.display_id}")
        return self._task

    async def stop(self) -> None:
        """Close the connection (1001, going away) and stop reconnecting."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    @property
    def display_id(self) -> str:
        """A short name for logs and summaries."""
        return self.camera_id or self.name or self.source_address or f"{self.host}:{self.port}"

    async def run(self) -> None:
        """Connect, stream, and reconnect forever (until cancelled)."""
        while True:
            delay = self.reconnect_interval
            try:
                await self._connect_and_stream()
            except _RebootRequestedError:
                self.reboots += 1
                delay = self.reboot_delay
                # Counters and settings are back to the boot defaults right away; the uptime
                # starts when the simulated restart is over and the camera dials again.
                self._boot = self._new_boot_state()
                self._boot.booted_at = time.monotonic() + delay
                self._reset_heap()
            except _AbortedMidFrameError:
                pass
            except (OSError, TimeoutError, WebSocketException) as error:
                self.last_error = f"{type(error).__name__}: {error}"
                _LOGGER.debug("%s: connection failed or lost: %s", self.display_id, error)
            finally:
                self._connection = None
                self._notify()
            await asyncio.sleep(delay)

    # --- test helpers -------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[Self], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``predicate(camera)`` holds (checked after every state change)."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                await self._changed.wait()

    async def wait_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until a session is up (register sent)."""
        await self.wait_for(lambda camera: camera.connected, timeout)

    async def wait_frames(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``frames_sent`` (lifetime) reaches ``count``."""
        await self.wait_for(lambda camera: camera.frames_sent >= count, timeout)

    async def disconnect_mid_frame(self, timeout: float = 10.0) -> int:  # noqa: ASYNC109
        """Abort the socket halfway through the next chunked frame; return that frame's id.

        Everything sent before (including the header and the first chunks) is flushed to the
        kernel first, so the server sees a clean cut in the middle of the transfer. The camera
        then reconnects after ``reconnect_interval``, like the firmware after a Wi-Fi drop.
        """
        self._abort_request = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                return await self._abort_request
        finally:
            self._abort_request = None

    async def drop_connection(self) -> None:
        """Abort the socket now (no close frame), like a Wi-Fi drop; the camera reconnects."""
        connection = self._connection
        if connection is not None:
            await self._flush(connection)
            connection.transport.abort()

    # --- internals ----------------------------------------------------------------------------

    def _new_boot_state(self) -> _BootState:
        resolution, quality, fps, mode = self._boot_defaults
        return _BootState(resolution=resolution, quality=quality, fps=fps, mode=mode)

    def _reset_heap(self) -> None:
        self._heap = self._random.randint(230_000, 250_000)
        self._min_heap = self._heap - self._random.randint(20_000, 40_000)

    def _notify(self) -> None:
        """Wake ``wait_for`` callers."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _connect_and_stream(self) -> None:
        self.connect_attempts += 1
        connect_kwargs: dict[str, Any] = {}
        if self.source_address is not None:
            connect_kwargs["local_addr"] = (self.source_address, 0)
        async with connect(
            self.url,
            compression=None,  # the Arduino library does not negotiate permessage-deflate
            user_agent_header=USER_AGENT,
            proxy=None,
            open_timeout=5,
            # The library pings every 15 s and gives up after two missed 3 s PONG waits.
            ping_interval=15,
            ping_timeout=18,
            close_timeout=2,
            max_size=1 << 20,
            **connect_kwargs,
        ) as connection:
            self._connection = connection
            self.connection_count += 1
            self.last_error = None
            local = connection.local_address
            self.local_address = (local[0], local[1])
            while not self._commands.empty():  # commands of a previous session are gone
                self._commands.get_nowait()
            receiver = asyncio.create_task(self._receive(connection))
            try:
                await self._session(connection, receiver)
            except asyncio.CancelledError:
                # stop(): a polite close (1001 going away) instead of the library's default 1000.
                await connection.close(1001, "simulator stopped")
                raise
            finally:
                receiver.cancel()
                await asyncio.gather(receiver, return_exceptions=True)

    async def _receive(self, connection: ClientConnection) -> None:
        """Read server messages; queue commands for the main loop."""
        try:
            async for raw in connection:
                if isinstance(raw, bytes):
                    continue  # the firmware ignores binary input
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                self.server_messages.append(message)
                if isinstance(message, dict) and message.get("type") == "command":
                    command = str(message.get("cmd", ""))
                    value = message.get("val")
                    self._commands.put_nowait((command, "" if value is None else str(value)))
                self._wakeup.set()
                self._notify()
        finally:
            self._wakeup.set()  # let the main loop notice the end of the connection

    async def _send_text(self, connection: ClientConnection, message: dict[str, Any]) -> None:
        await connection.send(_json(message))
        self.messages_sent.append(message)

    async def _session(self, connection: ClientConnection, receiver: asyncio.Task[None]) -> None:
        """Run the firmware's main loop for one connection."""
        await self._send_text(connection, self.register_message())
        self._notify()
        await asyncio.sleep(self.announce_interval)
        await self._send_text(connection, self.info_message())
        await asyncio.sleep(self.announce_interval)
        await self._send_text(connection, self.health_message())
        self._notify()

        loop = asyncio.get_running_loop()
        next_health = loop.time() + self.health_interval
        next_frame = loop.time()
        while True:
            while not self._commands.empty():
                await self._handle_command(connection, *self._commands.get_nowait())
            if receiver.done():
                receiver.result()  # re-raise the receive error, if any
                raise ConnectionError("connection closed by the server")
            now = loop.time()
            if now >= next_health:
                await self._send_text(connection, self.health_message())
                next_health = now + self.health_interval
            if now >= next_frame:
                await self._capture_and_send(connection)
                # Fixed-rate schedule (timer overshoot does not accumulate), but a frame that
                # took longer than the interval is not followed by a burst of catch-up frames.
                fps = self._boot.fps
                next_frame = max(next_frame + 1 / fps, loop.time()) if fps > 0 else loop.time()
                await asyncio.sleep(0)  # even unpaced, let other cameras and the receiver run
            timeout = min(next_frame, next_health) - loop.time()
            if timeout > 0 and self._commands.empty() and not receiver.done():
                self._wakeup.clear()
                try:
                    async with asyncio.timeout(timeout):
                        await self._wakeup.wait()
                except TimeoutError:
                    pass

    async def _handle_command(self, connection: ClientConnection, command: str, value: str) -> None:
        """Apply one command like the firmware and answer it."""
        self.commands_received.append((command, value))
        state = self._boot
        settings = state.settings
        ok = True
        reply: str | None = value
        number = arduino_to_int(value)
        match command:
            case "resolution":
                if 0 <= number < len(RESOLUTIONS):
                    state.resolution = RESOLUTIONS[number]
                    reply = str(number)
                    if self.pacing:
                        await asyncio.sleep(0.1)  # the firmware lets the sensor settle
                else:
                    ok, reply = False, "Invalid resolution"
            case "quality":
                if 5 <= number <= 63:
                    state.quality, reply = number, str(number)
                else:
                    ok, reply = False, "Invalid quality"
            case "fps":
                if 1 <= number <= 30:
                    state.fps, reply = number, str(number)
                else:
                    ok, reply = False, "Invalid fps"
            case "mode":
                lowered = value.strip().lower()
                if lowered in {"0", "speed", "velocidad"}:
                    state.mode = Mode.SPEED
                elif lowered in {"1", "stability", "estabilidad"}:
                    state.mode = Mode.STABILITY
                else:
                    ok = False
                reply = state.mode.value if ok else "Invalid mode"
            case "brightness" | "contrast":
                if -2 <= number <= 2:
                    setattr(settings, command, number)
                    reply = str(number)
                else:
                    ok, reply = False, f"Invalid {command}"
            case "exposure" | "gain" | "whitebalance" | "hmirror" | "vflip":
                enabled = arduino_to_bool(value)
                setattr(settings, command, enabled)
                reply = "1" if enabled else "0"
            case "stats":
                await self._send_text(connection, self.health_message())
                reply = None
            case "reboot":
                await self._send_text(
                    connection, {"type": "response", "cmd": command, "status": "ok"}
                )
                await self._send_text(connection, {"type": "status", "msg": "Rebooting..."})
                self._notify()
                await self._flush(connection)
                await asyncio.sleep(0.05)
                # ESP.restart(): the socket dies without a close handshake.
                connection.transport.abort()
                raise _RebootRequestedError
            case _:
                ok, reply = False, f"Unknown command: {command}"
        response: dict[str, Any] = {
            "type": "response",
            "cmd": command,
            "status": "ok" if ok else "error",
        }
        if reply is not None:
            response["value"] = reply
        await self._send_text(connection, response)
        self._notify()

    async def _next_jpeg(self) -> tuple[bytes, int | None]:
        """Capture: the next fixed frame and its index, or a freshly rendered test-pattern frame."""
        state = self._boot
        state.captures += 1
        if self._fixed_frames is not None:
            index = self._frame_cursor % len(self._fixed_frames)
            self._frame_cursor += 1
            return self._fixed_frames[index], index
        resolution = state.resolution
        settings = state.settings
        render = functools.partial(
            self._renderer.render,
            resolution.width,
            resolution.height,
            quality=state.quality,
            frame_number=state.captures,
            hmirror=settings.hmirror,
            vflip=settings.vflip,
            brightness=settings.brightness,
            contrast=settings.contrast,
            stamp=self.stamp_frames,
        )
        if resolution.width * resolution.height >= THREAD_RENDER_MIN_PIXELS:
            return await asyncio.to_thread(render), None
        return render(), None

    async def _capture_and_send(self, connection: ClientConnection) -> None:
        state = self._boot
        data, frame_index = await self._next_jpeg()
        if not is_firmware_sendable(data):
            state.frames_dropped += 1
            self.frames_dropped += 1
            return
        pacing = PACING[state.mode] if self.pacing else NO_PACING
        size = len(data)
        framing = framing_for(size)
        frame_id: int | None = None
        completed = False
        width, height = jpeg_dimensions(data) or (state.resolution.width, state.resolution.height)
        try:
            if framing is Framing.BINARY:
                await connection.send(data)
                completed = True
                self._frame_completed(
                    SentFrame(framing, None, size, width, height, frame_index=frame_index)
                )
                return
            frame_id = self._take_frame_id()
            if framing is Framing.FRAME:
                await self._send_text(
                    connection, {"type": "frame_start", "id": frame_id, "size": size}
                )
                await asyncio.sleep(pacing.after_header)
                await connection.send(data)
                completed = True
                self._frame_completed(
                    SentFrame(framing, frame_id, size, width, height, frame_index=frame_index)
                )
                await asyncio.sleep(pacing.after_data)
                await self._send_text(connection, {"type": "frame_end", "id": frame_id})
                await asyncio.sleep(pacing.after_footer)
                return
            chunk_size = chunk_size_for(size, state.mode)
            header = image_start_message(frame_id, size, chunk_size, width, height)
            chunks = header["chunks"]
            await self._send_text(connection, header)
            await asyncio.sleep(pacing.after_header)
            abort_point = max(1, chunks // 2)  # where disconnect_mid_frame() cuts the socket
            for index in range(chunks):
                if index:
                    await asyncio.sleep(pacing.between_chunks)
                await connection.send(data[index * chunk_size : (index + 1) * chunk_size])
                if index + 1 == abort_point and abort_point < chunks:
                    await self._maybe_abort_mid_frame(connection, frame_id)
            # Complete once all `size` bytes are out: the server publishes without img_end.
            completed = True
            self._frame_completed(
                SentFrame(
                    framing,
                    frame_id,
                    size,
                    width,
                    height,
                    chunk_size,
                    chunks,
                    frame_index=frame_index,
                )
            )
            await asyncio.sleep(pacing.after_data)
            await self._send_text(
                connection, {"type": "img_end", "id": frame_id, "size": size, "success": True}
            )
            await asyncio.sleep(pacing.after_footer)
        except ConnectionClosed, _AbortedMidFrameError:
            if not completed:
                state.frames_dropped += 1
                self.frames_dropped += 1
            raise

    async def _maybe_abort_mid_frame(self, connection: ClientConnection, frame_id: int) -> None:
        request = self._abort_request
        if request is None or request.done():
            return
        await self._flush(connection)
        connection.transport.abort()
        request.set_result(frame_id)
        raise _AbortedMidFrameError

    @staticmethod
    async def _flush(connection: ClientConnection) -> None:
        """Wait (up to 2 s) until asyncio's write buffer has gone to the kernel, before an abort."""
        deadline = time.monotonic() + 2.0
        transport = connection.transport
        # asyncio has no "buffer empty" event (drain() only waits for the low-water mark).
        while transport.get_write_buffer_size() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.001)

    def _take_frame_id(self) -> int:
        state = self._boot
        frame_id = state.next_frame_id
        state.next_frame_id = frame_id % (FRAME_ID_MODULUS - 1) + 1
        return frame_id

    def _frame_completed(self, record: SentFrame) -> None:
        if self.stamp_frames and self._fixed_frames is None:
            self.stamp_sent_at[self._boot.captures % STAMP_MODULUS] = time.time()
        self._boot.frames_sent += 1
        self.frames_sent += 1
        self.bytes_sent += record.size
        self.last_frame_size = record.size
        self.last_frame = record
        self.sent_frames.append(record)
        self._notify()
