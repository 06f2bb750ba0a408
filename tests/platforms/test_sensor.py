"""Sensors show the camera's telemetry; the last-boot time does not jitter with uptime rounding."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.esp32_camera.hub.entity_updates import STATISTICS_WRITE_INTERVAL
from tests.helpers import jpeg_bytes, wait_for

HEALTH = {
    "type": "health",
    "frames": 5,
    "dropped": 0,
    "heap": 150000,
    "minHeap": 90000,
    "rssi": -61,
    "uptime": "1h 0m 0s",
    "ip": "127.0.0.1",
    "model": "OV3660",
    "resolution": "VGA (640x480)",
    "quality": 12,
}


def state(hass: HomeAssistant, key: str) -> str | None:
    current = hass.states.get(f"sensor.esp32_camera_cam1_{key}")
    return None if current is None else current.state


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sensor_values_and_stable_last_boot(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    await wait_for(lambda: state(hass, "last_boot") is not None)
    assert state(hass, "last_boot") == "unknown"
    assert state(hass, "last_frame") == "unknown"
    await camera.send_json(HEALTH)
    await wait_for(lambda: state(hass, "wi_fi_signal") == "-61")
    assert state(hass, "resolution") == "VGA (640x480)"
    assert state(hass, "jpeg_quality") == "12"
    assert state(hass, "free_heap") == "150.0"
    assert state(hass, "minimum_free_heap") == "90.0"
    assert state(hass, "ip_address") == "127.0.0.1"  # where the connection came from
    boot = state(hass, "last_boot")
    assert boot not in (None, "unknown")
    # An uptime that moved 10 s against the wall clock (rounding, latency): the boot time stays put.
    await camera.send_json({**HEALTH, "uptime": "1h 0m 10s", "rssi": -70})
    await wait_for(lambda: state(hass, "wi_fi_signal") == "-70")
    assert state(hass, "last_boot") == boot
    # A reboot moves it.
    await camera.send_json({**HEALTH, "uptime": "0h 0m 5s", "rssi": -71})
    await wait_for(lambda: state(hass, "wi_fi_signal") == "-71")
    assert state(hass, "last_boot") != boot
    await camera.send_frame(jpeg_bytes())
    await wait_for(lambda: state(hass, "last_frame") != "unknown", timeout=8)


async def test_hub_device_sensors(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.test_hub_connected_cameras").state == "0"  # type: ignore[union-attr]
    started = hass.states.get("sensor.test_hub_listening_since").state  # type: ignore[union-attr]
    assert started not in ("unknown", "unavailable")
    camera = await connect_camera()
    await wait_for(lambda: hass.states.get("sensor.test_hub_connected_cameras").state == "1")  # type: ignore[union-attr]

    def hub_value(key: str) -> float:
        return float(hass.states.get(f"sensor.test_hub_{key}").state)  # type: ignore[union-attr]

    for _ in range(4):  # stream like a camera
        await camera.send_frame(jpeg_bytes())
        await asyncio.sleep(0.25)
    await wait_for(lambda: hub_entry.runtime_data.hub_statistics()["frames_received"] == 4)
    # Totals that move with every frame are written at most once a minute; the last one lands.
    # Twice: the hub's 5 s update signals the entity, whose trailing write is then due in a minute.
    for _ in range(2):
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=STATISTICS_WRITE_INTERVAL)
        )
        await hass.async_block_till_done()
    await wait_for(lambda: hub_value("total_bitrate") > 0)
    assert hub_value("total_frame_rate") > 0
    assert hass.states.get("sensor.test_hub_listening_since").state == started  # type: ignore[union-attr]
