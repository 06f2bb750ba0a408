"""The ESP32 Camera integration: a hub that receives pushed JPEG frames from ESP32 cameras."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType

from . import websocket_api
from .const import CONF_EXPOSE_HTTP, DOMAIN
from .hub.devices import async_migrate_unique_ids, camera_id_of_device
from .hub.hub import Esp32CameraConfigEntry, Esp32CameraHub
from .hub.repair_issues import async_delete_issue, async_raise_issue
from .hub.store import async_remove_store
from .listener import ListenerBindError
from .services import async_setup_services
from .views import async_register_views
from .views.control_port import async_add_control_routes
from .views.h264_stream import async_add_h264_route
from .views.panel import async_register_panel, async_unregister_panel

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CAMERA,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up what outlives config entries (actions, HTTP views)."""
    async_setup_services(hass)
    async_register_views(hass)
    websocket_api.async_setup(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: Esp32CameraConfigEntry) -> bool:
    """Migrate an entry of an earlier release; False (not loaded) for one of a later release."""
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        # 1.2: a camera's device identifier and entity unique ids start with the hub's entry id.
        await async_migrate_unique_ids(hass, entry.entry_id)
        hass.config_entries.async_update_entry(entry, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: Esp32CameraConfigEntry) -> bool:
    """Start the hub's listeners and its entities."""
    hub = Esp32CameraHub(hass, entry)
    if hub.options[CONF_EXPOSE_HTTP]:  # routes are added before the listener starts
        async_add_control_routes(hub)
    async_add_h264_route(hub)  # the H.264 streams: each camera's switch, not expose_http
    try:
        await hub.async_start()
    except ListenerBindError as err:
        await hub.async_stop()
        async_raise_issue(
            hass,
            f"port_in_use_{entry.entry_id}",
            "port_in_use",
            {"port": str(err.port), "title": entry.title},
            severity=ir.IssueSeverity.ERROR,
        )
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="port_in_use",
            translation_placeholders={"port": str(err.port), "error": str(err.error)},
        ) from err
    async_delete_issue(hass, f"port_in_use_{entry.entry_id}")
    entry.runtime_data = hub
    entry.async_on_unload(hub.async_stop)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await async_register_panel(hass, entry.entry_id)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: Esp32CameraConfigEntry) -> bool:
    """Unload the entities; the hub's listeners stop through async_on_unload."""
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        async_unregister_panel(hass, entry.entry_id)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: Esp32CameraConfigEntry) -> None:
    """Delete the hub's store, and the busy-port issue of an entry removed while retrying."""
    async_delete_issue(hass, f"port_in_use_{entry.entry_id}")
    async_delete_issue(hass, f"store_repaired_{entry.entry_id}")
    await async_remove_store(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: Esp32CameraConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a camera that is not connected (never the hub itself); forget it."""
    camera_id = camera_id_of_device(device, entry.entry_id)
    return camera_id is not None and await entry.runtime_data.async_remove_camera(camera_id)
