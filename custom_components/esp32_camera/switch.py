"""Switches: camera settings, continuous saving, motion detection, recording on motion, H.264."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
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

# Commands wait for the camera's response: one at a time per platform.
PARALLEL_UPDATES = 1
ON, OFF = "1", "0"  # the firmware's boolean values


@dataclass(frozen=True, kw_only=True)
class Esp32CameraSwitchDescription(SwitchEntityDescription, Esp32CameraControlDescription):
    """A switch bound to an on/off setting."""

    available_fn: Callable[[Esp32CameraHub], bool] | None = None
    """Whether the hub can serve the setting now (None: always; the camera's own rule applies)."""


def _command_switch(command: str) -> Esp32CameraSwitchDescription:
    return Esp32CameraSwitchDescription(
        key=command,
        translation_key=command,
        entity_category=EntityCategory.CONFIG,
        binding=command_binding(command),
    )


def _saving(hub: Esp32CameraHub, camera_id: str) -> str:
    return ON if hub.saver.is_enabled(camera_id) else OFF


async def _set_saving(hub: Esp32CameraHub, camera_id: str, value: str) -> None:
    await hub.async_set_saving(camera_id, value == ON)


SAVING = saver_binding(_saving, _set_saving)


def _h264(hub: Esp32CameraHub, camera_id: str) -> str:
    return ON if hub.h264.is_enabled(camera_id) else OFF


async def _set_h264(hub: Esp32CameraHub, camera_id: str, value: str) -> None:
    await hub.h264.async_set_enabled(camera_id, value == ON)


# The hub's choice, kept in its store; the camera entity's features follow its camera signal.
H264 = ControlBinding(read_fn=_h264, write_fn=_set_h264, needs_camera=False)

SWITCHES: tuple[Esp32CameraSwitchDescription, ...] = (
    _command_switch("hmirror"),
    _command_switch("vflip"),
    _command_switch("exposure"),
    _command_switch("gain"),
    _command_switch("whitebalance"),
    Esp32CameraSwitchDescription(key="saving", translation_key="saving", binding=SAVING),
    Esp32CameraSwitchDescription(
        key="motion_detection",
        translation_key="motion_detection",
        entity_category=EntityCategory.CONFIG,
        binding=motion_binding("enabled", lambda value: value == ON),
    ),
    Esp32CameraSwitchDescription(
        key="record_on_motion",
        translation_key="record_on_motion",
        binding=recording_binding("record", lambda value: value == ON),
    ),
    Esp32CameraSwitchDescription(
        key="h264_stream",
        translation_key="h264_stream",
        entity_category=EntityCategory.CONFIG,
        binding=H264,
        # Without Home Assistant's ffmpeg there is no transcoder (logged once; see the README).
        available_fn=lambda hub: hub.h264.ffmpeg() is not None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches of every admitted camera, now and when one connects."""
    async_add_described_entities(hass, entry, async_add_entities, Esp32CameraSwitch, SWITCHES)


class Esp32CameraSwitch(Esp32CameraControlEntity[Esp32CameraSwitchDescription], SwitchEntity):
    """An on/off camera setting."""

    entity_description: Esp32CameraSwitchDescription

    @property
    @override
    def available(self) -> bool:
        """Available as its camera's controls are, and while the hub can serve the setting."""
        available_fn = self.entity_description.available_fn
        if available_fn is not None and not available_fn(self.hub):
            self.hub.h264.async_no_ffmpeg()
            return False
        return super().available

    @property
    @override
    def is_on(self) -> bool | None:
        """Whether the setting is on, None while unknown."""
        return None if (setting := self.setting) is None else setting == ON

    @override
    @admin_action
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn the setting on."""
        await self.async_change_setting(ON)

    @override
    @admin_action
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn the setting off."""
        await self.async_change_setting(OFF)
