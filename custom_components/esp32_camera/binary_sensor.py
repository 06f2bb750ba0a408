"""Binary sensors: whether a camera is connected, and whether it sees motion."""

from __future__ import annotations

from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import (
    Esp32CameraDescribedEntity,
    Esp32CameraMotionEntity,
    async_add_described_entities,
)
from .hub.hub import Esp32CameraConfigEntry

PARALLEL_UPDATES = 0

# Both named by their device class.
CONNECTIVITY = BinarySensorEntityDescription(
    key="connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)
MOTION = BinarySensorEntityDescription(key="motion", device_class=BinarySensorDeviceClass.MOTION)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a connectivity and a motion sensor for every admitted camera."""
    for entity_class, description in (
        (Esp32CameraConnectedSensor, CONNECTIVITY),
        (Esp32CameraMotionSensor, MOTION),
    ):
        async_add_described_entities(hass, entry, async_add_entities, entity_class, (description,))


class Esp32CameraConnectedSensor(
    Esp32CameraDescribedEntity[BinarySensorEntityDescription], BinarySensorEntity
):
    """On while the camera has an open socket."""

    entity_description: BinarySensorEntityDescription
    _always_available = True  # being disconnected is its state

    @property
    @override
    def is_on(self) -> bool:
        """Whether the camera is connected."""
        return self.camera.connected


class Esp32CameraMotionSensor(
    Esp32CameraMotionEntity[BinarySensorEntityDescription], BinarySensorEntity
):
    """On while motion goes on at the camera: written when it starts and when it ends."""

    entity_description: BinarySensorEntityDescription

    @property
    @override
    def is_on(self) -> bool:
        """Whether motion goes on."""
        return self.hub.motion.is_active(self.camera.camera_id)
