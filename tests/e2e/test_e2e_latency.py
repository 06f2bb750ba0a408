"""Display latency in Chromium: a frame's completion to its display, at 20 and 1 fps.

On the panel's video, the camera's grid tile and the card (bench/browser.py measures). The figures
of each attempt are written to e2e-output/display-latency-<attempt>.json.
"""

from __future__ import annotations

import json

from bench.browser import measure_display_latency
from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant
from tests.e2e.browser_helpers import OUTPUT, WatchedBrowser, log, open_page, send_command

# Display latency targets (ms) on this machine: p50 and p99 at 20 fps, p50 at 1 fps.
LATENCY_TARGETS = {20: (20.0, 60.0), 1: (30.0, None)}
LATENCY_SECONDS = {20: 20.0, 1: 12.0}
GRID_FPS = 8  # the cameras' rate in the other tests


async def set_fps(hass: HomeAssistant, camera: SimulatedCamera, fps: int) -> None:
    """Set a camera's frame rate with the send_command action; wait until it applies."""
    await send_command(hass, camera.display_id, "fps", fps)
    await camera.wait_for(lambda camera: camera.fps == fps, timeout=15)


def latency_failures(figures: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Log the figures; return the targets they miss."""
    failures = []
    for fps, (p50_target, p99_target) in LATENCY_TARGETS.items():
        for name, summary in figures[f"{fps} fps"].items():
            log(
                f"display latency at {fps} fps, {name}: p50 {summary['p50']} ms, p99 "
                f"{summary['p99']} ms over {summary['count']:g} frames (sampled every "
                f"{summary['sampling_gap_p99']} ms at p99)"
            )
            if summary["count"] < (2 if fps == 1 else 20):
                failures.append(f"{name} at {fps} fps: only {summary['count']:g} frames seen")
            elif summary["p50"] > p50_target or (
                p99_target is not None and summary["p99"] > p99_target
            ):
                failures.append(f"{name} at {fps} fps: {summary}")
    return failures


async def test_display_latency_meets_its_targets(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    card_path: str,
) -> None:
    """The first camera's frames are displayed within the targets at 20 and 1 fps.

    This machine is shared: a measurement that misses a target is repeated once, and fails only
    when the second misses too (both are logged).
    """
    # The other cameras idle at 1 fps meanwhile: on this shared 2-core machine eight busy grid
    # tiles starve the page's sampler (scripts/bench measures one camera alone).
    try:
        for other in cameras[1:]:
            await set_fps(home_assistant, other, 1)
        for attempt in (1, 2):
            figures = await measure_display_latency(
                lambda path: open_page(browser, home_assistant, path, dark=False, phone=False),
                home_assistant,
                cameras[0],
                card_path,
                LATENCY_SECONDS,
            )
            failures = latency_failures(figures)
            OUTPUT.mkdir(exist_ok=True)
            (OUTPUT / f"display-latency-{attempt}.json").write_text(
                json.dumps(figures, indent=2) + "\n", encoding="utf-8"
            )
            if not failures:
                break
            log(f"display latency above target (attempt {attempt}): {failures}")
    finally:  # the tests after this one see every camera at the usual rate
        for camera in cameras:
            await set_fps(home_assistant, camera, GRID_FPS)
    assert not failures, f"display latency above target twice: {failures}"
