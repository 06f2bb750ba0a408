"""The frame assembler: the firmware's three framings, one state machine per connection.

- bare: one binary message holding a whole JPEG (<= 10,000 B);
- frame: `frame_start` text, one binary message, `frame_end` text (10,001-30,000 B);
- chunked: `img_start`, chunks, `img_end` (> 30,000 B), published as soon as the declared size has
  arrived. Nothing is allocated for the declared size: the chunks are kept as they arrive and
  joined once (cheaper than growing a bytearray, see docs/security.md), each chunk charged to a
  `FrameBudget` shared by all connections.

Every frame that cannot be published is dropped with a counted reason; nothing here raises on bad
input.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
import time
from typing import override

from .messages import FrameEndMessage, FrameStartMessage, ImageEndMessage, ImageStartMessage

DEFAULT_MAX_FRAME_SIZE = 8 * 1024 * 1024
DEFAULT_FRAME_TIMEOUT = 10.0
EOI_SEARCH_WINDOW = 100  # the firmware guarantees EOI within the last 100 bytes
_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
# Start-of-frame markers carrying the dimensions (baseline, extended, progressive).
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2})
_MAX_HEADER_SCAN = 65536


class Framing(StrEnum):
    """How a frame arrived."""

    BINARY = "binary"
    FRAME = "frame"
    CHUNKED = "chunked"


class DropReason(StrEnum):
    """Why a frame was not published."""

    OVERRUN = "overrun"
    INTERRUPTED = "interrupted"
    NOT_JPEG = "not_jpeg"
    ABORTED = "aborted"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    INVALID_JPEG = "invalid_jpeg"
    DISCONNECTED = "disconnected"
    SIZE_MISMATCH = "size_mismatch"
    OVER_BUDGET = "over_budget"
    # A text message that is not a JSON object with a "type" (counted with the frames: the sensor
    # "Frames failed" shows a camera sending garbage).
    MALFORMED_MESSAGE = "malformed_message"


class FrameBudget:
    """Bytes of unfinished chunked frames, across every connection, capped."""

    def __init__(self, limit: int) -> None:
        """Allow at most `limit` bytes in flight."""
        self.limit = limit
        self.in_flight = 0
        self.peak = 0

    def reserve(self, size: int) -> bool:
        """Charge `size` bytes; False (nothing charged) when that would exceed the limit."""
        if self.in_flight + size > self.limit:
            return False
        self.in_flight += size
        self.peak = max(self.peak, self.in_flight)
        return True

    def release(self, size: int) -> None:
        """Give back bytes of a frame that completed or was dropped."""
        self.in_flight -= size


class PictureSize:
    """`width` and `height` of whatever knows its picture's `dimensions` (a frame, a stream)."""

    __slots__ = ()

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) in pixels, or None when unknown."""
        raise NotImplementedError

    @property
    def width(self) -> int | None:
        """The picture's width in pixels, if known."""
        return dimensions[0] if (dimensions := self.dimensions) else None

    @property
    def height(self) -> int | None:
        """The picture's height in pixels, if known."""
        return dimensions[1] if (dimensions := self.dimensions) else None


class Frame(PictureSize):
    """A complete JPEG; `data` is never mutated after publication.

    Its size is what an `img_start` declared, else read from the JPEG's header when first asked:
    most frames never are (the statistics ask for the newest one's when they are read, a viewer for
    the frames it is sent), and a Python walk of the header would be a tenth of a small frame's cost.
    """

    # `__weakref__`: what is derived from a frame for its viewers lives as long as the frame.
    __slots__ = (
        "__weakref__",
        "_dimensions",
        "completed_at",
        "data",
        "frame_id",
        "framing",
        "started_at",
    )

    def __init__(
        self,
        *,
        data: bytes | bytearray,
        frame_id: int | None,
        framing: Framing,
        width: int | None = None,
        height: int | None = None,
        started_at: float,
        completed_at: float,
    ) -> None:
        """Hold a published JPEG; `width` and `height` where the camera declared them."""
        self.data = data
        self.frame_id = frame_id
        self.framing = framing
        self.started_at = started_at
        self.completed_at = completed_at
        self._dimensions: tuple[int, int] | None = (
            (width, height) if width and height else _NOT_READ
        )

    @property
    @override
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height): declared, else read from the SOF header once; None if unreadable."""
        if self._dimensions is _NOT_READ:
            self._dimensions = jpeg_dimensions(self.data)
        return self._dimensions

    @override
    def __repr__(self) -> str:
        return (
            f"Frame(framing={self.framing}, frame_id={self.frame_id}, bytes={len(self.data)}, "
            f"completed_at={self.completed_at})"
        )


# A frame whose size is not read yet (the header is read at the first ask).
_NOT_READ: tuple[int, int] = (0, 0)


def is_jpeg(data: bytes | bytearray | memoryview) -> bool:
    """SOI at the start and EOI within the last 100 bytes."""
    size = len(data)
    if size < 4:
        return False
    if isinstance(data, memoryview):
        return data[:2] == _SOI and bytes(data[-EOI_SEARCH_WINDOW:]).rfind(_EOI) != -1
    # Searched in place: no copy of the tail (this runs for every frame).
    return data.startswith(_SOI) and data.rfind(_EOI, max(0, size - EOI_SEARCH_WINDOW)) != -1


def jpeg_dimensions(data: bytes | bytearray) -> tuple[int, int] | None:
    """Read (width, height) from the SOF header; only marker headers are scanned."""
    length = len(data)
    position = 2
    limit = min(length, _MAX_HEADER_SCAN)
    while position + 4 <= limit:
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        segment_length = (data[position + 2] << 8) | data[position + 3]
        if segment_length < 2:
            return None
        if marker in _SOF_MARKERS:
            if position + 9 > length:
                return None
            height = (data[position + 5] << 8) | data[position + 6]
            width = (data[position + 7] << 8) | data[position + 8]
            return (width, height) if width and height else None
        if marker in (0xDA, 0xD9):  # scan data or end: no SOF before it
            return None
        position += 2 + segment_length
    return None


@dataclass(kw_only=True, slots=True)
class _Transfer:
    """A frame in progress."""

    framing: Framing
    frame_id: int | None
    size: int
    started_at: float
    chunks: list[bytes] = field(default_factory=list)  # chunked only
    received: int = 0
    width: int | None = None
    height: int | None = None


class FrameAssembler:
    """Turns one connection's messages into complete frames."""

    def __init__(
        self,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        frame_timeout: float = DEFAULT_FRAME_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        on_drop: Callable[[DropReason], None] | None = None,
        budget: FrameBudget | None = None,
    ) -> None:
        """Create an idle assembler; `budget` is shared with the other connections' assemblers."""
        self.max_frame_size = max_frame_size  # lowered by the listener while not admitted
        self.budget = budget
        self.frame_timeout = frame_timeout
        self._clock = clock
        self.on_drop = on_drop
        self.drops: Counter[DropReason] = Counter()
        self._transfer: _Transfer | None = None

    @property
    def in_progress(self) -> bool:
        """Whether a framed transfer is open."""
        return self._transfer is not None

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for the open transfer (bounded by max_frame_size)."""
        transfer = self._transfer
        return transfer.received if transfer is not None else 0

    def _drop(self, reason: DropReason) -> None:
        self.drops[reason] += 1
        if self.on_drop is not None:
            self.on_drop(reason)

    def _end_transfer(self) -> None:
        transfer, self._transfer = self._transfer, None
        if transfer is not None and self.budget is not None:
            self.budget.release(transfer.received)

    def _close_open_transfer(self, reason: DropReason) -> None:
        if self._transfer is not None:
            self._end_transfer()
            self._drop(reason)

    def _start(self, framing: Framing, frame_id: int | None, size: int | None) -> _Transfer | None:
        self._close_open_transfer(DropReason.INTERRUPTED)
        if size is None or size <= 0 or size > self.max_frame_size:
            self._drop(DropReason.TOO_LARGE)
            return None
        self._transfer = _Transfer(
            framing=framing, frame_id=frame_id, size=size, started_at=self._clock()
        )
        return self._transfer

    def handle_control(
        self, message: FrameStartMessage | FrameEndMessage | ImageStartMessage | ImageEndMessage
    ) -> None:
        """Handle a framing text message; frames complete only in `handle_binary`."""
        match message:
            case FrameStartMessage():
                self._start(Framing.FRAME, message.id, message.size)
            case ImageStartMessage():
                transfer = self._start(Framing.CHUNKED, message.id, message.size)
                if transfer is not None:
                    transfer.width, transfer.height = message.width, message.height
            case ImageEndMessage() if self._transfer is not None and (
                self._transfer.framing is Framing.CHUNKED
            ):
                # A successful footer before all bytes arrived means bytes went missing.
                self._close_open_transfer(
                    DropReason.SIZE_MISMATCH if message.success else DropReason.ABORTED
                )
            case FrameEndMessage() if self._transfer is not None and (
                self._transfer.framing is Framing.FRAME
            ):
                self._close_open_transfer(DropReason.SIZE_MISMATCH)
            case _:
                pass  # a late footer of a frame already published

    def handle_binary(self, data: bytes) -> Frame | None:
        """Handle a binary message; return a frame when one completes."""
        transfer = self._transfer
        if transfer is None:
            if len(data) > self.max_frame_size:
                self._drop(DropReason.TOO_LARGE)
                return None
            if not is_jpeg(data):
                self._drop(DropReason.NOT_JPEG)
                return None
            now = self._clock()
            return Frame(
                data=data, frame_id=None, framing=Framing.BINARY, started_at=now, completed_at=now
            )
        if transfer.framing is Framing.FRAME:
            self._transfer = None
            if len(data) != transfer.size:
                self._drop(DropReason.SIZE_MISMATCH)
                return None
            return self._publish(transfer, data)
        end = transfer.received + len(data)
        if end > transfer.size:
            self._close_open_transfer(DropReason.OVERRUN)
            return None
        if self.budget is not None and not self.budget.reserve(len(data)):
            self._close_open_transfer(DropReason.OVER_BUDGET)
            return None
        transfer.chunks.append(data)
        transfer.received = end
        if end < transfer.size:
            return None
        self._end_transfer()
        return self._publish(transfer, b"".join(transfer.chunks))

    def _publish(self, transfer: _Transfer, data: bytes) -> Frame | None:
        """Return the framed transfer's frame, or drop it when its bytes are not a JPEG."""
        if not is_jpeg(data):
            self._drop(DropReason.INVALID_JPEG)
            return None
        return Frame(
            data=data,
            frame_id=transfer.frame_id,
            framing=transfer.framing,
            width=transfer.width,
            height=transfer.height,
            started_at=transfer.started_at,
            completed_at=self._clock(),
        )

    def expire(self) -> None:
        """Drop an open transfer older than the frame timeout."""
        transfer = self._transfer
        if transfer is not None and self._clock() - transfer.started_at > self.frame_timeout:
            self._close_open_transfer(DropReason.TIMEOUT)

    def abort(self) -> None:
        """Drop an open transfer because the connection closed."""
        self._close_open_transfer(DropReason.DISCONNECTED)
