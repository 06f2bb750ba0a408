"""Base entity of the ESP32 Camera integration."""

from __future__ import annotations

from typing import override

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .hub import Esp32CameraHub, signal_camera_updated
from .listener import CameraRecord


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
