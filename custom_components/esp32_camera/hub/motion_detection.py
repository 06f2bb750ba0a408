"""The hub's motion detection: one worker thread, one detector per camera, results on the loop.

Frames come from the frame broker; `due` is checked on the loop by `MotionWorker.submit` (a frame
not due is counted as skipped, never queued). The worker's results hop to the loop, where motion
starts and ends are sent at once (events, not per-frame state) and the latest score waits for the
camera's throttled update. What the user chose per camera is kept in the hub's store, zones and
mask areas as JSON-friendly lists (`{"name": str, "points": [[x, y], ...]}`, 0..1 from the top
left), checked against the limits below.

An analysis that raises ends the camera's motion like any ENDED event (the worker's result carries
it, motion/worker.py); a camera whose analyses keep failing gets a repair issue, deleted with its
next analysed frame, at unload, or when it is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
import math
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ..const import DOMAIN, LOGGER
from ..listener import CameraRecord
from ..motion import (
    MotionDetector,
    MotionEvent,
    MotionEventType,
    MotionResult,
    MotionSettings,
    MotionWorker,
    Zone,
)
from ..protocol import Frame
from . import signals
from .clock import wall_clock_ms
from .log_limit import OncePerPeriod
from .repair_issues import async_delete_issue, async_raise_issue
from .store import HubStore
from .store_check import is_bool, is_finite_number, is_integer, takes_field

# The settings the user chooses per camera (the others keep the detector's defaults).
MOTION_FIELDS = ("enabled", "sensitivity", "min_area", "cooldown")
AREA_FIELDS = ("zones", "mask")
# Each zone and mask area costs a masked histogram per analysed frame and one polygon to draw.
MAX_AREAS = 8  # zones per camera, and as many mask areas
MAX_POINTS = 32  # corners of one area
MAX_NAME_LENGTH = 32
ZONE_LIMITS = {"areas": MAX_AREAS, "points": MAX_POINTS, "name_length": MAX_NAME_LENGTH}
# Failed analyses in a row before a camera's repair issue: one glitching frame is not worth one.
MOTION_FAILURES_FOR_ISSUE = 10
TRACEBACK_PERIOD = 300.0  # seconds between two tracebacks of one camera's failing analyses
LOGGED_CAMERAS = 1024  # cameras whose last traceback time is kept (oldest forgotten first)
MAX_MOTION_ISSUES = 8  # per hub; the failures of every camera are counted in diagnostics anyway
# A camera's motion episode ends after this many seconds without motion, unless the user chose
# otherwise (the detector's own default, 5 s, made the binary sensor, the event entity and the
# clips flap every few seconds in a busy scene: issue 20). Frigate's motion sensor waits 30 s too.
DEFAULT_COOLDOWN = 30.0


def _invalid(key: str, **placeholders: object) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={name: str(value) for name, value in placeholders.items()},
    )


def _is_point(point: Any) -> bool:
    return (
        isinstance(point, list | tuple)
        and len(point) == 2
        and all(isinstance(value, int | float) and not isinstance(value, bool) for value in point)
    )


def areas_from_json(zones: Any, mask: Any) -> tuple[tuple[Zone, ...], tuple[Zone, ...]]:
    """Return zones and mask areas from their JSON form, within the limits.

    Names are trimmed and used once among both; coordinates are rounded to 1/10000 of the
    picture. Raises ServiceValidationError (translated) naming what is wrong.
    """
    names: set[str] = set()

    def area(item: Any) -> Zone:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME_LENGTH:
            raise _invalid("invalid_zone_name", name=name, max=MAX_NAME_LENGTH)
        name = name.strip()
        if name in names:
            raise _invalid("duplicate_zone_name", name=name)
        names.add(name)
        points = item.get("points")
        if (
            not isinstance(points, list | tuple)
            or len(points) > MAX_POINTS
            or not all(_is_point(point) for point in points)
        ):
            raise _invalid("invalid_zone", name=name, max=MAX_POINTS)
        try:  # the detector's own checks: at least 3 points, all inside the picture
            return Zone(name=name, points=tuple((round(x, 4), round(y, 4)) for x, y in points))
        except ValueError as err:
            raise _invalid("invalid_zone", name=name, max=MAX_POINTS) from err

    def areas(items: Any) -> tuple[Zone, ...]:
        if not isinstance(items, list | tuple) or len(items) > MAX_AREAS:
            raise _invalid("too_many_zones", max=MAX_AREAS)
        return tuple(area(item) for item in items)

    return areas(zones), areas(mask)


def areas_as_json(areas: tuple[Zone, ...]) -> list[dict[str, Any]]:
    """Return zones or mask areas in their JSON form (the store's and the panel's)."""
    return [{"name": zone.name, "points": [[x, y] for x, y in zone.points]} for zone in areas]


def motion_settings(stored: dict[str, Any]) -> MotionSettings:
    """Build a camera's settings from its stored choices; defaults for what is missing or bad."""
    chosen: dict[str, Any] = {"cooldown": DEFAULT_COOLDOWN}
    chosen.update((name, stored[name]) for name in MOTION_FIELDS if name in stored)
    try:
        if any(name in stored for name in AREA_FIELDS):
            chosen["zones"], chosen["mask"] = areas_from_json(
                stored.get("zones", []), stored.get("mask", [])
            )
        return MotionSettings(**chosen)
    except (TypeError, ValueError, ServiceValidationError) as err:
        LOGGER.warning("Stored motion settings %s are invalid (%s): using defaults", stored, err)
        return MotionSettings(cooldown=DEFAULT_COOLDOWN)


# The JSON type of each of MOTION_FIELDS, in their order (a stored section is checked in it).
_STORED_MOTION_TYPES: dict[str, Callable[[Any], bool]] = {
    "enabled": is_bool,
    "sensitivity": is_integer,
    "min_area": is_finite_number,
    "cooldown": is_finite_number,
}


def check_stored_motion(stored: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return a stored motion section's valid fields and the names of the others (store load).

    Each field is checked on its own, so one bad value does not cost the other choices.
    """
    kept: dict[str, Any] = {}
    bad = [name for name in stored if name not in (*MOTION_FIELDS, *AREA_FIELDS)]
    for name, is_its_type in _STORED_MOTION_TYPES.items():
        if name not in stored:
            continue
        value = stored[name]
        if is_its_type(value) and takes_field(MotionSettings, name, value):
            kept[name] = value
        else:
            bad.append(name)
    # Names are unique among zones and mask areas together: the zones first, then the mask.
    for name in AREA_FIELDS:
        if name not in stored:
            continue
        candidate = {**kept, name: stored[name]}
        try:
            areas_from_json(candidate.get("zones", []), candidate.get("mask", []))
        except ServiceValidationError:
            bad.append(name)
        else:
            kept[name] = stored[name]
    return kept, bad


class HubMotion:
    """Motion detection for every admitted camera of one hub."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, store: HubStore, title: str = ""
    ) -> None:
        """Prepare the worker; `async_start` runs it. `title` names the hub in repair issues."""
        self._hass = hass
        self._entry_id = entry_id
        self._title = title
        self._failures_in_row: dict[str, int] = {}
        self._issues: set[str] = set()  # cameras with a motion_failing repair issue
        self._store = store
        self._detectors: dict[str, MotionDetector] = {}
        self._scores: dict[str, float] = {}
        self._active: dict[str, bool] = {}
        # What the panel lights: the zones whose latest analysed frame moved, while motion is on.
        self._moving_zones: dict[str, tuple[str, ...]] = {}
        self._last_started: dict[str, float] = {}  # monotonic, the latest motion start
        # The hand-off's shortcut (per frame, on the loop): a camera's frames completed before
        # this instant are not offered (the next analysis is not due; infinity: detection off).
        # Only ever sooner than the detector's own `due`, which still decides.
        self._offer_from: dict[str, float] = {}
        self._skipped: dict[str, int] = {}  # frames not offered since last counted in detectors
        self._worker = MotionWorker(
            self._result_in_thread,
            name=f"{DOMAIN}_motion_{entry_id}",
            # The worker's thread is the gate's one owner.
            may_log=OncePerPeriod(TRACEBACK_PERIOD, keys=LOGGED_CAMERAS).allow,
        )
        self._stopped = False
        self._started = False

    @callback
    def async_start(self, add_frame_listener: Any) -> CALLBACK_TYPE:
        """Start the worker and follow every camera's frames; returns the unsubscribe."""
        self._worker.start()
        self._started = True
        remove_listener: CALLBACK_TYPE = add_frame_listener(self._async_frame)
        return remove_listener

    async def async_stop(self) -> None:
        """Stop the worker (it joins its thread: in the executor); the hub calls it on HA's stop too.

        Deletes the repair issues: counted per run, a camera that still fails raises it again.
        """
        self._stopped = True
        for camera_id in list(self._issues):
            self._delete_issue(camera_id)
        self._failures_in_row.clear()
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

    def live_state(self, camera_id: str) -> dict[str, Any]:
        """Return what the panel shows of motion now (the last start in epoch milliseconds)."""
        return {
            "enabled": self.settings(camera_id).enabled,
            "active": self.is_active(camera_id),
            "zones": list(self._moving_zones.get(camera_id, ())),
            "last_started": wall_clock_ms(self._last_started.get(camera_id)),
        }

    def stats(self, camera_id: str) -> dict[str, Any]:
        """Return the camera's settings and the detector's cost accounting (diagnostics)."""
        detector = self.detector(camera_id)
        self._count_skipped(camera_id, detector)
        chosen = asdict(detector.settings)
        return {
            "settings": {
                **{name: chosen[name] for name in (*MOTION_FIELDS, "max_rate")},
                **self.areas(camera_id),
            },
            "active": self.is_active(camera_id),
            "score": self.score(camera_id),
            **detector.stats_snapshot(),
        }

    def areas(self, camera_id: str) -> dict[str, list[dict[str, Any]]]:
        """Return the camera's zones and mask areas in their JSON form (the panel draws them)."""
        settings = self.settings(camera_id)
        return {"zones": areas_as_json(settings.zones), "mask": areas_as_json(settings.mask)}

    async def async_set_areas(self, camera_id: str, zones: Any, mask: Any) -> None:
        """Replace a camera's zones and mask areas (JSON form, checked); nothing else changes."""
        new_zones, new_mask = areas_from_json(zones, mask)
        await self.async_set(camera_id, zones=new_zones, mask=new_mask)

    async def async_set(self, camera_id: str, **changes: Any) -> None:
        """Change a camera's motion settings (validated), keep them, and apply them.

        New zones or a new mask keep the background and an ongoing motion.
        """
        try:
            settings = replace(self.settings(camera_id), **changes)
        except ValueError as err:
            raise _invalid("invalid_motion_setting", error=err) from err
        await self._store.async_set_motion(
            camera_id,
            {
                name: areas_as_json(getattr(settings, name))
                if name in AREA_FIELDS
                else getattr(settings, name)
                for name in changes
            },
        )
        # update_settings may wait for an analysis in progress: not on the loop.
        event = await self._hass.async_add_executor_job(
            self.detector(camera_id).update_settings, settings
        )
        self._offer_from.pop(camera_id, None)  # the next frame asks the detector again
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
        self._moving_zones.pop(camera_id, None)
        self._last_started.pop(camera_id, None)
        self._offer_from.pop(camera_id, None)
        self._skipped.pop(camera_id, None)
        self._failures_in_row.pop(camera_id, None)
        if camera_id in self._issues:
            self._delete_issue(camera_id)

    @callback
    def _async_frame(self, camera: CameraRecord, frame: Frame) -> None:
        camera_id = camera.camera_id
        # Most frames are not due (20 fps against 10 analyses a second; every frame while
        # detection is off): one compare and a count, nothing else.
        if frame.completed_at < self._offer_from.get(camera_id, 0.0):
            self._skipped[camera_id] = self._skipped.get(camera_id, 0) + 1
            return
        if self._stopped:
            return
        detector = self.detector(camera_id)
        self._count_skipped(camera_id, detector)
        settings = detector.settings
        if not settings.enabled:
            self._offer_from[camera_id] = math.inf
            detector.count_skip()
        elif self._worker.submit(camera_id, detector, frame.data, frame.completed_at):
            # The detector's rule (MotionDetector.due): 10 % slack under its rate cap.
            self._offer_from[camera_id] = frame.completed_at + (
                0.9 / settings.max_rate if settings.max_rate > 0 else 0.0
            )

    def _count_skipped(self, camera_id: str, detector: MotionDetector) -> None:
        """Add the frames not offered to the camera's detector's count (its diagnostics)."""
        if skipped := self._skipped.pop(camera_id, 0):
            detector.count_skip(skipped)

    def _result_in_thread(self, camera_id: str, result: MotionResult) -> None:
        """Hop from the worker thread to the loop."""
        self._hass.loop.call_soon_threadsafe(self._async_result, camera_id, result)

    @callback
    def _async_result(self, camera_id: str, result: MotionResult) -> None:
        if self._stopped or camera_id not in self._detectors:
            return
        if result.error is not None:
            self._async_failed(camera_id, result.error)
        elif result.analysed:
            self._failures_in_row.pop(camera_id, None)
            if camera_id in self._issues:
                self._delete_issue(camera_id)
        self._scores[camera_id] = result.score
        if result.event is not None:
            self._async_event(camera_id, result.event)
        if not self.is_active(camera_id):
            self._moving_zones.pop(camera_id, None)
        elif result.analysed:
            min_area = self.settings(camera_id).min_area
            self._moving_zones[camera_id] = tuple(
                sorted(
                    name
                    for name, share in result.zone_scores.items()
                    if name is not None and share >= min_area
                )
            )

    @callback
    def _async_failed(self, camera_id: str, error: str) -> None:
        """Count a failed analysis; a repair issue once they keep failing (capped per hub)."""
        count = self._failures_in_row[camera_id] = self._failures_in_row.get(camera_id, 0) + 1
        if (
            count >= MOTION_FAILURES_FOR_ISSUE
            and camera_id not in self._issues
            and len(self._issues) < MAX_MOTION_ISSUES
        ):
            self._issues.add(camera_id)
            async_raise_issue(
                self._hass,
                self._issue_id(camera_id),
                "motion_failing",
                {"camera": camera_id, "title": self._title, "count": str(count), "error": error},
            )

    def _issue_id(self, camera_id: str) -> str:
        return f"motion_failing_{self._entry_id}_{camera_id}"

    def _delete_issue(self, camera_id: str) -> None:
        self._issues.discard(camera_id)
        async_delete_issue(self._hass, self._issue_id(camera_id))

    @callback
    def _async_event(self, camera_id: str, event: MotionEvent) -> None:
        """Send a motion start or end: the entities write their state at once."""
        self._active[camera_id] = event.type is MotionEventType.STARTED
        if event.type is MotionEventType.STARTED:
            self._last_started[camera_id] = event.timestamp
        async_dispatcher_send(self._hass, signals.motion_event(self._entry_id, camera_id), event)
