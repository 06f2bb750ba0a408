"""Camera settings: what the user chose (kept in the store) and what each camera runs.

A chosen setting is re-applied as soon as the camera connects, whenever it is not known to run it
already (it may have rebooted). What a camera runs is known from its `info`/`health` reports and
from the acknowledgements of commands since it connected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
import contextlib

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from ..const import DOMAIN, LOGGER
from ..listener import (
    CameraNotAdmittedError,
    CameraRecord,
    CommandResult,
    CommandTimeoutError,
    DeviceListener,
)
from ..protocol import CommandValidationError, HealthMessage, InfoMessage, wire_value
from .store import HubStore

# Commands that are actions, not settings to remember and re-apply.
ACTION_COMMANDS = frozenset({"reboot", "stats", "sensor_reset"})
# The settings a camera reports (`info`: mode, fps; `health`: resolution, quality). The others
# (brightness, contrast, mirror, exposure, ...) are never read back: what Home Assistant shows of
# them is the value last set from it (kept in the store), or unknown if it never set one.
REPORTED_SETTINGS = frozenset({"resolution", "quality", "fps", "mode"})


def is_reported(name: str) -> bool:
    """Whether the camera reports setting `name` (else only its last value set is known)."""
    return name in REPORTED_SETTINGS


def accepts_sensor_reset(camera: CameraRecord) -> bool:
    """Whether to offer `sensor_reset` to the camera.

    The stock firmware answers it "Unknown command" every time; it is also the firmware that
    sends no `firmware` in its `register` (kept in the store, so known while it is away too).
    """
    return camera.firmware is not None


def offered_actions(camera: CameraRecord) -> tuple[str, ...]:
    """Return the action commands offered for the camera (its buttons, the panel's), sorted."""
    return tuple(
        name
        for name in sorted(ACTION_COMMANDS)
        if name != "sensor_reset" or accepts_sensor_reset(camera)
    )


def reported_settings(info: InfoMessage | None, health: HealthMessage | None) -> dict[str, str]:
    """Return the settings a camera reports in `info` (mode, fps) and `health` (resolution, quality)."""
    reported: dict[str, str] = {}
    if info is not None:
        if info.fps is not None:
            reported["fps"] = str(info.fps)
        if info.mode is not None:
            with contextlib.suppress(CommandValidationError):  # a mode this version does not know
                reported["mode"] = wire_value("mode", info.mode)  # "Estabilidad" -> "stability"
    if health is not None:
        if health.resolution is not None:  # None for "Unknown" and "Custom"
            reported["resolution"] = str(health.resolution.index)
        if health.quality is not None:
            reported["quality"] = str(health.quality)
    return reported


class CameraSettings:
    """Chosen settings (in the store), what each camera runs, and their re-application."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        store: HubStore,
        listener: DeviceListener,
        updated: Callable[[CameraRecord], None],
    ) -> None:
        """`updated(camera)`: a setting changed or a re-application ended (entities show it)."""
        self._hass = hass
        self._entry = entry
        self._store = store
        self._listener = listener
        self._updated = updated
        # What each camera runs as far as we know since it connected: reported or acknowledged.
        self._known: dict[str, dict[str, str]] = {}
        self._reports_seen: dict[str, tuple[InfoMessage | None, HealthMessage | None]] = {}
        self._reapply_tasks: dict[str, asyncio.Task[None]] = {}

    def chosen(self, camera_id: str) -> Mapping[str, str]:
        """Return the value last chosen per setting (read only; re-applied after a reboot)."""
        return self._store.chosen_settings(camera_id)

    def current(self, camera_id: str, name: str) -> str | None:
        """Return a setting's wire value: as the camera reported or acknowledged it, else chosen.

        A value reported in `info`/`health` or acknowledged by a `response` since the camera
        connected wins (whichever came last); the firmware reports only some settings, so the
        others show the value last chosen.
        """
        known = self._known.get(camera_id, {})
        return known.get(name, self.chosen(camera_id).get(name))

    async def async_command_succeeded(
        self, camera_id: str, name: str, value: object, result: CommandResult, *, choose: bool
    ) -> None:
        """Note a setting the camera took (or queued); keep it as the user's choice if `choose`.

        A detour (`choose=False`, e.g. a snapshot at another resolution) changes what the camera
        runs, never what is re-applied.
        """
        if name in ACTION_COMMANDS:
            return
        wire = wire_value(name, value)
        if not result.queued:
            self._known.setdefault(camera_id, {})[name] = wire
        if choose:  # written before the command's caller is told it is done
            await self._store.async_choose_setting(camera_id, name, wire)
        # Its entity shows the change at once, whoever made it (the panel, an action).
        if (camera := self._listener.cameras.get(camera_id)) is not None:
            self._updated(camera)

    @callback
    def async_camera_connected(self, camera: CameraRecord) -> None:
        """Forget what it ran (it may have rebooted) and re-apply the chosen settings."""
        camera_id = camera.camera_id
        self._known[camera_id] = {}
        self._reports_seen[camera_id] = (camera.info, camera.health)  # of the last session
        if running := self._reapply_tasks.pop(camera_id, None):
            running.cancel()
        if self.chosen(camera_id):
            # Not eager: a camera that just connected gets its control socket right after this.
            self._reapply_tasks[camera_id] = self._entry.async_create_background_task(
                self._hass,
                self._reapply(camera),
                f"{DOMAIN} reapply {camera_id}",
                eager_start=False,
            )

    async def _reapply(self, camera: CameraRecord) -> None:
        """Send every chosen setting the camera is not known to run, one at a time.

        Settings chosen while this runs are picked up before it ends.
        """
        camera_id = camera.camera_id
        known = self._known.setdefault(camera_id, {})
        tried: set[tuple[str, str]] = set()
        while pending := [
            (name, value)
            for name, value in self.chosen(camera_id).items()
            if (name, value) not in tried and known.get(name) != value
        ]:
            for name, value in pending:
                tried.add((name, value))
                try:
                    result = await self._listener.send_command(camera_id, name, value)
                except (CommandTimeoutError, CameraNotAdmittedError) as err:
                    LOGGER.debug("Could not re-apply %s to %s: %s", name, camera_id, err)
                    continue
                if not result.ok:
                    LOGGER.debug("%s refused %s=%s: %s", camera_id, name, value, result.value)
                elif not result.queued:  # queued: sent unanswered once the camera registers
                    known[name] = value
        self._updated(camera)

    @callback
    def async_note_reports(self, camera: CameraRecord) -> None:
        """Take the settings from an `info` or `health` message that arrived since last time."""
        seen_info, seen_health = self._reports_seen.get(camera.camera_id, (None, None))
        info, health = camera.info, camera.health
        if info is seen_info and health is seen_health:
            return
        self._reports_seen[camera.camera_id] = (info, health)
        self._known.setdefault(camera.camera_id, {}).update(
            reported_settings(
                info if info is not seen_info else None,
                health if health is not seen_health else None,
            )
        )

    @callback
    def async_forget(self, camera_id: str) -> None:
        """Drop what is known of a camera the user removed (the store forgets its choices)."""
        self._known.pop(camera_id, None)
        self._reports_seen.pop(camera_id, None)
        if task := self._reapply_tasks.pop(camera_id, None):
            task.cancel()
