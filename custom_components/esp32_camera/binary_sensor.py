"""Binary sensor: whether a camera is connected."""

from __future__ import annotations

from typing import override

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import Esp32CameraEntity, async_add_camera_entities
from .hub import Esp32CameraConfigEntry, Esp32CameraHub
from .listener import CameraRecord

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a connectivity sensor for every admitted camera."""
    async_add_camera_entities(
        hass,
        entry,
        async_add_entities,
        lambda hub, camera: [Esp32CameraConnectedSensor(hub, camera)],
    )


class Esp32CameraConnectedSensor(Esp32CameraEntity, BinarySensorEntity):
    """On while the camera has an open socket."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, hub: Esp32CameraHub, camera: CameraRecord) -> None:
        """Create the sensor (named by its device class)."""
        super().__init__(hub, camera, "connected")

    @property
    @override
    def available(self) -> bool:
        """Always available: being disconnected is its state."""
        return True

    @property
    @override
    def is_on(self) -> bool:
        """Whether the camera is connected."""
        return self.camera.connected
