"""The hub: one config entry's listener, store and saver, wired together.

What each part owns is in its own module: the store (what the user chose), camera settings
(chosen vs current, re-applied on connect), admission (approvals, refusals, repairs), the frame
broker (latest frame, waiters, live listeners), entity updates (throttled signals), the saver
(continuous saving), motion detection, the clips and the device registry entries. The hub
connects the listener's events to them and offers the few operations that span several.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
import time
from typing import Any

from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.const import CONF_ADDRESS, CONF_TOKEN, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ..const import (
    CONF_APPROVED_ADDRESSES,
    CONF_H264_ENCODER,
    CONF_RETENTION_DAYS,
    CONF_RETENTION_SIZE_MB,
    CONF_SAVE_DIRECTORY,
    DOMAIN,
)
from ..listener import (
    Admission,
    CameraNotAdmittedError,
    CameraRecord,
    CommandResult,
    CommandTimeoutError,
    DeviceListener,
    UnknownCameraError,
)
from ..protocol import CommandValidationError, Frame
from . import signals
from .admission import HubAdmission
from .camera_settings import CameraSettings
from .clip_recording import HubClips
from .devices import (
    camera_device_info,
    camera_name,
    default_device_name,
    register_camera_device,
    register_hub_device,
    suggested_name,
)
from .entity_updates import EntityUpdates
from .frame_broker import FrameBroker
from .h264_streams import H264Streams
from .image_saver import ImageSaver
from .motion_detection import HubMotion, check_stored_motion
from .options import hub_options, listener_settings
from .recording_settings import check_stored_recording
from .repair_issues import async_raise_issue
from .store import HubStore
from .store_check import describe
from .store_migration import stored_hub_from_earlier_release

type Esp32CameraConfigEntry = ConfigEntry[Esp32CameraHub]

# Changes of a camera's device (name, firmware, model) per period: each is an event on HA's bus,
# a registry write and a refresh of every open frontend. A camera reports them at connect; one
# that changed them in every message updated its device as often as it liked (issue 18, red
# team). A change past the budget is applied with one of the camera's later reports.
DEVICE_CHANGES = 4
DEVICE_CHANGE_PERIOD = 60.0


def loaded_hubs(hass: HomeAssistant) -> list[Esp32CameraHub]:
    """Return the hubs of the loaded config entries (actions and HTTP views serve them all)."""
    entries: list[Esp32CameraConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return [entry.runtime_data for entry in entries]


def loaded_hub(hass: HomeAssistant, entry_id: str) -> Esp32CameraHub | None:
    """Return the hub of a loaded entry of this integration, else None (a URL names any id)."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    hub: Esp32CameraHub = entry.runtime_data
    return hub


def hub_of_camera(hass: HomeAssistant, camera_id: str) -> Esp32CameraHub:
    """Return the loaded hub that knows `camera_id`, or raise a translated error.

    A camera id is unique within its hub only: where two hubs know it, a call naming the id
    alone is refused rather than sent to either camera.
    """
    hubs = [hub for hub in loaded_hubs(hass) if camera_id in hub.cameras]
    if len(hubs) > 1:
        raise camera_on_several_hubs(camera_id, hubs)
    if not hubs:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_camera",
            translation_placeholders={"camera_id": camera_id},
        )
    return hubs[0]


def camera_on_several_hubs(
    camera_id: str, hubs: Iterable[Esp32CameraHub]
) -> ServiceValidationError:
    """Return the error for a camera id that names cameras of several hubs."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="camera_on_several_hubs",
        translation_placeholders={
            "camera_id": camera_id,
            "hubs": ", ".join(sorted(hub.entry.title for hub in hubs)),
        },
    )


class Esp32CameraHub:
    """One hub entry: wires the listener's events to the store, settings, frames and entities."""

    def __init__(self, hass: HomeAssistant, entry: Esp32CameraConfigEntry) -> None:
        """Prepare the hub; `async_start` binds the ports."""
        self.hass = hass
        self.entry = entry
        self.token: str = entry.data[CONF_TOKEN]
        self.options = hub_options(hass, entry)
        self.save_directory: str = self.options[CONF_SAVE_DIRECTORY]
        self.store = HubStore(hass, entry.entry_id)
        self.listener = DeviceListener(listener_settings(entry, self.options), self)
        self.frames = FrameBroker(hass, self.listener.cameras, log=self.listener.device_log)
        self.updates = EntityUpdates(hass, entry.entry_id)
        self.settings = CameraSettings(
            hass,
            entry,
            self.store,
            self.listener,
            lambda camera: self.updates.async_camera_now(camera.camera_id),
        )
        self.admission = HubAdmission(hass, entry.entry_id, entry.title, self.store, self.listener)
        self.saver = ImageSaver(
            hass,
            entry.entry_id,
            directory=self.save_directory,
            retention_days=self.options[CONF_RETENTION_DAYS],
            retention_size_mb=self.options[CONF_RETENTION_SIZE_MB],
            add_frame_listener=self.frames.async_add_listener,
        )
        self.motion = HubMotion(hass, entry.entry_id, self.store, entry.title)
        self.clips = HubClips(
            hass,
            entry.entry_id,
            self.store,
            self.saver,
            motion_active=self.motion.is_active,
            motion_result=lambda camera_id: self.motion.detector(camera_id).last_result,
        )
        self.h264 = H264Streams(
            hass,
            entry.entry_id,
            self.store,
            token=self.token,
            encoder=self.options[CONF_H264_ENCODER],
            add_frame_listener=self.frames.async_add_listener,
            cameras=self.listener.cameras,
            camera_name=lambda camera_id: (
                self.camera_name(camera) if (camera := self.cameras.get(camera_id)) else camera_id
            ),
            changed=self.updates.async_camera_now,
        )
        # Unsubscribes of the threaded parts (motion, clips): their frames and HA's stop.
        self._stop_threaded: list[CALLBACK_TYPE] = []
        self.started_at: float | None = None
        # Each camera's device as last registered (name, firmware, model), and its recent changes.
        self._devices: dict[str, tuple[tuple[str | None, ...], deque[float]]] = {}

    @property
    def cameras(self) -> Mapping[str, CameraRecord]:
        """Every camera this hub has seen, by camera id."""
        return self.listener.cameras

    async def async_start(self) -> None:
        """Load the store, then start the listener (raises ListenerBindError) and the saver.

        The store is read before the ports open: a camera that redials at once gets what was
        chosen for it re-applied, and approvals and refusals hold from its first connection.
        """
        repair = await self.store.async_load(
            partial(stored_hub_from_earlier_release, self.hass, self.entry),
            {"motion": check_stored_motion, "recording": check_stored_recording},
        )
        if repair is not None:
            async_raise_issue(
                self.hass,
                f"store_repaired_{self.entry.entry_id}",
                "store_repaired",
                {
                    "title": self.entry.title,
                    "lost": describe(repair.lost) or "-",
                    "taken": describe(repair.taken) or "-",
                    "saved_as": repair.saved_as or "-",
                },
            )
        if CONF_APPROVED_ADDRESSES in self.entry.options:  # moved into the store
            self.hass.config_entries.async_update_entry(
                self.entry,
                options={
                    k: v for k, v in self.entry.options.items() if k != CONF_APPROVED_ADDRESSES
                },
            )
        self.admission.async_apply_stored()
        register_hub_device(self.hass, self.entry.entry_id, self.entry.title)
        self._restore_cameras()
        self._stop_threaded = [
            self.motion.async_start(self.frames.async_add_listener),
            self.clips.async_start(self.frames.async_add_listener),
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_stop_threaded),
        ]
        await self.clips.async_recover()  # before a clip can open: every .part is a crash's
        await self.listener.start()
        self.started_at = time.monotonic()
        self.h264.async_check_ffmpeg(self.entry.title)
        await self.saver.async_start()

    async def _async_stop_threaded(self, _event: Event | None = None) -> None:
        """Stop the motion worker and finish the open clips; also when Home Assistant stops.

        Home Assistant does not unload config entries when it stops: without this, the motion
        thread would report to a closed event loop and the open clips would be cut off.
        """
        await self.motion.async_stop()
        await self.clips.async_stop()
        await self.h264.async_stop()  # its ffmpeg processes

    def _restore_cameras(self) -> None:
        """Recreate, disconnected, the cameras the store knows (from earlier runs); resume saving.

        Their entities are created (unavailable until the camera connects) and commands queue;
        each is admitted afresh when it connects, as if it were new.
        """
        for camera_id, stored in self.store.cameras.items():
            self.listener.restore_camera(
                camera_id, name=stored["name"], firmware=stored["firmware"]
            )
            self.saver.async_set_max_rate(camera_id, stored["saving_rate"])
            self.saver.async_set_enabled(camera_id, stored["saving"])

    async def async_stop(self) -> None:
        """Stop the saver and the listener; wake every waiter with nothing; write the store."""
        self.updates.async_stop()
        self.admission.async_stop()
        self.frames.async_stop()
        for unsubscribe in self._stop_threaded:
            unsubscribe()
        self._stop_threaded.clear()
        await self._async_stop_threaded()  # counts the last clips with the saver: before it stops
        await self.saver.async_stop()
        await self.listener.stop()
        await self.store.async_flush()

    async def async_remove_camera(self, camera_id: str) -> bool:
        """Forget a disconnected camera whose device the user removes; False while connected.

        Its record, queued commands, chosen settings and continuous saving go (from the store
        too); its saved images stay on disk, and an approval of its address stays until revoked.
        If it connects again, it is a new camera: a new device with new entities.
        """
        if not self.listener.forget_camera(camera_id):
            return False
        self._devices.pop(camera_id, None)
        self.settings.async_forget(camera_id)
        self.updates.async_forget(camera_id)
        self.motion.async_forget(camera_id)
        self.clips.async_forget(camera_id)
        self.h264.async_forget(camera_id)
        self.saver.async_set_enabled(camera_id, False)
        self.saver.async_set_max_rate(camera_id, 0)
        async_dispatcher_send(self.hass, signals.camera_removed(self.entry.entry_id), camera_id)
        # Forgotten everywhere above without a pause; written before the device's removal returns.
        await self.store.async_forget_camera(camera_id)
        return True

    async def async_approve(self, address: str, name: str | None = None) -> None:
        """Admit a waiting camera's address at once, and from now on, named `name`.

        Stored on return.
        """
        await self.admission.async_approve(address, self.cameras, name)

    def camera_name(self, camera: CameraRecord) -> str:
        """Return the camera's name as Home Assistant shows its device (a rename follows)."""
        return camera_name(self.hass, self.entry.entry_id, camera)

    def suggested_name(self, address: str) -> str:
        """Return the name suggested where the camera at `address` is approved.

        A camera known already (its device, or the store) keeps its name, and one that named
        itself is suggested its own; else "ESP32 camera N", never its address.
        """
        if (camera := self.cameras.get(address)) is not None:
            shown = self.camera_name(camera)
            if shown not in (camera.camera_id, default_device_name(camera.camera_id)):
                return shown
        if (stored := self.store.cameras.get(address)) is not None and stored["name"]:
            return stored["name"]
        known = {
            camera_id: stored["name"] or default_device_name(camera_id)
            for camera_id, stored in self.store.cameras.items()
        } | {
            camera.camera_id: self.camera_name(camera)
            for camera in self.cameras.values()
            if camera.admitted
        }
        return suggested_name(list(known.values()))

    async def async_refuse(self, address: str) -> None:
        """Refuse an address at once, and from now on (stored on return)."""
        await self.admission.async_refuse(address)

    async def async_revoke(self, address: str) -> None:
        """Withdraw an address's approval or refusal: an approved camera is refused at once."""
        await self.admission.async_revoke(address)

    def pending_frame(self, address: str) -> Frame | None:
        """Return the latest frame of a camera at `address` that waits for approval."""
        return self.listener.pending_frame(address)

    async def async_set_saving(self, camera_id: str, enabled: bool) -> None:
        """Turn continuous saving of a camera on or off, and keep that choice (stored on return)."""
        if enabled and self.saver.error is not None:  # e.g. a save directory under www/
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="saving_unavailable",
                translation_placeholders={"error": self.saver.error},
            )
        await self.store.async_set_saving(camera_id, enabled=enabled)
        self.saver.async_set_enabled(camera_id, enabled)

    async def async_set_saving_rate(self, camera_id: str, per_second: float) -> None:
        """Save at most `per_second` frames per second of a camera (0: all), and keep that."""
        await self.store.async_set_saving(camera_id, rate=per_second)
        self.saver.async_set_max_rate(camera_id, per_second)

    async def async_send_command(
        self, camera_id: str, name: str, value: object = None, *, choose: bool = True
    ) -> CommandResult:
        """Send a command, mapping the listener's errors to translated HA errors.

        A setting the camera takes is kept as the user's choice and re-applied when it
        reconnects, unless `choose` is False: a temporary change (a detour) is not a choice.
        """
        placeholders = {"camera_id": camera_id, "command": name}
        try:
            result = await self.listener.send_command(camera_id, name, value)
        except UnknownCameraError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_camera",
                translation_placeholders=placeholders,
            ) from err
        except CommandValidationError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_command_value",
                translation_placeholders={**placeholders, "error": str(err)},
            ) from err
        except CameraNotAdmittedError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="camera_not_admitted",
                translation_placeholders=placeholders,
            ) from err
        except CommandTimeoutError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_timeout",
                translation_placeholders=placeholders,
            ) from err
        if not result.ok:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed",
                translation_placeholders={**placeholders, "response": result.value or ""},
            )
        await self.settings.async_command_succeeded(camera_id, name, value, result, choose=choose)
        return result

    def hub_statistics(self) -> dict[str, Any]:
        """Return what the original /api/health and /api/stats reported, for all cameras."""
        connected = [c for c in self.cameras.values() if c.connected and c.admitted]
        return {
            "connected_cameras": len(connected),
            "pending_cameras": sum(1 for c in self.cameras.values() if not c.admitted),
            "fps": round(sum(c.stats.fps for c in connected), 2),
            "bitrate": round(sum(c.stats.bitrate for c in connected)),
            "frames_received": sum(c.stats.frames_received for c in self.cameras.values()),
            "frames_failed": sum(c.stats.frames_failed for c in self.cameras.values()),
            "bytes_received": sum(c.stats.bytes_received for c in self.cameras.values()),
            "uptime": None if self.started_at is None else time.monotonic() - self.started_at,
        }

    # ListenerObserver ------------------------------------------------------------------------

    def camera_connected(self, camera: CameraRecord) -> None:
        """Create the camera's device and entities; re-apply the user's settings."""
        if camera.admission is Admission.TOKEN:
            self.admission.async_authenticated(camera.address)
        self._register_device(camera)
        async_dispatcher_send(self.hass, signals.camera_added(self.entry.entry_id), camera)
        self.settings.async_camera_connected(camera)
        self.updates.async_camera_now(camera.camera_id)
        self.updates.async_hub_now()

    def camera_disconnected(self, camera: CameraRecord) -> None:
        """Mark the camera's entities unavailable at once; free its clip buffer."""
        self.clips.async_camera_disconnected(camera.camera_id)
        if not self.hass.is_stopping:
            self.updates.async_camera_now(camera.camera_id)
            self.updates.async_hub_now()

    def camera_pending(self, camera: CameraRecord) -> None:
        """Ask the user to approve a tokenless camera."""
        discovery_flow.async_create_flow(
            self.hass,
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={CONF_ADDRESS: camera.address, "entry_id": self.entry.entry_id},
        )

    def camera_updated(self, camera: CameraRecord) -> None:
        """Telemetry changed: update the camera's entities (and its device's model)."""
        if camera.admitted:
            self.settings.async_note_reports(camera)
            self._register_device(camera)
            self.updates.async_camera_now(camera.camera_id)

    def frame_received(self, camera: CameraRecord, frame: Frame) -> None:
        """Hand the frame to the broker; update the statistics' entities (throttled)."""
        self.frames.async_publish(camera, frame)
        self.updates.async_frame(camera.camera_id)

    def pending_overflow(self, sources: Sequence[str]) -> None:
        """More unknown devices try to connect than may wait for approval: one repair issue."""
        self.admission.async_pending_overflow(sources)

    def authentication_failed(self, address: str, reason: str) -> None:
        """Count a wrong token (a repair issue when one address keeps presenting one)."""
        self.admission.async_authentication_failed(address, reason)

    def _register_device(self, camera: CameraRecord) -> None:
        """Create or update the camera's device, and the store's record of the camera."""
        if camera.name is None and (stored := self.store.cameras.get(camera.camera_id)):
            # Named where it was approved, after its first record had gone (it disconnected).
            camera.name = stored["name"]
        self.store.async_note_camera(camera.camera_id, camera.name, camera.firmware)
        health = camera.health
        model = health.model if health and health.model else None
        values = (camera.name, camera.firmware, model)
        now = time.monotonic()
        if (known := self._devices.get(camera.camera_id)) is not None:
            registered, changes = known
            if values == registered:
                return
            while changes and now - changes[0] >= DEVICE_CHANGE_PERIOD:
                changes.popleft()
            if len(changes) >= DEVICE_CHANGES:
                return
        else:
            changes = deque()
        changes.append(now)
        self._devices[camera.camera_id] = (values, changes)
        info = camera_device_info(self.hass, self.entry.entry_id, camera, model)
        register_camera_device(self.hass, self.entry.entry_id, info)
