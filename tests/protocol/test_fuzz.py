"""Property-based tests: random message sequences and bytes never break the assembler."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.esp32_camera.protocol import (
    FrameAssembler,
    FrameEndMessage,
    FrameStartMessage,
    Framing,
    ImageEndMessage,
    ImageStartMessage,
    Message,
    MessageError,
    is_jpeg,
    parse_text_message,
)

from .conftest import make_jpeg

JPEG = make_jpeg(64, 48)
MAX_FRAME = 4096
sizes = st.one_of(st.integers(-10, MAX_FRAME * 2), st.none(), st.just(len(JPEG)))
ids = st.one_of(st.none(), st.integers(0, 2**32))
control = st.one_of(
    st.builds(FrameStartMessage, id=ids, size=sizes),
    st.builds(FrameEndMessage, id=ids),
    st.builds(ImageStartMessage, id=ids, size=sizes),
    st.builds(ImageEndMessage, id=ids, size=sizes, success=st.booleans()),
)
payload = st.one_of(
    st.binary(max_size=600),
    st.just(JPEG),
    st.integers(1, len(JPEG)).map(lambda n: JPEG[:n]),
    st.integers(0, len(JPEG) - 1).map(lambda n: JPEG[n:]),
    st.binary(max_size=50).map(lambda b: JPEG[:20] + b + JPEG[-40:]),
)
steps = st.lists(st.one_of(control, payload, st.just("expire"), st.just("abort")), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_assembler_never_raises_or_publishes_garbage(sequence: list[object]) -> None:
    declared: int | None = None
    assembler = FrameAssembler(max_frame_size=MAX_FRAME, frame_timeout=0.0)
    for step in sequence:
        frame = None
        if step == "expire":
            assembler.expire()
        elif step == "abort":
            assembler.abort()
        elif isinstance(step, bytes):
            frame = assembler.handle_binary(step)
        else:
            assert isinstance(
                step, FrameStartMessage | FrameEndMessage | ImageStartMessage | ImageEndMessage
            )
            if isinstance(step, ImageStartMessage | FrameStartMessage):
                declared = step.size
            assembler.handle_control(step)
        assert assembler.buffered_bytes <= MAX_FRAME
        if frame is not None:
            assert is_jpeg(frame.data)
            if frame.framing is not Framing.BINARY:
                assert len(frame.data) == declared


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
known_types = st.sampled_from(
    [
        "register",
        "info",
        "health",
        "response",
        "status",
        "frame_start",
        "frame_end",
        "img_start",
        "img_end",
        "other",
    ]
)
objects = st.builds(
    lambda kind, fields: json.dumps({**fields, "type": kind}),
    known_types,
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "size",
                "chunks",
                "chunkSize",
                "success",
                "frames",
                "heap",
                "minHeap",
                "rssi",
                "uptime",
                "resolution",
                "resolutions",
                "quality",
                "fps",
                "mode",
                "cmd",
                "status",
                "value",
                "msg",
                "token",
                "name",
            ]
        ),
        json_values,
        max_size=8,
    ),
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), objects))
def test_parser_raises_only_message_error(text: str) -> None:
    try:
        message: Message = parse_text_message(text)
    except MessageError:
        return
    assert message is not None
