"""The motion worker thread: newest frame per camera, results and ticks from the thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import threading
import time
from typing import override

import pytest

from custom_components.esp32_camera.hub.log_limit import OncePerPeriod
from custom_components.esp32_camera.motion import (
    MotionDetector,
    MotionEventType,
    MotionResult,
    MotionSettings,
    MotionWorker,
)
from esp32_simulator.scenes import FPS
from tests.helpers import scene_jpegs

TIMEOUT = 10.0


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.001)


class Results:
    """Collects results; can hold the worker thread inside the callback."""

    def __init__(self) -> None:
        self.items: list[tuple[str, MotionResult]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.inside = threading.Event()
        self.arrived = threading.Condition()

    def __call__(self, camera_id: str, result: MotionResult) -> None:
        self.inside.set()
        assert self.hold.wait(TIMEOUT)
        with self.arrived:
            self.items.append((camera_id, result))
            self.arrived.notify_all()

    def wait_for(self, count: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.items) >= count, TIMEOUT)


@contextlib.contextmanager
def running(results: Results) -> Iterator[MotionWorker]:
    worker = MotionWorker(results, may_log=OncePerPeriod(300.0, keys=8).allow)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def test_newest_frame_wins_and_results_arrive() -> None:
    results = Results()
    jpegs = scene_jpegs("crossing")
    detector = MotionDetector(MotionSettings(max_rate=0))
    with running(results) as worker:
        results.hold.clear()
        assert worker.submit("cam", detector, jpegs[0], 0.0)
        assert results.inside.wait(TIMEOUT)  # the worker is busy with frame 0
        for number in range(1, 6):
            assert worker.submit("cam", detector, jpegs[number], number / FPS)
        assert worker.waiting == 1  # one slot per camera: frames 1..4 were replaced
        assert detector.stats.skipped == 4
        results.hold.set()
        results.wait_for(2)
        assert [result.timestamp for _camera, result in results.items] == [0.0, 5 / FPS]
        assert detector.stats.analysed == 2


def test_rate_cap_and_bad_frames_and_removal() -> None:
    results = Results()
    jpegs = scene_jpegs("crossing")
    detector = MotionDetector(MotionSettings(max_rate=1))
    with running(results) as worker:
        assert worker.submit("cam", detector, b"broken", 0.0)
        wait_until(lambda: detector.stats.errors == 1)  # no result for it
        assert worker.submit("cam", detector, jpegs[0], 0.1)  # nothing analysed yet: due
        results.wait_for(1)
        assert not worker.submit("cam", detector, jpegs[1], 0.2)  # within the cap: skipped
        assert detector.stats.skipped == 1
        results.inside.clear()
        results.hold.clear()
        assert worker.submit("cam", detector, jpegs[2], 2.0)
        assert results.inside.wait(TIMEOUT)
        assert worker.submit("cam", detector, jpegs[3], 3.2)
        worker.remove("cam")
        assert worker.waiting == 0
        results.hold.set()
    assert not worker.submit("cam", detector, jpegs[4], 9.0)  # stopped


def test_ticks_end_a_silent_camera_and_a_failing_callback_is_survived() -> None:
    now = [0.0]
    ended = threading.Event()
    calls: list[MotionResult] = []

    def on_result(camera_id: str, result: MotionResult) -> None:
        calls.append(result)
        if result.event is not None and result.event.type is MotionEventType.ENDED:
            ended.set()
        raise RuntimeError("a broken callback")

    worker = MotionWorker(
        on_result,
        tick_interval=0.01,
        clock=lambda: now[0],
        may_log=OncePerPeriod(300.0, keys=8).allow,
    )
    worker.start()
    jpegs = scene_jpegs("crossing")
    detector = MotionDetector(MotionSettings(max_rate=0, cooldown=1.0))
    try:
        for number in range(40):  # until the object is in view
            worker.submit("cam", detector, jpegs[number], number / FPS)
            wait_until(lambda: worker.waiting == 0)
        wait_until(lambda: detector.stats.analysed == 40)
        assert detector.active
        now[0] = 39 / FPS + 1.5  # the camera went silent for longer than the cool-down
        assert ended.wait(TIMEOUT)
        assert not detector.active
        assert calls[-1].score == 0.0
    finally:
        worker.stop()


class Exploding(MotionDetector):
    """A detector whose analysis raises while `explode` is set: a bug nobody foresaw.

    The 2-pixel JPEG of issue 18 was one (fixed in the detector); the worker must survive the next.
    """

    def __init__(self, settings: MotionSettings) -> None:
        super().__init__(settings)
        self.explode = threading.Event()

    @override
    def analyse(self, jpeg: bytes | bytearray, timestamp: float) -> MotionResult | None:
        if self.explode.is_set():
            raise RuntimeError("an analysis that raises")
        return super().analyse(jpeg, timestamp)


def test_a_raising_analysis_ends_that_motion_and_the_worker_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    results = Results()
    jpegs = scene_jpegs("crossing")
    bad = Exploding(MotionSettings(max_rate=0))
    good = MotionDetector(MotionSettings(max_rate=0))
    with running(results) as worker:
        for number in range(40):  # until the object is in view: motion is on
            worker.submit("bad", bad, jpegs[number], number / FPS)
            wait_until(lambda: worker.waiting == 0)
        # The count is taken once the 40th result is delivered, not once it is
        # analysed: the worker counts an analysis before it hands the result over.
        results.wait_for(40)
        assert bad.stats.analysed == 40
        assert bad.active
        count = len(results.items)
        bad.explode.set()
        worker.submit("bad", bad, jpegs[40], 40 / FPS)
        wait_until(lambda: bad.stats_snapshot()["failures"] == 1)
        worker.submit("bad", bad, jpegs[41], 41 / FPS)
        results.wait_for(count + 1)
        camera_id, failed = results.items[count]
        assert camera_id == "bad"
        assert failed.error is not None
        assert "RuntimeError" in failed.error
        assert failed.event is not None
        assert failed.event.type is MotionEventType.ENDED
        assert not failed.active
        assert not bad.active
        # Every other camera is still analysed.
        analysed = good.stats.analysed
        for number in range(5):
            assert worker.submit("good", good, jpegs[number], number / FPS)
            wait_until(lambda: worker.waiting == 0)
        wait_until(lambda: good.stats.analysed == analysed + 5)
        # The failing camera recovers with its next good analysis, on a new background.
        wait_until(lambda: bad.stats_snapshot()["failures"] == 2)
        bad.explode.clear()
        worker.submit("bad", bad, jpegs[42], 42 / FPS)
        # The detector counts an analysis before it records its result: wait for the result.
        wait_until(lambda: bad.last_result is not None and bad.last_result.timestamp == 42 / FPS)
        assert bad.last_result is not None
        assert bad.last_result.reset
        assert bad.stats.analysed == 41
    # One traceback per camera per period: two failures, one log record.
    logged = [record for record in caplog.records if "bad" in record.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None


class TickExploding(MotionDetector):
    """A detector whose cool-down tick raises (a bug nobody foresaw)."""

    @override
    def tick(self, now: float) -> None:
        raise RuntimeError("a tick that raises")


def test_a_raising_tick_does_not_stop_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    results = Results()
    worker = MotionWorker(results, tick_interval=0.01, may_log=OncePerPeriod(300.0, keys=8).allow)
    worker.start()
    jpegs = scene_jpegs("crossing")
    broken = TickExploding(MotionSettings(max_rate=0))
    good = MotionDetector(MotionSettings(max_rate=0))
    try:
        worker.submit("broken", broken, jpegs[0], 0.0)
        wait_until(lambda: broken.stats.analysed == 1)
        time.sleep(0.1)  # several ticks, each raising
        for number in range(3):
            worker.submit("good", good, jpegs[number], number / FPS)
            wait_until(lambda: worker.waiting == 0)
        wait_until(lambda: good.stats.analysed == 3)
    finally:
        worker.stop()
    logged = [record for record in caplog.records if "broken" in record.getMessage()]
    assert len(logged) == 1  # rate-limited: one traceback for many ticks
