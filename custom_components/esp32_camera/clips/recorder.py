"""Which frames go into which clip: pre-roll from the ring buffer, while motion lasts, post-roll.

``ClipRecorder`` is one camera's state machine. It runs where the frames arrive (the event loop):
every call is O(1) per active clip and does no I/O. Each clip goes to a ``ClipSink`` made by the
caller's factory; ``ThreadedAviSink`` is the sink that writes an AVI in its own thread, so the
loop only hands over references.

Two kinds of clip, possibly at the same time (each frame goes to every open clip):

- motion clips (``motion_started`` / ``motion_ended``): from ``pre_roll`` seconds before the start
  to ``post_roll`` seconds after the end; motion starting again during the post-roll extends the
  same clip;
- action clips (``record``): ``pre_roll`` seconds before the request to ``duration`` seconds after.

A clip includes every frame whose timestamp lies in its window, the window's ends included, and
stops at ``max_duration`` seconds in any case (a motion still going on then continues in the next
clip, from the next frame).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
import logging
from pathlib import Path
import queue
import threading
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
    _clips: list[_OpenClip] = field(default_factory=list)
    _motion_clip: _OpenClip | None = None

    @property
    def recording(self) -> int:
        """Open clips."""
        return len(self._clips)

    def motion_started(self, now: float) -> None:
        """Open a motion clip (pre-roll from the ring), or keep the open one going."""
        if self._motion_clip is not None:  # still open (closing it clears the reference)
            self._motion_clip.end_at = None
            return
        self._motion_clip = self._open(ClipReason.MOTION, now, self.pre_roll, end_at=None)

    def motion_ended(self, now: float) -> None:
        """Close the motion clip ``post_roll`` seconds from now."""
        if self._motion_clip is not None and self._motion_clip.end_at is None:
            self._motion_clip.end_at = now + self.post_roll

    def record(self, now: float, *, duration: float, pre_roll: float) -> None:
        """Open a clip from ``pre_roll`` seconds before ``now`` to ``duration`` seconds after."""
        if duration <= 0 or pre_roll < 0:
            raise ValueError("duration must be positive and pre_roll not negative")
        self._open(ClipReason.ACTION, now, pre_roll, end_at=now + duration)

    def add_frame(self, frame: ClipFrame) -> None:
        """Take a new frame: into the ring, and into every open clip whose window has it."""
        self.ring.append(frame)
        self._close_due(frame.timestamp, inclusive=False)
        for clip in self._clips:
            clip.sink.add(frame)
            clip.frames += 1

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
        self, reason: ClipReason, now: float, pre_roll: float, *, end_at: float | None
    ) -> _OpenClip:
        start = now - pre_roll
        request = ClipRequest(reason, now, pre_roll, self.ring.covers(start))
        clip = _OpenClip(request, self.open_sink(request), end_at, start + self.max_duration)
        self._clips.append(clip)
        for frame in self.ring.since(start):
            clip.sink.add(frame)
            clip.frames += 1
        return clip

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
                    continued = clip.end_at is None
            else:
                keep.append(clip)
        self._clips[:] = keep
        if continued:
            request = ClipRequest(ClipReason.MOTION, now, 0.0, pre_roll_complete=True)
            self._motion_clip = _OpenClip(
                request, self.open_sink(request), None, now + self.max_duration
            )
            self._clips.append(self._motion_clip)


type ClipDone = Callable[[ClipInfo | Exception], None]


class ThreadedAviSink:
    """A ClipSink writing an AVI in its own thread; ``on_done`` gets the ClipInfo or the error.

    ``add`` and ``finish`` only queue (never block); ``on_done`` runs in the writer thread. A clip
    that reaches the AVI size limit is committed with the frames it has (the rest is dropped and
    counted in ``dropped``); a clip without frames or failing to write leaves no file.
    """

    def __init__(
        self,
        path: Path,
        on_done: ClipDone,
        *,
        max_bytes: int | None = None,
        prepare: Callable[[], Path] | None = None,
    ) -> None:
        """Start the writer thread for ``path``.

        ``prepare``, when given, runs first in the writer thread (it may block: create the folder,
        pick a free name) and returns the path to write instead of ``path``; an ``OSError`` or
        ``ValueError`` it raises fails the clip like a write error.
        """
        self.path = path
        self.dropped = 0
        self._on_done = on_done
        self._max_bytes = max_bytes
        self._prepare = prepare
        self._queue: queue.SimpleQueue[ClipFrame | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name=f"esp32_camera_clip {path.name}", daemon=True
        )
        self._thread.start()

    def add(self, frame: ClipFrame) -> None:
        """Queue a frame."""
        self._queue.put(frame)

    def finish(self) -> None:
        """Queue the end of the clip."""
        self._queue.put(None)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the writer thread (tests, unload)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        result: ClipInfo | Exception
        ended = False
        try:
            if self._prepare is not None:
                self.path = self._prepare()
            writer = (
                AviWriter(self.path)
                if self._max_bytes is None
                else AviWriter(self.path, max_bytes=self._max_bytes)
            )
            with writer:  # an exception aborts: no file is left
                full = False
                while (frame := self._queue.get()) is not None:
                    if full:
                        self.dropped += 1
                        continue
                    try:
                        writer.add_frame(frame.data, frame.timestamp)
                    except ClipTooLargeError:
                        full = True
                        self.dropped += 1
                    except ClipError:  # a malformed frame is dropped, the clip goes on
                        self.dropped += 1
                ended = True
                result = writer.commit()
        except (OSError, ValueError, ClipError) as error:
            result = error
        if not ended:
            self._drain()
        self._report(result)

    def _drain(self) -> None:
        """Consume the queue up to the end marker (frames after a failure are dropped)."""
        while self._queue.get() is not None:
            self.dropped += 1

    def _report(self, result: ClipInfo | Exception) -> None:
        try:
            self._on_done(result)
        except Exception:
            _LOGGER.exception("Clip callback failed for %s", self.path)
