"""Continuous saving of every frame to disk (the original server's "image saver").

One `ImageSaver` per hub. Frames of the cameras whose "continuous saving" switch is on are put, in the
event loop, into a bounded queue (bounded in frames and in bytes); one writer task takes them out in
batches and writes them in the executor as `<save dir>/<camera>/YYYY-MM-DD/HH/HH-MM-SS.ffffff_<seq>.jpg`
(local time). When the writer lags and the queue is full, the newest frames are dropped and counted:
memory never grows. The same writer task enforces the retention limits (age and total size, oldest
first), so deletions never race writes.

Retention covers the clips too (`<camera>/clips/YYYY-MM-DD/`, written by clip_recording.py): a clip's
files (AVI, MP4, thumbnail) count in the total size and are removed together, in the same pass and
the same order (oldest first) as the images.

The counters (saved, today, size, per date and hour) also count the snapshots of the
`esp32_camera.snapshot` action ("save now") in a camera's `snapshots/` folder, as the original
server counted the images of its "save now" with the others. Retention never removes snapshots:
they were taken on purpose.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_change, async_track_time_interval
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..disk import layout, writing
from ..disk.retention import DirectoryUsage, prune_directory, scan_all
from . import signals
from .options import served_directories
from .repair_issues import async_delete_issue, async_raise_issue
from .throttle import Throttle

if TYPE_CHECKING:
    from ..listener.camera_record import CameraRecord
    from ..protocol.frames import Frame

# The queue between the event loop and the writer: whichever bound is reached first.
QUEUE_FRAMES = 64
QUEUE_BYTES = 64 * 1024 * 1024
# Frames written per executor job.
BATCH_SIZE = 16
# Retention is checked this often, after every write that crosses the size limit and on a new hour.
RETENTION_INTERVAL = timedelta(hours=1)
# When the size limit is exceeded, the oldest images are removed until this share of it is used.
RETENTION_TARGET = 0.9
# Counter sensors are updated at most this often (seconds) while frames are saved.
COUNTER_UPDATE_INTERVAL = 5.0
# Writes failing this long (seconds) or this many frames in a row, with none succeeding, put the
# saver in the error state with a repair issue; the next successful write clears both.
WRITE_ERROR_AFTER = 5.0
WRITE_ERROR_AFTER_FRAMES = 10
# Waiting for the queue to be written when the hub stops (seconds).
STOP_TIMEOUT = 10.0
# Per-hour counts are reported for this many of the newest dates (per-date counts for all).
HOURLY_DATES = 7
MIB = 1024 * 1024


@dataclass(slots=True)
class SaverCounters:
    """Continuous-saving counters of one camera."""

    saved: DirectoryUsage = field(default_factory=DirectoryUsage)
    """Images of this camera in the save directory: continuous saving and default-named snapshots."""
    saved_today: int = 0
    """Images saved today (local time): today's found on disk plus those written since. It only
    goes up until midnight: its sensor is total_increasing, for which a drop is a meter reset, so
    retention removing today's images does not lower it."""
    dropped: int = 0
    """Frames dropped since start because the writer lagged."""
    errors: int = 0
    """Frames that could not be written since start."""
    last_saved_path: str | None = None
    last_saved_at: datetime | None = None

    @property
    def saved_total(self) -> int:
        """Images of this camera in the save directory."""
        return self.saved.files

    @property
    def saved_bytes(self) -> int:
        """Their size."""
        return self.saved.bytes

    @callback
    def note_saved(self, path: Path, day: str, hour: str, size: int, today: str) -> None:
        """Count an image just written (continuous saving or a snapshot)."""
        self.saved.add(day, hour, size, today)
        self.saved_today += day == today
        self.last_saved_path = str(path)
        self.last_saved_at = dt_util.now()

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as JSON-friendly values."""
        return {
            "saved_total": self.saved_total,
            "saved_today": self.saved_today,
            "saved_bytes": self.saved_bytes,
            "dropped": self.dropped,
            "errors": self.errors,
            "last_saved_path": self.last_saved_path,
            "last_saved_at": self.last_saved_at.isoformat() if self.last_saved_at else None,
        }


@dataclass(frozen=True, slots=True)
class _Item:
    camera_id: str
    data: bytes | bytearray
    path: Path


@dataclass(slots=True)
class _WriteResult:
    written: list[tuple[_Item, int]] = field(default_factory=list)
    failed: list[tuple[_Item, OSError]] = field(default_factory=list)


def _write_batch(root: Path, items: list[_Item]) -> _WriteResult:
    """Write frames below `root` (executor), never through a link below it.

    Atomic renames without fsync: an SD card cannot fsync 20 frames/s.
    """
    result = _WriteResult()
    for item in items:
        try:
            writing.write_file_atomic(item.path, item.data, fsync=False, root=root)
        except OSError as err:
            result.failed.append((item, err))
        else:
            result.written.append((item, len(item.data)))
    return result


class ImageSaver:
    """The continuous-saving queue, writer and retention of one hub."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        directory: str,
        retention_days: float,
        retention_size_mb: float,
        add_frame_listener: Callable[[Callable[[CameraRecord, Frame], None], str], CALLBACK_TYPE],
        queue_frames: int = QUEUE_FRAMES,
        queue_bytes: int = QUEUE_BYTES,
    ) -> None:
        """Prepare the saver; nothing runs before `async_start`."""
        self.hass = hass
        self.entry_id = entry_id
        self.directory = Path(directory)
        self.retention_days = retention_days
        self.retention_size_mb = retention_size_mb
        self._add_frame_listener = add_frame_listener
        self._queue_frames = queue_frames
        self._queue_bytes = queue_bytes
        self._pending: deque[_Item] = deque()
        self._pending_bytes = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._writing = False
        self._retention_due = True
        self._last_hour: str | None = None
        self._total_bytes = 0  # continuous saving only
        self._clip_bytes = 0  # the clips' files: retention works on both
        self._disk: dict[str, DirectoryUsage] = {}
        self._snapshots_disk: dict[str, DirectoryUsage] = {}
        self._counters: dict[str, SaverCounters] = {}
        self._enabled: dict[str, CALLBACK_TYPE] = {}
        self._min_interval: dict[str, float] = {}
        self._last_accepted: dict[str, float] = {}
        self._seq = 0
        self._today = dt_util.now().date()
        self._notifiers: dict[str, Throttle] = {}
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self.error: str | None = None
        """Why saving cannot start (the save directory is served without authentication)."""
        self.write_error: str | None = None
        """Why every write fails for a while now (a full disk, a read-only mount), None once one works."""
        self._failing_since: float | None = None
        self._failed_in_row = 0

    # -- control ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Return whether frames are queued or being written, or retention is due."""
        return self.running and (self._writing or bool(self._pending) or self._retention_due)

    @property
    def running(self) -> bool:
        """Return whether the writer runs."""
        return self._task is not None and not self._task.done()

    @property
    def problem(self) -> str | None:
        """Why saving is in error: it cannot start, or writes keep failing; None when it is not."""
        return self.error or self.write_error

    @property
    def state(self) -> str:
        """Return `error` (see `problem`), `running` or `stopped`."""
        if self.problem:
            return "error"
        return "running" if self.running else "stopped"

    def is_enabled(self, camera_id: str) -> bool:
        """Return whether frames of this camera are saved."""
        return camera_id in self._enabled

    @callback
    def async_set_enabled(self, camera_id: str, enabled: bool) -> None:
        """Turn continuous saving of one camera on or off."""
        if enabled and camera_id not in self._enabled:
            self._enabled[camera_id] = self._add_frame_listener(self._handle_frame, camera_id)
            self._last_accepted.pop(camera_id, None)
        elif not enabled and (unsubscribe := self._enabled.pop(camera_id, None)):
            unsubscribe()
        self._notify(camera_id)
        self._settings_changed(camera_id)

    def max_rate(self, camera_id: str) -> float:
        """Return the most frames per second saved for this camera (0: every frame)."""
        interval = self._min_interval.get(camera_id, 0.0)
        return 1.0 / interval if interval else 0.0

    @callback
    def async_set_max_rate(self, camera_id: str, per_second: float) -> None:
        """Save at most `per_second` frames per second of this camera (0: every frame)."""
        if per_second > 0:
            self._min_interval[camera_id] = 1.0 / per_second
        else:
            self._min_interval.pop(camera_id, None)
        self._settings_changed(camera_id)

    @callback
    def _settings_changed(self, camera_id: str) -> None:
        """Tell the saving switch and rate limit at once."""
        if not self._stopping:
            async_dispatcher_send(
                self.hass, signals.saver_settings_updated(self.entry_id, camera_id)
            )

    def counters(self, camera_id: str) -> SaverCounters:
        """Return the counters of one camera (a live object: read, do not keep)."""
        counters = self._counters.get(camera_id)
        if counters is None:
            counters = self._counters[camera_id] = SaverCounters()
            self._count_from_disk(camera_id, counters)
        return counters

    def _count_from_disk(self, camera_id: str, counters: SaverCounters) -> None:
        """Set a camera's counts to what the last scan found (saved images and snapshots)."""
        name = layout.camera_directory(self.directory, camera_id).name
        counters.saved = DirectoryUsage()
        for usage in (self._disk.get(name), self._snapshots_disk.get(name)):
            if usage is not None:
                counters.saved.add_usage(usage)
        counters.saved_today = max(counters.saved_today, counters.saved.today)

    def saved_counts(self, camera_id: str) -> dict[str, dict[str, Any]]:
        """Return a camera's saved images per date and, for the newest dates, per hour.

        What the original `/api/images/stats` reported "by date" and "by hour":
        `{"by_date": {"2026-03-04": 120, ...}, "by_hour": {"2026-03-04": {"05": 12, ...}, ...}}`,
        newest first, local time; per hour only for the newest `HOURLY_DATES` dates.
        """
        by_date: dict[str, int] = {}
        by_hour: dict[str, dict[str, int]] = {}
        for key, count in sorted(self.counters(camera_id).saved.hours.items(), reverse=True):
            if count <= 0:
                continue
            day, hour = key.split(" ")
            by_date[day] = by_date.get(day, 0) + count
            if day in by_hour or len(by_hour) < HOURLY_DATES:
                by_hour.setdefault(day, {})[hour] = count
        return {"by_date": by_date, "by_hour": by_hour}

    def as_dict(self) -> dict[str, Any]:
        """Return the saver's state and counts (HTTP stats, diagnostics)."""
        return {
            "state": self.state,
            "error": self.problem,
            "directory": str(self.directory),
            "retention_days": self.retention_days,
            "retention_size_mb": self.retention_size_mb,
            "total_bytes": self._total_bytes,
            "clip_bytes": self._clip_bytes,
            "busy": self.busy,
            "queued_frames": len(self._pending),
            "queued_bytes": self._pending_bytes,
            "cameras": {
                camera_id: {
                    "enabled": camera_id in self._enabled,
                    "max_rate": self.max_rate(camera_id),
                    **self.counters(camera_id).as_dict(),
                }
                for camera_id in sorted({*self._counters, *self._enabled})
            },
        }

    @callback
    def async_clip_saved(self, camera_id: str, path: Path, size: int) -> None:
        """Count the bytes of a clip's file in the clips layout (retention applies to them)."""
        day = path.parent
        if (
            day.parent != layout.clips_directory(self.directory, camera_id)
            or not layout.DAY_DIRECTORY.match(day.name)
            or not layout.CLIP_FILE.match(path.name)
        ):
            return  # a file name of the user's choosing: never removed
        self._clip_bytes += size
        if self._over_size() and self._wakeup is not None and not self._stopping:
            self._retention_due = True
            self._wakeup.set()

    @callback
    def async_snapshot_saved(self, camera_id: str, path: Path, size: int) -> None:
        """Count a snapshot ("save now") written to the camera's default snapshot file.

        Snapshots written elsewhere (a `filename` of the user's choice) are not counted: the
        counts are the images of the save directory's layout, as a rescan at start-up finds them.
        """
        folder = layout.camera_directory(self.directory, camera_id) / layout.SNAPSHOTS_DIRECTORY
        match = layout.SNAPSHOT_FILE.match(path.name)
        if match is None or path.parent != folder:
            return
        self.counters(camera_id).note_saved(path, match[1], match[2], size, self._today.isoformat())
        self._notify(camera_id)

    # -- life cycle ------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Check the directory, then start the writer and the retention timer."""
        if served := await self.hass.async_add_executor_job(
            layout.folder_holding, self.directory, served_directories(self.hass)
        ):
            self.error = (
                f"{self.directory} is inside {served}, which is served without authentication"
            )
            LOGGER.error("Continuous saving is off: the save directory %s", self.error)
            return
        self._wakeup = asyncio.Event()
        self._task = self.hass.async_create_background_task(
            self._run(), f"{DOMAIN} image saver {self.entry_id}"
        )
        self._unsubscribe += [
            async_track_time_interval(
                self.hass, self._retention_tick, RETENTION_INTERVAL, cancel_on_shutdown=True
            ),
            async_track_time_change(self.hass, self._midnight, hour=0, minute=0, second=0),
        ]

    async def async_stop(self) -> None:
        """Stop: write what is queued (bounded by a timeout), then end the writer."""
        for unsubscribe in (*self._enabled.values(), *self._unsubscribe):
            unsubscribe()
        self._enabled.clear()
        self._unsubscribe.clear()
        for notifier in self._notifiers.values():
            notifier.async_cancel()
        self._stopping = True
        # Raised again at the next start if writes still fail.
        async_delete_issue(self.hass, self._write_issue_id)
        if self._task is None:
            return
        assert self._wakeup is not None
        self._wakeup.set()
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await asyncio.shield(self._task)
        except TimeoutError:
            LOGGER.warning("Dropping %d queued frames: the disk is too slow", len(self._pending))
            self._task.cancel()

    @callback
    def _retention_tick(self, _now: datetime) -> None:
        self._retention_due = True
        if self._wakeup is not None:
            self._wakeup.set()

    @callback
    def _midnight(self, now: datetime) -> None:
        self._today = now.date()
        for camera_id, counters in self._counters.items():
            counters.saved.today = counters.saved_today = 0
            self._notify(camera_id)
        for usage in (*self._disk.values(), *self._snapshots_disk.values()):
            usage.today = 0

    # -- frames ----------------------------------------------------------------------------------

    @callback
    def _handle_frame(self, camera: CameraRecord, frame: Frame) -> None:
        """Queue a frame of an enabled camera (event loop; never blocks)."""
        camera_id = camera.camera_id
        if self._wakeup is None or self._stopping:
            return
        interval = self._min_interval.get(camera_id)
        if interval is not None:
            last = self._last_accepted.get(camera_id)
            if last is not None and frame.completed_at - last < interval:
                return
        size = len(frame.data)
        if (
            len(self._pending) >= self._queue_frames
            or self._pending_bytes + size > self._queue_bytes
        ):
            self.counters(camera_id).dropped += 1
            self._notify(camera_id)
            return
        self._last_accepted[camera_id] = frame.completed_at
        self._seq += 1
        path = layout.saved_frame_path(self.directory, camera_id, dt_util.now(), self._seq)
        self._pending.append(_Item(camera_id, frame.data, path))
        self._pending_bytes += size
        self._wakeup.set()

    async def _run(self) -> None:
        """Write queued frames and enforce retention, until stopped."""
        assert self._wakeup is not None
        self._writing = True
        try:
            await self._scan()
        finally:
            self._writing = False
        while True:
            if not self._pending and not self._retention_due:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            self._writing = True
            try:
                if self._pending:
                    await self._write_some()
                if self._retention_due or self._over_size():
                    self._retention_due = False
                    await self._enforce_retention()
            except Exception:  # noqa: BLE001 - the writer must survive anything
                LOGGER.exception("Unexpected error in the image saver")
            finally:
                self._writing = False

    async def _write_some(self) -> None:
        batch = [self._pending.popleft() for _ in range(min(BATCH_SIZE, len(self._pending)))]
        try:
            result = await self.hass.async_add_executor_job(_write_batch, self.directory, batch)
        finally:
            self._pending_bytes -= sum(len(item.data) for item in batch)
        today = self._today.isoformat()
        for item, size in result.written:
            day_name, hour_name = item.path.parent.parent.name, item.path.parent.name
            self.counters(item.camera_id).note_saved(item.path, day_name, hour_name, size, today)
            self._total_bytes += size
            self._notify(item.camera_id)
            hour = f"{day_name} {hour_name}"
            if self._last_hour is not None and hour > self._last_hour:
                # A new hour directory: a good moment to apply the age limit.
                self._retention_due = True
            self._last_hour = max(hour, self._last_hour or hour)
        for item, err in result.failed:
            self.counters(item.camera_id).errors += 1
            self._notify(item.camera_id)
            self._write_failed(item, err)
        if result.written and self._failing_since is not None:
            self._writes_work_again()

    def _write_failed(self, item: _Item, err: OSError) -> None:
        """Log the first failure; enter the error state once writes keep failing."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            LOGGER.warning("Cannot save frames of %s to %s: %s", item.camera_id, item.path, err)
        self._failed_in_row += 1
        if self.write_error is None and (
            now - self._failing_since >= WRITE_ERROR_AFTER
            or self._failed_in_row >= WRITE_ERROR_AFTER_FRAMES
        ):
            self.write_error = err.strerror or str(err)
            LOGGER.error("Continuous saving to %s keeps failing: %s", self.directory, err)
            async_raise_issue(
                self.hass,
                self._write_issue_id,
                "saving_failed",
                {"directory": str(self.directory), "error": self.write_error},
                severity=ir.IssueSeverity.ERROR,
            )

    def _writes_work_again(self) -> None:
        if self.write_error is not None:
            LOGGER.info("Saving frames to %s works again", self.directory)
        self._failing_since, self._failed_in_row, self.write_error = None, 0, None
        async_delete_issue(self.hass, self._write_issue_id)

    @property
    def _write_issue_id(self) -> str:
        return f"saving_failed_{self.entry_id}"

    async def _scan(self) -> None:
        try:
            (
                self._disk,
                self._snapshots_disk,
                self._clip_bytes,
            ) = await self.hass.async_add_executor_job(
                scan_all, self.directory, self._today.isoformat()
            )
        except OSError as err:
            LOGGER.warning("Cannot read the save directory %s: %s", self.directory, err)
            return
        self._total_bytes = sum(usage.bytes for usage in self._disk.values())
        for camera_id, counters in self._counters.items():
            self._count_from_disk(camera_id, counters)
            self._notify(camera_id)

    def _size_limit(self) -> int | None:
        return int(self.retention_size_mb * MIB) if self.retention_size_mb > 0 else None

    def _over_size(self) -> bool:
        limit = self._size_limit()
        return limit is not None and self._total_bytes + self._clip_bytes > limit

    async def _enforce_retention(self) -> None:
        limit = self._size_limit()
        total_bytes = self._total_bytes + self._clip_bytes
        older_than = (
            dt_util.now().replace(tzinfo=None) - timedelta(days=self.retention_days)
            if self.retention_days > 0
            else None
        )
        try:
            removed = await self.hass.async_add_executor_job(
                partial(
                    prune_directory,
                    self.directory,
                    older_than=older_than,
                    total_bytes=total_bytes,
                    target_bytes=None
                    if limit is None or total_bytes <= limit
                    else int(limit * RETENTION_TARGET),
                    today=self._today.isoformat(),
                )
            )
        except OSError as err:
            LOGGER.warning("Cannot apply retention to %s: %s", self.directory, err)
            return
        self._clip_bytes = max(0, self._clip_bytes - removed.clip_bytes)
        names = {layout.camera_directory(self.directory, c).name: c for c in self._counters}
        for directory, usage in removed.images.items():
            self._total_bytes -= usage.bytes
            if disk := self._disk.get(directory):
                disk.remove_usage(usage)
            if (camera_id := names.get(directory)) is not None:
                self._counters[camera_id].saved.remove_usage(usage)
                self._notify(camera_id)
        if removed.images or removed.clips:
            LOGGER.debug(
                "Retention removed %d images and %d clips from %s",
                sum(usage.files for usage in removed.images.values()),
                removed.clips,
                self.directory,
            )

    # -- counters to entities --------------------------------------------------------------------

    @callback
    def _notify(self, camera_id: str) -> None:
        """Tell the counter sensors, at most every COUNTER_UPDATE_INTERVAL with a trailing update."""
        if self._stopping:
            return
        notifier = self._notifiers.get(camera_id)
        if notifier is None:
            signal = signals.saver_updated(self.entry_id, camera_id)
            notifier = self._notifiers[camera_id] = Throttle(
                self.hass,
                COUNTER_UPDATE_INTERVAL,
                partial(async_dispatcher_send, self.hass, signal),
            )
        notifier.async_call()
