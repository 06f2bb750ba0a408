"""The hub's devices in the device registry: the hub itself and one device per camera."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from ..const import DOMAIN, MANUFACTURER

# A camera device's model until its `health` names the sensor.
DEFAULT_MODEL = "ESP32-S3 camera"


def default_device_name(camera_id: str) -> str:
    """Return the name of a camera's device when the camera sent none."""
    return f"ESP32 camera {camera_id}"


def camera_id_of_device(device: dr.BaseDeviceEntry, entry_id: str) -> str | None:
    """Return the camera id of a hub's camera device; None for the hub device or another's."""
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier != entry_id:
            return identifier
    return None


def register_hub_device(hass: HomeAssistant, entry_id: str, title: str) -> str:
    """Create (or update) the hub's own device; return its device id."""
    return (
        dr.async_get(hass)
        .async_get_or_create(
            config_entry_id=entry_id,
            identifiers={(DOMAIN, entry_id)},
            manufacturer=MANUFACTURER,
            model="ESP32 Camera hub",
            name=title,
            entry_type=dr.DeviceEntryType.SERVICE,
        )
        .id
    )


def register_camera_device(
    hass: HomeAssistant,
    entry_id: str,
    hub_device_id: str | None,
    *,
    camera_id: str,
    name: str | None,
    firmware: str | None,
    model: str | None,
) -> None:
    """Create (or update) a camera's device; a model not reported yet keeps the earlier one."""
    registry = dr.async_get(hass)
    identifier = (DOMAIN, camera_id)
    if model is None:  # keep what an earlier health reported until this session's arrives
        existing = registry.async_get_device_by_identifier(identifier, entry_id)
        model = (existing.model if existing else None) or DEFAULT_MODEL
    registry.async_get_or_create(
        config_entry_id=entry_id,
        identifiers={identifier},
        manufacturer=MANUFACTURER,
        model=model,
        name=name or default_device_name(camera_id),
        sw_version=firmware,
        via_device_id=hub_device_id,
    )
