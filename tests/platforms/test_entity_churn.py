"""A minute of steady streaming changes each entity enabled by default at most about once.

The logbook and the recorder keep every state change: an entity that changes with every frame
fills both (issue 20: "Last frame" was 538 of 833 logbook entries in ten minutes of the demo).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.esp32_camera.hub.entity_updates import STATISTICS_WRITE_INTERVAL
from tests.helpers import CameraClient, jpeg_bytes

FPS = 10
HEALTH_EVERY = 10  # seconds, as the firmware sends it
INFO = {
    "type": "info",
    "resolutions": "0:QQVGA(160x120),7:XGA(1024x768)",
    "mode": "Velocidad",
    "fps": FPS,
}


def health(seconds_up: int, frames: int) -> dict[str, Any]:
    """The firmware's `health`: its counters and uptime move, its settings stay."""
    return {
        "type": "health",
        "frames": frames,
        "dropped": 0,
        "heap": 150_000 - seconds_up % 7 * 128,  # free memory wanders a little
        "minHeap": 90_000,
        "rssi": -60 - seconds_up % 3,  # and so does the signal
        "uptime": f"0h {seconds_up // 60}m {seconds_up % 60}s",
        "ip": "127.0.0.1",
        "model": "OV3660",
        "resolution": "QQVGA (160x120)",
        "quality": 12,
    }


async def settle(hass: HomeAssistant, done: Callable[[], bool]) -> None:
    """Let the hub read what was sent: through the executor, as the loop's clock stands still."""
    for _ in range(2000):
        await hass.async_block_till_done()
        if done():
            return
        await hass.async_add_executor_job(time.sleep, 0.001)
    pytest.fail("the hub did not read what the camera sent")


class SteadyCamera:
    """A camera streaming at FPS frames per second of the frozen clock, with its telemetry."""

    def __init__(
        self, hass: HomeAssistant, hub: Any, camera: CameraClient, freezer: FrozenDateTimeFactory
    ) -> None:
        self.hass, self.hub, self.camera, self.freezer = hass, hub, camera, freezer
        self.seconds = 0
        self.frames = 0
        self.frame = jpeg_bytes()

    def all_read(self) -> bool:
        """Whether the hub has read every frame sent."""
        return bool(self.hub.cameras["cam1"].stats.frames_received == self.frames)

    async def stream(self, seconds: int) -> None:
        """Stream for `seconds` of the frozen clock, each second's frames, then its timers."""
        for _ in range(seconds):
            if self.seconds % HEALTH_EVERY == 0:
                await self.camera.send_json(health(self.seconds, self.frames))
                await self.camera.send_json({"type": "status", "msg": "streaming"})
            for _ in range(FPS):
                await self.camera.send_frame(self.frame)
                self.frames += 1
                self.freezer.tick(timedelta(seconds=1 / FPS))
            await settle(self.hass, self.all_read)
            self.seconds += 1
            async_fire_time_changed(self.hass)
            await self.hass.async_block_till_done()


async def test_a_minute_of_streaming_changes_each_default_entity_at_most_twice(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
) -> None:
    """Frames at 10 fps, health every 10 s, continuous saving on: a minute of it.

    Every entity enabled by default (the camera's, its saving's and the hub's) changes at most
    twice in that minute, once its first real values are in; the frame rate still follows.
    """
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await connect_camera()
    await camera.send_json(INFO)
    await settle(hass, lambda: "cam1" in hub.cameras and hub.cameras["cam1"].info is not None)
    await hub.async_set_saving("cam1", True)  # the saved-image counters move too
    steady = SteadyCamera(hass, hub, camera, freezer)
    # The first real values: a couple of telemetry rounds and a full statistics interval.
    await steady.stream(int(STATISTICS_WRITE_INTERVAL) + 5)
    enabled = sorted(
        entry.entity_id
        for entry in er.async_entries_for_config_entry(entity_registry, hub_entry.entry_id)
        if entry.disabled_by is None
    )
    frame_rate = "sensor.esp32_camera_cam1_frame_rate"
    assert frame_rate in enabled
    assert "sensor.esp32_camera_cam1_last_frame" not in enabled
    changes: Counter[str] = Counter()

    @callback
    def count(event: Event[Any]) -> None:
        if event.data["entity_id"] in enabled:
            changes[event.data["entity_id"]] += 1

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, count)
    await steady.stream(60)
    unsubscribe()

    assert steady.frames > 60 * FPS
    assert hub.saver.counters("cam1").saved_total > 0  # saving ran all along
    too_often = {entity_id: n for entity_id, n in changes.items() if n > 2}
    assert not too_often, f"changed more than twice in a minute of streaming: {too_often}"
    # Throttled, not frozen: the frame rate's last value landed within the minute.
    assert changes[frame_rate] >= 1
    assert float(hass.states.get(frame_rate).state) > 0  # type: ignore[union-attr]
