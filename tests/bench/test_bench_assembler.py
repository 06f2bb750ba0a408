"""The assembler replay: the firmware's payloads of each framing give back the JPEG, whole."""

from __future__ import annotations

import pytest

from bench.assembler import cpu_us_per_frame, payloads, replay, table
from bench.wire import sequenced_jpeg
from custom_components.esp32_camera.protocol import FrameAssembler


@pytest.mark.parametrize(
    ("size", "framing", "messages"),
    [(8_000, "binary", 1), (30_000, "frame", 3), (200_000, "chunked", 11)],
)
def test_each_framing_is_replayed_into_the_frame_it_carries(
    size: int, framing: str, messages: int
) -> None:
    jpeg = bytes(sequenced_jpeg(size))
    frame = payloads(jpeg, frame_id=7)
    assert len(frame) == messages
    assembler = FrameAssembler()
    completed: list[bytes] = []
    for payload in frame:
        if isinstance(payload, bytes) and (done := assembler.handle_binary(payload)):
            completed.append(bytes(done.data))
            assert done.framing == framing
        elif isinstance(payload, str):
            replay(assembler, [payload])
    assert completed == [jpeg]
    assert replay(FrameAssembler(), frame) == 1
    assert not assembler.drops


def test_the_cpu_figure_counts_every_frame() -> None:
    frame = payloads(bytes(sequenced_jpeg(80_000)), frame_id=1)
    assert cpu_us_per_frame(frame, frames=50, rounds=3) > 0


def test_the_table_lists_each_size() -> None:
    rows = [{"size": "VGA", "framing": "frame", "messages": 3, "us_per_frame": 6.2}]
    lines = table({"assembler": rows})
    assert lines[1].startswith("Frame assembler alone")
    assert lines[-1].split()[:3] == ["VGA", "frame", "3"]
    assert table({}) == []
