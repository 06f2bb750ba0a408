"""The hub: runs the device listener inside Home Assistant and fans its events out.

Frames are not state: the latest frame stays on the camera record, frame waiters and frame
listeners are woken per frame, and entity updates are throttled dispatcher signals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from ipaddress import ip_network
import time
from typing import Any

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, ConfigEntry
from homeassistant.const import CONF_ADDRESS, CONF_HOST, CONF_TOKEN
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import discovery_flow, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later

from .const import (
    CONF_ALLOW_TOKENLESS,
    CONF_APPROVED_ADDRESSES,
    CONF_CONTROL_PORT,
    CONF_EXPOSE_HTTP,
    CONF_FRAME_TIMEOUT,
    CONF_LIVENESS_TIMEOUT,
    CONF_MAX_FRAME_SIZE,
    CONF_RETENTION_DAYS,
    CONF_RETENTION_SIZE_MB,
    CONF_SAVE_DIRECTORY,
    CONF_STREAM_PORT,
    CONF_TRUSTED_NETWORKS,
    DEFAULT_FRAME_TIMEOUT,
    DEFAULT_LIVENESS_TIMEOUT,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_RETENTION_SIZE_MB,
    DOMAIN,
    LOGGER,
)
from .control_http import async_add_control_routes
from .devices import register_camera_device, register_hub_device
from .listener import (
    Admission,
    CameraNotAdmittedError,
    CameraRecord,
    CommandResult,
    CommandTimeoutError,
    DeviceListener,
    ListenerSettings,
    UnknownCameraError,
)
from .migration import stored_hub_from_earlier_release
from .protocol import CommandValidationError, Frame
from .saver import ImageSaver
from .settings import CameraSettings
from .storage import default_save_directory
from .store import HubStore

type Esp32CameraConfigEntry = ConfigEntry[Esp32CameraHub]
type FrameListener = Callable[[CameraRecord, Frame], None]

# Entities write state at most this often while frames flow (the recorder stores every write).
STATE_WRITE_INTERVAL = 5.0
# Wrong-token connections from one address before a repair issue is raised.
AUTH_FAILURES_FOR_ISSUE = 3


def loaded_hubs(hass: HomeAssistant) -> list[Esp32CameraHub]:
    """Return the hubs of the loaded config entries (actions and HTTP views serve them all)."""
    entries: list[Esp32CameraConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return [entry.runtime_data for entry in entries]


def signal_camera_updated(entry_id: str, camera_id: str) -> str:
    """Dispatcher signal for one camera's entities."""
    return f"{DOMAIN}_{entry_id}_{camera_id}"


def signal_camera_added(entry_id: str) -> str:
    """Dispatcher signal carrying a newly admitted CameraRecord."""
    return f"{DOMAIN}_{entry_id}_camera_added"


def signal_camera_removed(entry_id: str) -> str:
    """Dispatcher signal carrying the id of a camera the user removed (its device is gone)."""
    return f"{DOMAIN}_{entry_id}_camera_removed"


def signal_hub_updated(entry_id: str) -> str:
    """Dispatcher signal for the hub device's entities."""
    return f"{DOMAIN}_{entry_id}_hub"


@dataclass(kw_only=True, slots=True)
class _Throttle:
    """State-write throttle (one per camera, one for the hub device) with a trailing update."""

    last_sent: float = 0.0
    trailing: CALLBACK_TYPE | None = None


@dataclass(slots=True)
class _Waiter:
    """Someone waiting for a frame completed after `newer_than`; None means "stopping"."""

    newer_than: float | None
    future: asyncio.Future[Frame | None]


class Esp32CameraHub:
    """One hub entry: the listener, the saver, the cameras' devices and entity signals."""

    def __init__(self, hass: HomeAssistant, entry: Esp32CameraConfigEntry) -> None:
        """Prepare the hub; `async_start` binds the ports."""
        self.hass = hass
        self.entry = entry
        self.token: str = entry.data[CONF_TOKEN]
        self.options: dict[str, Any] = {
            CONF_ALLOW_TOKENLESS: True,
            CONF_TRUSTED_NETWORKS: [],
            CONF_FRAME_TIMEOUT: DEFAULT_FRAME_TIMEOUT,
            CONF_MAX_FRAME_SIZE: DEFAULT_MAX_FRAME_SIZE,
            CONF_LIVENESS_TIMEOUT: DEFAULT_LIVENESS_TIMEOUT,
            CONF_SAVE_DIRECTORY: default_save_directory(hass),
            CONF_RETENTION_DAYS: DEFAULT_RETENTION_DAYS,
            CONF_RETENTION_SIZE_MB: DEFAULT_RETENTION_SIZE_MB,
            CONF_EXPOSE_HTTP: False,
            **entry.options,
        }
        self.save_directory: str = self.options[CONF_SAVE_DIRECTORY]
        self.store = HubStore(hass, entry.entry_id)
        self.listener = DeviceListener(self._listener_settings(), self)
        self.settings = CameraSettings(hass, entry, self.store, self.listener, self._send_now)
        self.saver = ImageSaver(
            hass,
            entry.entry_id,
            directory=self.save_directory,
            retention_days=self.options[CONF_RETENTION_DAYS],
            retention_size_mb=self.options[CONF_RETENTION_SIZE_MB],
            add_frame_listener=self.async_add_frame_listener,
        )
        self.started_at: float | None = None
        self.stopped = False
        self._frame_listeners: dict[str | None, list[FrameListener]] = {}
        self._waiters: dict[str, list[_Waiter]] = {}
        self._throttles: dict[str, _Throttle] = {}
        self._hub_throttle = _Throttle()
        self._hub_device_id: str | None = None
        self._auth_failures: dict[str, int] = {}

    def _listener_settings(self) -> ListenerSettings:
        """Return the listener's settings (approvals and refusals come from the store at start)."""
        data, options = self.entry.data, self.options
        return ListenerSettings(
            token=self.token,
            host=data[CONF_HOST],
            stream_port=data[CONF_STREAM_PORT],
            control_port=data[CONF_CONTROL_PORT],
            allow_tokenless=options[CONF_ALLOW_TOKENLESS],
            trusted_networks=tuple(
                ip_network(network, strict=False) for network in options[CONF_TRUSTED_NETWORKS]
            ),
            frame_timeout=options[CONF_FRAME_TIMEOUT],
            max_frame_size=int(options[CONF_MAX_FRAME_SIZE]),
            liveness_timeout=options[CONF_LIVENESS_TIMEOUT],
        )

    @property
    def cameras(self) -> Mapping[str, CameraRecord]:
        """Every camera this hub has seen, by camera id."""
        return self.listener.cameras

    async def async_start(self) -> None:
        """Load the store, then start the listener (raises ListenerBindError) and the saver.

        The store is read before the ports open: a camera that redials at once gets what was
        chosen for it re-applied, and approvals and refusals hold from its first connection.
        """
        await self.store.async_load(partial(stored_hub_from_earlier_release, self.hass, self.entry))
        if CONF_APPROVED_ADDRESSES in self.entry.options:  # moved into the store
            self.hass.config_entries.async_update_entry(
                self.entry,
                options={
                    k: v for k, v in self.entry.options.items() if k != CONF_APPROVED_ADDRESSES
                },
            )
        self.listener.settings = replace(
            self.listener.settings,
            approved_addresses=frozenset(self.store.approved),
            rejected_addresses=self.store.refused,
        )
        self._hub_device_id = register_hub_device(self.hass, self.entry.entry_id, self.entry.title)
        self._restore_cameras()
        if self.options[CONF_EXPOSE_HTTP]:
            async_add_control_routes(self)
        await self.listener.start()
        self.started_at = time.monotonic()
        await self.saver.async_start()

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
        """Stop the saver and the listener; wake every waiter with nothing."""
        self.stopped = True
        for throttle in (*self._throttles.values(), self._hub_throttle):
            if throttle.trailing is not None:
                throttle.trailing()
                throttle.trailing = None
        self._throttles.clear()
        # Counted per run: a wrong token after the next start raises the issue again.
        for address in self._auth_failures:
            self._delete_auth_issue(address)
        self._auth_failures.clear()
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_result(None)
        self._waiters.clear()
        await self.saver.async_stop()
        await self.listener.stop()
        await self.store.async_flush()

    @callback
    def async_remove_camera(self, camera_id: str) -> bool:
        """Forget a disconnected camera whose device the user removes; False while connected.

        Its record, queued commands, chosen settings and continuous saving go (from the store
        too); its saved images stay on disk, and an approval of its address stays until revoked.
        If it connects again, it is a new camera: a new device with new entities.
        """
        if not self.listener.forget_camera(camera_id):
            return False
        self.settings.async_forget(camera_id)
        if (throttle := self._throttles.pop(camera_id, None)) and throttle.trailing:
            throttle.trailing()
        self.saver.async_set_enabled(camera_id, False)
        self.saver.async_set_max_rate(camera_id, 0)
        self.store.async_forget_camera(camera_id)
        async_dispatcher_send(self.hass, signal_camera_removed(self.entry.entry_id), camera_id)
        return True

    @callback
    def async_approve(self, address: str) -> None:
        """Admit a waiting camera's address at once, and from now on (kept in the store)."""
        camera_id = next(
            (c.camera_id for c in self.cameras.values() if c.address == address and not c.admitted),
            None,
        )
        self.store.async_approve(address, camera_id)
        self.listener.approve(address)

    @callback
    def async_refuse(self, address: str) -> None:
        """Refuse an address at once, and from now on (kept in the store); closes its sockets."""
        self.store.async_refuse(address)
        self.listener.reject(address)

    @callback
    def async_revoke(self, address: str) -> None:
        """Withdraw an address's approval or refusal: an approved camera is refused at once.

        The address waits for approval again when it connects.
        """
        self.store.async_revoke(address)
        self.listener.revoke(address)

    def pending_frame(self, address: str) -> Frame | None:
        """Return the latest frame of a camera at `address` that waits for approval."""
        return self.listener.pending_frame(address)

    @callback
    def async_set_saving(self, camera_id: str, enabled: bool) -> None:
        """Turn continuous saving of a camera on or off, and keep that choice."""
        if enabled and self.saver.error is not None:  # e.g. a save directory under www/
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="saving_unavailable",
                translation_placeholders={"error": self.saver.error},
            )
        self.store.async_set_saving(camera_id, enabled=enabled)
        self.saver.async_set_enabled(camera_id, enabled)

    @callback
    def async_set_saving_rate(self, camera_id: str, per_second: float) -> None:
        """Save at most `per_second` frames per second of a camera (0: all), and keep that."""
        self.store.async_set_saving(camera_id, rate=per_second)
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
        self.settings.async_command_succeeded(camera_id, name, value, result, choose=choose)
        return result

    async def async_latest_frame(
        self,
        camera_id: str,
        *,
        timeout: float,  # noqa: ASYNC109 - a wait bounded by the caller is this method's purpose
    ) -> Frame | None:
        """Return the camera's latest frame, or wait for its first one; None on timeout."""
        camera = self.cameras.get(camera_id)
        if camera is not None and camera.admitted and camera.latest_frame is not None:
            return camera.latest_frame
        return await self.async_wait_for_frame(camera_id, timeout=timeout)

    async def async_wait_for_frame(
        self,
        camera_id: str,
        *,
        newer_than: float | None = None,
        timeout: float,  # noqa: ASYNC109 - a wait bounded by the caller is this method's purpose
    ) -> Frame | None:
        """Return the first frame completed after `newer_than` (None: the next), or None."""
        camera = self.cameras.get(camera_id)
        latest = camera.latest_frame if camera is not None else None
        if (
            latest is not None
            and newer_than is not None
            and latest.completed_at > newer_than
            and camera is not None
            and camera.admitted
        ):
            return latest
        waiter = _Waiter(newer_than, self.hass.loop.create_future())
        waiters = self._waiters.setdefault(camera_id, [])
        waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter.future
        except TimeoutError:
            return None
        finally:
            if waiter in waiters:
                waiters.remove(waiter)

    @callback
    def async_add_frame_listener(
        self, listener: FrameListener, camera_id: str | None = None
    ) -> CALLBACK_TYPE:
        """Call `listener` for every frame (of one camera, or of all); returns unsubscribe."""
        listeners = self._frame_listeners.setdefault(camera_id, [])
        listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return remove

    def hub_statistics(self) -> dict[str, Any]:
        """Return what the original /api/health and /api/stats reported, for all cameras."""
        connected = [c for c in self.cameras.values() if c.connected and c.admitted]
        return {
            "connected_cameras": len(connected),
            "pending_cameras": sum(1 for c in self.cameras.values() if not c.admitted)
            + len(self.listener.claims),
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
        if camera.admission is Admission.TOKEN and self._auth_failures.pop(camera.address, 0):
            self._delete_auth_issue(camera.address)  # it has the right token now
        self._register_device(camera)
        async_dispatcher_send(self.hass, signal_camera_added(self.entry.entry_id), camera)
        self.settings.async_camera_connected(camera)
        self._send_now(camera)
        self._send_hub_now()

    def camera_disconnected(self, camera: CameraRecord) -> None:
        """Mark the camera's entities unavailable at once."""
        if not self.hass.is_stopping:
            self._send_now(camera)
            self._send_hub_now()

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
            self._send_now(camera)

    def frame_received(self, camera: CameraRecord, frame: Frame) -> None:
        """Wake waiters and frame listeners; throttle the statistics update."""
        camera_id = camera.camera_id
        if waiters := self._waiters.get(camera_id):
            for waiter in waiters:
                if not waiter.future.done() and (
                    waiter.newer_than is None or frame.completed_at > waiter.newer_than
                ):
                    waiter.future.set_result(frame)
        for key in (camera_id, None):
            for listener in self._frame_listeners.get(key, ()):
                try:
                    listener(camera, frame)
                except Exception:  # noqa: BLE001 - one bad listener must not stop the others
                    LOGGER.exception("Frame listener failed for %s", camera_id)
        if not self.stopped:  # no timers after stopping (frames still read while it closes)
            self._send_throttled(self._throttles.setdefault(camera_id, _Throttle()), camera)
            self._send_throttled(self._hub_throttle, None)

    def authentication_failed(self, address: str, reason: str) -> None:
        """Raise a repair issue when one address keeps presenting a wrong token."""
        count = self._auth_failures[address] = self._auth_failures.get(address, 0) + 1
        if count == AUTH_FAILURES_FOR_ISSUE:
            LOGGER.warning("Device at %s keeps failing authentication: %s", address, reason)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                f"authentication_failed_{self.entry.entry_id}_{address}",
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="authentication_failed",
                translation_placeholders={"address": address, "title": self.entry.title},
            )

    def _delete_auth_issue(self, address: str) -> None:
        ir.async_delete_issue(
            self.hass, DOMAIN, f"authentication_failed_{self.entry.entry_id}_{address}"
        )

    # Entity updates --------------------------------------------------------------------------

    def _send_now(self, camera: CameraRecord) -> None:
        """Update one camera's entities now (connection changes, telemetry)."""
        throttle = self._throttles.setdefault(camera.camera_id, _Throttle())
        throttle.last_sent = time.monotonic()
        async_dispatcher_send(
            self.hass, signal_camera_updated(self.entry.entry_id, camera.camera_id)
        )

    def _send_hub_now(self) -> None:
        """Update the hub device's entities now (a camera connected or went away)."""
        self._hub_throttle.last_sent = time.monotonic()
        async_dispatcher_send(self.hass, signal_hub_updated(self.entry.entry_id))

    def _send_throttled(self, throttle: _Throttle, camera: CameraRecord | None) -> None:
        """Update a camera's entities (None: the hub's) at most every STATE_WRITE_INTERVAL.

        Within the interval one trailing update is scheduled, so the last frames are shown too.
        """
        if throttle.trailing is not None:
            return
        send = self._send_hub_now if camera is None else partial(self._send_now, camera)
        wait = STATE_WRITE_INTERVAL - (time.monotonic() - throttle.last_sent)
        if wait <= 0:
            send()
            return

        @callback
        def trailing(_now: Any) -> None:
            throttle.trailing = None
            send()

        throttle.trailing = async_call_later(self.hass, wait, trailing)

    def _register_device(self, camera: CameraRecord) -> None:
        """Create or update the camera's device, and the store's record of the camera."""
        self.store.async_note_camera(camera.camera_id, camera.name, camera.firmware)
        health = camera.health
        register_camera_device(
            self.hass,
            self.entry.entry_id,
            self._hub_device_id,
            camera_id=camera.camera_id,
            name=camera.name,
            firmware=camera.firmware,
            model=health.model if health and health.model else None,
        )
