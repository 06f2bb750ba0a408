"""MJPEG part layouts: one for browsers painting into an image, one for go2rtc, ffmpeg and the rest.

`Go2rtcPartReader` reads a stream by go2rtc's multipart rules (its pkg/mpjpeg reader, which feeds
Frigate): empty lines before a boundary line are skipped, any other line there is an error; then a
MIME header block that must carry `Content-Length`; then exactly that many bytes and a CRLF.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.esp32_camera.const import CONF_EXPOSE_HTTP
from custom_components.esp32_camera.views.mjpeg import _live_parts
from tests.helpers import (
    CHROMIUM_IMAGE_ACCEPT,
    ENTITY,
    HUB_TOKEN,
    Go2rtcPartReader,
    MultipartRuleError,
    control_url,
    jpeg_bytes,
    wait_for,
)

NEXT_PART = b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n"


async def read_until(content: aiohttp.StreamReader, received: bytearray, wanted: bytes) -> None:
    """Read from the stream until `wanted` is in what was received."""
    async with asyncio.timeout(5):
        while wanted not in received:
            received.extend(await content.readany())


FRAMES = [jpeg_bytes(color=(index * 60, 0, 0)) for index in range(3)]


@pytest.fixture
async def streaming_camera(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> Any:
    """A connected camera whose entity exists and whose first frame (FRAMES[0]) was sent."""
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    await wait_for(lambda: hass.states.get(ENTITY) is not None)
    await camera.send_frame(FRAMES[0])
    return camera


async def test_other_clients_get_parts_with_content_length(
    streaming_camera: Any, hass_client: ClientSessionGenerator
) -> None:
    """go2rtc's rules read the entity's stream part by part, each body exactly a frame."""
    camera, frames = streaming_camera, FRAMES
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy_stream/{ENTITY}", headers={"Accept": "*/*"})
    reader = Go2rtcPartReader(response.content)
    for index, frame in enumerate(frames):
        if index:
            await camera.send_frame(frame)
        async with asyncio.timeout(5):
            headers, body = await reader.next_part()
        assert headers == {"Content-Type": "image/jpeg", "Content-Length": str(len(frame))}
        assert body == frame
    response.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": CHROMIUM_IMAGE_ACCEPT},
        {"Accept": "*/*", "Sec-Fetch-Dest": "image"},  # a secure origin's image load
    ],
)
async def test_browser_image_gets_each_part_ended_at_once(
    streaming_camera: Any, hass_client: ClientSessionGenerator, headers: dict[str, str]
) -> None:
    """Each JPEG is followed by the next part's headers before the next frame exists.

    Chromium paints a part when the next boundary arrives: with the boundary written right after
    the JPEG, the first frame and every later one are painted without waiting for the next frame.
    """
    camera, frames = streaming_camera, FRAMES
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy_stream/{ENTITY}", headers=headers)
    received = bytearray()
    await read_until(response.content, received, frames[0] + NEXT_PART)
    assert received.startswith(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + frames[0])
    for frame in frames[1:]:
        await camera.send_frame(frame)
        await read_until(response.content, received, frame + NEXT_PART)
    response.close()
    # Split at the boundary, the parts are exactly the frames, none with a Content-Length.
    parts = bytes(received).split(b"--frame\r\n")[1:]
    assert parts[-1] == b"Content-Type: image/jpeg\r\n\r\n"  # the next frame's part, open
    assert [part.removesuffix(b"\r\n") for part in parts[:-1]] == [
        b"Content-Type: image/jpeg\r\n\r\n" + frame for frame in frames
    ]
    # go2rtc would refuse this layout: it is for browsers only.
    reader = asyncio.StreamReader()
    reader.feed_data(bytes(received))
    with pytest.raises(MultipartRuleError, match="no content length"):
        await Go2rtcPartReader(reader).next_part()  # type: ignore[arg-type]


async def test_viewers_of_both_layouts_at_once_each_get_their_own(
    streaming_camera: Any, hass_client: ClientSessionGenerator, hass: HomeAssistant
) -> None:
    """A frame's part is joined once per layout and shared: a browser and go2rtc watching the same
    frames each read their own layout, and the parts go with the frames they were made of."""
    camera, frames = streaming_camera, FRAMES
    client = await hass_client()
    browsers = [
        await client.get(
            f"/api/camera_proxy_stream/{ENTITY}", headers={"Accept": CHROMIUM_IMAGE_ACCEPT}
        )
        for _ in range(2)
    ]
    others = [
        Go2rtcPartReader(
            (
                await client.get(f"/api/camera_proxy_stream/{ENTITY}", headers={"Accept": "*/*"})
            ).content
        )
        for _ in range(2)
    ]
    received = [bytearray() for _ in browsers]
    for index, frame in enumerate(frames):
        if index:
            await camera.send_frame(frame)
        for response, seen in zip(browsers, received, strict=True):
            await read_until(response.content, seen, frame + NEXT_PART)
        for reader in others:
            async with asyncio.timeout(5):
                headers, body = await reader.next_part()
            assert headers["Content-Length"] == str(len(frame))
            assert body == frame
    assert received[0] == received[1]
    for response in browsers:
        response.close()
    await hass.async_block_till_done()
    gc.collect()
    # Only the newest frame (the camera still holds it) may still have parts.
    assert [bytes(frame.data) for frame in _live_parts] in ([], [frames[-1]])


async def test_control_port_mjpeg_layout_follows_the_client(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    """The control port's /mjpeg chooses the layout the same way (go2rtc reads it, so does VLC)."""
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_EXPOSE_HTTP: True}
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await simulate(resolution=3, mode="speed", fps=20)
    hub = hub_entry.runtime_data
    await wait_for(lambda: "cam1" in hub.cameras and hub.cameras["cam1"].latest_frame)
    published: list[bytes] = []
    hub.frames.async_add_listener(
        lambda _camera, frame: published.append(bytes(frame.data)), "cam1"
    )
    url = control_url(hub_entry, f"/mjpeg/cam1?token={HUB_TOKEN}")
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Accept": "*/*"}) as response:
            reader = Go2rtcPartReader(response.content)
            async with asyncio.timeout(10):
                bodies = [(await reader.next_part())[1] for _ in range(4)]
        assert all(body in published for body in bodies[1:])
        async with session.get(url, headers={"Accept": CHROMIUM_IMAGE_ACCEPT}) as response:
            received = bytearray()
            await read_until(response.content, received, NEXT_PART)  # the first frame, ended
            body = bytes(received).removeprefix(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n")
            assert body.removesuffix(NEXT_PART) in published
