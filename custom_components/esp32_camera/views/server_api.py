"""The original server's JSON API, as views on Home Assistant's HTTP server (HA authentication).

`/api/esp32_camera/stats`, `/health`, `/resolutions` and `/commands`. Views cannot be unregistered,
so they are registered once from `async_setup` and look the loaded hubs up per request. The
token-protected routes for third-party apps live on the control port (`control_port.py`).
"""

from __future__ import annotations

from http import HTTPStatus
import time
from typing import Any

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.loader import async_get_integration
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..hub.hub import Esp32CameraHub, loaded_hubs
from ..protocol import command_table, resolution_table, total_framings
from .camera_payload import camera_payload, for_user

API_PATH = f"/api/{DOMAIN}"


def _seconds_since(moment: float | None) -> float | None:
    """Return the seconds since a monotonic moment, rounded for people (None stays None)."""
    return None if moment is None else round(time.monotonic() - moment, 1)


def _hub_stats(hub: Esp32CameraHub, registry: er.EntityRegistry) -> dict[str, Any]:
    return {
        "entry_id": hub.entry.entry_id,
        "title": hub.entry.title,
        "server": {
            **hub.hub_statistics(),
            # Frames by framing; "chunked" is the original server's "chunked frames".
            "framings": total_framings(camera.stats for camera in hub.cameras.values()),
        },
        "saver": hub.saver.as_dict(),
        "cameras": {
            camera_id: camera_payload(hub, camera, registry)
            for camera_id, camera in hub.cameras.items()
        },
    }


class StatsView(HomeAssistantView):
    """Server statistics, saver state and every camera, per loaded hub."""

    url = f"{API_PATH}/stats"
    name = f"api:{DOMAIN}:stats"

    async def get(self, request: web.Request) -> web.Response:
        """Return the statistics of every loaded hub; addresses and paths to administrators only."""
        hass = request.app[KEY_HASS]
        registry = er.async_get(hass)
        hubs = for_user(
            [_hub_stats(hub, registry) for hub in loaded_hubs(hass)], request[KEY_HASS_USER]
        )
        return self.json({"timestamp": dt_util.utcnow().isoformat(), "hubs": hubs})


class HealthView(HomeAssistantView):
    """Status, uptime, timestamp and version, like the original `/api/health`."""

    url = f"{API_PATH}/health"
    name = f"api:{DOMAIN}:health"

    async def get(self, request: web.Request) -> web.Response:
        """Return `ok` while a hub listens, else `not_loaded` with status 503."""
        hass = request.app[KEY_HASS]
        integration = await async_get_integration(hass, DOMAIN)
        hubs = [
            {
                "entry_id": hub.entry.entry_id,
                "title": hub.entry.title,
                "uptime": _seconds_since(hub.started_at),
                "connected_cameras": hub.hub_statistics()["connected_cameras"],
            }
            for hub in loaded_hubs(hass)
        ]
        return self.json(
            {
                "status": "ok" if hubs else "not_loaded",
                "uptime": max((hub["uptime"] or 0.0 for hub in hubs), default=None),
                "timestamp": dt_util.utcnow().isoformat(),
                "version": str(integration.version),
                "hubs": hubs,
            },
            HTTPStatus.OK if hubs else HTTPStatus.SERVICE_UNAVAILABLE,
        )


class ResolutionsView(HomeAssistantView):
    """The resolution table with each size's risk, and the default."""

    url = f"{API_PATH}/resolutions"
    name = f"api:{DOMAIN}:resolutions"

    async def get(self, request: web.Request) -> web.Response:
        """Return the table; it needs no hub."""
        return self.json(resolution_table())


class CommandsView(HomeAssistantView):
    """The command table: value type, range or choices, description."""

    url = f"{API_PATH}/commands"
    name = f"api:{DOMAIN}:commands"

    async def get(self, request: web.Request) -> web.Response:
        """Return the table; it needs no hub."""
        return self.json({"commands": command_table()})
