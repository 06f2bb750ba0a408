"""Typed text messages of the firmware's protocol, parsed tolerantly.

The firmware builds its JSON by string concatenation: fields may be missing, extra, or numbers sent
as strings. Parsing never raises anything but MessageError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
import json
import re
from typing import Any

from .resolutions import Resolution, parse_resolution_label, parse_resolution_list

CAMERA_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_UPTIME_PART = re.compile(r"(\d+)\s*([dhms])")
_UPTIME_DIGITS = 12  # more digits in one part is no uptime (and int() of them may fail)
_UPTIME_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_UPTIME = timedelta(days=36500)
"""Longest uptime believed (a century): beyond it the text is unreadable, not a duration."""


# Longest accepted `register` fields: a token is 43 characters (secrets.token_urlsafe(32)).
MAX_TOKEN_LENGTH = 256
MAX_NAME_LENGTH = 64
MAX_TEXT_LENGTH = 4096


class MessageError(ValueError):
    """A text message that is not a JSON object with a "type"."""


class InvalidRegistrationError(MessageError):
    """A `register` whose token, name or firmware is not usable text: the device is refused."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisterMessage:
    """The first message; the extension fields are absent in the stock firmware."""

    device: str | None = None
    camera_id: str | None = None
    name: str | None = None
    token: str | None = None
    firmware: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class InfoMessage:
    """Capabilities and the current sender profile."""

    resolutions: tuple[Resolution, ...] = ()
    mode: str | None = None
    fps: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class HealthMessage:
    """Periodic telemetry (every 10 s and on the stats command)."""

    frames: int | None = None
    dropped: int | None = None
    heap: int | None = None
    min_heap: int | None = None
    rssi: int | None = None
    uptime: timedelta | None = None
    uptime_text: str | None = None
    ip: str | None = None
    model: str | None = None
    resolution: Resolution | None = None
    resolution_text: str | None = None
    quality: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ResponseMessage:
    """The camera's answer to a command."""

    cmd: str | None = None
    ok: bool = False
    value: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusMessage:
    """A free-text status, e.g. before a reboot."""

    msg: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class FrameStartMessage:
    """Header of a mid-size frame: one binary message follows."""

    id: int | None = None
    size: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class FrameEndMessage:
    """Footer of a mid-size frame."""

    id: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageStartMessage:
    """Header of a chunked (large) frame."""

    id: int | None = None
    size: int | None = None
    chunks: int | None = None
    chunk_size: int | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageEndMessage:
    """Footer of a chunked frame; success false discards it."""

    id: int | None = None
    size: int | None = None
    success: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownMessage:
    """A message type this version does not know."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)


type FramingMessage = FrameStartMessage | FrameEndMessage | ImageStartMessage | ImageEndMessage
type Message = (
    RegisterMessage
    | InfoMessage
    | HealthMessage
    | ResponseMessage
    | StatusMessage
    | FramingMessage
    | UnknownMessage
)


INT_RANGE = range(-(2**63), 2**63)
"""Integers a message may carry (a signed 64-bit value): beyond, a field is unreadable."""
_MAX_DIGITS = 20  # digits (and sign) of the widest 64-bit integer, checked before int()


def _int(value: Any) -> int | None:
    """Read an integer field; anything out of INT_RANGE (or not a number) is None.

    Ranges are checked before conversion: int() of a huge float is costly, of a text of more
    than 4,300 digits a ValueError, and of infinity an OverflowError.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in INT_RANGE else None
    if isinstance(value, float) and value.is_integer() and -(2.0**63) <= value < 2.0**63:
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_DIGITS:
            return None
        try:
            number = int(text)
        except ValueError:
            return None
        return number if number in INT_RANGE else None
    return None


def _is_text(value: str) -> bool:
    """Whether a JSON string is valid Unicode (an escaped lone surrogate such as D800 is not)."""
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value if _is_text(value) else None
    if isinstance(value, float):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        # str() of an int beyond 4,300 digits raises; no text field needs such a number.
        return str(value) if value in INT_RANGE else None
    return None


def _label(value: Any) -> str | None:
    """Read a short text field (a model, an address, a resolution, an uptime, a mode).

    Longer than MAX_NAME_LENGTH is unknown: these become states and device details, and Home
    Assistant logs a state above 255 characters, whole, at every update (issue 18, red team).
    """
    text = _str(value)
    return text if text is None or len(text) <= MAX_NAME_LENGTH else None


def _text(value: Any) -> str | None:
    """Read a free text field (a status, a command's answer); beyond MAX_TEXT_LENGTH: unknown.

    Every open panel gets them in its statistics each second, JSON-escaped on the event loop:
    an admitted camera's 8 MiB of non-ASCII status took 40-60 ms per viewer per push.
    """
    text = _str(value)
    return text if text is None or len(text) <= MAX_TEXT_LENGTH else None


def _bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "ok", "yes"}
    if isinstance(value, int):
        return value != 0
    return default


def parse_uptime(text: str) -> timedelta | None:
    """Parse "1h 2m 3s" (also "2d 1h", "45s"); None when nothing is readable or out of range."""
    parts = _UPTIME_PART.findall(text)
    if not parts or any(len(amount) > _UPTIME_DIGITS for amount, _ in parts):
        return None
    seconds = sum(int(amount) * _UPTIME_UNITS[unit] for amount, unit in parts)
    if seconds > MAX_UPTIME.total_seconds():  # timedelta() itself overflows near 10^9 days
        return None
    return timedelta(seconds=seconds)


def normalize_camera_id(value: Any) -> str | None:
    """Lower-case a firmware id; None unless it matches CAMERA_ID_PATTERN."""
    text = _str(value)
    if text is None:
        return None
    text = text.strip().lower()
    return text if CAMERA_ID_PATTERN.match(text) else None


# The firmware's framing messages exactly as it writes them (firmware-protocol.md: its JSON is
# built by concatenation, no spaces, this field order), recognised without json.loads: every
# frame sends two of them. A number as JSON writes it (no leading zero) of at most 18 digits, so
# within INT_RANGE; anything else (a space, another order, a sign, a string) is not this shape and
# goes to the full parser, which reads it the same way (tests/protocol/test_fuzz.py).
_NUMBER = "(0|[1-9][0-9]{0,17})"
_IMAGE_START = re.compile(
    '{"type":"img_start","id":N,"size":N,"chunks":N,"chunkSize":N,"width":N,"height":N}'.replace(
        "N", _NUMBER
    )
)
_IMAGE_END = re.compile(
    '{"type":"img_end","id":N,"size":N,"success":(true|false)}'.replace("N", _NUMBER)
)
_FRAME_START = re.compile('{"type":"frame_start","id":N,"size":N}'.replace("N", _NUMBER))
_FRAME_END = re.compile('{"type":"frame_end","id":N}'.replace("N", _NUMBER))
# Each shape by its first characters (the same count for all four): one match tried, not four.
_SHAPE_PREFIX = 22
_SHAPES = {
    pattern.pattern[:_SHAPE_PREFIX]: pattern
    for pattern in (_IMAGE_START, _IMAGE_END, _FRAME_START, _FRAME_END)
}


def parse_framing_message(text: str) -> FramingMessage | None:
    """Return the firmware's framing message in its exact shape; None for any other text."""
    pattern = _SHAPES.get(text[:_SHAPE_PREFIX])
    if pattern is None or (match := pattern.fullmatch(text)) is None:
        return None
    if pattern is _IMAGE_START:
        frame_id, size, chunks, chunk_size, width, height = map(int, match.groups())
        return ImageStartMessage(
            id=frame_id, size=size, chunks=chunks, chunk_size=chunk_size, width=width, height=height
        )
    if pattern is _IMAGE_END:
        return ImageEndMessage(id=int(match[1]), size=int(match[2]), success=match[3] == "true")
    if pattern is _FRAME_START:
        return FrameStartMessage(id=int(match[1]), size=int(match[2]))
    return FrameEndMessage(id=int(match[1]))


def parse_text_message(text: str) -> Message:
    """Parse one text WebSocket message (the firmware's framing messages without json.loads)."""
    return parse_framing_message(text) or parse_json_message(text)


def parse_json_message(text: str) -> Message:
    """Parse one text WebSocket message as JSON: the full, tolerant parser."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise MessageError(f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise MessageError("not a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise MessageError('no "type" field')
    match kind:
        case "register":
            return _parse_register(data)
        case "info":
            resolutions = _str(data.get("resolutions"))
            return InfoMessage(
                resolutions=parse_resolution_list(resolutions) if resolutions else (),
                mode=_label(data.get("mode")),
                fps=_int(data.get("fps")),
            )
        case "health":
            uptime_text = _label(data.get("uptime"))
            resolution_text = _label(data.get("resolution"))
            return HealthMessage(
                frames=_int(data.get("frames")),
                dropped=_int(data.get("dropped")),
                heap=_int(data.get("heap")),
                min_heap=_int(data.get("minHeap")),
                rssi=_int(data.get("rssi")),
                uptime=parse_uptime(uptime_text) if uptime_text else None,
                uptime_text=uptime_text,
                ip=_label(data.get("ip")),
                model=_label(data.get("model")),
                resolution=parse_resolution_label(resolution_text) if resolution_text else None,
                resolution_text=resolution_text,
                quality=_int(data.get("quality")),
            )
        case "response":
            return ResponseMessage(
                cmd=_label(data.get("cmd")),
                ok=_str(data.get("status")) == "ok",
                value=_text(data.get("value")),
            )
        case "status":
            return StatusMessage(msg=_text(data.get("msg")))
        case "frame_start":
            return FrameStartMessage(id=_int(data.get("id")), size=_int(data.get("size")))
        case "frame_end":
            return FrameEndMessage(id=_int(data.get("id")))
        case "img_start":
            return ImageStartMessage(
                id=_int(data.get("id")),
                size=_int(data.get("size")),
                chunks=_int(data.get("chunks")),
                chunk_size=_int(data.get("chunkSize")),
                width=_int(data.get("width")),
                height=_int(data.get("height")),
            )
        case "img_end":
            return ImageEndMessage(
                id=_int(data.get("id")),
                size=_int(data.get("size")),
                success=_bool(data.get("success"), default=True),
            )
        case _:
            return UnknownMessage(type=kind, data=data)


def _register_field(data: dict[str, Any], key: str, max_length: int) -> str | None:
    """Return a `register` text field; raise when it is present but not usable text."""
    value = data.get(key)
    if value is None:
        return None
    if key != "token" and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # a version number sent as a number
    if not isinstance(value, str) or not _is_text(value) or len(value) > max_length:
        raise InvalidRegistrationError(f"invalid {key}")
    return value


def _parse_register(data: dict[str, Any]) -> RegisterMessage:
    """Parse `register` strictly: it decides admission, so a bad field refuses the device."""
    return RegisterMessage(
        device=_str(data.get("device")),
        camera_id=normalize_camera_id(data.get("id")),
        name=_register_field(data, "name", MAX_NAME_LENGTH),
        token=_register_field(data, "token", MAX_TOKEN_LENGTH),
        firmware=_register_field(data, "firmware", MAX_NAME_LENGTH),
    )
