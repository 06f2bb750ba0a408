"""The ring buffer of a camera's newest frames."""

from __future__ import annotations

import pytest

from custom_components.esp32_camera.clips import ClipFrame, FrameRing
from custom_components.esp32_camera.clips.ring import FRAME_OVERHEAD


def frame(timestamp: float, size: int = 1000) -> ClipFrame:
    return ClipFrame(bytes(size), timestamp)


def test_bounded_by_seconds() -> None:
    ring = FrameRing(max_seconds=2.0, max_bytes=10**9)
    for number in range(100):  # 5 s at 20 fps
        ring.append(frame(number / 20))
    assert len(ring) == 41  # 2 s of frames, both ends included
    assert ring.span == pytest.approx(2.0)
    assert ring.bytes == 41_000
    assert ring.memory == 41_000 + 41 * FRAME_OVERHEAD
    assert ring.dropped_for_bytes == 0
    assert ring.since(99 / 20 - 0.5)[0].timestamp == pytest.approx(4.45)
    assert len(ring.since(0.0)) == 41
    assert ring.since(100.0) == []
    assert ring.covers(4.0)
    assert not ring.covers(1.0)  # those frames were evicted


def test_bounded_by_bytes() -> None:
    ring = FrameRing(max_seconds=60.0, max_bytes=10_000)
    for number in range(50):
        ring.append(frame(number / 20, 3000))
    assert ring.bytes <= 10_000
    assert len(ring) == 3
    assert ring.dropped_for_bytes == 47
    oldest = ring.since(0.0)[0].timestamp
    assert ring.covers(oldest - 0.01)  # the frame 0.05 s earlier is gone, nothing after it
    assert not ring.covers(oldest - 0.06)
    # One frame larger than the limit is still kept (the newest frame is never dropped).
    ring.append(frame(10.0, 20_000))
    assert len(ring) == 1
    assert ring.as_dict() == {
        "frames": 1,
        "bytes": 20_000,
        "memory": 20_000 + FRAME_OVERHEAD,
        "seconds": 0.0,
        "max_seconds": 60.0,
        "max_bytes": 10_000,
        "dropped_for_bytes": 50,
    }


def test_clear_and_an_empty_ring() -> None:
    ring = FrameRing()
    assert ring.span == 0.0
    assert ring.covers(0.0)
    ring.append(frame(1.0))
    ring.clear()
    assert len(ring) == 0
    assert ring.bytes == 0
    assert not ring.covers(0.5)  # a frame in that window was sent and is gone
    assert ring.covers(1.5)


def test_a_pre_roll_before_what_was_kept_is_incomplete() -> None:
    """The owner offered no frame before 10.0 (it kept none): nothing earlier is covered."""
    ring = FrameRing()
    ring.kept_from(10.0)
    ring.kept_from(5.0)  # never earlier again
    assert not ring.covers(9.0)
    assert ring.covers(10.0)
    ring.append(frame(11.0))
    assert ring.since(9.0) == [frame(11.0)]
    assert not ring.covers(9.0)
    assert ring.covers(10.5)


def test_references_not_copies() -> None:
    ring = FrameRing()
    data = bytes(5000)
    ring.append(ClipFrame(data, 0.0))
    assert ring.since(0.0)[0].data is data


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        FrameRing(max_seconds=0)
    with pytest.raises(ValueError, match="positive"):
        FrameRing(max_bytes=0)
