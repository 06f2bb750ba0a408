"""The hub's devices in the device registry: the hub itself and one device per camera.

A camera id is unique within its hub only (a camera may move to another hub, two hubs may each
have a `cam1`): a camera's device identifier and its entities' unique ids start with its hub's
entry id. Entries of earlier releases used the camera id alone (`async_migrate_unique_ids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo

from ..const import DOMAIN, MANUFACTURER

if TYPE_CHECKING:
    from ..listener import CameraRecord

# A camera device's model until its `health` names the sensor.
DEFAULT_MODEL = "ESP32-S3 camera"
HUB_MODEL = "ESP32 Camera hub"
CAMERA_ENTITY_KEY = "camera"  # the unique id's key of a camera's camera entity


def default_device_name(camera_id: str) -> str:
    """Return the name of a camera's device when the camera sent none."""
    return f"ESP32 camera {camera_id}"


# A name the user gives a camera where it is approved: the listener's limit for a sent name.
MAX_NAME_LENGTH = 64


def suggested_name(known: Sequence[str]) -> str:
    """Return "ESP32 camera N" for a hub whose cameras have the names `known`.

    N counts on from the cameras the hub has, past any name taken already. Suggested where a
    stock camera is approved: its address would name it by something that changes with DHCP
    and reads badly in entity ids (`camera.esp32_camera_192_168_1_50`).
    """
    used = {name.casefold() for name in known}
    number = len(known) + 1
    while (name := f"ESP32 camera {number}").casefold() in used:
        number += 1
    return name


def camera_device_identifier(entry_id: str, camera_id: str) -> tuple[str, str]:
    """Return the device registry identifier of a hub's camera."""
    return (DOMAIN, f"{entry_id}_{camera_id}")


def camera_unique_id(entry_id: str, camera_id: str, key: str) -> str:
    """Return the unique id of a hub's camera's entity `key`."""
    return f"{entry_id}_{camera_id}_{key}"


def camera_entity_id(registry: er.EntityRegistry, entry_id: str, camera_id: str) -> str | None:
    """Return the entity id of a hub's camera's camera entity, None if it has none."""
    return registry.async_get_entity_id(
        "camera", DOMAIN, camera_unique_id(entry_id, camera_id, CAMERA_ENTITY_KEY)
    )


def camera_id_of_device(device: dr.BaseDeviceEntry, entry_id: str) -> str | None:
    """Return the camera id of a hub's camera device; None for the hub device or another's."""
    prefix = f"{entry_id}_"
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier.startswith(prefix):
            return identifier.removeprefix(prefix)
    return None


def camera_name(hass: HomeAssistant, entry_id: str, camera: CameraRecord) -> str:
    """Return a camera's name as Home Assistant shows its device: the user's name first.

    Read from the device registry each time, so every view of the camera (the panel, the card,
    the HTTP API) follows a rename in Home Assistant at once, with no copy to keep in step.
    A camera known from the store may have a device Home Assistant named after the hub, so the
    camera's own name comes before the registry's `name`.
    """
    device = dr.async_get(hass).async_get_device_by_identifier(
        camera_device_identifier(entry_id, camera.camera_id), entry_id
    )
    return (
        (device and device.name_by_user)
        or camera.name
        or (device and device.name)
        or camera.camera_id
    )


def hub_device_info(entry_id: str, title: str) -> DeviceInfo:
    """Return the hub's own device, as its entities and the hub's start register it."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry_id)},
        manufacturer=MANUFACTURER,
        model=HUB_MODEL,
        name=title,
        entry_type=dr.DeviceEntryType.SERVICE,
    )


def register_hub_device(hass: HomeAssistant, entry_id: str, title: str) -> str:
    """Create (or update) the hub's own device; return its device id."""
    return (
        dr.async_get(hass)
        .async_get_or_create(config_entry_id=entry_id, **hub_device_info(entry_id, title))
        .id
    )


def camera_device_info(
    hass: HomeAssistant, entry_id: str, camera: CameraRecord, model: str | None
) -> DeviceInfo:
    """Return a camera's whole device, as its entities and the hub register it.

    Whole, so that an entity added before the hub registered its device (after an unclean stop,
    the registries not yet written) still names it: its entity id follows the camera's name. A
    model not reported yet keeps the registered one.
    """
    registry = dr.async_get(hass)
    identifier = camera_device_identifier(entry_id, camera.camera_id)
    if model is None:  # keep what an earlier health reported until this session's arrives
        existing = registry.async_get_device_by_identifier(identifier, entry_id)
        model = (existing.model if existing else None) or DEFAULT_MODEL
    info = DeviceInfo(
        identifiers={identifier},
        manufacturer=MANUFACTURER,
        model=model,
        name=camera.name or default_device_name(camera.camera_id),
        sw_version=camera.firmware,
    )
    # The hub registers its device at start, before any entity is added.
    if hub := registry.async_get_device_by_identifier((DOMAIN, entry_id), entry_id):
        info["via_device_id"] = hub.id
    return info


def register_camera_device(hass: HomeAssistant, entry_id: str, info: DeviceInfo) -> None:
    """Create (or update) a camera's device from its `camera_device_info`."""
    dr.async_get(hass).async_get_or_create(config_entry_id=entry_id, **info)


async def async_migrate_unique_ids(hass: HomeAssistant, entry_id: str) -> None:
    """Prefix a hub's camera devices' identifiers and their entities' unique ids (entry 1.1).

    The registry entries stay the same (device ids, entity ids, names, history); only the
    identifiers change. The hub's own device and entities had its entry id already.
    """
    prefix = f"{entry_id}_"
    device_registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(device_registry, entry_id):
        ours = {(domain, value) for domain, value in device.identifiers if domain == DOMAIN}
        cameras = {
            camera_device_identifier(entry_id, camera_id)
            for _, camera_id in ours
            if camera_id != entry_id and not camera_id.startswith(prefix)
        }
        if cameras:
            device_registry.async_update_device(
                device.id, new_identifiers=(device.identifiers - ours) | cameras
            )

    @callback
    def new_unique_id(entity: er.RegistryEntry) -> dict[str, Any] | None:
        # A camera's `<camera id>_<key>` becomes camera_unique_id's `<entry id>_<camera id>_<key>`.
        if entity.unique_id.startswith(prefix):
            return None
        return {"new_unique_id": f"{prefix}{entity.unique_id}"}

    await er.async_migrate_entries(hass, entry_id, new_unique_id)
