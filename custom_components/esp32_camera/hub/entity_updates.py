"""Entity updates: dispatcher signals for one camera's entities and for the hub device's.

Connection changes and telemetry are shown at once; while frames flow, updates are throttled
(the recorder stores every state write).
"""

from __future__ import annotations

from functools import partial

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import signals
from .throttle import Throttle

# Entities write state at most this often while frames flow (the recorder stores every write).
STATE_WRITE_INTERVAL = 5.0
# A value that moves with every frame (frame rate, bitrate, saved images) is written at most this
# often: the logbook and the recorder keep each change, and an SD card on a Raspberry Pi pays.
STATISTICS_WRITE_INTERVAL = 60.0


class EntityUpdates:
    """Throttled and immediate updates of a hub's camera and hub entities."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the hub device's throttle; cameras get theirs when first updated."""
        self._hass = hass
        self._entry_id = entry_id
        self._cameras: dict[str, Throttle] = {}
        self._hub = Throttle(
            hass,
            STATE_WRITE_INTERVAL,
            partial(async_dispatcher_send, hass, signals.hub_updated(entry_id)),
        )
        self._stopped = False

    def _camera(self, camera_id: str) -> Throttle:
        throttle = self._cameras.get(camera_id)
        if throttle is None:
            signal = signals.camera_updated(self._entry_id, camera_id)
            throttle = self._cameras[camera_id] = Throttle(
                self._hass, STATE_WRITE_INTERVAL, partial(async_dispatcher_send, self._hass, signal)
            )
        return throttle

    @callback
    def async_camera_now(self, camera_id: str) -> None:
        """Update one camera's entities now (connection changes, telemetry, settings)."""
        self._camera(camera_id).async_call_now()

    @callback
    def async_hub_now(self) -> None:
        """Update the hub device's entities now (a camera connected or went away)."""
        self._hub.async_call_now()

    @callback
    def async_frame(self, camera_id: str) -> None:
        """Update the camera's and the hub's entities after a frame, throttled."""
        if not self._stopped:  # no timers after stopping (frames still read while it closes)
            self._camera(camera_id).async_call()
            self._hub.async_call()

    @callback
    def async_forget(self, camera_id: str) -> None:
        """Drop a removed camera's throttle."""
        if (throttle := self._cameras.pop(camera_id, None)) is not None:
            throttle.async_cancel()

    @callback
    def async_stop(self) -> None:
        """Cancel every trailing update."""
        self._stopped = True
        for throttle in (*self._cameras.values(), self._hub):
            throttle.async_cancel()
        self._cameras.clear()
