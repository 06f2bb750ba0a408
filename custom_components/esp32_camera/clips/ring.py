"""The newest frames of one camera, bounded by seconds and by bytes: the pre-roll of a clip."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import math

# What a buffered frame costs beyond its JPEG bytes: the ClipFrame and the deque slot
# (measured with tracemalloc on CPython 3.14: about 90 bytes; rounded up).
FRAME_OVERHEAD = 128


@dataclass(frozen=True, slots=True)
class ClipFrame:
    """One JPEG and when it arrived (seconds of the listener's monotonic clock)."""

    data: bytes | bytearray  # never mutated (the listener's frames are not)
    timestamp: float


class FrameRing:
    """The newest frames, oldest first: at most ``max_seconds`` apart and ``max_bytes`` of JPEG.

    Holds references to the frames (no copies). Not thread-safe: append and read from one thread
    (the event loop); ``since`` returns a list the caller may hand to another thread.
    """

    def __init__(self, *, max_seconds: float = 10.0, max_bytes: int = 32 * 1024 * 1024) -> None:
        """Bound the buffer; both limits must be positive."""
        if max_seconds <= 0 or max_bytes <= 0:
            raise ValueError("max_seconds and max_bytes must be positive")
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self._frames: deque[ClipFrame] = deque()
        self._bytes = 0
        self.dropped_for_bytes = 0  # frames evicted before max_seconds because of max_bytes
        self._last_evicted: float | None = None  # timestamp of the newest evicted frame
        self._kept_from = -math.inf  # frames before it were never offered (see `kept_from`)

    def append(self, frame: ClipFrame) -> None:
        """Add the newest frame and evict what falls outside the bounds (O(1) amortised)."""
        self._frames.append(frame)
        self._bytes += len(frame.data)
        horizon = frame.timestamp - self.max_seconds
        while self._frames[0].timestamp < horizon:
            self._evict()
        while self._bytes > self.max_bytes and len(self._frames) > 1:
            self._evict()
            self.dropped_for_bytes += 1

    def _evict(self) -> None:
        frame = self._frames.popleft()
        self._bytes -= len(frame.data)
        self._last_evicted = frame.timestamp

    def since(self, timestamp: float) -> list[ClipFrame]:
        """Return the buffered frames at or after ``timestamp``, oldest first."""
        frames = list(self._frames)
        start = len(frames)
        while start > 0 and frames[start - 1].timestamp >= timestamp:
            start -= 1
        return frames[start:]

    def covers(self, timestamp: float) -> bool:
        """Whether every frame at or after ``timestamp`` is still here (a complete pre-roll)."""
        return timestamp >= self._kept_from and (
            self._last_evicted is None or self._last_evicted < timestamp
        )

    def kept_from(self, timestamp: float) -> None:
        """Note that the frames before ``timestamp`` were not offered (the owner kept none)."""
        self._kept_from = max(self._kept_from, timestamp)

    def clear(self) -> None:
        """Drop every frame (they count as evicted: a later pre-roll over them is incomplete)."""
        if self._frames:
            self._last_evicted = self._frames[-1].timestamp
        self._frames.clear()
        self._bytes = 0

    def __len__(self) -> int:
        """Buffered frames."""
        return len(self._frames)

    @property
    def bytes(self) -> int:
        """JPEG bytes buffered."""
        return self._bytes

    @property
    def memory(self) -> int:
        """Estimated memory held by the buffer, bytes (JPEGs and per-frame overhead)."""
        return self._bytes + FRAME_OVERHEAD * len(self._frames)

    @property
    def span(self) -> float:
        """Seconds between the oldest and the newest frame."""
        if not self._frames:
            return 0.0
        return self._frames[-1].timestamp - self._frames[0].timestamp

    def as_dict(self) -> dict[str, int | float]:
        """Return the figures for diagnostics."""
        return {
            "frames": len(self._frames),
            "bytes": self._bytes,
            "memory": self.memory,
            "seconds": round(self.span, 3),
            "max_seconds": self.max_seconds,
            "max_bytes": self.max_bytes,
            "dropped_for_bytes": self.dropped_for_bytes,
        }
