"""Baseline cameras: Home Assistant's default stream path, for the latency benchmark.

A `PullCamera` implements only `async_camera_image` (the source camera's latest still), so
`camera_proxy_stream` serves it through Home Assistant's default MJPEG loop: fetch a still every
`frame_interval` (0.5 s by default), send it when its bytes differ from the previous one.
"""

from __future__ import annotations

from homeassistant.components.camera import Camera, async_get_image
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType

from . import DATA_ADD_PULL_CAMERAS


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Keep a way to add pull cameras: the benchmark knows their sources' entity ids later."""

    def add_pull_cameras(sources: list[str]) -> None:
        async_add_entities([PullCamera(source) for source in sources])

    hass.data[DATA_ADD_PULL_CAMERAS] = add_pull_cameras


class PullCamera(Camera):
    """Serve `source`'s latest still the way a polling camera integration does."""

    _attr_should_poll = False

    def __init__(self, source: str) -> None:
        """Mirror the camera entity `source` as `camera.pull_<its object id>`."""
        super().__init__()
        self.source = source
        self._attr_name = f"pull {source.split('.', 1)[1]}"

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return the source camera's latest image."""
        return (await async_get_image(self.hass, self.source)).content
