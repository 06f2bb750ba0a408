"""Camera entity: the latest pushed frame as still image, a pushed MJPEG stream, and H.264.

With the camera's "H.264 stream" switch on (and Home Assistant's ffmpeg there), the entity has
`CameraEntityFeature.STREAM` and `stream_source()` is the hub's `/h264/<camera>.ts` URL: Home
Assistant's stream (HLS), go2rtc (WebRTC), HomeKit and `camera.record` read it. Off: MJPEG only.
"""

from __future__ import annotations

from typing import override

from aiohttp import web
from homeassistant.components.camera import Camera
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_CONTROL_PORT, STILL_WAIT
from .entity import Esp32CameraEntity, async_add_camera_entity
from .hub.devices import CAMERA_ENTITY_KEY
from .hub.hub import Esp32CameraConfigEntry, Esp32CameraHub
from .listener import CameraRecord
from .views.h264_stream import stream_url
from .views.mjpeg import async_stream_camera

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a camera entity for every admitted camera, now and when one connects."""
    async_add_camera_entity(hass, entry, async_add_entities, Esp32Camera)


class Esp32Camera(Esp32CameraEntity, Camera):
    """An ESP32 camera; its name is the device's."""

    _attr_name = None

    def __init__(self, hub: Esp32CameraHub, camera: CameraRecord) -> None:
        """Initialise both bases (Camera sets up access tokens)."""
        Esp32CameraEntity.__init__(self, hub, camera, CAMERA_ENTITY_KEY)
        Camera.__init__(self)

    @override
    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return the latest frame (HA's camera proxy scales it when asked)."""
        frame = await self.hub.frames.async_latest_frame(self.camera.camera_id, timeout=STILL_WAIT)
        return None if frame is None else bytes(frame.data)

    @override
    async def handle_async_mjpeg_stream(self, request: web.Request) -> web.StreamResponse | None:
        """Push every frame to the viewer as it arrives."""
        return await async_stream_camera(request, self.hub, self.camera.camera_id)

    @property
    @override
    def supported_features(self) -> CameraEntityFeature:
        """STREAM while the camera's H.264 stream is switched on (the camera follows a change)."""
        if self.hub.h264.is_offered(self.camera.camera_id):
            return CameraEntityFeature.STREAM
        return CameraEntityFeature(0)

    @override
    async def stream_source(self) -> str | None:
        """Return the hub's H.264 URL of the camera, None while its switch is off."""
        if not self.hub.h264.is_offered(self.camera.camera_id):
            return None
        data = self.hub.entry.data
        return stream_url(self.hub, self.camera.camera_id, data[CONF_HOST], data[CONF_CONTROL_PORT])
