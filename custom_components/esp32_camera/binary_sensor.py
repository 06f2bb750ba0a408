"""Binary sensor: whether a camera is connected."""

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

from .entity import Esp32CameraDescribedEntity, async_add_described_entities
from .hub import Esp32CameraConfigEntry

PARALLEL_UPDATES = 0

# Named by its device class.
CONNECTIVITY = BinarySensorEntityDescription(
    key="connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a connectivity sensor for every admitted camera."""
    async_add_described_entities(
        hass, entry, async_add_entities, Esp32CameraConnectedSensor, (CONNECTIVITY,)
    )


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
