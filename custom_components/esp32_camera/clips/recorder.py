"""Which frames go into which clip: pre-roll from the ring buffer, while motion lasts, post-roll.

``ClipRecorder`` is one camera's state machine. It runs where the frames arrive (the event loop):
every call is O(1) per active clip and does no I/O. Each clip goes to a ``ClipSink`` made by the
caller's factory; ``ThreadedAviSink`` is the sink that writes an AVI through a ``ClipWriterPool``
(a few threads for every clip of a hub), so the loop only hands over references.

Two kinds of clip, possibly at the same time (each frame goes to every open clip):

- motion clips (``motion_started`` / ``motion_ended``): from ``pre_roll`` seconds before the start
  to ``post_roll`` seconds after the end; motion starting again during the post-roll extends the
  same clip; the pre-roll of a motion clip never reaches back into the previous motion clip (one
  clip per motion episode, no frame in two of them, issue 20);
- action clips (``record``): ``pre_roll`` seconds before the request to ``duration`` seconds after.

A clip includes every frame whose timestamp lies in its window, the window's ends included, and
stops at ``max_duration`` seconds in any case (a motion clip at ``max_motion_duration``, when set; a
motion still going on then continues in the next
clip, from the next frame).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
import logging
from pathlib import Path
import queue
import threading
import time
from typing import Protocol

from .avi import AviWriter, ClipError, ClipInfo, ClipTooLargeError
from .ring import ClipFrame, FrameRing

_LOGGER = logging.getLogger(__name__)


class ClipReason(StrEnum):
    """Why a clip is recorded."""

    MOTION = "motion"
    ACTION = "action"


@dataclass(frozen=True, slots=True)
class ClipRequest:
    """What a sink factory learns about the clip it opens."""

    reason: ClipReason
    triggered_at: float  # the motion start or the action's time (the frames' clock)
    pre_roll: float  # seconds requested before ``triggered_at``
    pre_roll_complete: bool  # the ring still held every frame of the pre-roll
    duration: float | None = None  # seconds after ``triggered_at`` (an action's); None: motion


class ClipSink(Protocol):
    """Where one clip's frames go. Called from the recorder's thread; must not block."""

    def add(self, frame: ClipFrame) -> None:
        """Take one frame (in timestamp order)."""

    def finish(self) -> None:
        """End the clip: no more frames."""


type SinkFactory = Callable[[ClipRequest], ClipSink]


@dataclass(slots=True)
class _OpenClip:
    request: ClipRequest
    sink: ClipSink
    end_at: float | None  # None: until the motion ends
    stop_at: float  # max_duration after the first frame's window start
    frames: int = 0
    last_at: float | None = None  # the newest frame's timestamp


@dataclass(slots=True)
class ClipRecorder:
    """One camera's clips. Not thread-safe: call every method from one thread (the event loop).

    ``add_frame`` must see every frame of the camera (it also fills the ring buffer).
    """

    ring: FrameRing
    open_sink: SinkFactory
    pre_roll: float = 5.0  # seconds before a motion start
    post_roll: float = 5.0  # seconds after a motion end
    max_duration: float = 300.0  # seconds, any clip
    # Seconds of a motion clip (None: max_duration): a busy scene's long episode is cut into
    # clips that replay, convert and age out one by one.
    max_motion_duration: float | None = None
    _clips: list[_OpenClip] = field(default_factory=list)
    _motion_clip: _OpenClip | None = None
    _motion_clip_end: float | None = None  # the previous motion clip's newest frame

    @property
    def recording(self) -> int:
        """Open clips."""
        return len(self._clips)

    def motion_started(self, now: float) -> None:
        """Open a motion clip (pre-roll from the ring), or keep the open one going."""
        if self._motion_clip is not None:  # still open (closing it clears the reference)
            self._motion_clip.end_at = None
            return
        pre_roll = self.pre_roll
        if self._motion_clip_end is not None:  # not a frame of the previous motion clip again
            pre_roll = max(0.0, min(pre_roll, now - self._motion_clip_end - 1e-6))
        self._motion_clip = self._open(ClipReason.MOTION, now, pre_roll, end_at=None)

    def motion_ended(self, now: float) -> None:
        """Close the motion clip ``post_roll`` seconds from now."""
        if self._motion_clip is not None and self._motion_clip.end_at is None:
            self._motion_clip.end_at = now + self.post_roll

    def record(self, now: float, *, duration: float, pre_roll: float) -> None:
        """Open a clip from ``pre_roll`` seconds before ``now`` to ``duration`` seconds after."""
        if duration <= 0 or pre_roll < 0:
            raise ValueError("duration must be positive and pre_roll not negative")
        self._open(ClipReason.ACTION, now, pre_roll, end_at=now + duration, duration=duration)

    def add_frame(self, frame: ClipFrame) -> None:
        """Take a new frame: into the ring, and into every open clip whose window has it."""
        self.ring.append(frame)
        self._close_due(frame.timestamp, inclusive=False)
        for clip in self._clips:
            clip.sink.add(frame)
            clip.frames += 1
            clip.last_at = frame.timestamp

    def tick(self, now: float) -> None:
        """Close clips whose window ended while no frame came (the camera went silent)."""
        self._close_due(now, inclusive=True)

    def close(self) -> None:
        """Finish every open clip now (unload, camera removed)."""
        for clip in self._clips:
            clip.sink.finish()
        self._clips.clear()
        self._motion_clip = None

    def _open(
        self,
        reason: ClipReason,
        now: float,
        pre_roll: float,
        *,
        end_at: float | None,
        duration: float | None = None,
    ) -> _OpenClip:
        start = now - pre_roll
        request = ClipRequest(reason, now, pre_roll, self.ring.covers(start), duration)
        clip = _OpenClip(request, self.open_sink(request), end_at, start + self._longest(reason))
        self._clips.append(clip)
        for frame in self.ring.since(start):
            clip.sink.add(frame)
            clip.frames += 1
            clip.last_at = frame.timestamp
        return clip

    def _longest(self, reason: ClipReason) -> float:
        if reason is ClipReason.MOTION and self.max_motion_duration is not None:
            return self.max_motion_duration
        return self.max_duration

    def _close_due(self, now: float, *, inclusive: bool) -> None:
        """Finish the clips whose window ends before ``now`` (or at it, when ``inclusive``).

        A motion clip that reaches ``max_duration`` while the motion goes on is followed by the
        next one, from the next frame: a long motion becomes consecutive clips, no frame lost.
        """
        keep = []
        continued = False
        for clip in self._clips:
            end = clip.stop_at if clip.end_at is None else min(clip.end_at, clip.stop_at)
            if now > end or (inclusive and now >= end):
                clip.sink.finish()
                if clip is self._motion_clip:
                    self._motion_clip = None
                    self._motion_clip_end = clip.last_at
                    continued = clip.end_at is None
            else:
                keep.append(clip)
        self._clips[:] = keep
        if continued:
            request = ClipRequest(ClipReason.MOTION, now, 0.0, pre_roll_complete=True)
            self._motion_clip = _OpenClip(
                request, self.open_sink(request), None, now + self._longest(ClipReason.MOTION)
            )
            self._clips.append(self._motion_clip)


type ClipDone = Callable[[ClipInfo | Exception], None]

# Frames a worker writes for one clip before it lets the next clip's turn come (fairness).
_BATCH = 16


class ClipWriterPool:
    """A few threads that write every open clip of a hub: no thread per clip.

    Sinks with queued frames wait in one run queue; a worker takes a sink, writes up to a batch of
    its frames, and queues it again if more are waiting. The frames queued across all sinks are
    bounded (``max_backlog_bytes``, each frame counted once however many clips hold it): past the
    bound a disk slower than the cameras drops frames (counted per clip) instead of growing memory.
    Threads start with the first clip; ``shutdown`` ends them (the hub's unload, HA's stop).
    """

    def __init__(
        self, *, workers: int = 2, max_backlog_bytes: int = 128 * 1024 * 1024, name: str
    ) -> None:
        """Prepare ``workers`` threads (named ``<name> <n>``), started on first use."""
        if workers < 1 or max_backlog_bytes < 1:
            raise ValueError("workers and max_backlog_bytes must be positive")
        self.max_backlog_bytes = max_backlog_bytes
        self._name = name
        self._size = workers
        self._ready: queue.SimpleQueue[ThreadedAviSink | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # Frames queued in any sink: id of the JPEG -> (references, bytes). The queues hold the
        # objects, so an id cannot be reused while it is counted here.
        self._queued: dict[int, list[int]] = {}
        self.backlog_bytes = 0
        self.closed = False

    @property
    def threads(self) -> int:
        """Worker threads running."""
        return sum(thread.is_alive() for thread in self._threads)

    def _admit(self, frame: ClipFrame) -> bool:
        """Count a frame queued for a sink; False (not queued) past the backlog bound."""
        key = id(frame.data)
        with self._lock:
            if (entry := self._queued.get(key)) is not None:
                entry[0] += 1
                return True
            if self.backlog_bytes + len(frame.data) > self.max_backlog_bytes and self._queued:
                return False
            self._queued[key] = [1, len(frame.data)]
            self.backlog_bytes += len(frame.data)
            return True

    def _release(self, frame: ClipFrame) -> None:
        """Uncount a queued frame: its sink wrote or dropped it."""
        key = id(frame.data)
        with self._lock:
            entry = self._queued[key]
            entry[0] -= 1
            if entry[0] == 0:
                del self._queued[key]
                self.backlog_bytes -= entry[1]

    def _schedule(self, sink: ThreadedAviSink) -> None:
        with self._lock:
            if self.closed:
                raise RuntimeError("the clip writer pool is shut down")
            if len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name} {len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        self._ready.put(sink)

    def _work(self) -> None:
        while (sink := self._ready.get()) is not None:
            try:
                sink._write_some(_BATCH)  # noqa: SLF001 - the pool drives its sinks
            except Exception:
                _LOGGER.exception("Clip writer failed for %s", sink.path)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop the workers after the queued work; True if they all ended within ``timeout``."""
        with self._lock:
            self.closed = True
            threads = list(self._threads)
        for _ in threads:
            self._ready.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        current = threading.current_thread()  # a sink's own pool ends from its worker
        threads = [thread for thread in threads if thread is not current]
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)


class ThreadedAviSink:
    """A ClipSink writing an AVI through a writer pool; ``on_done`` gets the ClipInfo or the error.

    ``add`` and ``finish`` only queue (never block); the pool's worker opens the file at the first
    frame and runs ``on_done``. Without a ``pool``, the sink has one of its own (one thread: tests,
    benchmarks). A clip that reaches the AVI size limit is committed with the frames it has (the
    rest is dropped and counted in ``dropped``, like frames past the pool's backlog bound); a clip
    without frames or failing to write leaves no file.
    """

    def __init__(
        self,
        path: Path,
        on_done: ClipDone,
        *,
        max_bytes: int | None = None,
        prepare: Callable[[], Path] | None = None,
        pool: ClipWriterPool | None = None,
    ) -> None:
        """Queue the clip for ``path``.

        ``prepare``, when given, runs first in the writer's thread (it may block: create the
        folder, pick a free name) and returns the path to write instead of ``path``; an
        ``OSError`` or ``ValueError`` it raises fails the clip like a write error.
        """
        self.path = path
        self.dropped = 0
        self._on_done = on_done
        self._max_bytes = max_bytes
        self._prepare = prepare
        self._own_pool = pool is None
        self._pool = pool or ClipWriterPool(workers=1, name=f"esp32_camera_clip {path.name}")
        self._lock = threading.Lock()
        self._pending: deque[ClipFrame | None] = deque()
        self._scheduled = False
        self._done = threading.Event()
        # The writer's state, touched by one worker at a time (a sink is scheduled once).
        self._writer: AviWriter | None = None
        self._failed = False
        self._error: Exception | None = None
        self._full = False

    @property
    def done(self) -> bool:
        """Whether ``on_done`` has run."""
        return self._done.is_set()

    def add(self, frame: ClipFrame) -> None:
        """Queue a frame (dropped and counted past the pool's backlog bound)."""
        if not self._pool._admit(frame):  # noqa: SLF001 - the pool's accounting
            self.dropped += 1
            return
        self._queue(frame)

    def finish(self) -> None:
        """Queue the end of the clip."""
        self._queue(None)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the clip is written (or failed); True if it was within ``timeout``."""
        return self._done.wait(timeout)

    def _queue(self, item: ClipFrame | None) -> None:
        with self._lock:
            self._pending.append(item)
            if self._scheduled:
                return
            self._scheduled = True
        self._pool._schedule(self)  # noqa: SLF001 - the pool's run queue

    def _write_some(self, batch: int) -> None:
        """In a worker: write up to ``batch`` queued items, then yield the worker."""
        for _ in range(batch):
            with self._lock:
                if not self._pending:
                    self._scheduled = False
                    return
                item = self._pending.popleft()
            if item is None:
                self._end()
                return
            try:
                self._write(item)
            finally:
                self._pool._release(item)  # noqa: SLF001 - the pool's accounting
        self._pool._ready.put(self)  # noqa: SLF001 - more waits: back in the run queue

    def _write(self, frame: ClipFrame) -> None:
        if self._failed or self._full:
            self.dropped += 1
            return
        try:
            if self._writer is None:  # the file is opened at the first frame only
                if self._prepare is not None:
                    self.path = self._prepare()
                self._writer = (
                    AviWriter(self.path)
                    if self._max_bytes is None
                    else AviWriter(self.path, max_bytes=self._max_bytes)
                )
            self._writer.add_frame(frame.data, frame.timestamp)
        except ClipTooLargeError:
            self._full = True
            self.dropped += 1
        except ClipError:  # a malformed frame is dropped, the clip goes on
            self.dropped += 1
        except (OSError, ValueError) as error:
            self._fail(error)
        except Exception as error:  # a bug must fail this clip only, and be logged once
            _LOGGER.exception("Unexpected error writing the clip %s", self.path)
            self._fail(error)

    def _fail(self, error: Exception) -> None:
        self._failed = True
        self.dropped += 1
        self._error = error
        if self._writer is not None:
            self._writer.abort()

    def _end(self) -> None:
        result: ClipInfo | Exception
        if self._error is not None:
            result = self._error
        elif self._writer is None:
            result = ClipError("a clip needs at least one frame")
        else:
            try:
                result = self._writer.commit()
            except (OSError, ValueError, ClipError) as error:
                result = error
            except Exception as error:  # a bug must fail this clip only, and be logged once
                _LOGGER.exception("Unexpected error committing the clip %s", self.path)
                result = error
        self._writer = None
        self._report(result)
        self._done.set()
        if self._own_pool:
            self._pool.shutdown(0)

    def _report(self, result: ClipInfo | Exception) -> None:
        try:
            self._on_done(result)
        except Exception:
            _LOGGER.exception("Clip callback failed for %s", self.path)
