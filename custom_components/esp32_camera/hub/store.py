"""What the user chose, kept across restarts and upgrades: one versioned `Store` per hub.

Per camera: its chosen settings (wire values, re-applied when it connects), continuous saving
on/off and its rate, its motion detection settings with its motion zones and mask areas, and
its clip recording settings (a record without them, from an earlier release, gets the defaults),
and what the hub knows of it (name, firmware); for the hub: the approved
addresses (address -> the camera id it was approved as, when known) and the refused ones.
Entities, the panel, the actions and the HTTP API all change this state through the hub.

A user's choice is on disk when the method that keeps it returns (the UI is told it is done only
then); a last-good copy follows 30 s later. Loading checks every value (store_check.py) and repairs
a damaged store from the copy, value by value, so the hub always starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass
import glob
import os
from pathlib import Path
import shutil
from typing import Any, NotRequired, TypedDict, cast

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, UnsupportedStorageVersionError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from .store_check import CAMERA_DEFAULTS, SectionCheck, StorePath, clean_hub, complete_from

STORAGE_VERSION = 1
# What a camera tells of itself (name, firmware) is gathered and written a moment later; what
# the user chooses is written before the call that chose it returns.
DEVICE_NOTE_DELAY = 1.0
# The last-good copy follows the store this long after its last change: a slider dragged for a
# while writes it once, and a crash while the store is written leaves the copy untouched.
COPY_DELAY = 30.0


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
    recording: dict[str, Any]  # clips: record on motion, pre-roll, post-roll; {}: defaults
    h264: NotRequired[bool]  # the H.264 stream switch; absent: off (hub/h264_streams.py)


class StoredHub(TypedDict):
    """The whole store of one hub."""

    cameras: dict[str, StoredCamera]
    approved: dict[str, str | None]
    refused: list[str]


@dataclass(frozen=True, slots=True)
class StoreRepair:
    """What loading the store had to repair: reported to the user as a repair issue."""

    taken: list[StorePath]  # taken from the last-good copy (the store's own value was bad or gone)
    lost: list[StorePath]  # neither the store nor its copy had a valid value: back to the default
    saved_as: str | None  # where the damaged file was kept (None: Home Assistant renamed it)


def storage_key(entry_id: str) -> str:
    """Return the storage key of a hub's store (`.storage/esp32_camera.<entry id>`)."""
    return f"{DOMAIN}.{entry_id}"


def copy_key(entry_id: str) -> str:
    """Return the storage key of the store's last-good copy, beside it."""
    return f"{storage_key(entry_id)}.last_good"


def empty_camera() -> StoredCamera:
    """Return the record of a camera nothing was chosen for."""
    return cast("StoredCamera", deepcopy(CAMERA_DEFAULTS))


def empty_hub() -> StoredHub:
    """Return the store of a hub nothing was chosen for."""
    return StoredHub(cameras={}, approved={}, refused=[])


async def async_remove_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed hub's store and its copy (its choices go with it)."""
    for key in (storage_key(entry_id), copy_key(entry_id)):
        await Store[StoredHub](hass, STORAGE_VERSION, key).async_remove()


# What a store file may hold instead of a store (valid JSON of another shape, a version this
# release cannot migrate): Home Assistant's Store raises these while reading its envelope.
_UNREADABLE = (HomeAssistantError, KeyError, TypeError, ValueError, NotImplementedError)


def _keep_damaged(path: str, *, move: bool) -> str | None:
    """Keep a damaged store file beside it as `<name>.corrupt.<time>` (executor)."""
    kept = f"{path}.corrupt.{dt_util.utcnow().isoformat()}"
    try:
        if move:
            Path(path).replace(kept)
        else:
            shutil.copyfile(path, kept)
    except FileNotFoundError:  # nothing on disk (tests keep the store in memory)
        return None
    return kept


def _newest_damaged(path: str) -> str | None:
    """Return the newest `<path>.corrupt.<time>` (Home Assistant's name for what it renamed)."""
    store = Path(path)
    # The name is matched literally (glob.escape); ISO times sort as text.
    kept = sorted(store.parent.glob(f"{glob.escape(store.name)}.corrupt.*"))
    return str(kept[-1]) if kept else None


class HubStore:
    """The hub's stored choices, in memory and on disk, with a last-good copy beside them.

    The user's choices are written before their methods return (Home Assistant's Store writes
    in the executor, one write at a time: changes made meanwhile share the next write).
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store; `async_load` reads it."""
        self._hass = hass
        # Atomic: written to a temporary file, synced, then renamed over the store.
        self._store: Store[StoredHub] = Store(
            hass, STORAGE_VERSION, storage_key(entry_id), atomic_writes=True
        )
        self._copy: Store[StoredHub] = Store(
            hass, STORAGE_VERSION, copy_key(entry_id), atomic_writes=True
        )
        self._data = empty_hub()

    async def async_load(
        self, migrate: Callable[[], StoredHub], sections: Mapping[str, SectionCheck]
    ) -> StoreRepair | None:
        """Read and check the store; returns what had to be repaired (None: nothing).

        A file that cannot be read (truncated: Home Assistant renames it `.corrupt.<time>`; valid
        JSON of another shape) is replaced by the last-good copy; a store whose values have
        wrong types keeps every valid camera, setting and address, and takes the others from
        the copy where it has them. With neither, the hub starts from `migrate()`: what earlier
        releases kept elsewhere (the first start of a hub, or all that is left). `sections`
        checks a camera's motion and recording settings.
        """
        existed = await self._hass.async_add_executor_job(os.path.exists, self._store.path)
        saved_as: str | None = None
        try:
            raw: Any = await self._store.async_load()
        except UnsupportedStorageVersionError:
            raise  # a newer release's store (a downgrade): never overwrite it
        except _UNREADABLE as err:
            LOGGER.error("The store %s cannot be read: %r", self._store.key, err)
            saved_as = await self._hass.async_add_executor_job(
                lambda: _keep_damaged(self._store.path, move=True)
            )
            raw = None
        if raw is None and not existed and saved_as is None:
            copy = await self._async_load_copy(sections)
            if copy is None:  # a new hub: nothing to repair
                self._data = migrate()
                await self._async_write()
                return None
            self._data = copy  # the store was deleted: its copy is the last word
            await self._async_write()
            return StoreRepair(taken=[()], lost=[], saved_as=None)
        if raw is None:  # unreadable (renamed by Home Assistant, or by us above)
            data: dict[str, Any] = dict(empty_hub())
            dropped: list[StorePath] = [()]
            if saved_as is None:
                saved_as = await self._hass.async_add_executor_job(
                    _newest_damaged, self._store.path
                )
        else:
            data, dropped = clean_hub(raw, sections)
            if not dropped:
                self._data = cast("StoredHub", data)
                self._copy.async_delay_save(lambda: self._data, COPY_DELAY)
                return None
            saved_as = await self._hass.async_add_executor_job(
                lambda: _keep_damaged(self._store.path, move=False)
            )
        repair = await self._async_repair(data, dropped, sections, migrate, saved_as)
        await self._async_write()
        return repair

    async def _async_repair(
        self,
        data: dict[str, Any],
        dropped: list[StorePath],
        sections: Mapping[str, SectionCheck],
        migrate: Callable[[], StoredHub],
        saved_as: str | None,
    ) -> StoreRepair:
        """Complete what the store dropped from the last-good copy; keep the result."""
        copy = await self._async_load_copy(sections)
        taken: list[StorePath]
        lost: list[StorePath]
        if dropped == [()]:  # nothing of the store was readable
            if copy is not None:
                self._data = copy
                taken, lost = [()], []
            else:
                self._data = migrate()  # what Home Assistant still knows: devices, ignored
                taken, lost = [], [()]
        else:
            taken, lost = complete_from(data, dropped, cast("dict[str, Any]", copy or {}))
            self._data = cast("StoredHub", data)
        LOGGER.warning(
            "The store %s was damaged and repaired: taken from its last-good copy: %s; "
            "lost: %s; the damaged file was kept as %s",
            self._store.key,
            taken,
            lost,
            saved_as,
        )
        return StoreRepair(taken=taken, lost=lost, saved_as=saved_as)

    async def _async_load_copy(self, sections: Mapping[str, SectionCheck]) -> StoredHub | None:
        """Read the last-good copy (checked like the store); None if there is none."""
        try:
            raw = await self._copy.async_load()
        except _UNREADABLE as err:
            LOGGER.error("The copy %s cannot be read either: %r", self._copy.key, err)
            return None
        if raw is None:
            return None
        data, _dropped = clean_hub(raw, sections)  # written by the hub: only valid values
        return cast("StoredHub", data)

    async def async_flush(self) -> None:
        """Write the store and its copy now (the hub stops: a reload reads them again at once)."""
        await self._store.async_save(self._data)
        await self._copy.async_save(self._data)

    async def _async_write(self) -> None:
        """Write the store now; the copy follows a while later."""
        # Home Assistant's Store writes one at a time; callers waiting meanwhile share the next
        # write, which holds all their changes: a fast slider is one write in flight, one pending.
        await self._store.async_save(self._data)
        self._copy.async_delay_save(lambda: self._data, COPY_DELAY)

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
        # What the camera tells of itself: it tells it again if it is lost.
        self._store.async_delay_save(lambda: self._data, DEVICE_NOTE_DELAY)

    async def async_forget_camera(self, camera_id: str) -> None:
        """Drop a camera's record and everything chosen for it; written when this returns."""
        if self._data["cameras"].pop(camera_id, None) is not None:
            await self._async_write()

    def chosen_settings(self, camera_id: str) -> Mapping[str, str]:
        """Return the settings chosen for a camera (read only)."""
        camera = self._data["cameras"].get(camera_id)
        return {} if camera is None else camera["settings"]

    async def async_choose_setting(self, camera_id: str, name: str, wire: str) -> None:
        """Keep a setting the user chose (a wire value); written when this returns."""
        settings = self._camera(camera_id)["settings"]
        if settings.get(name) != wire:
            settings[name] = wire
            await self._async_write()

    def saving(self, camera_id: str) -> tuple[bool, float]:
        """Return whether a camera's frames are saved and at most how many per second (0: all)."""
        camera = self._data["cameras"].get(camera_id)
        return (False, 0.0) if camera is None else (camera["saving"], camera["saving_rate"])

    async def async_set_saving(
        self, camera_id: str, *, enabled: bool | None = None, rate: float | None = None
    ) -> None:
        """Keep continuous saving's on/off and rate for a camera; written when this returns."""
        camera = self._camera(camera_id)
        if enabled is not None:
            camera["saving"] = enabled
        if rate is not None:
            camera["saving_rate"] = rate
        await self._async_write()

    def h264_enabled(self, camera_id: str) -> bool:
        """Return whether the camera's H.264 stream is switched on."""
        camera = self._data["cameras"].get(camera_id)
        return camera is not None and camera.get("h264", False)

    async def async_set_h264(self, camera_id: str, enabled: bool) -> None:
        """Keep the camera's H.264 stream switch; written when this returns."""
        self._camera(camera_id)["h264"] = enabled
        await self._async_write()

    async def async_set_motion(self, camera_id: str, changes: Mapping[str, Any]) -> None:
        """Keep motion settings chosen for a camera (the others keep what was chosen before).

        Written when this returns.
        """
        self._camera(camera_id)["motion"].update(changes)
        await self._async_write()

    async def async_set_recording(self, camera_id: str, changes: Mapping[str, Any]) -> None:
        """Keep clip recording settings chosen for a camera (the others keep what was chosen).

        Written when this returns.
        """
        self._camera(camera_id)["recording"].update(changes)
        await self._async_write()

    # Admission -----------------------------------------------------------------------------------

    @property
    def approved(self) -> Mapping[str, str | None]:
        """Approved addresses -> the camera id each was approved as (None: not known)."""
        return self._data["approved"]

    @property
    def refused(self) -> frozenset[str]:
        """Refused addresses."""
        return frozenset(self._data["refused"])

    async def async_approve(
        self, address: str, camera_id: str | None, name: str | None = None
    ) -> None:
        """Approve an address (no longer refused), naming its camera; written when this returns.

        A stock camera's id is its address: the name is kept under it, whether or not the
        camera is still connected.
        """
        self._data["approved"][address] = camera_id
        if name is not None:
            self._camera(camera_id or address)["name"] = name
        self._data["refused"] = [a for a in self._data["refused"] if a != address]
        await self._async_write()

    async def async_refuse(self, address: str) -> None:
        """Refuse an address (no longer approved); written when this returns."""
        self._data["approved"].pop(address, None)
        if address not in self._data["refused"]:
            self._data["refused"].append(address)
        await self._async_write()

    async def async_revoke(self, address: str) -> None:
        """Withdraw an address's approval or refusal (it waits for approval when it connects).

        Written when this returns.
        """
        self._data["approved"].pop(address, None)
        self._data["refused"] = [a for a in self._data["refused"] if a != address]
        await self._async_write()

    def as_dict(self) -> StoredHub:
        """Return the stored data (for diagnostics; do not change it)."""
        return self._data
