"""Admission binds identity (issue 11): approving an address admits that camera and nothing else."""

from __future__ import annotations

import asyncio
from ipaddress import ip_network
import json

import aiohttp
import pytest

from custom_components.esp32_camera.listener import CLOSE_REFUSED, Admission
from tests.helpers import (
    LISTENER_TOKEN,
    OTHER_JPEG,
    SMALL_JPEG,
    ListenerFactory,
    RecordingObserver,
    answer_command,
    assert_silent,
    connect_from,
    listener_url,
    register,
    wait_for,
)


@pytest.mark.parametrize("admitted_by", ["approval", "trusted_network"])
async def test_an_approved_address_cannot_take_over_a_token_camera(
    admitted_by: str,
    start_listener: ListenerFactory,
    observer: RecordingObserver,
    session: aiohttp.ClientSession,
) -> None:
    listener = await start_listener(
        **(
            {"approved_addresses": frozenset({"127.0.0.2"})}
            if admitted_by == "approval"
            else {"trusted_networks": (ip_network("127.0.0.0/8"),)}
        )
    )
    async with session.ws_connect(
        listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=porch")
    ) as real:
        await register(real, name="Porch")
        porch = listener.cameras["porch"]
        for how in ("query", "register"):
            query, extra = ("?id=porch", {}) if how == "query" else ("", {"id": "porch"})
            async with connect_from("127.0.0.2", listener_url(listener, query=query)) as attacker:
                await register(attacker, name="EVIL", **extra)
                await attacker.send_str(json.dumps({"type": "health", "model": "EVIL"}))
                for _ in range(5):
                    await attacker.send_bytes(OTHER_JPEG)
                await register(attacker, **extra)  # handled in order: all of the above was read
                # The attacker is the camera whose id is its address, nothing else.
                own = listener.cameras["127.0.0.2"]
                assert own.sockets
                assert own.name == "EVIL"
                answering = asyncio.create_task(answer_command(real))
                assert (await listener.send_command("porch", "stats")).ok
                assert (await answering)["cmd"] == "stats"
                await assert_silent(attacker)
        await real.send_bytes(SMALL_JPEG)
        await wait_for(lambda: porch.stats.frames_received == 1)
    foreign = [frame for camera_id, frame in observer.frames if camera_id == "porch"]
    assert [bytes(frame.data) for frame in foreign] == [SMALL_JPEG]
    assert (porch.admission, porch.address, porch.name, porch.health) == (
        Admission.TOKEN,
        "127.0.0.1",
        "Porch",
        None,
    )


async def test_an_id_the_token_admitted_needs_the_token_every_time(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    # A token camera may use its address as its id; that id then needs the token.
    listener = await start_listener(approved_addresses=frozenset({"127.0.0.2"}))
    async with connect_from(
        "127.0.0.2", listener_url(listener, query=f"?token={LISTENER_TOKEN}")
    ) as real:
        await register(real)
    camera = listener.cameras["127.0.0.2"]
    await wait_for(lambda: not camera.connected)
    assert (await listener.send_command("127.0.0.2", "stats")).queued
    async with connect_from("127.0.0.2", listener_url(listener)) as tokenless:
        await tokenless.send_str(json.dumps({"type": "register", "device": "camera"}))
        message = await tokenless.receive(timeout=5)
        assert (message.type, tokenless.close_code) == (aiohttp.WSMsgType.CLOSE, CLOSE_REFUSED)
        assert message.extra == "id requires token"
    assert camera.admission is Admission.TOKEN
    assert camera.queued_commands == {"stats": ""}
    assert listener.refusals.counts == {"id_requires_token": 1}


async def test_revoke_closes_the_approved_sockets_and_the_address_waits_again(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener(approved_addresses=frozenset({"127.0.0.2"}))
    async with (
        connect_from("127.0.0.2", listener_url(listener)) as stock,
        connect_from(
            "127.0.0.2", listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=other")
        ) as token,
    ):
        await register(stock)
        await register(token)
        listener.revoke("127.0.0.2")
        message = await stock.receive(timeout=5)
        assert (message.type, stock.close_code) == (aiohttp.WSMsgType.CLOSE, CLOSE_REFUSED)
        assert message.extra == "approval revoked"
        assert "127.0.0.2" not in listener.settings.approved_addresses
        # The token camera at that address does not depend on an approval.
        assert listener.cameras["other"].connected
    async with connect_from("127.0.0.2", listener_url(listener)) as again:
        await register(again)
        await again.send_bytes(SMALL_JPEG)
        await wait_for(lambda: listener.pending_frame("127.0.0.2") is not None)
    assert not [frame for camera_id, frame in observer.frames if camera_id == "127.0.0.2"]
