"""What the user chose, kept across restarts and upgrades: one versioned `Store` per hub.

Per camera: its chosen settings (wire values, re-applied when it connects), continuous saving
on/off and its rate, its motion detection settings and its motion zones and mask areas (a
record without them, from an earlier release, gets the defaults), and what the hub knows of it (name, firmware); for the hub: the approved
addresses (address -> the camera id it was approved as, when known) and the refused ones.
Entities, the panel, the actions and the HTTP API all change this state through the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from .const import DOMAIN

STORAGE_VERSION = 1
# Writes are gathered: a slider dragged from the panel writes the file once.
SAVE_DELAY = 1.0


class StoredCamera(TypedDict):
    """One camera's record in the store."""

    name: str | None
    firmware: str | None
    settings: dict[str, str]
    saving: bool
    saving_rate: float
    # The motion settings chosen (enabled, sensitivity, ..., zones and mask as lists of
    # {"name": str, "points": [[x, y], ...]}); {}: the defaults.
    motion: dict[str, Any]


class StoredHub(TypedDict):
    """The whole store of one hub."""

    cameras: dict[str, StoredCamera]
    approved: dict[str, str | None]
    refused: list[str]


def storage_key(entry_id: str) -> str:
    """Return the storage key of a hub's store (`.storage/esp32_camera.<entry id>`)."""
    return f"{DOMAIN}.{entry_id}"


def empty_camera() -> StoredCamera:
    """Return the record of a camera nothing was chosen for."""
    return StoredCamera(
        name=None, firmware=None, settings={}, saving=False, saving_rate=0.0, motion={}
    )


def empty_hub() -> StoredHub:
    """Return the store of a hub nothing was chosen for."""
    return StoredHub(cameras={}, approved={}, refused=[])


async def async_remove_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed hub's store (its choices go with it)."""
    await Store[StoredHub](hass, STORAGE_VERSION, storage_key(entry_id)).async_remove()


class HubStore:
    """The hub's stored choices, in memory and on disk (written a moment after each change)."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store; `async_load` reads it."""
        self._store: Store[StoredHub] = Store(hass, STORAGE_VERSION, storage_key(entry_id))
        self._data = empty_hub()

    async def async_load(self, migrate: Any) -> None:
        """Read the store; when there is none yet, start it from `migrate()` (today's data).

        `migrate` is a callable returning a `StoredHub`, run only on the first start.
        """
        stored = await self._store.async_load()
        if stored is None:
            self._data = migrate()
            await self._store.async_save(self._data)
            return
        self._data = StoredHub(
            cameras={
                camera_id: StoredCamera(**{**empty_camera(), **camera})
                for camera_id, camera in stored.get("cameras", {}).items()
            },
            approved=dict(stored.get("approved", {})),
            refused=list(stored.get("refused", [])),
        )

    async def async_flush(self) -> None:
        """Write pending changes now (the hub stops: a reload reads the store again at once)."""
        await self._store.async_save(self._data)

    @callback
    def _async_changed(self) -> None:
        self._store.async_delay_save(lambda: self._data, SAVE_DELAY)

    # Cameras -------------------------------------------------------------------------------------

    @property
    def cameras(self) -> Mapping[str, StoredCamera]:
        """The known cameras by id (read only: change them through the methods below)."""
        return self._data["cameras"]

    def _camera(self, camera_id: str) -> StoredCamera:
        return self._data["cameras"].setdefault(camera_id, empty_camera())

    @callback
    def async_note_camera(self, camera_id: str, name: str | None, firmware: str | None) -> None:
        """Record a camera the hub admitted (its name and firmware when it sent them)."""
        known = camera_id in self._data["cameras"]
        camera = self._camera(camera_id)
        new_name = name or camera["name"]
        new_firmware = firmware or camera["firmware"]
        if known and (camera["name"], camera["firmware"]) == (new_name, new_firmware):
            return
        camera["name"], camera["firmware"] = new_name, new_firmware
        self._async_changed()

    @callback
    def async_forget_camera(self, camera_id: str) -> None:
        """Drop a camera's record and everything chosen for it."""
        if self._data["cameras"].pop(camera_id, None) is not None:
            self._async_changed()

    def chosen_settings(self, camera_id: str) -> Mapping[str, str]:
        """Return the settings chosen for a camera (read only)."""
        camera = self._data["cameras"].get(camera_id)
        return {} if camera is None else camera["settings"]

    @callback
    def async_choose_setting(self, camera_id: str, name: str, wire: str) -> None:
        """Keep a setting the user chose (a wire value)."""
        settings = self._camera(camera_id)["settings"]
        if settings.get(name) != wire:
            settings[name] = wire
            self._async_changed()

    def saving(self, camera_id: str) -> tuple[bool, float]:
        """Return whether a camera's frames are saved and at most how many per second (0: all)."""
        camera = self._data["cameras"].get(camera_id)
        return (False, 0.0) if camera is None else (camera["saving"], camera["saving_rate"])

    @callback
    def async_set_saving(
        self, camera_id: str, *, enabled: bool | None = None, rate: float | None = None
    ) -> None:
        """Keep continuous saving's on/off and rate for a camera."""
        camera = self._camera(camera_id)
        if enabled is not None:
            camera["saving"] = enabled
        if rate is not None:
            camera["saving_rate"] = rate
        self._async_changed()

    @callback
    def async_set_motion(self, camera_id: str, changes: Mapping[str, Any]) -> None:
        """Keep motion settings chosen for a camera (the others keep what was chosen before)."""
        self._camera(camera_id)["motion"].update(changes)
        self._async_changed()

    # Admission -----------------------------------------------------------------------------------

    @property
    def approved(self) -> Mapping[str, str | None]:
        """Approved addresses -> the camera id each was approved as (None: not known)."""
        return self._data["approved"]

    @property
    def refused(self) -> frozenset[str]:
        """Refused addresses."""
        return frozenset(self._data["refused"])

    @callback
    def async_approve(self, address: str, camera_id: str | None) -> None:
        """Approve an address (no longer refused)."""
        self._data["approved"][address] = camera_id
        self._data["refused"] = [a for a in self._data["refused"] if a != address]
        self._async_changed()

    @callback
    def async_refuse(self, address: str) -> None:
        """Refuse an address (no longer approved)."""
        self._data["approved"].pop(address, None)
        if address not in self._data["refused"]:
            self._data["refused"].append(address)
        self._async_changed()

    @callback
    def async_revoke(self, address: str) -> None:
        """Withdraw an address's approval or refusal: it waits for approval when it connects."""
        self._data["approved"].pop(address, None)
        self._data["refused"] = [a for a in self._data["refused"] if a != address]
        self._async_changed()

    def as_dict(self) -> StoredHub:
        """Return the stored data (for diagnostics; do not change it)."""
        return self._data
