"""H.264 on demand: a camera's JPEGs transcoded by ffmpeg into MPEG-TS, only while someone reads.

`H264Streams` (one per hub, `hub.h264`) owns every transcoder process. A camera whose "H.264
stream" switch is on (kept in the store) can be read at the control port's `/h264/<camera>.ts`
(views/h264_stream.py). The first reader starts one ffmpeg for the camera (Home Assistant's
`ffmpeg` integration's binary): its stdin is fed the camera's JPEGs as the frame broker hands them
over (no decoding in Python; a JPEG that arrives while ffmpeg is still taking the previous one
replaces the waiting one, so nothing queues without limit), with wall-clock timestamps (the
cameras' rate varies), and its stdout, MPEG-TS, is cut on TS packet boundaries and fanned out to
every reader. Each reader has a bounded queue: one that falls behind drops what it holds and
resumes at the next keyframe (ffmpeg writes the PAT, PMT and keyframe together), so it delays
nobody; a new reader starts at the latest keyframe. The process stops a few seconds after the
last reader leaves; one that exits while readers remain is restarted with a back-off, and after
repeated failures a repair issue says why.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
import hashlib
import hmac
import itertools
import shutil
import time
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from ..const import DEFAULT_H264_ENCODER, DOMAIN, LOGGER
from ..listener import CameraRecord
from ..protocol import Frame, jpeg_dimensions
from .log_limit import OncePerPeriod
from .repair_issues import async_delete_issue, async_raise_issue
from .store import HubStore

# The one quality knob of the software encoder (x264's constant rate factor: lower is better and
# larger). Chosen from bench/'s rate-quality curve of the simulator's scenes (docs/performance.md).
H264_CRF: Final = 26
SOFTWARE_ENCODER: Final = DEFAULT_H264_ENCODER
# HLS and WebRTC start a picture at a keyframe: one at least this often (seconds).
KEYFRAME_INTERVAL: Final = 2.0
# The rate x264's rate control assumes when the camera's own is not known yet (frames/s).
NOMINAL_FPS: Final = 20
# A transcoder stops this long after its last reader left (a player reconnecting keeps it).
IDLE_STOP_DELAY: Final = 5.0
# Caps on what readers can start.
MAX_READERS_PER_CAMERA: Final = 10
MAX_READERS: Final = 64
MAX_TRANSCODERS: Final = 16  # ffmpeg processes of one hub at once (one per camera)
READER_BUFFER_BYTES: Final = 1 << 20  # what a reader that does not read holds at most
KEYFRAME_CACHE_BYTES: Final = 2 << 20  # the stream since the latest keyframe, for new readers
READ_SIZE: Final = 64 << 10
# ffmpeg exiting while readers remain: restarted after these delays (the last one repeats).
RESTART_DELAYS: Final = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
FAILURES_FOR_ISSUE: Final = 3  # exits in a row before the repair issue
HEALTHY_RUN: Final = 10.0  # a process that ran this long with output ends a series of failures
STDERR_LINES: Final = 8  # ffmpeg's last lines of errors, kept for the log and the repair issue
KILL_WAIT: Final = 5.0
# What a log line that a failing ffmpeg repeats may say: once per camera per period.
LOG_PERIOD: Final = 300.0

TS_PACKET: Final = 188
# A TS packet carrying the start of a PAT (PID 0, payload unit start): ffmpeg writes the PAT and
# PMT right before every video keyframe, and `-pat_period` keeps it from writing them elsewhere.
_PAT_START: Final = b"\x47\x40\x00"


class H264Unavailable(Exception):  # noqa: N818 - a state, as HA's own *Unavailable errors
    """A reader cannot be served: `reason` is `disabled`, `no_ffmpeg`, `busy` or `stopped`."""

    def __init__(self, reason: str) -> None:
        """Name the reason."""
        super().__init__(reason)
        self.reason = reason


def stream_credential(token: str) -> str:
    """Return the stream URLs' password for a hub token (it rotates with the token).

    Derived, not the token itself: a URL that leaks lets one watch, never admit a camera.
    """
    return hmac.new(token.encode(), b"esp32_camera h264 stream", hashlib.sha256).hexdigest()[:32]


def home_assistant_ffmpeg(hass: HomeAssistant) -> str | None:
    """Return the binary of Home Assistant's `ffmpeg` integration, None while it is not loaded."""
    if "ffmpeg" not in hass.config.components:
        return None
    # Imported once the integration is loaded (its requirements are installed then).
    from homeassistant.components.ffmpeg import get_ffmpeg_manager

    return get_ffmpeg_manager(hass).binary


def ffmpeg_command(binary: str, encoder: str, fps: int, ts_offset: float) -> list[str]:
    """Return ffmpeg's command: JPEGs on stdin to H.264 in MPEG-TS on stdout.

    `fps` is the rate x264's rate control assumes (its CRF depends on it; the timestamps stay
    the wall clock's, to the millisecond); `ts_offset` continues the timestamps of an earlier
    process of the same stream (a restart does not go back in time for the readers).
    """
    command = [
        binary,
        *("-hide_banner", "-nostats", "-nostdin", "-loglevel", "error"),
        # Start at the first JPEG: no probing of seconds of input, no input buffering.
        *("-fflags", "+nobuffer", "-probesize", "32", "-analyzeduration", "0"),
        # Each JPEG is stamped when it arrives, in milliseconds.
        *("-use_wallclock_as_timestamps", "1", "-framerate", "1000", "-f", "mjpeg"),
        *("-i", "pipe:0", "-an", "-fps_mode", "passthrough"),
    ]
    keyframes = ("-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL:g})")
    match encoder:
        case "h264_vaapi":
            command[1:1] = ["-vaapi_device", "/dev/dri/renderD128"]
            command += ["-vf", "format=nv12,hwupload", "-c:v", encoder, "-bf", "0", *keyframes]
        case "h264_qsv" | "h264_v4l2m2m":
            pix_fmt = "nv12" if encoder == "h264_qsv" else "yuv420p"
            command += ["-pix_fmt", pix_fmt, "-c:v", encoder, "-bf", "0", *keyframes]
        case _:
            command += [
                *("-c:v", SOFTWARE_ENCODER, "-preset", "ultrafast", "-tune", "zerolatency"),
                *("-bf", "0", "-crf", str(H264_CRF), "-pix_fmt", "yuv420p", *keyframes),
                *("-x264-params", f"fps={fps}"),
            ]
    return [
        *command,
        *("-f", "mpegts", "-output_ts_offset", f"{ts_offset:.3f}"),
        # PAT and PMT only before keyframes (and at the start): a reader can start there.
        *("-pat_period", "86400", "-sdt_period", "86400"),
        *("-muxdelay", "0", "-muxpreload", "0", "-flush_packets", "1", "pipe:1"),
    ]


def keyframe_offsets(data: bytes) -> list[int]:
    """Return where TS packets starting a PAT begin in `data` (packet-aligned TS bytes)."""
    offsets: list[int] = []
    start = data.find(_PAT_START)
    while start != -1:
        if start % TS_PACKET == 0:
            offsets.append(start)
            start = data.find(_PAT_START, start + TS_PACKET)
        else:
            start = data.find(_PAT_START, start + 1)
    return offsets


class H264Reader:
    """One reader of a camera's stream: a bounded queue of TS bytes, read with `async_read`."""

    def __init__(self, transcoder: _Transcoder) -> None:
        """Join `transcoder`'s readers."""
        self._transcoder = transcoder
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._skipping = True  # until a keyframe: a stream starts at one
        self._wake = asyncio.Event()
        self.closed = False
        self.dropped_bytes = 0

    @property
    def queued_bytes(self) -> int:
        """The bytes queued for the reader (at most `READER_BUFFER_BYTES`)."""
        return self._bytes

    @callback
    def async_offer(self, chunk: bytes, *, keyframe: bool) -> None:
        """Queue a chunk; past the cap, drop what is queued and resume at the next keyframe."""
        if self._skipping:
            if not keyframe:
                self.dropped_bytes += len(chunk)
                return
            self._skipping = False
        # One chunk (at most a read of ffmpeg's output) is always taken, however large.
        if self._queue and self._bytes + len(chunk) > READER_BUFFER_BYTES:
            self.dropped_bytes += self._bytes + len(chunk)
            self._queue.clear()
            self._bytes = 0
            self._skipping = True
            return
        self._queue.append(chunk)
        self._bytes += len(chunk)
        self._wake.set()

    @callback
    def async_end(self) -> None:
        """End the stream (the switch went off, the hub stops): `async_read` returns None."""
        self.closed = True
        self._wake.set()

    async def async_read(self) -> bytes | None:
        """Return the bytes queued (waiting for some), None once the stream ended."""
        while not self._queue:
            if self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        data = b"".join(self._queue)
        self._queue.clear()
        self._bytes = 0
        return data

    @callback
    def async_close(self) -> None:
        """Leave the stream (the reader went away)."""
        if not self.closed:
            self.async_end()
        self._transcoder.async_remove_reader(self)


@dataclass(slots=True)
class _Run:
    """One ffmpeg process of a transcoder."""

    process: asyncio.subprocess.Process
    encoder: str
    started: float
    output_bytes: int = 0


class _Transcoder:
    """One camera's ffmpeg, while it has readers (and `IDLE_STOP_DELAY` after)."""

    def __init__(self, streams: H264Streams, camera_id: str) -> None:
        self._streams = streams
        self._hass = streams.hass
        self.camera_id = camera_id
        self.readers: set[H264Reader] = set()
        self._stopped = False  # stopped for good (switched off, hub stopping, camera removed)
        self._task: asyncio.Task[None] | None = None
        self._idle_stop: asyncio.TimerHandle | None = None
        self._run: _Run | None = None
        self._pending: Frame | None = None  # the newest JPEG not yet written to ffmpeg
        self._frame_ready = asyncio.Event()
        self._size: tuple[int, int] | None = None
        self._resized = False
        self._cache: list[bytes] = []  # since the latest keyframe
        self._cache_bytes = 0
        self._cache_valid = False
        self._partial = b""
        self._first_start: float | None = None
        self.failures = 0
        self.starts = 0
        self.frames_written = 0
        self.frames_skipped = 0
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)

    @property
    def running(self) -> bool:
        """Whether an ffmpeg process runs (or is about to) for the camera."""
        return self._task is not None and not self._task.done()

    @property
    def pid(self) -> int | None:
        """The running process's id."""
        return None if self._run is None else self._run.process.pid

    @callback
    def async_add_reader(self) -> H264Reader:
        """Add a reader (starting ffmpeg if none runs); it starts at the latest keyframe."""
        if self._idle_stop is not None:
            self._idle_stop.cancel()
            self._idle_stop = None
        reader = H264Reader(self)
        stopping = self.running and self._task.cancelling()  # type: ignore[union-attr]
        if stopping:  # the stream ends: the next one starts afresh
            self._cache, self._cache_bytes, self._cache_valid = [], 0, False
        if self._cache_valid:
            for number, chunk in enumerate(self._cache):
                reader.async_offer(chunk, keyframe=number == 0)
        self.readers.add(reader)
        if not self.running or stopping:
            # A process being stopped (idle) finishes first; the new one starts after it.
            previous = self._task
            self._task = self._streams.entry_task(self._async_supervise(previous), self.camera_id)
        return reader

    @callback
    def async_remove_reader(self, reader: H264Reader) -> None:
        """Drop a reader; the last one leaving stops ffmpeg a little later."""
        self.readers.discard(reader)
        if not self.readers and self.running and self._idle_stop is None and not self._stopped:
            self._idle_stop = self._hass.loop.call_later(IDLE_STOP_DELAY, self._async_idle)

    @callback
    def _async_idle(self) -> None:
        self._idle_stop = None
        if not self.readers:
            self.async_stop(for_good=False)

    @callback
    def async_stop(self, *, for_good: bool = True) -> None:
        """Stop ffmpeg now and end every reader's stream (`for_good`: no reader comes back)."""
        self._stopped = for_good
        if self._idle_stop is not None:
            self._idle_stop.cancel()
            self._idle_stop = None
        if self._task is not None:
            self._task.cancel()
        for reader in list(self.readers):
            reader.async_end()
        self.readers.clear()

    async def async_wait_stopped(self) -> None:
        """Wait until the process has gone (after `async_stop`)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # The frames ----------------------------------------------------------------------------

    @callback
    def _async_frame(self, camera: CameraRecord, frame: Frame) -> None:
        """Keep the newest JPEG for ffmpeg (the one it has not taken yet is skipped)."""
        size = jpeg_dimensions(frame.data)  # the marker headers only, not the picture
        if size is not None:
            if self._size is not None and size != self._size:
                # A new resolution: a new process (an encoder keeps the size it started with).
                self._resized = True
                if self._run is not None and self._run.process.returncode is None:
                    self._run.process.kill()
            self._size = size
        if self._pending is not None:
            self.frames_skipped += 1
        self._pending = frame
        self._frame_ready.set()

    async def _async_feed(self, run: _Run) -> None:
        """Write the newest JPEG whenever ffmpeg has taken the previous one."""
        stdin = run.process.stdin
        assert stdin is not None
        while True:
            await self._frame_ready.wait()
            self._frame_ready.clear()
            frame, self._pending = self._pending, None
            if frame is None:
                continue
            stdin.write(frame.data)
            self.frames_written += 1
            await stdin.drain()

    # The output ----------------------------------------------------------------------------

    @callback
    def _async_output(self, data: bytes) -> None:
        """Cut ffmpeg's output into whole TS packets, at keyframes, and give it to every reader."""
        data = self._partial + data
        whole = len(data) - len(data) % TS_PACKET
        data, self._partial = data[:whole], data[whole:]
        if not data:
            return
        cuts = [0, *[offset for offset in keyframe_offsets(data) if offset], len(data)]
        for start, end in itertools.pairwise(cuts):
            chunk = data[start:end]
            keyframe = chunk.startswith(_PAT_START)
            if keyframe:
                self._cache = []
                self._cache_bytes = 0
                self._cache_valid = True
            if self._cache_valid:
                self._cache.append(chunk)
                self._cache_bytes += len(chunk)
                if self._cache_bytes > KEYFRAME_CACHE_BYTES:
                    self._cache, self._cache_bytes, self._cache_valid = [], 0, False
            for reader in self.readers:
                reader.async_offer(chunk, keyframe=keyframe)

    async def _async_read_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            if text := line.decode(errors="replace").strip():
                self.stderr.append(text[:300])

    # The process ---------------------------------------------------------------------------

    async def _async_supervise(self, previous: asyncio.Task[None] | None) -> None:
        """Run ffmpeg while there are readers; restart it with a back-off when it exits."""
        if previous is not None and not previous.done():
            await asyncio.wait([previous])  # its process reaped (it was cancelled)
        self._first_start = time.monotonic()
        unsubscribe = self._streams.add_frame_listener(self._async_frame, self.camera_id)
        try:
            while self.readers:
                failed = await self._async_run_once()
                if not failed or not self.readers:
                    continue
                delay = RESTART_DELAYS[min(self.failures, len(RESTART_DELAYS)) - 1]
                await asyncio.sleep(delay)
        finally:
            unsubscribe()
            self._pending = None
            self._run = None
            # Nobody watches: nothing of the stream stays in memory.
            self._cache, self._cache_bytes, self._cache_valid = [], 0, False
            self._partial = b""

    async def _async_run_once(self) -> bool:
        """Run one ffmpeg until it exits; return whether that was a failure."""
        encoder = self._streams.encoder
        binary = self._streams.ffmpeg()
        if binary is None:
            self._streams.async_no_ffmpeg()
            self.async_stop()
            return False
        assert self._first_start is not None
        camera = self._streams.camera(self.camera_id)
        fps = NOMINAL_FPS if camera is None or camera.stats.fps < 1 else round(camera.stats.fps)
        command = ffmpeg_command(
            binary, encoder, min(fps, 60), time.monotonic() - self._first_start
        )
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a signal to Home Assistant's group does not reach it
            )
        except OSError as err:  # the binary went away
            self.stderr.append(str(err))
            self.failures += 1
            self._streams.async_failed(self, encoder, produced=False)
            return True
        self.starts += 1
        run = self._run = _Run(process, encoder, time.monotonic())
        self._partial = b""
        self._resized = False
        if self._pending is None and (camera := self._streams.camera(self.camera_id)):
            self._pending = camera.latest_frame  # start from the newest picture, not the next
        if self._pending is not None:
            self._frame_ready.set()
        tasks = [
            asyncio.ensure_future(self._async_feed(run)),
            asyncio.ensure_future(self._async_read_stderr(process.stderr)),  # type: ignore[arg-type]
        ]
        stdout = process.stdout
        assert stdout is not None
        try:
            while data := await stdout.read(READ_SIZE):
                run.output_bytes += len(data)
                self._async_output(data)
            await process.wait()
        finally:
            tasks[0].cancel()
            if process.returncode is None:
                process.kill()
            with contextlib.suppress(ProcessLookupError, OSError):
                process.stdin.close()  # type: ignore[union-attr]
            # The pipes are read to their end and the process reaped, also when cancelled, and
            # the task ends only then: a second cancellation (the hub stopping during an idle
            # stop) waits for the reap too, so `async_wait_stopped` means the process is gone.
            reap = asyncio.ensure_future(self._async_reap(process, tasks))
            cancelled = False
            while not reap.done():
                try:
                    await asyncio.shield(reap)
                except asyncio.CancelledError:
                    cancelled = True
            if cancelled:
                raise asyncio.CancelledError
        if self._resized:
            return False
        ran = time.monotonic() - run.started
        if run.output_bytes and ran >= HEALTHY_RUN:
            self.failures = 0
            self._streams.async_recovered(self)
        self.failures += 1
        self._streams.async_failed(self, encoder, produced=run.output_bytes > 0)
        return True

    @staticmethod
    async def _async_reap(
        process: asyncio.subprocess.Process, tasks: Sequence[asyncio.Future[None]]
    ) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        if process.stdout is not None:
            with contextlib.suppress(OSError):
                while await process.stdout.read(READ_SIZE):
                    pass
        await asyncio.gather(*tasks, return_exceptions=True)
        await process.wait()

    def as_dict(self) -> dict[str, Any]:
        """Return the transcoder's figures (diagnostics)."""
        return {
            "running": self.running,
            "stopping": self.running and bool(self._task and self._task.cancelling()),
            "readers": len(self.readers),
            "starts": self.starts,
            "failures": self.failures,
            "frames_written": self.frames_written,
            "frames_skipped": self.frames_skipped,
            "queued_bytes": sorted((reader.queued_bytes for reader in self.readers), reverse=True),
            "dropped_bytes": sum(reader.dropped_bytes for reader in self.readers),
            "stderr": list(self.stderr),
        }


class H264Streams:
    """The hub's H.264 streams: which cameras offer one (store) and their transcoders."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        store: HubStore,
        *,
        token: str,
        encoder: str,
        add_frame_listener: Callable[[Callable[[CameraRecord, Frame], None], str], CALLBACK_TYPE],
        cameras: Mapping[str, CameraRecord],
        camera_name: Callable[[str], str],
        changed: Callable[[str], None],
    ) -> None:
        """Serve the cameras of `cameras` (the listener's records).

        `changed(camera_id)` is called after a switch changed (the camera entity follows).
        """
        self.hass = hass
        self._entry_id = entry_id
        self._store = store
        self._token = token
        self._chosen_encoder = encoder
        self._software_fallback = False
        self.add_frame_listener = add_frame_listener
        self._cameras = cameras
        self._camera_name = camera_name
        self._changed = changed
        self._transcoders: dict[str, _Transcoder] = {}
        self._stopped = False
        self._which: dict[str, str | None] = {}
        self._log = OncePerPeriod(LOG_PERIOD, keys=256)
        self._no_ffmpeg_logged = False

    # Credentials and URLs --------------------------------------------------------------------

    @property
    def credential(self) -> str:
        """The password of the stream URLs (`stream_credential` of the hub token)."""
        return stream_credential(self._token)

    def check_credential(self, password: str | None) -> bool:
        """Return whether `password` is the stream credential (constant time)."""
        return password is not None and hmac.compare_digest(
            password.encode(), self.credential.encode()
        )

    # Choices ---------------------------------------------------------------------------------

    def is_enabled(self, camera_id: str) -> bool:
        """Whether the camera's H.264 stream is switched on (the store's choice)."""
        return self._store.h264_enabled(camera_id)

    def is_offered(self, camera_id: str) -> bool:
        """Whether the camera offers a stream now: switched on, and ffmpeg is there."""
        return self.is_enabled(camera_id) and self.ffmpeg() is not None

    async def async_set_enabled(self, camera_id: str, enabled: bool) -> None:
        """Switch a camera's H.264 stream on or off (stored on return); off ends its readers."""
        if enabled and self.ffmpeg() is None:
            self.async_no_ffmpeg()
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="h264_no_ffmpeg")
        await self._store.async_set_h264(camera_id, enabled)
        if not enabled and (transcoder := self._transcoders.pop(camera_id, None)):
            transcoder.async_stop()
        self._changed(camera_id)

    # ffmpeg ----------------------------------------------------------------------------------

    def ffmpeg(self) -> str | None:
        """Return HA's ffmpeg binary when the integration is loaded and the binary exists."""
        binary = home_assistant_ffmpeg(self.hass)
        if binary is None:
            return None
        if binary not in self._which:
            # A PATH lookup: a few stat calls, once per binary and run.
            self._which[binary] = shutil.which(binary)
        return self._which[binary]

    @property
    def encoder(self) -> str:
        """The encoder used: the chosen one, or x264 once the chosen one failed to open."""
        return SOFTWARE_ENCODER if self._software_fallback else self._chosen_encoder

    @callback
    def async_no_ffmpeg(self) -> None:
        """Say once that the streams need Home Assistant's ffmpeg integration."""
        if not self._no_ffmpeg_logged:
            self._no_ffmpeg_logged = True
            LOGGER.warning(
                "The H.264 streams need Home Assistant's ffmpeg integration and its binary "
                "(ffmpeg: in configuration.yaml, or default_config)"
            )

    @callback
    def async_check_ffmpeg(self, title: str) -> None:
        """Raise the repair issue when cameras have the stream on but ffmpeg is missing (start)."""
        issue_id = f"h264_no_ffmpeg_{self._entry_id}"
        enabled = sorted(
            self._camera_name(camera_id)
            for camera_id in self._store.cameras
            if self.is_enabled(camera_id)
        )
        if enabled and self.ffmpeg() is None:
            self.async_no_ffmpeg()
            async_raise_issue(
                self.hass,
                issue_id,
                "h264_no_ffmpeg",
                {"cameras": ", ".join(enabled), "title": title},
            )
        else:
            async_delete_issue(self.hass, issue_id)

    # Readers ---------------------------------------------------------------------------------

    def camera(self, camera_id: str) -> CameraRecord | None:
        """Return the camera's record."""
        return self._cameras.get(camera_id)

    @callback
    def async_open_reader(self, camera_id: str) -> H264Reader:
        """Return a new reader of the camera's stream, or raise `H264Unavailable`."""
        if self._stopped:
            raise H264Unavailable("stopped")
        if not self.is_enabled(camera_id):
            raise H264Unavailable("disabled")
        if self.ffmpeg() is None:
            self.async_no_ffmpeg()
            raise H264Unavailable("no_ffmpeg")
        transcoder = self._transcoders.get(camera_id)
        if sum(len(t.readers) for t in self._transcoders.values()) >= MAX_READERS or (
            transcoder is not None and len(transcoder.readers) >= MAX_READERS_PER_CAMERA
        ):
            raise H264Unavailable("busy")
        if transcoder is None:
            if sum(t.running for t in self._transcoders.values()) >= MAX_TRANSCODERS:
                raise H264Unavailable("busy")
            transcoder = self._transcoders[camera_id] = _Transcoder(self, camera_id)
        return transcoder.async_add_reader()

    def entry_task(self, coro: Any, camera_id: str) -> asyncio.Task[None]:
        """Start a transcoder's task (a background task: Home Assistant's stop does not wait)."""
        return self.hass.async_create_background_task(coro, f"{DOMAIN} h264 {camera_id}")

    # Failures --------------------------------------------------------------------------------

    def _issue_id(self, camera_id: str) -> str:
        return f"h264_failing_{self._entry_id}_{camera_id}"

    @callback
    def async_failed(self, transcoder: _Transcoder, encoder: str, *, produced: bool) -> None:
        """Note an exit while readers remained: fall back to x264, log, raise the issue."""
        camera_id = transcoder.camera_id
        error = " / ".join(list(transcoder.stderr)[-3:]) or "-"
        if encoder != SOFTWARE_ENCODER and not produced and not self._software_fallback:
            self._software_fallback = True
            transcoder.failures = 0  # the encoder's failure, not the stream's
            LOGGER.warning(
                "The %s encoder failed to open (%s): the H.264 streams use %s instead",
                encoder,
                error,
                SOFTWARE_ENCODER,
            )
            return
        if self._log.allow(camera_id):
            LOGGER.warning(
                "The H.264 transcoder of %s exited (%d in a row; restarted while someone "
                "watches): %s",
                camera_id,
                transcoder.failures,
                error,
            )
        if transcoder.failures >= FAILURES_FOR_ISSUE:
            async_raise_issue(
                self.hass,
                self._issue_id(camera_id),
                "h264_failing",
                {"camera": self._camera_name(camera_id), "error": error[:500]},
            )

    @callback
    def async_recovered(self, transcoder: _Transcoder) -> None:
        """Delete the issue (if any): a process ran well."""
        async_delete_issue(self.hass, self._issue_id(transcoder.camera_id))

    # Life ------------------------------------------------------------------------------------

    async def async_stop(self) -> None:
        """Stop every transcoder (the hub stops); their processes are gone on return."""
        self._stopped = True
        transcoders = list(self._transcoders.values())
        self._transcoders.clear()
        for transcoder in transcoders:
            transcoder.async_stop()
        try:
            async with asyncio.timeout(KILL_WAIT):
                await asyncio.gather(*(t.async_wait_stopped() for t in transcoders))
        except TimeoutError:  # SIGKILLed: the kernel reaps it; the hub's stop goes on
            LOGGER.warning("An H.264 transcoder did not end within %s s", KILL_WAIT)

    @callback
    def async_forget(self, camera_id: str) -> None:
        """Stop a removed camera's transcoder."""
        if (transcoder := self._transcoders.pop(camera_id, None)) is not None:
            transcoder.async_stop()

    def processes(self) -> dict[str, int]:
        """Return the running ffmpeg processes by camera id (tests, diagnostics)."""
        return {
            camera_id: pid
            for camera_id, transcoder in self._transcoders.items()
            if (pid := transcoder.pid) is not None
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the streams' figures (diagnostics; no credential)."""
        return {
            "ffmpeg": self.ffmpeg(),
            "encoder": self.encoder,
            "chosen_encoder": self._chosen_encoder,
            "crf": H264_CRF,
            "transcoders": {
                camera_id: transcoder.as_dict()
                for camera_id, transcoder in self._transcoders.items()
            },
        }
