"""The motion benchmark's own tools: interval arithmetic, the baseline detector, ring figures."""

from __future__ import annotations

from bench.motion import FrameDifference, active_intervals, ring_memory
from custom_components.esp32_camera.motion import MotionSettings
from esp32_simulator.scenes import SceneSize, build_scenes


def testactive_intervals() -> None:
    assert active_intervals([]) == []
    assert active_intervals([False, True, True, False, True]) == [(1, 3), (4, 5)]


def test_the_baseline_fires_on_a_lamp_the_detector_ignores() -> None:
    lamp = build_scenes(SceneSize(160, 120, (320, 240)))["lamp"]
    baseline = FrameDifference(MotionSettings())
    moving = [baseline.moving(lamp.render(number)) for number in range(38, 42)]
    assert moving == [False, False, True, True]  # the lamp goes on at frame 40


def test_ring_memory_counts_every_frame() -> None:
    figures = ring_memory([bytes(1000), bytes(2000)], seconds=1.0)
    assert figures["frames"] == 21
    assert figures["jpeg_bytes"] == 11 * 1000 + 10 * 2000
    assert figures["reported_memory"] > figures["jpeg_bytes"]
    # tracemalloc sees every thread's allocations: in a test run other threads' too, so only the
    # bench's own process gives a meaningful figure; here it must merely have been measured.
    assert figures["measured_overhead_bytes"] > 0
