"""Diagnostics: the hub's settings (token redacted), statistics, telemetry, motion and clips."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntry

from .hub.devices import camera_id_of_device
from .hub.hub import Esp32CameraConfigEntry, Esp32CameraHub
from .listener import CameraRecord
from .protocol import total_framings
from .views.camera_payload import camera_payload

TO_REDACT = {CONF_TOKEN}


def _camera(hub: Esp32CameraHub, camera: CameraRecord) -> dict[str, Any]:
    return {
        **camera_payload(hub, camera, er.async_get(hub.hass)),
        # What the user chose, whether motion goes on, and what the analysis costs.
        "motion": hub.motion.stats(camera.camera_id),
        # Clip settings, the ring buffer's frames and memory, open clips, clips written and failed.
        "clips": hub.clips.stats(camera.camera_id),
        "h264_stream": hub.h264.is_enabled(camera.camera_id),
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
        # What the listener refused, by reason, the bytes of unfinished frames it holds, and the
        # log lines devices caused that were not logged (the per-source budget) and their errors.
        "listener": {
            "refusals": dict(hub.listener.refusals.counts),
            "device_log": dict(hub.listener.device_log.counts),
            "frame_budget": {
                "limit": hub.listener.frame_budget.limit,
                "in_flight": hub.listener.frame_budget.in_flight,
                "peak": hub.listener.frame_budget.peak,
            },
        },
        # The ring buffers' memory against the hub's limit, open clips, counts, MP4 conversions.
        "clips": hub.clips.as_dict(),
        # The H.264 transcoders: encoder, readers, restarts, ffmpeg's last errors. Never the
        # streams' credential (nor their URLs, which carry it).
        "h264": hub.h264.as_dict(),
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
