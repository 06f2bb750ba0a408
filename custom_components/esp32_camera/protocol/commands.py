"""The firmware's command table, validation and the JSON encoder.

On the wire `val` is always a string: the firmware parses it with toInt() or compares strings.
Validation happens before anything is sent, with messages a user understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
import json
from types import MappingProxyType


class CommandValidationError(ValueError):
    """A command name or value the firmware would not accept."""


class CommandKind(StrEnum):
    """How a command's value is typed."""

    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    NONE = "none"


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandSpec:
    """One command of the firmware."""

    name: str
    kind: CommandKind
    description: str
    minimum: int | None = None
    maximum: int | None = None
    # For CHOICE: accepted input (lower-case) -> what is sent.
    choices: Mapping[str, str] | None = None


_MODE_CHOICES = MappingProxyType(
    {
        "speed": "speed",
        "velocidad": "speed",
        "0": "speed",
        "stability": "stability",
        "estabilidad": "stability",
        "1": "stability",
    }
)
_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"0", "false", "off", "no"})


def _integer(name: str, minimum: int, maximum: int, description: str) -> CommandSpec:
    return CommandSpec(
        name=name,
        kind=CommandKind.INTEGER,
        minimum=minimum,
        maximum=maximum,
        description=description,
    )


def _boolean(name: str, description: str) -> CommandSpec:
    return CommandSpec(name=name, kind=CommandKind.BOOLEAN, description=description)


def _action(name: str, description: str) -> CommandSpec:
    return CommandSpec(name=name, kind=CommandKind.NONE, description=description)


COMMANDS: Mapping[str, CommandSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _integer("resolution", 0, 12, "Frame size index (0 QQVGA ... 12 QXGA)"),
            _integer("quality", 5, 63, "JPEG quality, lower is better"),
            _integer("fps", 1, 30, "Target frame rate"),
            CommandSpec(
                name="mode",
                kind=CommandKind.CHOICE,
                choices=_MODE_CHOICES,
                description="Sender timing profile: speed or stability",
            ),
            _integer("brightness", -2, 2, "Sensor brightness"),
            _integer("contrast", -2, 2, "Sensor contrast"),
            _boolean("exposure", "Automatic exposure"),
            _boolean("gain", "Automatic gain"),
            _boolean("whitebalance", "Automatic white balance"),
            _boolean("hmirror", "Horizontal mirror"),
            _boolean("vflip", "Vertical flip"),
            _action("stats", "Send a health message now"),
            _action("reboot", "Restart the camera"),
            _action("sensor_reset", "Reset the sensor (not supported by the stock firmware)"),
        )
    }
)


_SHOWN_LENGTH = 40
_MAX_DIGITS = 12  # of an integer value in text: every command's range has at most 2


def _shown(value: object) -> str:
    """Return a value as an error message shows it: short, and never raising.

    repr() of an int beyond 4,300 digits raises ValueError; that of a large list is long.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a number out of range"
    if isinstance(value, (list, dict)):
        return f"a {type(value).__name__}"
    shown = repr(value)
    return shown if len(shown) <= _SHOWN_LENGTH else shown[: _SHOWN_LENGTH - 3] + "..."


def _integer_value(spec: CommandSpec, value: object) -> str:
    assert spec.minimum is not None
    assert spec.maximum is not None
    allowed = f"{spec.name} must be an integer from {spec.minimum} to {spec.maximum}"
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and len(value.strip()) <= _MAX_DIGITS:
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if number is None or not spec.minimum <= number <= spec.maximum:
        raise CommandValidationError(f"{allowed}, got {_shown(value)}")
    return str(number)


def _boolean_value(spec: CommandSpec, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) and value in (0, 1):
        return str(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return "1"
        if text in _FALSE:
            return "0"
    raise CommandValidationError(
        f"{spec.name} must be on or off (true/false, 1/0), got {_shown(value)}"
    )


def wire_value(name: str, value: object = None) -> str:
    """Validate a command's value and return it as the firmware's `val` string."""
    spec = COMMANDS.get(name)
    if spec is None:
        raise CommandValidationError(
            f"unknown command {_shown(name)}; known commands: {', '.join(COMMANDS)}"
        )
    match spec.kind:
        case CommandKind.INTEGER:
            return _integer_value(spec, value)
        case CommandKind.BOOLEAN:
            return _boolean_value(spec, value)
        case CommandKind.CHOICE:
            assert spec.choices is not None
            chosen = spec.choices.get(value.strip().lower()) if isinstance(value, str) else None
            if isinstance(value, int) and not isinstance(value, bool):
                chosen = spec.choices.get(str(value)) if 0 <= value <= 1 else None
            if chosen is None:
                raise CommandValidationError(
                    f"{spec.name} must be one of {', '.join(sorted(set(spec.choices.values())))}, "
                    f"got {_shown(value)}"
                )
            return chosen
        case CommandKind.NONE:
            return ""


def command_table() -> dict[str, dict[str, object]]:
    """Return the command table as JSON: type, range or choices, description (API and panel)."""
    return {
        name: {
            "type": str(spec.kind),
            "min": spec.minimum,
            "max": spec.maximum,
            "choices": sorted(set(spec.choices.values())) if spec.choices else None,
            "description": spec.description,
        }
        for name, spec in COMMANDS.items()
    }


def encode_command(name: str, value: object = None) -> str:
    """Return the command as the firmware's JSON text frame (validated)."""
    return json.dumps(
        {"type": "command", "cmd": name, "val": wire_value(name, value)}, separators=(",", ":")
    )
