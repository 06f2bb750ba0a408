"""The camera entity: still images and the pushed MJPEG stream through HA's camera proxy."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tests.helpers import ENTITY, jpeg_bytes, wait_for


async def test_still_image_is_exactly_the_latest_frame(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    await wait_for(lambda: hass.states.get(ENTITY) is not None)
    first, second = jpeg_bytes(color=(255, 0, 0)), jpeg_bytes(color=(0, 0, 255))
    client = await hass_client()
    await camera.send_frame(first)
    await wait_for(lambda: hass.states.get(ENTITY).state != "unavailable")  # type: ignore[union-attr]
    await asyncio.sleep(0.05)
    response = await client.get(f"/api/camera_proxy/{ENTITY}")
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    assert await response.read() == first
    await camera.send_frame(second)
    await asyncio.sleep(0.05)
    response = await client.get(f"/api/camera_proxy/{ENTITY}")
    assert await response.read() == second


async def test_mjpeg_stream_pushes_consecutive_frames_and_survives_reconnect(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    await wait_for(lambda: hass.states.get(ENTITY) is not None)
    frames = [jpeg_bytes(color=(i * 60, 0, 0)) for i in range(4)]
    await camera.send_frame(frames[0])
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy_stream/{ENTITY}")
    assert response.status == 200
    assert response.content_type == "multipart/x-mixed-replace"
    received = bytearray()

    async def read_until(count: int) -> None:
        async with asyncio.timeout(5):
            while received.count(b"\xff\xd9") < count:
                received.extend(await response.content.readany())

    await read_until(1)
    await camera.send_frame(frames[1])
    await read_until(2)
    # The camera reboots: the stream waits and resumes with the new connection's frames.
    await camera.close()
    await wait_for(lambda: hass.states.get(ENTITY).state == "unavailable")  # type: ignore[union-attr]
    camera = await connect_camera()
    await camera.send_frame(frames[2])
    await read_until(3)
    response.close()
    for frame in frames[:3]:
        assert frame in received
    assert received.startswith(b"--frame\r\nContent-Type: image/jpeg\r\n")
