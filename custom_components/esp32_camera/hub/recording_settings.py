"""What the user chose for a camera's clips: record on motion, pre-roll, post-roll (in the store)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from ..const import LOGGER
from .store_check import is_bool, is_finite_number, takes_field

# The ring keeps this many seconds of every camera: the longest pre-roll that can be asked for.
RING_SECONDS: Final = 10.0
MAX_POST_ROLL: Final = 60.0

RECORDING_FIELDS: Final = ("record", "pre_roll", "post_roll")


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingSettings:
    """What the user chose for a camera's clips (validated: `ValueError` naming the field)."""

    record: bool = False  # record a clip when motion starts
    pre_roll: float = 5.0  # seconds before the motion start (also the record action's default)
    post_roll: float = 5.0  # seconds after the motion end

    def __post_init__(self) -> None:
        """Check the ranges."""
        if not isinstance(self.record, bool):
            raise TypeError("record must be true or false")
        if not 0 <= self.pre_roll <= RING_SECONDS:
            raise ValueError(f"pre_roll must be 0 to {RING_SECONDS:g} seconds")
        if not 0 <= self.post_roll <= MAX_POST_ROLL:
            raise ValueError(f"post_roll must be 0 to {MAX_POST_ROLL:g} seconds")


def recording_settings(stored: dict[str, Any]) -> RecordingSettings:
    """Build a camera's settings from its stored choices; defaults for what is missing or bad."""
    chosen = {name: stored[name] for name in RECORDING_FIELDS if name in stored}
    try:
        return RecordingSettings(**chosen)
    except (TypeError, ValueError) as err:
        LOGGER.warning("Stored clip settings %s are invalid (%s): using defaults", chosen, err)
        return RecordingSettings()


# The JSON type of each of RECORDING_FIELDS.
_STORED_RECORDING_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "record": is_bool,
    "pre_roll": is_finite_number,
    "post_roll": is_finite_number,
}


def check_stored_recording(stored: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return a stored recording section's valid fields and the names of the others (store load)."""
    kept: dict[str, Any] = {}
    bad: list[str] = []
    for name, value in stored.items():
        is_its_type = _STORED_RECORDING_TYPES.get(name)
        if (
            is_its_type is not None
            and is_its_type(value)
            and takes_field(RecordingSettings, name, value)
        ):
            kept[name] = value
        else:
            bad.append(name)
    return kept, bad
