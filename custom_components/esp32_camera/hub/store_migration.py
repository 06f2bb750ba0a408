"""The first start of a hub with a store: take what earlier releases kept elsewhere.

Earlier releases kept a camera's chosen settings and continuous saving in the restore data of
its control entities (`{"value": <wire value>}`), approvals in the hub entry's options, refusals as
ignored discovery entries, and the known cameras as devices. Nothing a user chose is lost.
"""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_IGNORE, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    restore_state,
)

from ..const import CONF_APPROVED_ADDRESSES, DOMAIN, LOGGER
from ..protocol import COMMANDS, wire_value
from .camera_settings import ACTION_COMMANDS
from .devices import camera_id_of_device, camera_unique_id, default_device_name
from .store import StoredCamera, StoredHub, empty_camera, empty_hub

# The keys of the controls whose restore data held the hub's own settings.
SAVING_KEY, SAVING_RATE_KEY = "saving", "saving_rate"


def stored_hub_from_earlier_release(hass: HomeAssistant, entry: ConfigEntry) -> StoredHub:
    """Build a hub's store from the devices, restore data, options and ignored entries."""
    data = empty_hub()
    device_registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    camera_of_device: dict[str, str] = {}
    for device in devices:
        if (camera_id := camera_id_of_device(device, entry.entry_id)) is None:
            continue
        camera_of_device[device.id] = camera_id
        camera = data["cameras"][camera_id] = empty_camera()
        camera["name"] = device.name if device.name != default_device_name(camera_id) else None
        camera["firmware"] = device.sw_version
    last_states = restore_state.async_get(hass).last_states
    for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
        camera_id = camera_of_device.get(entity.device_id or "")
        stored = last_states.get(entity.entity_id)
        if camera_id is None or stored is None or stored.extra_data is None:
            continue
        key = entity.unique_id.removeprefix(camera_unique_id(entry.entry_id, camera_id, ""))
        value = stored.extra_data.as_dict().get("value")
        if isinstance(value, str):
            _take_restored(data["cameras"][camera_id], camera_id, key, value)
    for address in entry.options.get(CONF_APPROVED_ADDRESSES, []):
        # A stock camera's id is its address.
        data["approved"][address] = address if address in data["cameras"] else None
    data["refused"] = sorted(
        ignored.unique_id
        for ignored in hass.config_entries.async_entries(DOMAIN, include_ignore=True)
        if ignored.source == SOURCE_IGNORE and ignored.unique_id
    )
    return data


def _take_restored(camera: StoredCamera, camera_id: str, key: str, value: str) -> None:
    """Take one control's restored value; one that is no longer valid is left out."""
    try:
        if key == SAVING_KEY:
            camera["saving"] = value == "1"
        elif key == SAVING_RATE_KEY:
            camera["saving_rate"] = max(0.0, float(value))
        elif key in COMMANDS and key not in ACTION_COMMANDS:
            camera["settings"][key] = wire_value(key, value)
    except ValueError as err:  # CommandValidationError too
        LOGGER.debug("Not keeping the restored %s of %s: %s", key, camera_id, err)
