"""The page's frame socket: login, binary frames, flow control, watch/unwatch and its caps.

Real Home Assistant, a real hub, cameras sending JPEGs over real sockets and the page's socket
opened with aiohttp's client on a path signed as the browser signs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
import json
import time
from typing import Any

import aiohttp
from homeassistant.auth.models import User
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.views import frame_socket
from custom_components.esp32_camera.views.frame_socket import (
    CLOSE_BAD_MESSAGE,
    CLOSE_REVOKED,
    CLOSE_TOO_MANY_SOCKETS,
    FRAME_SOCKET_URL,
    FRAMES_IN_FLIGHT,
    HEADER,
    HEADER_VERSION,
)
from tests.helpers import HUB_TOKEN, CameraClient, jpeg_bytes, wait_for, websocket_command

type Connect = Callable[..., Awaitable[CameraClient]]
type OpenPage = Callable[..., Any]

FRAMES = [jpeg_bytes(160, 120, (10 * n, 200 - 10 * n, 40), quality=80) for n in range(8)]
OTHER_FRAME = jpeg_bytes(320, 240, (30, 30, 200), quality=80)


def parse(message: aiohttp.WSMessage) -> tuple[dict[str, Any], bytes]:
    """Return the header fields and the JPEG of one binary frame message."""
    assert message.type is aiohttp.WSMsgType.BINARY, message
    data: bytes = message.data
    version, length, channel, sequence, arrived, width, height = HEADER.unpack_from(data)
    header = {
        "version": version,
        "length": length,
        "channel": channel,
        "sequence": sequence,
        "arrived": arrived,
        "width": width,
        "height": height,
    }
    return header, data[length:]


async def frame_of(camera: CameraClient, hub_entry: MockConfigEntry, jpeg: bytes) -> None:
    """Send `jpeg` from `camera` and wait until the hub has it as the camera's latest frame."""
    await camera.send_frame(jpeg)
    cameras = hub_entry.runtime_data.cameras
    await wait_for(
        lambda: any(
            record.latest_frame is not None and bytes(record.latest_frame.data) == jpeg
            for record in cameras.values()
        )
    )


async def silent(socket: aiohttp.ClientWebSocketResponse) -> None:
    """Assert that nothing arrives on `socket` for a while."""
    with pytest.raises(TimeoutError):
        await socket.receive(timeout=0.4)


@pytest.fixture
async def cameras(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Connect
) -> list[CameraClient]:
    """The hub with two cameras, cam1 and cam2, each having sent one frame."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    connected = []
    for number, camera_id in enumerate(("cam1", "cam2")):
        camera = await connect_camera(f"?token={HUB_TOKEN}&id={camera_id}")
        await frame_of(camera, hub_entry, FRAMES[number])
        connected.append(camera)
    return connected


@pytest.fixture
def server_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    """No heartbeat for sockets the server closes: aiohttp re-arms its heartbeat timer when the
    page's closing reply arrives after the server's close, and the timer outlives the test."""
    monkeypatch.setattr(frame_socket, "HEARTBEAT_SECONDS", None)


@pytest.fixture
async def open_page(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> OpenPage:
    """Open the frame socket as a page does: sign its path over HA's WebSocket, then connect."""
    client = await hass_client_no_auth()
    commands = await hass_ws_client(hass)

    @asynccontextmanager
    async def open_socket(
        path: str | None = None,
    ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        if path is None:
            signed = await websocket_command(commands, type="auth/sign_path", path=FRAME_SOCKET_URL)
            path = signed["result"]["path"]
        socket = await client.ws_connect(path)
        try:
            yield socket
        finally:
            await socket.close()

    return open_socket


async def send(socket: aiohttp.ClientWebSocketResponse, **message: Any) -> None:
    """Send one of the page's text messages."""
    await socket.send_str(json.dumps(message))


async def test_a_page_needs_a_login(
    hass: HomeAssistant,
    cameras: list[CameraClient],
    hass_client_no_auth: ClientSessionGenerator,
    open_page: OpenPage,
) -> None:
    """Without a signature (or with one of another path) the socket is refused before it opens."""
    client = await hass_client_no_auth()
    other = async_sign_path(hass, f"/api/{DOMAIN}/stats", timedelta(seconds=30))
    for path in (FRAME_SOCKET_URL, FRAME_SOCKET_URL + other[other.index("?") :]):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(path)
        assert refused.value.status == 401
    async with open_page() as socket:
        await send(socket, type="watch", channel=1, camera_id="cam1")
        header, _jpeg = parse(await socket.receive(timeout=5))
        assert header["channel"] == 1


async def test_frames_carry_the_cameras_bytes_unchanged(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cameras: list[CameraClient],
    open_page: OpenPage,
) -> None:
    """A watched camera's latest frame comes at once, then each new one: header and exact bytes."""
    async with open_page() as socket:
        before = time.time() * 1000
        await send(socket, type="watch", channel=7, camera_id="cam1")
        header, jpeg = parse(await socket.receive(timeout=5))
        assert header["version"] == HEADER_VERSION
        assert header["length"] == HEADER.size
        assert (header["channel"], header["sequence"]) == (7, 1)
        assert (header["width"], header["height"]) == (160, 120)
        assert jpeg == FRAMES[0]
        # The arrival is the hub's clock of the frame, which came before this page watched.
        assert header["arrived"] <= before + 50
        await send(socket, type="ack", channel=7)
        await frame_of(cameras[0], hub_entry, OTHER_FRAME)
        header, jpeg = parse(await socket.receive(timeout=5))
        assert (header["channel"], header["sequence"]) == (7, 2)
        assert (header["width"], header["height"]) == (320, 240)
        assert jpeg == OTHER_FRAME
        assert header["arrived"] >= before - 50
        # The other camera was not asked for: none of its frames came.
        await frame_of(cameras[1], hub_entry, FRAMES[3])
        await silent(socket)


async def test_an_unacknowledged_page_gets_the_newest_frame_and_nothing_queues(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cameras: list[CameraClient],
    open_page: OpenPage,
) -> None:
    """At most FRAMES_IN_FLIGHT unacknowledged per channel; then only the newest waits."""
    async with open_page() as socket:
        await send(socket, type="watch", channel=1, camera_id="cam1")
        received = [parse(await socket.receive(timeout=5))[1]]
        while len(received) < FRAMES_IN_FLIGHT:
            await frame_of(cameras[0], hub_entry, FRAMES[len(received)])
            received.append(parse(await socket.receive(timeout=5))[1])
        assert received == FRAMES[:FRAMES_IN_FLIGHT]
        for jpeg in FRAMES[FRAMES_IN_FLIGHT:]:
            await frame_of(cameras[0], hub_entry, jpeg)
        await silent(socket)  # the window is full: the frames in between are dropped
        await send(socket, type="ack", channel=1)
        header, jpeg = parse(await socket.receive(timeout=5))
        assert jpeg == FRAMES[-1]  # the newest, not the next
        assert header["sequence"] == len(FRAMES)  # the numbers show what was dropped
        await silent(socket)
        # An acknowledgement too many (or of a channel not watched) is harmless.
        for _ in range(4):
            await send(socket, type="ack", channel=1)
        await send(socket, type="ack", channel=99)
        await frame_of(cameras[0], hub_entry, FRAMES[0])
        assert parse(await socket.receive(timeout=5))[1] == FRAMES[0]


async def test_unwatch_stops_a_camera_and_the_other_goes_on(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cameras: list[CameraClient],
    open_page: OpenPage,
) -> None:
    """Two channels on one socket; unwatching one stops its frames only."""
    async with open_page() as socket:
        await send(socket, type="watch", channel=1, camera_id="cam1")
        await send(socket, type="watch", channel=2, camera_id="cam2")
        first = {parse(await socket.receive(timeout=5))[0]["channel"] for _ in range(2)}
        assert first == {1, 2}
        assert frame_socket.frame_sockets_watching(hass, hub_entry.entry_id) == 1
        await send(socket, type="unwatch", channel=1)
        await send(socket, type="ack", channel=2)
        await frame_of(cameras[0], hub_entry, FRAMES[4])
        await frame_of(cameras[1], hub_entry, FRAMES[5])
        header, jpeg = parse(await socket.receive(timeout=5))
        assert (header["channel"], jpeg) == (2, FRAMES[5])
        await silent(socket)
        await send(socket, type="unwatch", channel=2)
        await wait_for(lambda: frame_socket.frame_sockets_watching(hass, hub_entry.entry_id) == 0)
        # No frame listener is left behind on the hub.
        assert not any(hub_entry.runtime_data.frames._listeners.get(c) for c in ("cam1", "cam2"))


async def test_errors_are_the_integrations_own(
    hass: HomeAssistant, cameras: list[CameraClient], open_page: OpenPage, server_closes: None
) -> None:
    """An unknown camera is an error message (the socket stays); bad messages close it."""
    async with open_page() as socket:
        await send(socket, type="watch", channel=3, camera_id="nope")
        error = await socket.receive_json(timeout=5)
        assert error["type"] == "error"
        assert (error["code"], error["channel"], error["camera_id"]) == (
            "unknown_camera",
            3,
            "nope",
        )
        await send(socket, type="watch", channel=3, camera_id="cam2")
        assert parse(await socket.receive(timeout=5))[0]["channel"] == 3
    for bad in (
        "not json",
        json.dumps([1]),
        json.dumps({"type": "watch", "channel": -1}),
        json.dumps({"type": "play", "channel": 1}),
        json.dumps({"type": "watch", "channel": 1, "camera_id": 5}),
    ):
        async with open_page() as socket:
            await socket.send_str(bad)
            closed = await socket.receive(timeout=5)
            assert closed.type is aiohttp.WSMsgType.CLOSE, bad
            assert closed.data == CLOSE_BAD_MESSAGE, bad
    async with open_page() as socket:
        await socket.send_bytes(b"\x00")
        closed = await socket.receive(timeout=5)
        assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, 1003)
    async with open_page() as socket:  # a text message too long for the protocol
        await socket.send_str(json.dumps({"type": "watch", "channel": 1, "camera_id": "x" * 2000}))
        closed = await socket.receive(timeout=5)
        assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, 1009)


async def test_caps_of_channels_sockets_and_bytes(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cameras: list[CameraClient],
    open_page: OpenPage,
    monkeypatch: pytest.MonkeyPatch,
    server_closes: None,
) -> None:
    """Cameras per socket, sockets per user and bytes in flight are capped."""
    monkeypatch.setattr(frame_socket, "MAX_CHANNELS", 1)
    monkeypatch.setattr(frame_socket, "MAX_SOCKETS_PER_USER", 1)
    async with open_page() as socket:
        await send(socket, type="watch", channel=1, camera_id="cam1")
        await send(socket, type="watch", channel=2, camera_id="cam2")
        messages = [await socket.receive(timeout=5) for _ in range(2)]
        errors = [json.loads(m.data) for m in messages if m.type is aiohttp.WSMsgType.TEXT]
        assert [(e["code"], e["channel"]) for e in errors] == [("too_many_cameras", 2)]
        # Watching again on the same channel replaces it: still one channel.
        await send(socket, type="watch", channel=1, camera_id="cam2")
        header, jpeg = parse(await socket.receive(timeout=5))
        assert (header["channel"], jpeg) == (1, FRAMES[1])
        async with open_page() as second:
            closed = await second.receive(timeout=5)
            assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, CLOSE_TOO_MANY_SOCKETS)
    # Bytes in flight: one frame fills the socket's budget; the other camera waits for its ack.
    monkeypatch.setattr(frame_socket, "MAX_CHANNELS", 8)
    monkeypatch.setattr(frame_socket, "BYTES_IN_FLIGHT", len(FRAMES[0]))
    async with open_page() as socket:
        await send(socket, type="watch", channel=1, camera_id="cam1")
        header, _jpeg = parse(await socket.receive(timeout=5))
        await send(socket, type="watch", channel=2, camera_id="cam2")
        await silent(socket)
        await send(socket, type="ack", channel=1)
        header, jpeg = parse(await socket.receive(timeout=5))
        assert (header["channel"], jpeg) == (2, FRAMES[1])


async def test_a_member_watches_until_their_login_is_revoked(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cameras: list[CameraClient],
    household_user: User,
    hass_client_no_auth: ClientSessionGenerator,
    server_closes: None,
) -> None:
    """A household member (not an administrator) may watch; revoking the login closes the page."""
    refresh = await hass.auth.async_create_refresh_token(household_user, CLIENT_ID)
    path = async_sign_path(
        hass, FRAME_SOCKET_URL, timedelta(seconds=30), refresh_token_id=refresh.id
    )
    client = await hass_client_no_auth()
    socket = await client.ws_connect(path)
    await send(socket, type="watch", channel=1, camera_id="cam1")
    assert parse(await socket.receive(timeout=5))[1] == FRAMES[0]
    hass.auth.async_remove_refresh_token(refresh)
    closed = await socket.receive(timeout=5)
    assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, CLOSE_REVOKED)
    await wait_for(lambda: not hass.data[frame_socket.DATA_FRAME_SOCKETS])
    assert not any(hub_entry.runtime_data.frames._listeners.get(c) for c in ("cam1", "cam2"))
