"""The hub's command path, setting memory and statistics, with a real camera socket."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import answer, jpeg_bytes, shorten_command_timeout, wait_for


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
    assert hub.desired_settings("cam1") == {"quality": "20"}

    with pytest.raises(ServiceValidationError) as invalid:
        await hub.async_send_command("cam1", "fps", 99)
    assert invalid.value.translation_key == "invalid_command_value"
    with pytest.raises(ServiceValidationError) as unknown:
        await hub.async_send_command("nope", "stats")
    assert unknown.value.translation_key == "unknown_camera"
    with pytest.raises(ServiceValidationError):
        hub.get_camera("nope")

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


async def test_statistics_frames_and_throttled_updates(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await connect_camera()
    await wait_for(lambda: "cam1" in hub.cameras)
    assert await hub.async_wait_for_frame("cam1", timeout=0.05) is None
    seen: list[int] = []
    remove = hub.async_add_frame_listener(lambda _camera, frame: seen.append(len(frame.data)))
    hub.async_add_frame_listener(lambda _camera, _frame: 1 / 0, "cam1")  # a broken listener
    waiting = asyncio.create_task(hub.async_wait_for_frame("cam1", timeout=5))
    frame = jpeg_bytes()
    await camera.send_frame(frame)
    received = await waiting
    assert received is not None
    assert bytes(received.data) == frame
    # A frame already newer than asked for is returned at once.
    assert await hub.async_wait_for_frame("cam1", newer_than=0.0, timeout=5) is received
    for _ in range(3):
        await camera.send_frame(frame)
    await wait_for(lambda: len(seen) == 4)
    remove()
    stats = hub.hub_statistics()
    assert stats["connected_cameras"] == 1
    assert stats["frames_received"] == 4
    assert stats["bytes_received"] == 4 * len(frame)
    assert stats["uptime"] >= 0
    state = hass.states.get("sensor.esp32_camera_cam1_frames_received")
    assert state is not None
    # Frames within the throttle window produce one trailing update, not one write per frame.
    await wait_for(
        lambda: hass.states.get("sensor.esp32_camera_cam1_frames_received").state == "4", timeout=8
    )  # type: ignore[union-attr]
