"""Selects: the camera's resolution and its sender timing mode."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import LOGGER
from .entity import (
    Esp32CameraControlDescription,
    Esp32CameraControlEntity,
    async_add_described_entities,
    command_binding,
)
from .hub.hub import Esp32CameraConfigEntry, Esp32CameraHub
from .hub.permissions import admin_action
from .listener import CameraRecord
from .protocol import COMMANDS, RESOLUTIONS, Risk, resolution_by_index, resolution_by_key

# Commands wait for the camera's response: one at a time per platform.
PARALLEL_UPDATES = 1

_RISKS = {Risk.HIGH: "its frames can be corrupt", Risk.CRITICAL: "it can hang the sensor"}


def _resolution_option(wire: str) -> str | None:
    resolution = resolution_by_index(int(wire))
    return resolution.key if resolution else None


def _resolution_wire(option: str) -> str:
    resolution = resolution_by_key(option)
    assert resolution is not None  # HA only passes listed options
    return str(resolution.index)


@dataclass(frozen=True, kw_only=True)
class Esp32CameraSelectDescription(SelectEntityDescription, Esp32CameraControlDescription):
    """A select bound to a setting, with the mapping between options and wire values."""

    option_fn: Callable[[str], str | None] = lambda wire: wire
    wire_fn: Callable[[str], str] = lambda option: option
    warnings: Mapping[str, str] = field(default_factory=dict)
    """Options that are logged with a warning (once per camera) when chosen."""


SELECTS: tuple[Esp32CameraSelectDescription, ...] = (
    Esp32CameraSelectDescription(
        key="resolution",
        translation_key="resolution",
        entity_category=EntityCategory.CONFIG,
        options=[resolution.key for resolution in RESOLUTIONS],
        binding=command_binding("resolution"),
        option_fn=_resolution_option,
        wire_fn=_resolution_wire,
        warnings=MappingProxyType(
            {
                resolution.key: f"{resolution.label} is risky on the OV3660: {_RISKS[resolution.risk]}"
                for resolution in RESOLUTIONS
                if resolution.risk is not Risk.NONE
            }
        ),
    ),
    Esp32CameraSelectDescription(
        key="mode",
        translation_key="mode",
        entity_category=EntityCategory.CONFIG,
        options=sorted(set((COMMANDS["mode"].choices or {}).values())),
        binding=command_binding("mode"),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the selects of every admitted camera, now and when one connects."""
    async_add_described_entities(hass, entry, async_add_entities, Esp32CameraSelect, SELECTS)


class Esp32CameraSelect(Esp32CameraControlEntity[Esp32CameraSelectDescription], SelectEntity):
    """A camera setting with a fixed set of choices."""

    entity_description: Esp32CameraSelectDescription

    def __init__(
        self,
        hub: Esp32CameraHub,
        camera: CameraRecord,
        description: Esp32CameraSelectDescription,
    ) -> None:
        """Create the select; it warns once per risky option."""
        super().__init__(hub, camera, description)
        self._warned: set[str] = set()

    @property
    @override
    def current_option(self) -> str | None:
        """The camera's setting as an option, None while unknown."""
        setting = self.setting
        return None if setting is None else self.entity_description.option_fn(setting)

    @override
    @admin_action
    async def async_select_option(self, option: str) -> None:
        """Send the choice to the camera (risky ones are logged once)."""
        warning = self.entity_description.warnings.get(option)
        if warning is not None and option not in self._warned:
            self._warned.add(option)
            LOGGER.warning("Camera %s: %s", self.camera.camera_id, warning)
        await self.async_change_setting(self.entity_description.wire_fn(option))
