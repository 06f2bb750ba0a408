"""Pending cameras exist while connected, within caps (issue 11), over real sockets."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from custom_components.esp32_camera.listener import CLOSE_TOO_MANY
from tests.helpers import (
    ListenerFactory,
    RecordingObserver,
    connect_from,
    jpeg_bytes,
    listener_url,
    register,
    wait_for,
)

PREVIEW = jpeg_bytes(64, 48)


async def test_a_pending_camera_leaves_nothing_but_a_bounded_preview(
    start_listener: ListenerFactory, observer: RecordingObserver
) -> None:
    listener = await start_listener(max_pending_cameras=8)
    # 40 addresses, each connecting 3 times with a fresh id and a preview, then leaving.
    for round_ in range(3):
        for n in range(40):
            query = f"?id=fresh{round_}x{n}"
            async with connect_from(f"127.0.1.{n + 1}", listener_url(listener, query=query)) as ws:
                await register(ws, id=f"other{n}")
                await ws.send_bytes(PREVIEW)
                await wait_for(lambda n=n: listener.pending_frame(f"127.0.1.{n + 1}") is not None)
    await wait_for(lambda: not listener.cameras)
    # Only the latest previews of the last 8 addresses stay, for their discovery cards.
    kept = [n for n in range(1, 41) if listener.pending_frame(f"127.0.1.{n}") is not None]
    assert kept == list(range(33, 41))
    assert bytes(listener.pending_frame("127.0.1.40").data) == PREVIEW  # type: ignore[union-attr]
    assert observer.events.count(("pending", "127.0.1.1")) == 1  # announced once per address
    listener.approve("127.0.1.40")
    assert listener.pending_frame("127.0.1.40") is None
    assert not listener.cameras


async def test_many_ids_from_one_address_are_one_pending_camera(
    start_listener: ListenerFactory,
) -> None:
    listener = await start_listener(max_connections_per_source=50)
    async with contextlib.AsyncExitStack() as stack:
        for n in range(50):
            ws = await stack.enter_async_context(
                connect_from("127.0.2.1", listener_url(listener, query=f"?id=id{n}"))
            )
            await register(ws, id=f"reg{n}")
        assert list(listener.cameras) == ["127.0.2.1"]
        assert len(listener.cameras["127.0.2.1"].sockets) == 50
    await wait_for(lambda: not listener.cameras)


async def test_beyond_the_pending_cap_unknown_addresses_are_refused_and_reported_once(
    start_listener: ListenerFactory, observer: RecordingObserver
) -> None:
    listener = await start_listener(max_pending_cameras=3)
    async with contextlib.AsyncExitStack() as stack:
        for n in range(3):
            ws = await stack.enter_async_context(
                connect_from(f"127.0.3.{n + 1}", listener_url(listener))
            )
            await register(ws)
        for n in (4, 5, 6):
            refused = await stack.enter_async_context(
                connect_from(f"127.0.3.{n}", listener_url(listener))
            )
            await refused.send_str('{"type":"register"}')
            message = await refused.receive(timeout=5)
            assert (message.type, refused.close_code) == (aiohttp.WSMsgType.CLOSE, CLOSE_TOO_MANY)
            assert message.extra == "too many pending"
        assert len(listener.cameras) == 3
        # The known pending addresses still connect more sockets.
        again = await stack.enter_async_context(connect_from("127.0.3.1", listener_url(listener)))
        await register(again)
    overflow = [event for event in observer.events if event[0] == "overflow"]
    assert overflow == [("overflow", ("127.0.3.4",))]  # once per period, not per address
    assert listener.refusals.counts == {"too_many_pending": 3}
    await wait_for(lambda: not listener.cameras)
    # Room again once they left.
    async with connect_from("127.0.3.9", listener_url(listener)) as ws:
        await register(ws)
        assert "127.0.3.9" in listener.cameras
    await asyncio.sleep(0)


async def test_waves_of_new_addresses_are_announced_a_cap_per_period(
    start_listener: ListenerFactory, observer: RecordingObserver
) -> None:
    listener = await start_listener(max_pending_cameras=2)
    for wave in range(3):  # each wave leaves before the next: the pending cap alone allows all
        for n in range(2):
            async with connect_from(f"127.0.9.{wave * 2 + n + 1}", listener_url(listener)) as ws:
                await register(ws)
    pending = [event for event in observer.events if event[0] == "pending"]
    assert pending == [("pending", "127.0.9.1"), ("pending", "127.0.9.2")]
    assert [event for event in observer.events if event[0] == "overflow"] == [
        ("overflow", ("127.0.9.3",))
    ]
