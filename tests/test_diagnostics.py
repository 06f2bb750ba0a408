"""Diagnostics redact the hub token and carry every camera's telemetry."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.hub.devices import camera_device_identifier
from tests.helpers import HUB_TOKEN, jpeg_bytes, wait_for


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    device_registry: dr.DeviceRegistry,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    await camera.send_json(
        {
            "type": "health",
            "model": "OV3660",
            "rssi": -55,
            "uptime": "5s",
            "resolution": "VGA (640x480)",
            "quality": 12,
        }
    )
    await camera.send_frame(jpeg_bytes())
    hub = hub_entry.runtime_data
    await wait_for(lambda: "cam1" in hub.cameras and hub.cameras["cam1"].stats.frames_received == 1)
    await wait_for(lambda: hub.cameras["cam1"].health is not None)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, hub_entry)
    assert diagnostics["entry"]["data"]["token"] == "**REDACTED**"
    assert HUB_TOKEN not in str(diagnostics)
    cam = diagnostics["cameras"]["cam1"]
    assert cam["admission"] == "token"
    assert cam["health"]["model"] == "OV3660"
    assert cam["stats"]["frames_received"] == 1
    # Reported by the camera; nothing chosen in Home Assistant yet.
    assert cam["settings"] == {"resolution": "5", "quality": "12"}
    assert cam["settings_chosen"] == {}
    assert diagnostics["hub"]["connected_cameras"] == 1
    assert diagnostics["listener"]["device_log"] == {"unexpected_errors": 0, "lines_not_logged": 0}
    device = device_registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    per_device = await get_diagnostics_for_device(hass, hass_client, hub_entry, device)
    assert per_device["camera_id"] == "cam1"
    hub_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, hub_entry.entry_id), hub_entry.entry_id
    )
    assert hub_device is not None
    hub_diagnostics = await get_diagnostics_for_device(hass, hass_client, hub_entry, hub_device)
    assert hub_diagnostics["entry"]["data"]["token"] == "**REDACTED**"
