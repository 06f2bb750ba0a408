"""The hub's clips: each camera's newest frames in a ring, clips on motion and on request.

Every admitted camera's frames go, on the loop, into its `FrameRing` (references, no copies) and
through its `ClipRecorder` into the clips open at that moment. Each clip is written as an MJPEG AVI
by the hub's writer pool (`ClipWriterPool`: two threads for every clip, no thread per clip), by
default under the save directory:

    <save directory>/<camera>/clips/YYYY-MM-DD/HH-MM-SS_<reason>.avi   (local time of the trigger)
                                               HH-MM-SS_<reason>.jpg   the busiest frame
                                               HH-MM-SS_<reason>.mp4   when ffmpeg is available

The clip's writer writes the thumbnail once the AVI is committed: the frame of the clip whose motion
score was the largest (a clip without motion: its middle frame). The record action answers then;
the MP4 is made after it (mp4_conversions.py: one at a time, at the lowest CPU priority; a failure
keeps the AVI). A complete clip (with its MP4 when one is made) fires the bus event
`esp32_camera_clip_saved`. The recorders are ticked once a second while a clip is open (a
silent camera's clip still ends), never otherwise. The rings of the connected cameras share one
memory limit. What the user chose per camera (record on motion, pre-roll, post-roll) is kept in the
hub's store.

What a user or an automation can start is capped (issue 18: 1,300 concurrent record calls once
exhausted Home Assistant's file descriptors): open action clips per camera and per hub, and
snapshot writes; past a cap the action is refused at once with a translated error.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from ..clips import (
    ClipFrame,
    ClipInfo,
    ClipReason,
    ClipRecorder,
    ClipRequest,
    ClipWriterPool,
    FrameRing,
    ThreadedAviSink,
)
from ..clips.recovery import Recovery, recover_clips
from ..const import DOMAIN, EVENT_CLIP_SAVED, LOGGER
from ..disk import layout, writing
from ..motion import MotionEvent, MotionEventType, MotionResult
from . import signals
from .devices import camera_entity_id
from .mp4_conversions import Mp4Conversions
from .recording_settings import (
    RING_SECONDS,
    RecordingSettings,
    recording_settings,
)
from .store import HubStore

if TYPE_CHECKING:
    from ..listener import CameraRecord
    from ..protocol import Frame
    from .image_saver import ImageSaver

MIB: Final = 1024 * 1024
# A camera's ring holds at most this much JPEG, and all rings of a hub together at most the total
# (shared evenly between the connected cameras): 8 UXGA cameras at 20 fps get 16 MiB each.
RING_BYTES_PER_CAMERA: Final = 32 * MIB
RING_BYTES_TOTAL: Final = 128 * MIB
MAX_CLIP_SECONDS: Final = 300.0  # an action's longest clip
# A motion clip's longest: a longer motion episode continues in the next clip, no frame lost. A
# busy scene is one long episode (issue 20); minute-long clips replay, convert and age out one
# by one (5 minutes of VGA at 20 fps were a 300 MB AVI).
MAX_MOTION_CLIP_SECONDS: Final = 60.0
# While a clip is open, the recorders are ticked this often (a silent camera's clip still ends).
TICK_INTERVAL: Final = timedelta(seconds=1)
# The record action waits for its AVI this long after the clip's end (its MP4 follows, announced
# by the event: the action once waited for it too, 32.5 s for a 5 s clip, issue 20).
WRITE_MARGIN: Final = 15.0
# A clip's latest frames kept to find the one a motion score belongs to: the motion worker answers
# a frame or two after it came (analyses every other frame at 20 fps).
SCORED_FRAMES: Final = 16
# Unloading waits this long for the open clips to be written.
STOP_TIMEOUT: Final = 10.0
# Open clips of the record action. Each holds a file descriptor and a share of the disk's speed:
# a few overlapping automations per camera fit, and a hub's 16 UXGA clips at 20 fps (~60 MB/s)
# are already more than an SD card or a USB disk writes. Motion clips (one per camera) are not
# counted: the camera starts them, not a user.
MAX_ACTION_CLIPS_PER_CAMERA: Final = 4
MAX_ACTION_CLIPS_PER_HUB: Final = 16
# Threads writing the hub's clips (every clip's frames, thumbnail and commit): two keep one slow
# commit (fsync) from holding the other clips back.
CLIP_WRITERS: Final = 2
# Frames queued for the writers, beyond which frames are dropped (counted): as much as the rings.
CLIP_BACKLOG_BYTES: Final = 128 * MIB
# Snapshot writes at once per hub (each a file and an executor thread), and snapshots waiting for
# their turn beyond those; more are refused at once.
MAX_SNAPSHOT_WRITES: Final = 2
MAX_SNAPSHOTS_WAITING: Final = 16
# Clips waiting for their MP4 (made one at a time, each up to 10 minutes); beyond, a clip is kept
# as its AVI and announced at once. Record calls queued every clip without end (issue 18, red
# team): each held its first frame, and its event waited for the whole queue.
MAX_QUEUED_CONVERSIONS: Final = 16


@dataclass(frozen=True, slots=True)
class RecordedClip:
    """A clip whose AVI is written: what the record action answers and the event carries."""

    info: ClipInfo
    pre_roll_complete: bool
    thumbnail: Path | None

    def as_dict(self) -> dict[str, Any]:
        """Return its files and figures (paths as text, the clip's seconds rounded to ms)."""
        return {
            "path": str(self.info.path),
            "frames": self.info.frames,
            "duration": round(self.info.duration, 3),
            "pre_roll_complete": self.pre_roll_complete,
            "thumbnail": None if self.thumbnail is None else str(self.thumbnail),
        }


class _Clip:
    """One clip being recorded: the sink the recorder feeds, in front of the AVI writer thread.

    Notes the thumbnail and counts the frames; its futures tell the record action when the AVI
    and the whole are done. The thumbnail is the frame with the largest motion score of the clip
    (issue 20: the frame at the motion's start showed the empty room); until a frame of the clip
    moved, the frame nearest the middle of the clip's window (an action clip's middle; a motion
    clip's trigger, as its end is not known yet).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        camera_id: str,
        request: ClipRequest,
        *,
        path: Path,
        root: Path | None,
        started: datetime,
    ) -> None:
        self.camera_id = camera_id
        self.request = request
        self.path = path  # planned; the writer may number it (`ClipInfo.path` is the file)
        self.root = (
            root  # nothing below it is followed if it is a link (None: a path of the user's)
        )
        self.started = started  # wall clock of the trigger
        self.frames = 0
        self.thumbnail: ClipFrame | None = None
        self.thumbnail_path: Path | None = None
        self.best_score = 0.0  # the thumbnail's motion score; 0: no frame of the clip moved yet
        self.middle_at = request.triggered_at
        if request.duration is not None:
            self.middle_at += (request.duration - request.pre_roll) / 2
        self._recent: deque[ClipFrame] = deque(maxlen=SCORED_FRAMES)
        self.mp4_pending = False
        # A result, never an exception: a motion clip's future is awaited by nobody.
        self.written: asyncio.Future[ClipInfo | Exception] = hass.loop.create_future()
        self.writer: ThreadedAviSink | None = None

    def add(self, frame: ClipFrame) -> None:
        """Take a frame (on the loop): note it, queue it for the writer."""
        self.frames += 1
        self._recent.append(frame)
        thumbnail = self.thumbnail
        if self.best_score == 0.0 and (
            thumbnail is None
            or abs(frame.timestamp - self.middle_at) <= abs(thumbnail.timestamp - self.middle_at)
        ):
            self.thumbnail = frame
        assert self.writer is not None
        self.writer.add(frame)

    def note_motion(self, result: MotionResult) -> None:
        """Take a moving frame's score: its frame becomes the thumbnail when it is the largest."""
        if result.score <= self.best_score:
            return
        for frame in reversed(self._recent):
            if frame.timestamp == result.timestamp:
                self.thumbnail, self.best_score = frame, result.score
                return
            if frame.timestamp < result.timestamp:
                return  # not a frame of this clip (before it, or rotated out already)

    def finish(self) -> None:
        """End the clip: the writer commits it."""
        assert self.writer is not None
        self.writer.finish()

    def as_dict(self) -> dict[str, Any]:
        """Describe the open clip (diagnostics)."""
        return {
            "reason": self.request.reason.value,
            "started": self.started.isoformat(),
            "pre_roll": self.request.pre_roll,
            "pre_roll_complete": self.request.pre_roll_complete,
            "frames": self.frames,
            "dropped": 0 if self.writer is None else self.writer.dropped,
            "path": str(self.path),
        }


@dataclass(slots=True)
class _ActionTarget:
    """Where the record action's clip goes (None: the default layout), and the clip once opened."""

    path: Path | None
    root: Path | None
    clip: _Clip | None = None


@dataclass(slots=True)
class _Counts:
    written: int = 0
    failed: int = 0
    converted: int = 0  # MP4s made


def _prepare(path: Path, root: Path | None, *, numbered: bool) -> Path:
    """Create the clip's folder (never through a link below `root`); pick a free default name."""
    writing.make_directory(path.parent, root=root)
    return layout.unused_clip_path(path) if numbered else path


def _recover(root: Path) -> Recovery:
    """Recover the clips a crash interrupted below `root`, each with its thumbnail (executor)."""
    recovery = recover_clips(root, layout.unused_clip_path)
    for info, first in recovery.recovered:
        thumbnail = info.path.with_suffix(".jpg")
        if not thumbnail.exists():
            try:
                writing.write_file_atomic(thumbnail, first, root=root)
            except (OSError, ValueError) as err:
                LOGGER.warning(
                    "Cannot write the thumbnail of the recovered clip %s: %s", info.path, err
                )
    return recovery


def _join(writers: list[ThreadedAviSink], timeout: float) -> None:
    """Wait for the clips to be written, `timeout` seconds for all of them (executor)."""
    deadline = time.monotonic() + timeout
    for writer in writers:
        writer.join(max(0.0, deadline - time.monotonic()))


class HubClips:
    """Clips of every admitted camera of one hub."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        store: HubStore,
        saver: ImageSaver,
        *,
        motion_active: Callable[[str], bool],
        motion_result: Callable[[str], MotionResult | None] = lambda _camera_id: None,
    ) -> None:
        """Prepare; `async_start` follows the frames.

        `motion_result(camera_id)` is the camera's latest motion analysis (its score picks the
        clips' thumbnails).
        """
        self._hass = hass
        self._entry_id = entry_id
        self._store = store
        self._saver = saver
        self._directory = saver.directory
        self._motion_active = motion_active
        self._motion_result = motion_result
        self._scored: dict[str, MotionResult] = {}  # the latest result given to the open clips
        self._recorders: dict[str, ClipRecorder] = {}
        self._connected: set[str] = set()  # cameras whose ring holds frames: they share the memory
        # Cameras whose frames nothing here wants (no clip open, none can want a pre-roll): each
        # of their frames costs one set lookup. See `_keeps_ring`.
        self._idle: set[str] = set()
        self._pool = ClipWriterPool(
            workers=CLIP_WRITERS,
            max_backlog_bytes=CLIP_BACKLOG_BYTES,
            name=f"esp32_camera_clips {entry_id[-6:]}",
        )
        self._snapshot_writes = asyncio.Semaphore(MAX_SNAPSHOT_WRITES)
        self._snapshots = 0  # writing or waiting to
        self._refused = 0  # actions refused past a cap
        self._recovery = Recovery()
        self._settings: dict[str, RecordingSettings] = {}
        self._open: dict[str, list[_Clip]] = {}
        self._counts: dict[str, _Counts] = {}
        self._unsubscribe: dict[str, CALLBACK_TYPE] = {}
        self._conversions = Mp4Conversions[_Clip](
            hass,
            entry_id,
            max_queued=MAX_QUEUED_CONVERSIONS,
            converted=self._async_converted,
            finished=self._async_finish,
        )
        self._action: _ActionTarget | None = None
        self._timer: CALLBACK_TYPE | None = None
        self._frames = 0
        self._frames_ns = 0  # time spent in the frame listener
        self._stopped = False

    @callback
    def async_start(self, add_frame_listener: Any) -> CALLBACK_TYPE:
        """Follow every camera's frames; returns the unsubscribe."""
        remove_listener: CALLBACK_TYPE = add_frame_listener(self._async_frame)
        return remove_listener

    async def async_recover(self) -> None:
        """Recover the clips a crash interrupted (their `.part` files), before any clip opens.

        Issue 18: kill -9 during a clip lost it and left its `.part` for an hour.
        """
        try:
            self._recovery = await self._hass.async_add_executor_job(_recover, self._directory)
        except OSError as err:
            LOGGER.warning("Cannot recover interrupted clips in %s: %s", self._directory, err)
            return
        recovery = self._recovery
        if recovery.recovered or recovery.removed:
            LOGGER.info(
                "Recovered %d clips interrupted by a restart (%s); removed %d without a frame",
                len(recovery.recovered),
                ", ".join(str(info.path) for info, _ in recovery.recovered[:5]),
                recovery.removed,
            )

    async def async_stop(self) -> None:
        """Finish the open clips and wait (bounded) for them to be written; also on HA's stop."""
        if self._stopped:
            return
        self._stopped = True
        if self._timer is not None:
            self._timer()
            self._timer = None
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()
        writers = [clip.writer for clips in self._open.values() for clip in clips if clip.writer]
        for recorder in self._recorders.values():
            recorder.close()
        if writers:
            await self._hass.async_add_executor_job(_join, writers, STOP_TIMEOUT)
        # The workers are idle once the clips are written (or end after them, past the timeout).
        await self._hass.async_add_executor_job(self._pool.shutdown, 1.0)
        self._conversions.async_stop()  # the clips still queued are kept as AVIs

    # -- settings ------------------------------------------------------------------------------

    def settings(self, camera_id: str) -> RecordingSettings:
        """Return the camera's clip settings (from the store on first use)."""
        settings = self._settings.get(camera_id)
        if settings is None:
            stored = self._store.cameras.get(camera_id)
            settings = recording_settings(stored["recording"] if stored else {})
            self._settings[camera_id] = settings
        return settings

    async def async_set(self, camera_id: str, **changes: Any) -> None:
        """Change a camera's clip settings (validated), apply them at once, and keep them.

        Turning recording on while motion goes on starts a clip now; turning it off ends the
        open motion clip after its post-roll.
        """
        before = self.settings(camera_id)
        try:
            settings = replace(before, **changes)
        except (TypeError, ValueError) as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_recording_setting",
                translation_placeholders={"error": str(err)},
            ) from err
        if settings.record and not before.record:
            self._check_available()
        self._settings[camera_id] = settings
        self._wake(camera_id)  # its next frame decides whether the ring is kept
        if (recorder := self._recorders.get(camera_id)) is not None:
            recorder.pre_roll, recorder.post_roll = settings.pre_roll, settings.post_roll
            # Once stopped (HA stopping), no clip opens: the writer pool is shut down.
            if (
                settings.record != before.record
                and self._motion_active(camera_id)
                and not self._stopped
            ):
                if settings.record:
                    recorder.motion_started(time.monotonic())
                    self._async_keep_ticking()
                else:
                    recorder.motion_ended(time.monotonic())
        # Applied above without a pause (concurrent changes cannot interleave); written before
        # anyone is told.
        await self._store.async_set_recording(
            camera_id, {name: getattr(settings, name) for name in changes}
        )
        async_dispatcher_send(
            self._hass, signals.recording_settings_updated(self._entry_id, camera_id)
        )

    def _check_available(self) -> None:
        """Refuse clips in the save directory while it cannot be used (under www/)."""
        if self._saver.error is not None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="recording_unavailable",
                translation_placeholders={"error": self._saver.error},
            )

    # -- cameras -------------------------------------------------------------------------------

    def _recorder(self, camera_id: str) -> ClipRecorder:
        """Return the camera's recorder, made (with its ring) on first use."""
        recorder = self._recorders.get(camera_id)
        if recorder is None:
            settings = self.settings(camera_id)
            recorder = ClipRecorder(
                FrameRing(max_seconds=RING_SECONDS, max_bytes=RING_BYTES_PER_CAMERA),
                partial(self._open_sink, camera_id),
                pre_roll=settings.pre_roll,
                post_roll=settings.post_roll,
                max_duration=MAX_CLIP_SECONDS,
                max_motion_duration=MAX_MOTION_CLIP_SECONDS,
            )
            self._recorders[camera_id] = recorder
            self._unsubscribe[camera_id] = async_dispatcher_connect(
                self._hass,
                signals.motion_event(self._entry_id, camera_id),
                partial(self._async_motion, camera_id),
            )
        return recorder

    def _share_memory(self) -> None:
        """Give every connected camera's ring an even share of the hub's limit (at most its own).

        A departed camera's ring is empty and takes no share (issue 18: 300 one-frame camera ids
        once cut a 10 s pre-roll to 1 s); it gets one again with its next frame.
        """
        share = self.ring_bytes_per_camera
        for camera_id in self._connected:
            self._recorders[camera_id].ring.max_bytes = share

    @property
    def ring_bytes_per_camera(self) -> int:
        """The JPEG bytes each connected camera's ring may hold now."""
        return min(RING_BYTES_PER_CAMERA, RING_BYTES_TOTAL // max(1, len(self._connected)))

    @callback
    def async_camera_disconnected(self, camera_id: str) -> None:
        """Free the ring of a camera that went away (its open clips go on); share its memory."""
        if (recorder := self._recorders.get(camera_id)) is not None:
            recorder.ring.clear()
        if camera_id in self._connected:
            self._connected.discard(camera_id)
            self._share_memory()

    @callback
    def async_forget(self, camera_id: str) -> None:
        """Drop a removed camera: its open clips are finished (and written), its ring freed."""
        if (unsubscribe := self._unsubscribe.pop(camera_id, None)) is not None:
            unsubscribe()
        if (recorder := self._recorders.pop(camera_id, None)) is not None:
            recorder.close()
        if camera_id in self._connected:
            self._connected.discard(camera_id)
            self._share_memory()
        self._settings.pop(camera_id, None)
        self._scored.pop(camera_id, None)
        self._idle.discard(camera_id)

    def _keeps_ring(self, camera_id: str) -> bool:
        """Whether a clip may want the camera's frames from before it opens (its ring is kept).

        A motion clip starts at the analysed frame that moved, before the hub hears of it, and
        reaches back its pre-roll; the record action's default pre-roll is the camera's. So: the
        camera records on motion, or its pre-roll is above 0. Otherwise (and while no clip is
        open) the ring keeps nothing and the camera's frames cost one set lookup here; a record
        action asking for a pre-roll then gets none (`pre_roll_complete` false).
        """
        settings = self.settings(camera_id)
        return settings.record or settings.pre_roll > 0

    def _go_idle(self, camera_id: str, recorder: ClipRecorder) -> None:
        """Keep none of the camera's frames from now on (nothing here can want them)."""
        recorder.ring.clear()
        self._idle.add(camera_id)
        if camera_id in self._connected:  # an empty ring takes no share of the memory
            self._connected.discard(camera_id)
            self._share_memory()

    def _wake(self, camera_id: str) -> None:
        """Offer the camera's frames again (a setting changed, a clip opens)."""
        if camera_id in self._idle:
            self._idle.discard(camera_id)
            # What it did not keep until now is missing from any pre-roll.
            self._recorder(camera_id).ring.kept_from(time.monotonic())

    @callback
    def _async_frame(self, camera: CameraRecord, frame: Frame) -> None:
        """Every admitted camera's frame: into its ring and its open clips (O(open clips))."""
        camera_id = camera.camera_id
        if camera_id in self._idle or self._stopped:
            return
        started = time.perf_counter_ns()
        recorder = self._recorders.get(camera_id) or self._recorder(camera_id)
        if not recorder.recording and not self._keeps_ring(camera_id):
            self._go_idle(camera_id, recorder)
            return
        if camera_id not in self._connected:  # its first frame since it (re)connected
            self._connected.add(camera_id)
            self._share_memory()
        recorder.add_frame(ClipFrame(frame.data, frame.completed_at))
        if recorder.recording:
            self._note_motion(camera_id)
        self._frames_ns += time.perf_counter_ns() - started
        self._frames += 1

    def _note_motion(self, camera_id: str) -> None:
        """Give the camera's open clips its newest moving frame's score, once (thumbnails)."""
        result = self._motion_result(camera_id)
        if (
            result is None
            or not result.moving
            or not result.analysed
            or self._scored.get(camera_id) is result
        ):
            return
        self._scored[camera_id] = result
        for clip in self._open.get(camera_id, ()):
            clip.note_motion(result)

    @callback
    def _async_motion(self, camera_id: str, event: MotionEvent) -> None:
        """Open a motion clip when motion starts (if chosen); end it after its post-roll."""
        recorder = self._recorder(camera_id)
        if event.type is MotionEventType.STARTED:
            if self.settings(camera_id).record and self._saver.error is None:
                recorder.motion_started(event.timestamp)
                self._async_keep_ticking()
        else:
            recorder.motion_ended(event.timestamp)

    # -- the record action ---------------------------------------------------------------------

    async def async_record(
        self,
        camera_id: str,
        *,
        duration: float,
        pre_roll: float,
        path: Path | None = None,
        root: Path | None = None,
    ) -> dict[str, Any]:
        """Record `pre_roll` seconds before now to `duration` after; return the written AVI.

        `path` is a file the caller checked (`root`: the save directory when it lies inside it);
        None: the default layout. Waits for the AVI (the clip's end plus a margin), not for its
        MP4 (`mp4_pending`: the event announces it): the clip's `RecordedClip.as_dict()` and
        `mp4_pending`. Raises translated errors when nothing could be written.
        """
        if path is None:
            self._check_available()
        if self._stopped:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="not_loaded")
        self.check_can_record(camera_id)
        recorder = self._recorder(camera_id)
        self._wake(camera_id)  # the ring kept nothing until now: its pre-roll says so
        target = self._action = _ActionTarget(path, root)
        try:
            recorder.record(time.monotonic(), duration=duration, pre_roll=pre_roll)
        finally:
            self._action = None
        clip = target.clip
        assert clip is not None
        self._async_keep_ticking()
        try:
            async with asyncio.timeout(duration + WRITE_MARGIN):
                written = await asyncio.shield(clip.written)
        except TimeoutError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="record_timeout",
                translation_placeholders={"path": str(clip.path)},
            ) from err
        if isinstance(written, Exception):
            if clip.frames == 0:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="record_no_frames",
                    translation_placeholders={"camera_id": camera_id},
                )
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="record_failed",
                translation_placeholders={"path": str(clip.path), "error": str(written)},
            )
        recorded = RecordedClip(written, clip.request.pre_roll_complete, clip.thumbnail_path)
        return {**recorded.as_dict(), "mp4_pending": clip.mp4_pending}

    def check_can_record(self, camera_id: str) -> None:
        """Refuse a record action past the open clips' caps (the camera's, then the hub's)."""
        action = ClipReason.ACTION
        camera = sum(clip.request.reason is action for clip in self._open.get(camera_id, ()))
        if camera >= MAX_ACTION_CLIPS_PER_CAMERA:
            self._refused += 1
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="too_many_clips",
                translation_placeholders={
                    "camera_id": camera_id,
                    "limit": str(MAX_ACTION_CLIPS_PER_CAMERA),
                },
            )
        hub = sum(clip.request.reason is action for clips in self._open.values() for clip in clips)
        if hub >= MAX_ACTION_CLIPS_PER_HUB:
            self._refused += 1
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="too_many_hub_clips",
                translation_placeholders={"limit": str(MAX_ACTION_CLIPS_PER_HUB)},
            )

    # -- snapshots -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def async_snapshot_write(self) -> AsyncIterator[None]:
        """Hold one of the hub's snapshot writes; refuse at once when too many wait already."""
        if self._snapshots >= MAX_SNAPSHOT_WRITES + MAX_SNAPSHOTS_WAITING:
            self._refused += 1
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="too_many_snapshots",
                translation_placeholders={"limit": str(MAX_SNAPSHOT_WRITES)},
            )
        self._snapshots += 1
        try:
            async with self._snapshot_writes:
                yield
        finally:
            self._snapshots -= 1

    # -- clips ---------------------------------------------------------------------------------

    def _open_sink(self, camera_id: str, request: ClipRequest) -> _Clip:
        """Open a clip's writer (on the loop, from the recorder): name it, queue it in the pool."""
        elapsed = max(0.0, time.monotonic() - request.triggered_at)
        started = dt_util.now() - timedelta(seconds=elapsed)
        action = self._action if request.reason is ClipReason.ACTION else None
        if action is not None and action.path is not None:
            path, root, numbered = action.path, action.root, False
        else:
            # Another open clip of this reason in the same second: the next number (the writer
            # also skips names taken on disk).
            taken = {clip.path for clip in self._open.get(camera_id, ())}
            number = 1
            while (
                path := layout.clip_path(
                    self._directory, camera_id, started, request.reason.value, number
                )
            ) in taken:
                number += 1
            root, numbered = self._directory, True
        clip = _Clip(self._hass, camera_id, request, path=path, root=root, started=started)
        clip.writer = ThreadedAviSink(
            path,
            partial(self._written_in_thread, clip),
            prepare=partial(_prepare, path, root, numbered=numbered),
            pool=self._pool,
        )
        self._open.setdefault(camera_id, []).append(clip)
        if action is not None:
            action.clip = clip
        return clip

    def _written_in_thread(self, clip: _Clip, result: ClipInfo | Exception) -> None:
        """In the clip's writer: write the thumbnail beside a committed AVI, hop to the loop."""
        thumbnail: tuple[Path, int] | None = None
        if isinstance(result, ClipInfo) and (frame := clip.thumbnail) is not None:
            path = result.path.with_suffix(".jpg")
            try:
                writing.write_file_atomic(path, frame.data, root=clip.root)
            except (OSError, ValueError) as err:
                LOGGER.warning("Cannot write the clip's thumbnail %s: %s", path, err)
            else:
                thumbnail = (path, len(frame.data))
        try:
            self._hass.loop.call_soon_threadsafe(self._async_written, clip, result, thumbnail)
        except RuntimeError:  # the loop is closed: Home Assistant has stopped
            LOGGER.debug("Clip %s written after Home Assistant stopped", clip.path)

    @callback
    def _async_written(
        self, clip: _Clip, result: ClipInfo | Exception, thumbnail: tuple[Path, int] | None
    ) -> None:
        """Count a committed (or failed) AVI, then convert it or finish it."""
        if clip in (open_clips := self._open.get(clip.camera_id, [])):
            open_clips.remove(clip)
        counts = self._counts.setdefault(clip.camera_id, _Counts())
        if isinstance(result, Exception):
            counts.failed += 1
            if clip.frames:
                LOGGER.warning("Cannot write the clip %s: %s", clip.path, result)
            else:
                LOGGER.debug("No frame of %s during the clip %s", clip.camera_id, clip.path)
            clip.written.set_result(result)
            return
        counts.written += 1
        size = result.size
        if thumbnail is not None:
            clip.thumbnail_path, thumbnail_size = thumbnail
            size += thumbnail_size
        self._saver.async_clip_saved(clip.camera_id, result.path, size)
        LOGGER.debug("Saved the clip %s (%d frames)", result.path, result.frames)
        clip.mp4_pending = self._conversions.async_add(clip, result)
        clip.written.set_result(result)

    @callback
    def _async_converted(self, clip: _Clip, mp4: Path, size: int) -> None:
        """Count a clip's MP4 as made and saved."""
        self._counts.setdefault(clip.camera_id, _Counts()).converted += 1
        self._saver.async_clip_saved(clip.camera_id, mp4, size)

    @callback
    def _async_finish(self, clip: _Clip, info: ClipInfo, mp4: Path | None) -> None:
        """Fire the event: the clip's files are complete."""
        recorded = RecordedClip(info, clip.request.pre_roll_complete, clip.thumbnail_path)
        entity_id = camera_entity_id(er.async_get(self._hass), self._entry_id, clip.camera_id)
        self._hass.bus.async_fire(
            EVENT_CLIP_SAVED,
            {
                "entity_id": entity_id,
                "camera_id": clip.camera_id,
                "reason": clip.request.reason.value,
                **recorded.as_dict(),
                "mp4": None if mp4 is None else str(mp4),
            },
        )

    # -- timing --------------------------------------------------------------------------------

    @callback
    def _async_keep_ticking(self) -> None:
        """Tick the recorders while a clip is open."""
        if self._timer is None and not self._stopped:
            self._timer = async_track_time_interval(
                self._hass, self._async_tick, TICK_INTERVAL, cancel_on_shutdown=True
            )

    @callback
    def _async_tick(self, _now: datetime) -> None:
        """Close the clips whose window ended (the camera went silent); stop when none is open."""
        now = time.monotonic()
        recording = False
        for recorder in self._recorders.values():
            if recorder.recording:
                recorder.tick(now)
                recording = recording or recorder.recording > 0
        if not recording and self._timer is not None:
            self._timer()
            self._timer = None

    # -- diagnostics ---------------------------------------------------------------------------

    def open_clips(self, camera_id: str) -> list[ClipRequest]:
        """Return what the camera's open clips were asked for (their windows), oldest first."""
        return [clip.request for clip in self._open.get(camera_id, ())]

    def figures(self, camera_id: str) -> dict[str, int]:
        """Return the camera's clips written and MP4s made since the start, and its open clips.

        The panel's payload carries them: its clip list is read again when they change.
        """
        counts = self._counts.get(camera_id, _Counts())
        return {
            "written": counts.written,
            "converted": counts.converted,
            "recording": len(self._open.get(camera_id, ())),
        }

    def stats(self, camera_id: str) -> dict[str, Any]:
        """Return a camera's clip settings, ring, open clips and counts (diagnostics)."""
        recorder = self._recorders.get(camera_id)
        counts = self._counts.get(camera_id, _Counts())
        return {
            "settings": asdict(self.settings(camera_id)),
            "ring": None if recorder is None else recorder.ring.as_dict(),
            "open": [clip.as_dict() for clip in self._open.get(camera_id, ())],
            "written": counts.written,
            "failed": counts.failed,
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the hub's ring memory, open clips, counts and conversions (diagnostics)."""
        return {
            "ring_memory": sum(r.ring.memory for r in self._recorders.values()),
            "ring_memory_limit": RING_BYTES_TOTAL,
            "ring_bytes_per_camera": self.ring_bytes_per_camera,
            "ring_seconds": RING_SECONDS,
            "open_clips": sum(len(clips) for clips in self._open.values()),
            "caps": {
                "action_clips_per_camera": MAX_ACTION_CLIPS_PER_CAMERA,
                "action_clips_per_hub": MAX_ACTION_CLIPS_PER_HUB,
                "snapshot_writes": MAX_SNAPSHOT_WRITES,
                "snapshots_waiting": MAX_SNAPSHOTS_WAITING,
                "refused": self._refused,
            },
            "writers": {
                "threads": self._pool.threads,
                "backlog_bytes": self._pool.backlog_bytes,
            },
            "connected_rings": len(self._connected),
            "recovery": {
                "recovered": len(self._recovery.recovered),
                "removed": self._recovery.removed,
                "busy": self._recovery.busy,
            },
            "written": sum(counts.written for counts in self._counts.values()),
            "failed": sum(counts.failed for counts in self._counts.values()),
            # The frame listener's time on the event loop (ring and open clips), since the start.
            "listener": {
                "frames": self._frames,
                "seconds": self._frames_ns / 1e9,
                "us_per_frame": round(self._frames_ns / self._frames / 1000, 3)
                if self._frames
                else None,
            },
            "conversions": self._conversions.as_dict(),
        }
