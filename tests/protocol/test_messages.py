"""Tests for the text messages, the resolution table and the command table."""

from __future__ import annotations

from datetime import timedelta
import json

import pytest

from custom_components.esp32_camera.protocol import (
    COMMANDS,
    RESOLUTIONS,
    CommandValidationError,
    FrameEndMessage,
    FrameStartMessage,
    HealthMessage,
    ImageEndMessage,
    ImageStartMessage,
    InfoMessage,
    InvalidRegistrationError,
    MessageError,
    RegisterMessage,
    ResponseMessage,
    Risk,
    StatusMessage,
    UnknownMessage,
    encode_command,
    parse_resolution_label,
    parse_resolution_list,
    parse_text_message,
    parse_uptime,
    resolution_by_key,
    wire_value,
)

FIRMWARE_RESOLUTIONS = ",".join(f"{r.index}:{r.name}({r.width}x{r.height})" for r in RESOLUTIONS)


def test_register_stock_and_extended() -> None:
    assert parse_text_message('{"type":"register","device":"camera"}') == RegisterMessage(
        device="camera"
    )
    extended = parse_text_message(
        '{"type":"register","device":"camera","id":"Garden-1","name":"Garden",'
        '"token":"abc","firmware":"2.1"}'
    )
    assert extended == RegisterMessage(
        device="camera", camera_id="garden-1", name="Garden", token="abc", firmware="2.1"
    )
    bad_id = parse_text_message('{"type":"register","id":"../etc/passwd"}')
    assert isinstance(bad_id, RegisterMessage)
    assert bad_id.camera_id is None


def test_info() -> None:
    message = parse_text_message(
        f'{{"type":"info","resolutions":"{FIRMWARE_RESOLUTIONS}","mode":"Estabilidad","fps":20}}'
    )
    assert isinstance(message, InfoMessage)
    assert message.resolutions == RESOLUTIONS
    assert (message.mode, message.fps) == ("Estabilidad", 20)
    assert parse_text_message('{"type":"info"}') == InfoMessage()


def test_health_full_and_tolerant() -> None:
    message = parse_text_message(
        '{"type":"health","frames":120,"dropped":"3","heap":150000,"minHeap":90000,'
        '"rssi":-61,"uptime":"1h 2m 3s","ip":"192.168.1.50","model":"OV3660",'
        '"resolution":"XGA (1024x768)","quality":12,"extra":true}'
    )
    assert isinstance(message, HealthMessage)
    assert message.frames == 120
    assert message.dropped == 3
    assert message.min_heap == 90000
    assert message.rssi == -61
    assert message.uptime == timedelta(hours=1, minutes=2, seconds=3)
    assert message.resolution == RESOLUTIONS[7]
    assert message.quality == 12
    sparse = parse_text_message('{"type":"health","resolution":"Custom","heap":true}')
    assert sparse == HealthMessage(resolution_text="Custom")


def test_response_status_and_framing_messages() -> None:
    assert parse_text_message(
        '{"type":"response","cmd":"quality","status":"ok","value":"12"}'
    ) == ResponseMessage(cmd="quality", ok=True, value="12")
    assert parse_text_message(
        '{"type":"response","cmd":"sensor_reset","status":"error"}'
    ) == ResponseMessage(cmd="sensor_reset", ok=False)
    assert parse_text_message('{"type":"status","msg":"Rebooting"}') == StatusMessage(
        msg="Rebooting"
    )
    assert parse_text_message('{"type":"frame_start","id":4,"size":12000}') == FrameStartMessage(
        id=4, size=12000
    )
    assert parse_text_message('{"type":"frame_end","id":4}') == FrameEndMessage(id=4)
    assert parse_text_message(
        '{"type":"img_start","id":5,"size":50000,"chunks":9,"chunkSize":6144,'
        '"width":1024,"height":768}'
    ) == ImageStartMessage(id=5, size=50000, chunks=9, chunk_size=6144, width=1024, height=768)
    assert parse_text_message(
        '{"type":"img_end","id":5,"size":50000,"success":false}'
    ) == ImageEndMessage(id=5, size=50000, success=False)
    assert parse_text_message('{"type":"img_end","success":"false"}') == ImageEndMessage(
        success=False
    )
    assert parse_text_message('{"type":"new_thing","a":1}') == UnknownMessage(
        type="new_thing", data={"type": "new_thing", "a": 1}
    )


@pytest.mark.parametrize("text", ["not json", "[1,2]", '{"no":"type"}', '{"type":""}', "{"])
def test_invalid_messages(text: str) -> None:
    with pytest.raises(MessageError):
        parse_text_message(text)


def test_uptime_and_resolution_texts() -> None:
    assert parse_uptime("2d 1h 0m 5s") == timedelta(days=2, hours=1, seconds=5)
    assert parse_uptime("45s") == timedelta(seconds=45)
    assert parse_uptime("soon") is None
    assert parse_resolution_label("Unknown") is None
    assert parse_resolution_label("UXGA (1600x1200)") == RESOLUTIONS[10]
    custom = parse_resolution_list("0:QQVGA(160x120),bad,13:WEIRD(10x10)")
    assert custom[0] == RESOLUTIONS[0]
    assert (custom[1].index, custom[1].name) == (13, "WEIRD")
    assert resolution_by_key("qxga") == RESOLUTIONS[12]
    assert RESOLUTIONS[11].risk is Risk.HIGH
    assert RESOLUTIONS[12].risk is Risk.CRITICAL
    assert RESOLUTIONS[7].label == "XGA (1024x768)"


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("resolution", 0, 12),
        ("quality", 5, 63),
        ("fps", 1, 30),
        ("brightness", -2, 2),
        ("contrast", -2, 2),
    ],
)
def test_integer_commands(name: str, low: int, high: int) -> None:
    assert wire_value(name, low) == str(low)
    assert wire_value(name, str(high)) == str(high)
    assert wire_value(name, float(high)) == str(high)
    for bad in (low - 1, high + 1, 3.5, True, "abc", None):
        with pytest.raises(CommandValidationError, match=f"{name} must be an integer from"):
            wire_value(name, bad)


@pytest.mark.parametrize("name", ["exposure", "gain", "whitebalance", "hmirror", "vflip"])
def test_boolean_commands(name: str) -> None:
    for on in (True, 1, "on", "true", "1"):
        assert wire_value(name, on) == "1"
    for off in (False, 0, "off", "false", "0"):
        assert wire_value(name, off) == "0"
    for bad in (2, "maybe", None, 1.5):
        with pytest.raises(CommandValidationError, match="must be on or off"):
            wire_value(name, bad)


def test_mode_and_action_commands() -> None:
    for alias in ("speed", "Velocidad", "0", 0):
        assert wire_value("mode", alias) == "speed"
    for alias in ("stability", "estabilidad", "1", 1):
        assert wire_value("mode", alias) == "stability"
    with pytest.raises(CommandValidationError, match="mode must be one of"):
        wire_value("mode", "turbo")
    with pytest.raises(CommandValidationError, match="mode must be one of"):
        wire_value("mode", None)
    for name in ("stats", "reboot", "sensor_reset"):
        assert wire_value(name) == ""
    with pytest.raises(CommandValidationError, match="unknown command 'explode'"):
        encode_command("explode")
    assert encode_command("quality", 12) == '{"type":"command","cmd":"quality","val":"12"}'
    assert set(COMMANDS) >= {"resolution", "quality", "fps", "mode", "reboot", "stats"}


@pytest.mark.parametrize(
    "fields",
    [
        {"token": "\ud800"},
        {"token": 12345},
        {"token": ["a"]},
        {"token": "x" * 257},
        {"name": "\udfff"},
        {"name": {"a": 1}},
        {"name": "n" * 65},
        {"firmware": True},
    ],
)
def test_register_with_unusable_fields_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidRegistrationError):
        parse_text_message(json.dumps({"type": "register", **fields}))


def test_lone_surrogates_elsewhere_are_dropped_fields() -> None:
    message = parse_text_message(json.dumps({"type": "health", "model": "\ud800", "rssi": -5}))
    assert message == HealthMessage(rssi=-5)
    register = parse_text_message(json.dumps({"type": "register", "firmware": 2.5, "name": 7}))
    assert register == RegisterMessage(firmware="2.5", name="7")
