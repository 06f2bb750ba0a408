"""A bug reached by every frame of a camera logs one traceback, then only a count (issue 18)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.listener import CameraRecord
from custom_components.esp32_camera.protocol import Frame
from tests.helpers import jpeg_bytes, wait_for


async def test_a_failing_frame_listener_logs_one_traceback_then_counts(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    seen: list[Frame] = []

    def buggy(camera: CameraRecord, frame: Frame) -> None:
        seen.append(frame)
        raise RuntimeError("frame listener bug")

    hub.frames.async_add_listener(buggy)
    camera = await connect_camera()
    for _ in range(30):
        await camera.send_frame(jpeg_bytes())
    await wait_for(lambda: len(seen) == 30)
    failures = [r for r in caplog.records if "Frame listener failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info
    assert hub.listener.device_log.counts["unexpected_errors"] == 30
