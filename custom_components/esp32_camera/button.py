"""Buttons: reboot the camera, reset its sensor (not the stock firmware), ask for its telemetry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import DOMAIN as BUTTON_DOMAIN, ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .entity import Esp32CameraDescribedEntity, async_add_camera_entities
from .hub.camera_settings import offered_actions
from .hub.devices import camera_unique_id
from .hub.hub import Esp32CameraConfigEntry, Esp32CameraHub
from .hub.permissions import admin_action
from .listener import CameraRecord

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
    # Only for firmware that may have it: the stock firmware always refuses it (unknown command).
    Esp32CameraButtonDescription(
        key="sensor_reset",
        translation_key="sensor_reset",
        entity_category=EntityCategory.CONFIG,
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
    """Add the buttons of every admitted camera, now and when one connects.

    A camera gets a button for each action its firmware takes (`offered_actions`). The reset
    button earlier releases registered (disabled) for a stock camera is removed from the registry.
    """
    registry = er.async_get(hass)

    def buttons(hub: Esp32CameraHub, camera: CameraRecord) -> list[Esp32CameraButton]:
        offered = offered_actions(camera)
        for description in BUTTONS:
            if description.command in offered:
                continue
            unique_id = camera_unique_id(hub.entry.entry_id, camera.camera_id, description.key)
            if entity_id := registry.async_get_entity_id(BUTTON_DOMAIN, DOMAIN, unique_id):
                registry.async_remove(entity_id)
        return [
            Esp32CameraButton(hub, camera, description)
            for description in BUTTONS
            if description.command in offered
        ]

    async_add_camera_entities(hass, entry, async_add_entities, buttons)


class Esp32CameraButton(Esp32CameraDescribedEntity[Esp32CameraButtonDescription], ButtonEntity):
    """A camera action."""

    entity_description: Esp32CameraButtonDescription

    @override
    @admin_action
    async def async_press(self) -> None:
        """Send the command; a refusal or no answer raises a translated error."""
        await self.hub.async_send_command(self.camera.camera_id, self.entity_description.command)
