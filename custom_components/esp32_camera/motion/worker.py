"""One thread analyses every camera's frames, newest first: analysis never queues behind itself.

The event loop offers each frame (``MotionWorker.submit``: O(1), no decoding, never blocks on an
analysis). Each camera has a slot for its newest frame awaiting analysis: a frame offered while
the previous one still waits replaces it (the older one is counted as skipped), so a slow machine
analyses fewer frames instead of falling behind, and the memory held is one frame per camera. The
thread hands each result to ``on_result`` from the worker thread: the Home Assistant side passes a
callback that hops to the loop (``hass.loop.call_soon_threadsafe``).

The thread also ends motions whose camera went silent: every ``tick_interval`` seconds it calls each
known detector's ``tick`` and reports an ENDED event as a result without analysis (``score`` 0).

One analysis that raises (a bug, a picture nobody foresaw) never ends the thread: the detector
counts it and ends the camera's motion (``MotionDetector.fail``), the result carries the error and
the thread goes on with the next camera. Its traceback is logged when the
``may_log`` gate the hub passes lets it through (once per camera per period).
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import threading
import time

from .detector import MotionDetector, MotionResult

_LOGGER = logging.getLogger(__name__)


type ResultCallback = Callable[[str, MotionResult], None]


class MotionWorker:
    """A daemon thread analysing the newest frame of each camera in turn.

    ``submit``, ``remove`` and ``stop`` are thread-safe; ``on_result`` runs in the worker thread.
    """

    def __init__(
        self,
        on_result: ResultCallback,
        *,
        name: str = "esp32_camera_motion",
        tick_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        may_log: Callable[[str], bool] = lambda _camera_id: True,
    ) -> None:
        """Create the worker; ``start()`` runs its thread. ``clock`` is the frames' clock.

        ``may_log(camera_id)`` says whether a failed analysis's traceback is logged now: the hub
        passes its once-per-period gate (called from this thread only), since a camera can send
        the same bad picture 20 times a second.
        """
        self._on_result = on_result
        self._tick_interval = tick_interval
        self._clock = clock
        self._condition = threading.Condition()
        self._detectors: dict[str, MotionDetector] = {}  # every camera seen, for the ticks
        self._slots: dict[str, tuple[MotionDetector, bytes | bytearray, float]] = {}
        self._order: list[str] = []  # cameras with a waiting frame, in arrival order
        self._stopping = False
        self._may_log = may_log
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def submit(
        self, camera_id: str, detector: MotionDetector, jpeg: bytes | bytearray, timestamp: float
    ) -> bool:
        """Offer a frame; False (and a skip counted) when the rate cap says it is not due.

        ``jpeg`` must not be mutated afterwards (the listener's frames never are).
        """
        if not detector.due(timestamp):
            detector.count_skip()
            return False
        with self._condition:
            if self._stopping:
                return False
            self._detectors[camera_id] = detector
            replaced = self._slots.get(camera_id)
            if replaced is not None:
                replaced[0].count_skip()
            else:
                self._order.append(camera_id)
            self._slots[camera_id] = (detector, jpeg, timestamp)
            self._condition.notify()
        return True

    def remove(self, camera_id: str) -> None:
        """Forget a camera and drop its waiting frame (removed, or its detection disabled)."""
        with self._condition:
            self._detectors.pop(camera_id, None)
            if self._slots.pop(camera_id, None) is not None:
                self._order.remove(camera_id)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread after the analysis in progress; waiting frames are dropped."""
        with self._condition:
            self._stopping = True
            self._slots.clear()
            self._order.clear()
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def waiting(self) -> int:
        """Cameras with a frame waiting for analysis."""
        with self._condition:
            return len(self._order)

    def _run(self) -> None:
        next_tick = self._clock() + self._tick_interval
        while True:
            with self._condition:
                while not self._order and not self._stopping:
                    if not self._condition.wait(max(0.0, next_tick - self._clock())):
                        break
                if self._stopping:
                    return
                work = None
                if self._order:
                    camera_id = self._order.pop(0)
                    work = (camera_id, *self._slots.pop(camera_id))
                detectors = list(self._detectors.items())
            if work is not None:
                camera_id, detector, jpeg, timestamp = work
                try:
                    result = detector.analyse(jpeg, timestamp)
                except Exception as error:  # noqa: BLE001 - one frame must not stop every camera
                    self._log_failure(camera_id, error)
                    result = detector.fail(timestamp, error)
                if result is not None:
                    self._report(camera_id, result)
            now = self._clock()
            if now >= next_tick:
                next_tick = now + self._tick_interval
                for camera_id, detector in detectors:
                    try:
                        event = detector.tick(now)
                    except Exception as error:  # noqa: BLE001 - as above
                        self._log_failure(camera_id, error)
                        continue
                    if event is not None:
                        self._report(camera_id, MotionResult.without_picture(now, event))

    def _log_failure(self, camera_id: str, error: Exception) -> None:
        """Log the traceback when the hub's gate lets this camera's through."""
        if not self._may_log(camera_id):
            return
        _LOGGER.warning(
            "Motion analysis failed for %s (counted in diagnostics; not logged again for this "
            "camera for a while)",
            camera_id,
            exc_info=error,
        )

    def _report(self, camera_id: str, result: MotionResult) -> None:
        try:
            self._on_result(camera_id, result)
        except Exception:
            # A failing callback must not stop every camera's detection.
            _LOGGER.exception("Motion result callback failed for %s", camera_id)
