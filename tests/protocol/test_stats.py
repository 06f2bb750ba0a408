"""Tests for the sliding-window stream statistics."""

from __future__ import annotations

from custom_components.esp32_camera.protocol import (
    DropReason,
    Frame,
    Framing,
    StreamStats,
    total_framings,
)
from tests.helpers import FakeClock, jpeg_bytes


def frame(at: float, size: int, framing: Framing = Framing.BINARY) -> Frame:
    return Frame(
        data=b"\xff\xd8" + b"\x00" * (size - 4) + b"\xff\xd9",
        frame_id=None,
        framing=framing,
        width=640,
        height=480,
        started_at=at,
        completed_at=at,
    )


def test_counters_and_window(clock: FakeClock) -> None:
    stats = StreamStats(window=5.0, clock=clock)
    assert stats.fps == 0
    for i in range(50):  # 10 fps for 5 s, 1000 bytes each
        clock.now = 1000.0 + i * 0.1
        stats.record_frame(frame(clock.now, 1000))
    assert stats.frames_received == 50
    assert stats.bytes_received == 50_000
    assert stats.fps == 10.0
    assert stats.bitrate == 50 * 1000 * 8 / 5.0
    assert (stats.width, stats.height, stats.last_frame_size) == (640, 480, 1000)
    clock.now += 10  # silence: the window empties
    assert stats.fps == 0
    assert stats.bitrate == 0
    stats.record_drop(DropReason.TIMEOUT)
    stats.record_drop(DropReason.TIMEOUT)
    stats.record_drop(DropReason.OVERRUN)
    assert stats.frames_failed == 3
    assert stats.failures == {DropReason.TIMEOUT: 2, DropReason.OVERRUN: 1}
    snapshot = stats.as_dict()
    assert snapshot["failures"] == {"timeout": 2, "overrun": 1}
    assert snapshot["frames_received"] == 50


def test_frames_by_framing(clock: FakeClock) -> None:
    """Published frames are counted per framing (the original's "chunked frames" among them)."""
    stats = StreamStats(clock=clock)
    assert stats.framings == {Framing.BINARY: 0, Framing.FRAME: 0, Framing.CHUNKED: 0}
    assert stats.as_dict()["framings"] == {"binary": 0, "frame": 0, "chunked": 0}
    for framing in (Framing.BINARY, Framing.CHUNKED, Framing.FRAME, Framing.CHUNKED):
        stats.record_frame(frame(clock.now, 1000, framing))
    stats.record_drop(DropReason.ABORTED)  # a dropped frame has no framing count
    assert stats.framings == {Framing.BINARY: 1, Framing.FRAME: 1, Framing.CHUNKED: 2}
    assert stats.as_dict()["framings"] == {"binary": 1, "frame": 1, "chunked": 2}
    other = StreamStats(clock=clock)
    other.record_frame(frame(clock.now, 1000, Framing.CHUNKED))
    assert total_framings([stats, other]) == {"binary": 1, "frame": 1, "chunked": 3}
    assert total_framings([]) == {"binary": 0, "frame": 0, "chunked": 0}


def test_size_is_the_newest_readable_frames(clock: FakeClock) -> None:
    """The size comes from the newest frame whose header can be read (read when asked)."""
    stats = StreamStats(clock=clock)
    assert (stats.width, stats.height) == (None, None)
    stats.record_frame(
        Frame(
            data=jpeg_bytes(176, 144),
            frame_id=None,
            framing=Framing.BINARY,
            started_at=clock.now,
            completed_at=clock.now,
        )
    )
    assert stats.dimensions == (176, 144)
    unreadable = b"\xff\xd8" + bytes(100) + b"\xff\xd9"
    stats.record_frame(
        Frame(
            data=unreadable,
            frame_id=None,
            framing=Framing.BINARY,
            started_at=clock.now,
            completed_at=clock.now,
        )
    )
    assert (stats.width, stats.height) == (176, 144)
    stats.record_frame(frame(clock.now, 1000))  # declared 640x480 by its camera
    assert stats.as_dict()["width"] == 640
    assert stats.as_dict()["height"] == 480
