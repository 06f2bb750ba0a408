"""The hub's motion detection: one worker thread, one detector per camera, results on the loop.

Frames come from the frame broker; `due` is checked on the loop by `MotionWorker.submit` (a frame
not due is counted as skipped, never queued). The worker's results hop to the loop, where motion
starts and ends are sent at once (events, not per-frame state) and the latest score waits for the
camera's throttled update. What the user chose per camera is kept in the hub's store.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import signals
from .const import DOMAIN, LOGGER
from .listener import CameraRecord
from .motion import (
    MotionDetector,
    MotionEvent,
    MotionEventType,
    MotionResult,
    MotionSettings,
    MotionWorker,
)
from .protocol import Frame
from .store import HubStore

# The settings the user chooses per camera (the others keep the detector's defaults).
MOTION_FIELDS = ("enabled", "sensitivity", "min_area", "cooldown")


def motion_settings(stored: dict[str, Any]) -> MotionSettings:
    """Build a camera's settings from its stored choices; defaults for what is missing or bad."""
    chosen = {name: stored[name] for name in MOTION_FIELDS if name in stored}
    try:
        return MotionSettings(**chosen)
    except (TypeError, ValueError) as err:
        LOGGER.warning("Stored motion settings %s are invalid (%s): using defaults", chosen, err)
        return MotionSettings()


class HubMotion:
    """Motion detection for every admitted camera of one hub."""

    def __init__(self, hass: HomeAssistant, entry_id: str, store: HubStore) -> None:
        """Prepare the worker; `async_start` runs it."""
        self._hass = hass
        self._entry_id = entry_id
        self._store = store
        self._detectors: dict[str, MotionDetector] = {}
        self._scores: dict[str, float] = {}
        self._active: dict[str, bool] = {}
        self._worker = MotionWorker(self._result_in_thread, name=f"{DOMAIN}_motion_{entry_id}")
        self._stopped = False
        self._started = False

    @callback
    def async_start(self, add_frame_listener: Any) -> CALLBACK_TYPE:
        """Start the worker and follow every camera's frames (until HA stops); returns the unsubscribe."""
        self._worker.start()
        self._started = True
        remove_listener: CALLBACK_TYPE = add_frame_listener(self._async_frame)
        remove_stop = self._hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self.async_stop)

        @callback
        def remove() -> None:
            remove_listener()
            remove_stop()

        return remove

    async def async_stop(self, _event: Event | None = None) -> None:
        """Stop the worker (it joins its thread: in the executor); also when Home Assistant stops.

        Home Assistant does not unload config entries when it stops: without this, the thread
        would go on analysing and report to a closed event loop.
        """
        self._stopped = True
        if self._started:
            self._started = False
            await self._hass.async_add_executor_job(self._worker.stop)

    def detector(self, camera_id: str) -> MotionDetector:
        """Return the camera's detector, made from its stored settings on first use."""
        detector = self._detectors.get(camera_id)
        if detector is None:
            stored = self._store.cameras.get(camera_id)
            settings = motion_settings(stored["motion"] if stored else {})
            detector = self._detectors[camera_id] = MotionDetector(settings)
        return detector

    def settings(self, camera_id: str) -> MotionSettings:
        """Return the camera's motion settings."""
        return self.detector(camera_id).settings

    def is_active(self, camera_id: str) -> bool:
        """Whether motion is going on at the camera (as last reported by the worker)."""
        return self._active.get(camera_id, False)

    def score(self, camera_id: str) -> float | None:
        """Return the changed share of the camera's latest analysed frame, percent; None before one."""
        return self._scores.get(camera_id)

    def stats(self, camera_id: str) -> dict[str, Any]:
        """Return the camera's settings and the detector's cost accounting (diagnostics)."""
        detector = self.detector(camera_id)
        chosen = asdict(detector.settings)
        return {
            "settings": {name: chosen[name] for name in (*MOTION_FIELDS, "max_rate")},
            "active": self.is_active(camera_id),
            "score": self.score(camera_id),
            **detector.stats_snapshot(),
        }

    async def async_set(self, camera_id: str, **changes: Any) -> None:
        """Change a camera's motion settings (validated), keep them, and apply them."""
        try:
            settings = replace(self.settings(camera_id), **changes)
        except ValueError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_motion_setting",
                translation_placeholders={"error": str(err)},
            ) from err
        self._store.async_set_motion(camera_id, {name: getattr(settings, name) for name in changes})
        # update_settings may wait for an analysis in progress: not on the loop.
        event = await self._hass.async_add_executor_job(
            self.detector(camera_id).update_settings, settings
        )
        if event is not None:
            self._async_event(camera_id, event)
        async_dispatcher_send(
            self._hass, signals.motion_settings_updated(self._entry_id, camera_id)
        )

    @callback
    def async_forget(self, camera_id: str) -> None:
        """Drop a removed camera's detector and state."""
        self._worker.remove(camera_id)
        self._detectors.pop(camera_id, None)
        self._scores.pop(camera_id, None)
        self._active.pop(camera_id, None)

    @callback
    def _async_frame(self, camera: CameraRecord, frame: Frame) -> None:
        if not self._stopped:
            detector = self.detector(camera.camera_id)
            self._worker.submit(camera.camera_id, detector, frame.data, frame.completed_at)

    def _result_in_thread(self, camera_id: str, result: MotionResult) -> None:
        """Hop from the worker thread to the loop."""
        self._hass.loop.call_soon_threadsafe(self._async_result, camera_id, result)

    @callback
    def _async_result(self, camera_id: str, result: MotionResult) -> None:
        if self._stopped or camera_id not in self._detectors:
            return
        self._scores[camera_id] = result.score
        if result.event is not None:
            self._async_event(camera_id, result.event)

    @callback
    def _async_event(self, camera_id: str, event: MotionEvent) -> None:
        """Send a motion start or end: the entities write their state at once."""
        self._active[camera_id] = event.type is MotionEventType.STARTED
        async_dispatcher_send(self._hass, signals.motion_event(self._entry_id, camera_id), event)
