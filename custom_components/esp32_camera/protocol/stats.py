"""Per-camera stream statistics with a sliding window for fps and bitrate."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
import time
from typing import Any, override

from .frames import DropReason, Frame, Framing, PictureSize


class StreamStats(PictureSize):
    """Counters and sliding-window rates of one camera's frames."""

    def __init__(self, *, window: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        """Measure rates over the last `window` seconds of `clock`."""
        self._window = window
        self._clock = clock
        self._recent: deque[tuple[float, int]] = deque()
        self._recent_bytes = 0
        self._failures: Counter[DropReason] = Counter()
        self._framings: Counter[Framing] = Counter()
        self.frames_received = 0
        self.bytes_received = 0
        self.last_frame_at: float | None = None
        self.last_frame_size: int | None = None
        self._latest: Frame | None = None
        self._dimensions: tuple[int, int] | None = None

    def record_frame(self, frame: Frame) -> None:
        """Count a published frame."""
        size = len(frame.data)
        self.frames_received += 1
        self._framings[frame.framing] += 1
        self.bytes_received += size
        self.last_frame_at = frame.completed_at
        self.last_frame_size = size
        self._latest = frame  # its size is read when asked for (Frame.dimensions)
        self._recent.append((frame.completed_at, size))
        self._recent_bytes += size
        self._trim(frame.completed_at)

    def record_drop(self, reason: DropReason) -> None:
        """Count a dropped frame."""
        self._failures[reason] += 1

    def _trim(self, now: float) -> None:
        horizon = now - self._window
        while self._recent and self._recent[0][0] < horizon:
            self._recent_bytes -= self._recent.popleft()[1]

    @property
    @override
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) of the newest frame whose size is known."""
        if self._latest is not None and (dimensions := self._latest.dimensions):
            self._dimensions = dimensions
        return self._dimensions

    @property
    def frames_failed(self) -> int:
        """Frames dropped for any reason."""
        return self._failures.total()

    @property
    def failures(self) -> Mapping[DropReason, int]:
        """Dropped frames by reason."""
        return dict(self._failures)

    @property
    def framings(self) -> Mapping[Framing, int]:
        """Published frames by framing (the original server's "chunked frames" among them)."""
        return {framing: self._framings[framing] for framing in Framing}

    def _span(self) -> float:
        self._trim(self._clock())
        return self._window

    @property
    def fps(self) -> float:
        """Frames per second over the window."""
        span = self._span()
        return len(self._recent) / span

    @property
    def bitrate(self) -> float:
        """Bits per second over the window."""
        span = self._span()
        return self._recent_bytes * 8 / span

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly snapshot."""
        return {
            "frames_received": self.frames_received,
            "frames_failed": self.frames_failed,
            "failures": {str(reason): count for reason, count in self._failures.items()},
            "framings": framings_dict(self.framings),
            "bytes_received": self.bytes_received,
            "fps": round(self.fps, 2),
            "bitrate": round(self.bitrate),
            "last_frame_size": self.last_frame_size,
            "width": self.width,
            "height": self.height,
        }


def framings_dict(framings: Mapping[Framing, int]) -> dict[str, int]:
    """Return frames by framing as JSON (`binary`, `frame`, `chunked`, always all three)."""
    return {str(framing): framings.get(framing, 0) for framing in Framing}


def total_framings(stats: Iterable[StreamStats]) -> dict[str, int]:
    """Return the frames by framing of several cameras together, as JSON."""
    total: Counter[Framing] = Counter()
    for item in stats:
        total.update(item.framings)
    return framings_dict(total)
