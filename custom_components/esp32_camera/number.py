"""Numbers: camera settings, the saving rate limit, motion detection's and clips' settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import (
    ControlBinding,
    Esp32CameraControlDescription,
    Esp32CameraControlEntity,
    async_add_described_entities,
    command_binding,
    motion_binding,
    recording_binding,
    saver_binding,
)
from .hub.hub import Esp32CameraConfigEntry, Esp32CameraHub
from .hub.permissions import admin_action
from .hub.recording_settings import MAX_POST_ROLL, RING_SECONDS
from .protocol import COMMANDS

# Commands wait for the camera's response: one at a time per platform.
PARALLEL_UPDATES = 1
FRAMES_PER_SECOND = "fps"


@dataclass(frozen=True, kw_only=True)
class Esp32CameraNumberDescription(NumberEntityDescription, Esp32CameraControlDescription):
    """A number bound to a setting."""


def _command_number(command: str, **kwargs: Any) -> Esp32CameraNumberDescription:
    """Describe the number of an integer command, with the command's range."""
    spec = COMMANDS[command]
    assert spec.minimum is not None
    assert spec.maximum is not None
    return Esp32CameraNumberDescription(
        key=command,
        translation_key=command,
        entity_category=EntityCategory.CONFIG,
        native_min_value=spec.minimum,
        native_max_value=spec.maximum,
        native_step=1,
        mode=NumberMode.SLIDER,
        binding=command_binding(command),
        **kwargs,
    )


def _motion_number(
    name: str, parse: Callable[[str], object], **kwargs: Any
) -> Esp32CameraNumberDescription:
    """Describe the number of one of motion detection's settings (a box unless told)."""
    return Esp32CameraNumberDescription(
        key=f"motion_{name}",
        translation_key=f"motion_{name}",
        entity_category=EntityCategory.CONFIG,
        binding=motion_binding(name, parse),
        **{"mode": NumberMode.BOX, **kwargs},
    )


def _clip_seconds(name: str, maximum: float) -> Esp32CameraNumberDescription:
    """Describe the number of a clip's pre-roll or post-roll (seconds)."""
    return Esp32CameraNumberDescription(
        key=f"clip_{name}",
        translation_key=f"clip_{name}",
        entity_category=EntityCategory.CONFIG,
        device_class=NumberDeviceClass.DURATION,
        native_min_value=0,
        native_max_value=maximum,
        native_step=1,
        mode=NumberMode.BOX,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        binding=recording_binding(name, float),
    )


async def _set_saving_rate(hub: Esp32CameraHub, camera_id: str, value: str) -> None:
    await hub.async_set_saving_rate(camera_id, float(value))


SAVING_RATE: ControlBinding = saver_binding(
    lambda hub, camera_id: f"{hub.saver.max_rate(camera_id):g}", _set_saving_rate
)

NUMBERS: tuple[Esp32CameraNumberDescription, ...] = (
    _command_number("quality"),
    _command_number("fps", native_unit_of_measurement=FRAMES_PER_SECOND),
    _command_number("brightness"),
    _command_number("contrast"),
    Esp32CameraNumberDescription(
        key="saving_rate",
        translation_key="saving_rate",
        entity_category=EntityCategory.CONFIG,
        native_min_value=0,
        native_max_value=COMMANDS["fps"].maximum or 30,
        native_step=0.1,
        mode=NumberMode.BOX,
        native_unit_of_measurement=FRAMES_PER_SECOND,
        binding=SAVING_RATE,
    ),
    _motion_number(
        "sensitivity",
        lambda value: round(float(value)),
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.SLIDER,
    ),
    _motion_number(
        "min_area",
        float,
        native_min_value=0.1,
        native_max_value=100,
        native_step=0.1,
        native_unit_of_measurement=PERCENTAGE,
    ),
    _motion_number(
        "cooldown",
        float,
        device_class=NumberDeviceClass.DURATION,
        native_min_value=0,
        native_max_value=600,
        native_step=1,
        native_unit_of_measurement=UnitOfTime.SECONDS,
    ),
    _clip_seconds("pre_roll", RING_SECONDS),
    _clip_seconds("post_roll", MAX_POST_ROLL),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the numbers of every admitted camera, now and when one connects."""
    async_add_described_entities(hass, entry, async_add_entities, Esp32CameraNumber, NUMBERS)


class Esp32CameraNumber(Esp32CameraControlEntity[Esp32CameraNumberDescription], NumberEntity):
    """A numeric camera setting."""

    entity_description: Esp32CameraNumberDescription

    @property
    @override
    def native_value(self) -> float | None:
        """The setting, None while unknown."""
        if (setting := self.setting) is None:
            return None
        number = float(setting)
        return int(number) if number.is_integer() else number

    @override
    @admin_action
    async def async_set_native_value(self, value: float) -> None:
        """Change the setting ("20", "-1", "0.5" on the wire)."""
        await self.async_change_setting(f"{value:g}")
