"""Tests for the frame assembler: every framing and every drop reason."""

from __future__ import annotations

import pytest

from custom_components.esp32_camera.protocol import (
    DropReason,
    FrameAssembler,
    FrameBudget,
    FrameEndMessage,
    FrameStartMessage,
    Framing,
    ImageEndMessage,
    ImageStartMessage,
    is_jpeg,
    jpeg_dimensions,
)
from tests.helpers import FakeClock, jpeg_bytes


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_bare_binary_frame(small_jpeg: bytes, clock: FakeClock) -> None:
    assembler = FrameAssembler(clock=clock)
    frame = assembler.handle_binary(small_jpeg)
    assert frame is not None
    assert frame.data == small_jpeg
    assert frame.framing is Framing.BINARY
    assert (frame.width, frame.height) == (160, 120)
    assert frame.completed_at == clock.now
    assert not assembler.drops


def test_frame_start_binary_end(small_jpeg: bytes, clock: FakeClock) -> None:
    assembler = FrameAssembler(clock=clock)
    assembler.handle_control(FrameStartMessage(id=3, size=len(small_jpeg)))
    clock.now += 0.2
    frame = assembler.handle_binary(small_jpeg)
    assert frame is not None
    assert frame.frame_id == 3
    assert frame.framing is Framing.FRAME
    assert frame.started_at == 1000.0
    assert frame.completed_at == 1000.2
    assembler.handle_control(FrameEndMessage(id=3))  # late footer: ignored
    assert not assembler.drops
    assert not assembler.in_progress


def test_chunked_frame_published_before_img_end(large_jpeg: bytes, clock: FakeClock) -> None:
    assembler = FrameAssembler(clock=clock)
    parts = chunks(large_jpeg, 6144)
    assembler.handle_control(
        ImageStartMessage(
            id=9, size=len(large_jpeg), chunks=len(parts), chunk_size=6144, width=320, height=240
        )
    )
    # Nothing is held for the declared size: the buffer grows as the bytes arrive.
    assert assembler.buffered_bytes == 0
    results = [assembler.handle_binary(part) for part in parts[:2]]
    assert assembler.buffered_bytes == 2 * 6144
    results += [assembler.handle_binary(part) for part in parts[2:]]
    assert results[:-1] == [None] * (len(parts) - 1)
    frame = results[-1]
    assert frame is not None
    assert bytes(frame.data) == large_jpeg
    assert frame.framing is Framing.CHUNKED
    assert (frame.frame_id, frame.width, frame.height) == (9, 320, 240)
    assembler.handle_control(ImageEndMessage(id=9, size=len(large_jpeg), success=True))
    assert not assembler.drops


def test_chunked_dimensions_from_jpeg_when_header_lacks_them(large_jpeg: bytes) -> None:
    assembler = FrameAssembler()
    assembler.handle_control(ImageStartMessage(id=1, size=len(large_jpeg)))
    frame = assembler.handle_binary(large_jpeg)
    assert frame is not None
    assert (frame.width, frame.height) == (320, 240)


def test_a_published_frame_is_immutable(large_jpeg: bytes) -> None:
    assembler = FrameAssembler()
    published = []
    for _ in range(2):
        assembler.handle_control(ImageStartMessage(id=1, size=len(large_jpeg)))
        for part in chunks(large_jpeg, 6144):
            frame = assembler.handle_binary(part)
        published.append(frame)
    first, second = published
    assert first is not None
    assert second is not None
    # Joined once into bytes: the next frame can never write into a published one.
    assert isinstance(first.data, bytes)
    assert first.data is not second.data
    assert first.data == large_jpeg


def test_drop_overrun(large_jpeg: bytes) -> None:
    assembler = FrameAssembler()
    assembler.handle_control(ImageStartMessage(id=1, size=100))
    assert assembler.handle_binary(large_jpeg[:200]) is None
    assert assembler.drops == {DropReason.OVERRUN: 1}
    assert not assembler.in_progress


def test_drop_interrupted_by_new_start(large_jpeg: bytes, small_jpeg: bytes) -> None:
    assembler = FrameAssembler()
    assembler.handle_control(ImageStartMessage(id=1, size=len(large_jpeg)))
    assembler.handle_binary(large_jpeg[:1024])
    assembler.handle_control(FrameStartMessage(id=2, size=len(small_jpeg)))
    frame = assembler.handle_binary(small_jpeg)
    assert frame is not None
    assert frame.frame_id == 2
    assert assembler.drops == {DropReason.INTERRUPTED: 1}


def test_drop_not_jpeg_outside_transfer() -> None:
    assembler = FrameAssembler()
    assert assembler.handle_binary(b"hello world, not a jpeg at all") is None
    assert assembler.drops == {DropReason.NOT_JPEG: 1}


def test_drop_aborted_by_img_end_failure(large_jpeg: bytes) -> None:
    assembler = FrameAssembler()
    assembler.handle_control(ImageStartMessage(id=1, size=len(large_jpeg)))
    assembler.handle_binary(large_jpeg[:2048])
    assembler.handle_control(ImageEndMessage(id=1, success=False))
    assert assembler.drops == {DropReason.ABORTED: 1}
    assert not assembler.in_progress


def test_drop_size_mismatch(small_jpeg: bytes, large_jpeg: bytes) -> None:
    assembler = FrameAssembler()
    assembler.handle_control(FrameStartMessage(id=1, size=len(small_jpeg) + 5))
    assert assembler.handle_binary(small_jpeg) is None
    # A successful footer before all the chunks arrived: bytes went missing.
    assembler.handle_control(ImageStartMessage(id=2, size=len(large_jpeg)))
    assembler.handle_binary(large_jpeg[:1024])
    assembler.handle_control(ImageEndMessage(id=2, success=True))
    # A frame_end with no binary in between.
    assembler.handle_control(FrameStartMessage(id=3, size=len(small_jpeg)))
    assembler.handle_control(FrameEndMessage(id=3))
    assert assembler.drops == {DropReason.SIZE_MISMATCH: 3}


def test_drop_timeout(large_jpeg: bytes, clock: FakeClock) -> None:
    assembler = FrameAssembler(clock=clock, frame_timeout=10.0)
    assembler.handle_control(ImageStartMessage(id=1, size=len(large_jpeg)))
    assembler.handle_binary(large_jpeg[:1024])
    clock.now += 9.9
    assembler.expire()
    assert assembler.in_progress
    clock.now += 0.2
    assembler.expire()
    assert not assembler.in_progress
    assert assembler.drops == {DropReason.TIMEOUT: 1}


@pytest.mark.parametrize("size", [0, -5, None, 8 * 1024 * 1024 + 1])
def test_drop_too_large_without_allocating(size: int | None) -> None:
    assembler = FrameAssembler()
    assembler.handle_control(ImageStartMessage(id=1, size=size))
    assert assembler.buffered_bytes == 0
    assert not assembler.in_progress
    assert assembler.drops == {DropReason.TOO_LARGE: 1}


def test_drop_invalid_jpeg_after_assembly() -> None:
    assembler = FrameAssembler()
    payload = b"\xff\xd8" + b"\x00" * 500  # SOI but no EOI
    assembler.handle_control(FrameStartMessage(id=1, size=len(payload)))
    assert assembler.handle_binary(payload) is None
    assert assembler.drops == {DropReason.INVALID_JPEG: 1}


def test_drop_disconnected_and_on_drop_callback(large_jpeg: bytes) -> None:
    reasons: list[DropReason] = []
    assembler = FrameAssembler(on_drop=reasons.append)
    assembler.abort()  # nothing open: nothing dropped
    assembler.handle_control(ImageStartMessage(id=1, size=len(large_jpeg)))
    assembler.handle_binary(large_jpeg[:1024])
    assembler.abort()
    assert reasons == [DropReason.DISCONNECTED]


def test_is_jpeg_and_dimensions() -> None:
    jpeg = jpeg_bytes(176, 144)
    assert is_jpeg(jpeg)
    assert jpeg_dimensions(jpeg) == (176, 144)
    assert not is_jpeg(b"\xff\xd8")
    assert not is_jpeg(jpeg[:-120])  # EOI cut off
    assert jpeg_dimensions(b"\xff\xd8\x00\x00garbage") is None
    assert jpeg_dimensions(b"\xff\xd8\xff\xda\x00\x08") is None  # scan before any SOF
    assert jpeg_dimensions(b"\xff\xd8\xff\xe0\x00\x01") is None  # impossible segment length
    assert jpeg_dimensions(b"\xff\xd8\xff\xff\xc0\x00\x11\x08") is None  # truncated SOF


def test_budget_is_shared_charged_per_chunk_and_given_back(
    large_jpeg: bytes, clock: FakeClock
) -> None:
    budget = FrameBudget(3 * 6144)
    first = FrameAssembler(clock=clock, budget=budget)
    second = FrameAssembler(clock=clock, budget=budget)
    parts = chunks(large_jpeg, 6144)
    for assembler in (first, second):
        assembler.handle_control(ImageStartMessage(id=1, size=len(large_jpeg)))
    # A declared 8 MiB costs nothing until its bytes arrive.
    assert budget.in_flight == 0
    first.handle_binary(parts[0])
    first.handle_binary(parts[1])
    second.handle_binary(parts[0])
    assert budget.in_flight == 3 * 6144
    # The budget is spent: the next chunk drops that frame and gives its bytes back.
    assert second.handle_binary(parts[1]) is None
    assert second.drops == {DropReason.OVER_BUDGET: 1}
    assert not second.in_progress
    assert budget.in_flight == 2 * 6144
    first.abort()
    assert budget.in_flight == 0
    # With the bytes given back, a whole frame fits again, and completing it frees its bytes.
    roomy = FrameBudget(len(large_jpeg))
    whole = FrameAssembler(clock=clock, budget=roomy)
    whole.handle_control(ImageStartMessage(id=2, size=len(large_jpeg)))
    frames = [whole.handle_binary(part) for part in parts]
    assert frames[-1] is not None
    assert bytes(frames[-1].data) == large_jpeg
    assert (roomy.in_flight, roomy.peak) == (0, len(large_jpeg))


def test_a_lowered_frame_size_refuses_declared_and_bare_frames(
    small_jpeg: bytes, clock: FakeClock
) -> None:
    assembler = FrameAssembler(clock=clock, max_frame_size=len(small_jpeg) - 1)
    assert assembler.handle_binary(small_jpeg) is None
    assembler.handle_control(ImageStartMessage(id=1, size=len(small_jpeg)))
    assert assembler.drops == {DropReason.TOO_LARGE: 2}
