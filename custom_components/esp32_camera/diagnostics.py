"""Diagnostics: the hub's settings (token redacted), statistics and every camera's telemetry."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from .devices import camera_id_of_device
from .hub import Esp32CameraConfigEntry, Esp32CameraHub
from .listener import CameraRecord
from .protocol import COMMANDS, total_framings

TO_REDACT = {CONF_TOKEN}


def _camera(hub: Esp32CameraHub, camera: CameraRecord) -> dict[str, Any]:
    chosen = hub.settings.chosen(camera.camera_id)
    return {
        "camera_id": camera.camera_id,
        "address": camera.address,
        "name": camera.name,
        "firmware": camera.firmware,
        "admission": camera.admission,
        "connected": camera.connected,
        "reconnects": camera.reconnects,
        "info": None if camera.info is None else asdict(camera.info),
        "health": None if camera.health is None else asdict(camera.health),
        "last_status": camera.last_status,
        "stats": camera.stats.as_dict(),
        "queued_commands": camera.queued_commands,
        # What the user chose (re-applied after a reboot) and what the camera runs, where known.
        "settings_chosen": dict(chosen),
        "settings_current": {
            name: value
            for name in COMMANDS
            if (value := hub.settings.current(camera.camera_id, name)) is not None
        },
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: Esp32CameraConfigEntry
) -> dict[str, Any]:
    """Return the hub's diagnostics."""
    hub = entry.runtime_data
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "hub": {
            **hub.hub_statistics(),
            "framings": total_framings(camera.stats for camera in hub.cameras.values()),
        },
        "cameras": {camera_id: _camera(hub, camera) for camera_id, camera in hub.cameras.items()},
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: Esp32CameraConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    """Return one camera's diagnostics (or the hub's for the hub device)."""
    hub = entry.runtime_data
    camera_id = camera_id_of_device(device, entry.entry_id)
    if camera_id is not None and camera_id in hub.cameras:
        return _camera(hub, hub.cameras[camera_id])
    return await async_get_config_entry_diagnostics(hass, entry)
