"""Base entity of the ESP32 Camera integration."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import override

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .hub import Esp32CameraConfigEntry, Esp32CameraHub, signal_camera_added, signal_camera_updated
from .listener import CameraRecord


def async_add_camera_entities(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    create: Callable[[Esp32CameraHub, CameraRecord], Iterable[Entity]],
) -> None:
    """Add a platform's entities for every admitted camera, now and whenever one connects."""
    hub = entry.runtime_data
    known: set[str] = set()

    @callback
    def add(camera: CameraRecord) -> None:
        if camera.camera_id not in known and camera.admitted:
            known.add(camera.camera_id)
            async_add_entities(create(hub, camera))

    for camera in hub.cameras.values():
        add(camera)
    entry.async_on_unload(async_dispatcher_connect(hass, signal_camera_added(entry.entry_id), add))


class Esp32CameraEntity(Entity):
    """An entity of one camera, updated by the hub's (throttled) per-camera signal."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: Esp32CameraHub, camera: CameraRecord, key: str) -> None:
        """Bind the entity to its camera."""
        self.hub = hub
        self.camera = camera
        self._attr_unique_id = f"{camera.camera_id}_{key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, camera.camera_id)})

    @property
    @override
    def available(self) -> bool:
        """Available while the camera is connected and admitted."""
        return self.camera.connected and self.camera.admitted

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the camera's updates."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_camera_updated(self.hub.entry.entry_id, self.camera.camera_id),
                self.async_write_ha_state,
            )
        )
