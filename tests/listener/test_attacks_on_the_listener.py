"""Red team, round two: what a device can send (issue 18), over real sockets.

Each test is an attack; the ones kept here either found a hole (fixed) or add coverage that did
not exist.
"""

from __future__ import annotations

import asyncio
import json
from typing import cast

import aiohttp
import pytest

from custom_components.esp32_camera.listener.gate import ConnectionGate
from custom_components.esp32_camera.listener.refusals import Refusals
from custom_components.esp32_camera.listener.server import canonical_address
from tests.helpers import LISTENER_TOKEN, ListenerFactory, connect_from, listener_url, register

MIB = 1024 * 1024


async def test_a_wrong_token_at_the_upgrade_does_not_buy_the_admitted_message_size(
    start_listener: ListenerFactory,
) -> None:
    """Any `?token=` used to raise a stranger's message limit from 256 KiB to 8 MiB.

    aiohttp holds a message whole before the hub sees it, so 256 strangers with a made-up token
    could each make Home Assistant buffer 8 MiB (2 GiB) before the token was ever compared.
    """
    listener = await start_listener()
    async with connect_from("127.0.0.6", listener_url(listener, query="?token=made-up")) as ws:
        await ws.send_bytes(bytes(MIB))
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        # Refused by size before it was held (1009), not read whole and refused by its token.
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


class _Peer:
    """A transport as the gate sees it: only its peer address."""

    def __init__(self, address: str) -> None:
        self._peer = (address, 40000, 0, 0)

    def get_extra_info(self, name: str) -> object:
        return self._peer if name == "peername" else None


def test_ipv6_neighbours_cannot_take_a_known_cameras_connections() -> None:
    """Every host of a LAN shares its /64 (SLAAC): a stranger holding the /64's connections
    locked every approved or admitted IPv6 camera of the LAN out, refused at accept.
    """
    camera = "2001:db8::99"
    gate = ConnectionGate(
        limits=lambda: (2, 256, 50.0),
        exempt=lambda address: address == camera,
        canonical=canonical_address,
        refusals=Refusals(),
    )
    for number in range(3):
        gate.enter(cast("asyncio.BaseTransport", _Peer(f"2001:db8::{number + 1:x}")))
    assert gate.enter(cast("asyncio.BaseTransport", _Peer("2001:db8::7"))) is None  # full
    sources = [gate.enter(cast("asyncio.BaseTransport", _Peer(camera))) for _ in range(3)]
    assert sources[:2] == [camera, camera]  # the camera's own share, whatever its neighbours hold
    assert sources[2] is None  # and no more than a source's share
    for source in sources[:2]:
        assert source is not None
        gate.leave(source)
    assert gate.open_connections == 2


@pytest.mark.usefixtures("ipv6_loopback_allowed")
async def test_an_ipv6_neighbour_cannot_spend_a_token_cameras_first_messages(
    start_listener: ListenerFactory,
) -> None:
    """The stranger text rate is per /64: a stranger on the LAN spending it had the first
    `register` of a camera with the right token in its URL refused (1008), again and again.
    """
    listener = await start_listener(host="::", pending_messages_per_second=1.0)
    port = listener.settings.stream_port
    async with aiohttp.ClientSession() as client:
        async with client.ws_connect(f"http://[::1]:{port}/") as stranger:
            for _ in range(2):
                await stranger.send_str(json.dumps({"type": "health"}))
            message = await stranger.receive(timeout=5)
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert stranger.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
        async with client.ws_connect(
            f"http://[::1]:{port}/?token={LISTENER_TOKEN}&id=v6"
        ) as camera:
            await register(camera)
    assert "v6" in listener.cameras


async def test_the_token_cannot_make_any_number_of_cameras(
    start_listener: ListenerFactory,
) -> None:
    """Each id a token connection names was a new camera: a record here, and in Home Assistant
    a device, its entities (kept in the registries across restarts), a motion detector and a
    clip ring; a leaked token (or a buggy firmware numbering its ids) made them without end.
    """
    listener = await start_listener()
    async with aiohttp.ClientSession() as client:
        for number in range(300):
            async with client.ws_connect(
                listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=c{number}")
            ) as ws:
                await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
                await ws.receive(timeout=5)
        assert len(listener.cameras) <= 256
        refused = listener.refusals.counts.get("too_many_cameras", 0)
        assert refused == 300 - len(listener.cameras)
        # A camera already known still connects.
        async with client.ws_connect(
            listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=c0")
        ) as ws:
            assert (await register(ws))["status"] == "ok"
