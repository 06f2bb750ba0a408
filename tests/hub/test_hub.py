"""The hub's command path, setting memory and statistics, with a real camera socket."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
import time
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_state_report_event,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.esp32_camera.hub.entity_updates import STATE_WRITE_INTERVAL
from tests.helpers import answer, jpeg_bytes, shorten_command_timeout, wait_for


async def test_commands_map_errors_and_remember_settings(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await connect_camera()
    await wait_for(lambda: "cam1" in hub.cameras)

    answering = asyncio.create_task(answer(camera))
    result = await hub.async_send_command("cam1", "quality", 20)
    assert (await answering)["val"] == "20"
    assert result.ok
    assert hub.settings.chosen("cam1") == {"quality": "20"}

    with pytest.raises(ServiceValidationError) as invalid:
        await hub.async_send_command("cam1", "fps", 99)
    assert invalid.value.translation_key == "invalid_command_value"
    with pytest.raises(ServiceValidationError) as unknown:
        await hub.async_send_command("nope", "stats")
    assert unknown.value.translation_key == "unknown_camera"

    refusing = asyncio.create_task(answer(camera, "error"))
    with pytest.raises(HomeAssistantError) as failed:
        await hub.async_send_command("cam1", "sensor_reset")
    await refusing
    assert failed.value.translation_key == "command_failed"

    shorten_command_timeout(hub)
    with pytest.raises(HomeAssistantError) as timed_out:
        await hub.async_send_command("cam1", "stats")
    assert timed_out.value.translation_key == "command_timeout"

    # After a reboot the camera forgot its settings: the hub re-applies what the user chose.
    await camera.close()
    await wait_for(lambda: not hub.cameras["cam1"].connected)
    camera = await connect_camera()
    reapplied = await camera.ws.receive_json(timeout=5)
    assert (reapplied["cmd"], reapplied["val"]) == ("quality", "20")


async def test_pending_camera_gets_no_commands(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    await connect_camera("", source="127.0.0.3")
    await wait_for(lambda: "127.0.0.3" in hub.cameras)
    with pytest.raises(HomeAssistantError) as refused:
        await hub.async_send_command("127.0.0.3", "stats")
    assert refused.value.translation_key == "camera_not_admitted"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")  # frames received: off by default
async def test_statistics_frames_and_throttled_updates(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, simulate: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await connect_camera()
    await wait_for(lambda: "cam1" in hub.cameras)
    assert await hub.frames.async_wait_for_frame("cam1", timeout=0.05) is None
    seen: list[int] = []
    remove = hub.frames.async_add_listener(lambda _camera, frame: seen.append(len(frame.data)))
    hub.frames.async_add_listener(lambda _camera, _frame: 1 / 0, "cam1")  # a broken listener
    waiting = asyncio.create_task(hub.frames.async_wait_for_frame("cam1", timeout=5))
    frame = jpeg_bytes()
    await camera.send_frame(frame)
    received = await waiting
    assert received is not None
    assert bytes(received.data) == frame
    # A frame already newer than asked for is returned at once.
    assert await hub.frames.async_wait_for_frame("cam1", newer_than=0.0, timeout=5) is received
    for _ in range(3):
        await camera.send_frame(frame)
    await wait_for(lambda: len(seen) == 4)
    remove()
    # Up for a minute: the uptime is the time since the start, between what is seen around it.
    hub.started_at = time.monotonic() - 60
    up_before = time.monotonic() - hub.started_at
    stats = hub.hub_statistics()
    up_after = time.monotonic() - hub.started_at
    assert stats["connected_cameras"] == 1
    assert stats["frames_received"] == 4
    assert stats["bytes_received"] == 4 * len(frame)
    assert up_before <= stats["uptime"] <= up_after
    frames_received = "sensor.esp32_camera_cam1_frames_received"
    assert state(hass, frames_received) != "4"  # frames within the interval: no write yet...
    fire_write_interval(hass)
    await hass.async_block_till_done()
    assert state(hass, frames_received) == "4"  # ...one trailing write shows the last of them

    # Many frames from several cameras: each entity, the hub's included, writes its state at
    # most once per interval (not once per camera update).
    streaming = [
        await simulate(camera_id=f"cam{n}", resolution=0, fps=20, pacing=False, health_interval=600)
        for n in (2, 3, 4)
    ]
    # Entities written with every update (frame rates and bitrates are written once a minute).
    hub_sensors = [f"sensor.test_hub_{key}" for key in ("connected_cameras", "listening_since")]
    camera_sensors = [f"sensor.esp32_camera_cam{n}_frames_received" for n in (2, 3, 4)]
    # Registered, and their info and first health (telemetry is shown at once) are in.
    # Connected is "register sent": the hub may not have read it yet (a KeyError under load).
    await wait_for(
        lambda: all(
            (record := hub.cameras.get(f"cam{n}")) is not None and record.health for n in (2, 3, 4)
        )
    )
    await hass.async_block_till_done()
    writes: Counter[str] = Counter()

    @callback
    def count(event: Event[Any]) -> None:
        writes[event.data["entity_id"]] += 1

    watched = [*hub_sensors, *camera_sensors]
    unsubscribe = [
        async_track_state_change_event(hass, watched, count),
        async_track_state_report_event(hass, watched, count),
    ]
    intervals = 4
    for _ in range(intervals):
        before = sum(hub.cameras[f"cam{n}"].stats.frames_received for n in (2, 3, 4))
        await wait_for(
            lambda before=before: (
                sum(hub.cameras[f"cam{n}"].stats.frames_received for n in (2, 3, 4)) >= before + 15
            )
        )
        fire_write_interval(hass)
        await hass.async_block_till_done()
    for remove_listener in unsubscribe:
        remove_listener()
    # One write per interval; one more at most if the real clock crossed an interval too.
    for entity_id in watched:
        assert 1 <= writes[entity_id] <= intervals + 1, (entity_id, writes)
    assert float(state(hass, "sensor.esp32_camera_cam2_frames_received") or 0) > 0

    # A camera going away shows at once, on its entities and on the hub's.
    assert state(hass, "sensor.test_hub_connected_cameras") == "4"
    await streaming[0].stop()
    await wait_for(lambda: state(hass, "sensor.test_hub_connected_cameras") == "3")
    assert state(hass, "binary_sensor.esp32_camera_cam2_connectivity") == "off"


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    current = hass.states.get(entity_id)
    return None if current is None else current.state


def fire_write_interval(hass: HomeAssistant) -> None:
    """Run what is due within one state-write interval (the trailing updates), without waiting."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=STATE_WRITE_INTERVAL))
