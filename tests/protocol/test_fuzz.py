"""Property-based tests: random messages, values and bytes never break a parser of protocol/."""

from __future__ import annotations

import contextlib
from datetime import timedelta
import json

from hypothesis import HealthCheck, example, given, settings, strategies as st

from custom_components.esp32_camera.protocol import (
    COMMANDS,
    RESOLUTIONS,
    CommandValidationError,
    FrameAssembler,
    FrameEndMessage,
    FrameStartMessage,
    Framing,
    HealthMessage,
    ImageEndMessage,
    ImageStartMessage,
    InfoMessage,
    Message,
    MessageError,
    Resolution,
    encode_command,
    is_jpeg,
    jpeg_dimensions,
    normalize_camera_id,
    parse_resolution_label,
    parse_resolution_list,
    parse_text_message,
    parse_uptime,
    resolution_by_index,
    resolution_by_key,
)
from custom_components.esp32_camera.protocol.messages import (
    MAX_UPTIME,
    parse_framing_message,
    parse_json_message,
)
from custom_components.esp32_camera.protocol.resolutions import MAX_RESOLUTIONS
from tests.helpers import jpeg_bytes

JPEG = jpeg_bytes(64, 48)
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


# -- every parser of protocol/ raises only its own error (issue 18) -----------------------------

# Numbers as a device may send them: JSON numbers of any size, digits in strings (beyond the
# 4,300 digits int() converts), floats up to infinity.
huge_ints = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**63 + 2),
    st.integers(min_value=10**300, max_value=10**4200),
    st.integers(max_value=-(10**300), min_value=-(10**4200)),
)
digits = st.text(alphabet="0123456789", min_size=1, max_size=5000)
any_text = st.one_of(
    st.text(max_size=200),
    digits,
    st.builds(lambda amount, unit: f"{amount}{unit}", digits, st.sampled_from("dhms ")),
    st.builds(
        lambda index, name, width, height: f"{index}:{name}({width}x{height})",
        digits,
        st.sampled_from(["QQVGA", "XGA", "ZZZ", ""]),
        digits,
        digits,
    ),
)
any_json = st.recursive(
    st.none()
    | st.booleans()
    | huge_ints
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "id",
    "size",
    "chunks",
    "chunkSize",
    "width",
    "height",
    "success",
    "frames",
    "dropped",
    "heap",
    "minHeap",
    "rssi",
    "uptime",
    "ip",
    "model",
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
    "firmware",
    "device",
]


def _dump(value: object) -> str:
    """JSON text of `value` as a device could send it (ints of any length included)."""
    with contextlib.suppress(ValueError):
        return json.dumps(value)
    return "0"  # an int beyond what Python's str() converts: sent as digits below instead


any_message = st.one_of(
    st.builds(
        lambda kind, fields: _dump({**fields, "type": kind}),
        known_types,
        st.dictionaries(st.sampled_from(FIELDS), any_json, max_size=8),
    ),
    # Numbers of thousands of digits as bare JSON numbers (json.dumps cannot write them).
    st.builds(
        lambda kind, key, number: f'{{"type":"{kind}","{key}":{number}}}',
        known_types,
        st.sampled_from(FIELDS),
        digits,
    ),
    st.text(max_size=200),
)

INT64 = 2**63


def _ints_in_range(message: Message) -> None:
    """Every number the parser hands on fits a signed 64-bit integer (range-checked)."""
    for name in getattr(message, "__slots__", ()):
        value = getattr(message, name)
        if isinstance(value, int) and not isinstance(value, bool):
            assert -INT64 <= value < INT64, (name, value)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_message)
@example('{"type":"health","uptime":"99999999999999999999d"}')
@example('{"type":"health","uptime":"' + "9" * 5000 + 's"}')
@example('{"type":"health","resolution":"X(' + "9" * 5000 + 'x1)"}')
@example('{"type":"info","resolutions":"' + "1" * 5000 + ':X(1x1)"}')
@example('{"type":"health","heap":' + "9" * 4000 + "}")
def test_every_message_raises_only_message_error_with_numbers_in_range(text: str) -> None:
    try:
        message = parse_text_message(text)
    except MessageError:
        return
    _ints_in_range(message)
    if isinstance(message, HealthMessage) and message.uptime is not None:
        assert timedelta(0) <= message.uptime <= MAX_UPTIME
    if isinstance(message, InfoMessage):
        assert len(message.resolutions) <= MAX_RESOLUTIONS


# -- the framing messages' fast path agrees with the full parser (issue 22) ----------------------

FRAMING_SHAPES = {
    "img_start": ("id", "size", "chunks", "chunkSize", "width", "height"),
    "img_end": ("id", "size", "success"),
    "frame_start": ("id", "size"),
    "frame_end": ("id",),
}
# What a field may hold: the firmware's numbers, and what no firmware sends but a device may.
firmware_numbers = st.integers(0, 10**18 - 1).map(str)
field_values = st.one_of(
    firmware_numbers,
    st.integers(10**17, 10**22).map(str),  # past the fast path's 18 digits
    st.integers(-(10**6), -1).map(str),
    st.text(alphabet="0123456789", min_size=2, max_size=4),  # leading zeros: not JSON
    st.sampled_from(["true", "false", "null", '"7"', "7.0", "1e3", " 7", "7 ", '"true"']),
)


@st.composite
def framing_texts(draw: st.DrawFn) -> str:
    """A framing message in the firmware's exact shape, its fields' values drawn, then maybe
    mutated (a character changed, dropped or added) so that near misses are tried too."""
    kind = draw(st.sampled_from(sorted(FRAMING_SHAPES)))
    # Half of them with the firmware's numbers only, the others with any field values.
    values = firmware_numbers if draw(st.booleans()) else field_values
    fields = "".join(
        f',"{name}":{draw(st.sampled_from(["true", "false"]) if name == "success" else values)}'
        for name in FRAMING_SHAPES[kind]
    )
    text = f'{{"type":"{kind}"{fields}}}'
    if draw(st.booleans()):
        position = draw(st.integers(0, len(text)))
        insert = draw(st.sampled_from(["", " ", "0", "-", '"', "}", "x"]))
        cut = draw(st.integers(0, 1))
        text = text[:position] + insert + text[position + cut :]
    return text


def _full_parse(text: str) -> Message | type[MessageError]:
    try:
        return parse_json_message(text)
    except MessageError:
        return MessageError


@settings(max_examples=1500, deadline=None)
@given(st.one_of(framing_texts(), st.text(max_size=120)))
@example(
    '{"type":"img_start","id":1,"size":80000,"chunks":14,"chunkSize":6144,"width":1024,"height":768}'
)
@example('{"type":"img_end","id":4294967295,"size":80000,"success":false}')
@example('{"type":"frame_start","id":999999999999999999,"size":30000}')
@example('{"type":"frame_end","id":0}')
@example('{"type":"frame_end","id":01}')
def test_the_framing_fast_path_reads_what_the_full_parser_reads(text: str) -> None:
    fast = parse_framing_message(text)
    if fast is not None:  # only where the full parser reads the very same message
        assert fast == _full_parse(text)
    # What the listener uses: the same message, or the same error, as the full parser.
    try:
        parsed: Message | type[MessageError] = parse_text_message(text)
    except MessageError:
        parsed = MessageError
    assert parsed == _full_parse(text)


@given(
    st.sampled_from(sorted(FRAMING_SHAPES)),
    st.lists(st.integers(0, 10**18 - 1), min_size=6, max_size=6),
    st.booleans(),
)
def test_the_firmware_s_framing_messages_take_the_fast_path(
    kind: str, numbers: list[int], success: bool
) -> None:
    values = iter(numbers)
    fields = "".join(
        f',"{name}":{("true" if success else "false") if name == "success" else next(values)}'
        for name in FRAMING_SHAPES[kind]
    )
    text = f'{{"type":"{kind}"{fields}}}'
    assert parse_framing_message(text) == parse_json_message(text)
    # The shape exactly as json.dumps writes it compactly (the simulator and the bench do).
    assert text == json.dumps(json.loads(text), separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(any_text)
@example("99999999999999999999d")
@example("9" * 5000 + "s")
def test_uptime_is_a_duration_in_range_or_none(text: str) -> None:
    uptime = parse_uptime(text)
    assert uptime is None or timedelta(0) <= uptime <= MAX_UPTIME


@settings(max_examples=300, deadline=None)
@given(any_text)
@example("X(" + "9" * 5000 + "x1)")
@example("1" * 5000 + ":X(1x1)")
def test_resolution_texts_never_raise(text: str) -> None:
    label = parse_resolution_label(text)
    assert label is None or isinstance(label, Resolution)
    found = parse_resolution_list(text)
    assert len(found) <= MAX_RESOLUTIONS
    for resolution in found:
        assert 0 <= resolution.index < INT64
        assert 0 <= resolution.width < INT64
        assert 0 <= resolution.height < INT64
    assert resolution_by_key(text) is None or resolution_by_key(text) in RESOLUTIONS


@settings(max_examples=300, deadline=None)
@given(huge_ints)
def test_resolution_by_index_never_raises(index: int) -> None:
    assert resolution_by_index(index) in (None, *RESOLUTIONS)


@settings(max_examples=300, deadline=None)
@given(any_json)
def test_camera_ids_never_raise(value: object) -> None:
    camera_id = normalize_camera_id(value)
    assert camera_id is None or len(camera_id) <= 64


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.sampled_from(sorted(COMMANDS)), st.text(max_size=20)), any_json)
@example("mode", 10**4400)
@example("resolution", [10**4400])
@example("nope", 10**4400)
def test_commands_raise_only_command_validation_error(name: str, value: object) -> None:
    error: CommandValidationError | None = None
    try:
        text = encode_command(name, value)
    except CommandValidationError as err:
        error = err
    if error is not None:
        assert len(str(error)) < 1000  # a message a user reads, not the value's whole repr
        return
    sent = json.loads(text)
    assert sent["cmd"] == name
    assert isinstance(sent["val"], str)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda b: b"\xff\xd8" + b),
        st.binary(max_size=300).map(lambda b: JPEG[:40] + b),
    )
)
def test_jpeg_inspection_never_raises(data: bytes) -> None:
    # The firmware's rule, spelled plainly: SOI first, EOI within the last 100 bytes.
    expected = len(data) >= 4 and data[:2] == b"\xff\xd8" and b"\xff\xd9" in data[-100:]
    assert is_jpeg(data) is expected
    assert is_jpeg(memoryview(data)) is expected
    assert is_jpeg(bytearray(data)) is expected
    dimensions = jpeg_dimensions(data)
    assert dimensions is None or (dimensions[0] > 0 and dimensions[1] > 0)
    assert jpeg_dimensions(bytearray(data)) == dimensions
