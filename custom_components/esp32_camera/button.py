"""Buttons: reboot the camera, reset its sensor, ask for its telemetry now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import Esp32CameraDescribedEntity, async_add_described_entities
from .hub.hub import Esp32CameraConfigEntry
from .hub.permissions import admin_action

# Commands wait for the camera's response: one at a time per platform.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class Esp32CameraButtonDescription(ButtonEntityDescription):
    """A button that sends one firmware command."""

    command: str


BUTTONS: tuple[Esp32CameraButtonDescription, ...] = (
    Esp32CameraButtonDescription(
        key="reboot",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        command="reboot",
    ),
    Esp32CameraButtonDescription(
        key="sensor_reset",
        translation_key="sensor_reset",
        entity_category=EntityCategory.CONFIG,
        # The stock firmware refuses it (unknown command): only for firmware that has it.
        entity_registry_enabled_default=False,
        command="sensor_reset",
    ),
    Esp32CameraButtonDescription(
        key="stats",
        translation_key="stats",
        entity_category=EntityCategory.DIAGNOSTIC,
        command="stats",
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons of every admitted camera, now and when one connects."""
    async_add_described_entities(hass, entry, async_add_entities, Esp32CameraButton, BUTTONS)


class Esp32CameraButton(Esp32CameraDescribedEntity[Esp32CameraButtonDescription], ButtonEntity):
    """A camera action."""

    entity_description: Esp32CameraButtonDescription

    @override
    @admin_action
    async def async_press(self) -> None:
        """Send the command; a refusal or no answer raises a translated error."""
        await self.hub.async_send_command(self.camera.camera_id, self.entity_description.command)
