"""Connection limits and deadlines (issue 11), over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import pytest

from custom_components.esp32_camera.listener import CLOSE_LIVENESS, DeviceListener, ListenerSettings
from tests.helpers import (
    LISTENER_TOKEN,
    ListenerFactory,
    connect_from,
    listener_url,
    register,
    wait_for,
)


async def closed_by_hub(
    listener: DeviceListener, source: str, request: bytes = b"", *, within: float = 5.0
) -> float:
    """Connect from `source`, send `request`; return how long until the hub closed the socket.

    Raises TimeoutError when the hub keeps it open for `within` seconds.
    """
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", listener.settings.stream_port, local_addr=(source, 0)
    )
    try:
        writer.write(request)
        async with asyncio.timeout(within):
            with contextlib.suppress(ConnectionResetError):
                while await reader.read(1024):
                    pass
    finally:
        writer.close()
    return time.monotonic() - started


# The caps' tests wait for a close that only the refusal at accept can make in time: a request
# that got past accept would be kept open this long (its upgrade deadline).
NO_UPGRADE_DEADLINE = 3600.0


async def test_connections_per_source_are_capped_at_accept(
    start_listener: ListenerFactory,
) -> None:
    listener = await start_listener(
        max_connections_per_source=3, upgrade_timeout=NO_UPGRADE_DEADLINE
    )
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(connect_from("127.0.5.1", listener_url(listener)))
            for _ in range(3)
        ]
        for ws in sockets:
            await register(ws)
        # The fourth is closed at accept, before any request is read.
        await closed_by_hub(listener, "127.0.5.1", b"GET / HTTP/1.1\r\n")
        async with connect_from("127.0.5.2", listener_url(listener)) as other:
            await register(other)
        await sockets[0].close()
        async with connect_from("127.0.5.1", listener_url(listener)) as again:
            await register(again)
    assert listener.refusals.counts == {"too_many_connections_from_source": 1}


async def test_total_connections_are_capped_but_known_cameras_get_in(
    start_listener: ListenerFactory,
) -> None:
    listener = await start_listener(
        max_connections=4,
        approved_addresses=frozenset({"127.0.6.9"}),
        upgrade_timeout=NO_UPGRADE_DEADLINE,
    )
    async with contextlib.AsyncExitStack() as stack:
        for n in range(3):
            ws = await stack.enter_async_context(
                connect_from(f"127.0.6.{n + 1}", listener_url(listener))
            )
            await register(ws)
        token = await stack.enter_async_context(
            connect_from(
                "127.0.6.8", listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=cam")
            )
        )
        await register(token)
        await closed_by_hub(listener, "127.0.6.5")  # closed at accept
        # Approved addresses and admitted cameras' addresses are not locked out by a flood.
        for source in ("127.0.6.9", "127.0.6.8"):
            async with connect_from(source, listener_url(listener)) as ws:
                await register(ws)
    assert listener.refusals.counts == {"too_many_connections": 1}


async def test_a_slow_upgrade_request_is_closed_at_its_deadline(
    start_listener: ListenerFactory,
) -> None:
    deadline = 0.5
    listener = await start_listener(upgrade_timeout=deadline)
    # Headers trickling in never complete the request: closed at this deadline (not before it),
    # well before the listener's default one (5 s) would have.
    within = ListenerSettings(token=LISTENER_TOKEN).upgrade_timeout - 1
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-a: "
    assert await closed_by_hub(listener, "127.0.7.1", request, within=within) >= deadline * 0.8
    await closed_by_hub(listener, "127.0.7.1", within=within)  # nothing sent at all


@pytest.mark.parametrize(
    ("settings", "query", "first", "reason"),
    [
        ({"register_timeout": 0.5}, "", None, "no registration"),
        ({"register_timeout": 0.5}, f"?token={LISTENER_TOKEN}", None, "no registration"),
        ({"pending_idle_timeout": 1.0}, "", "register", "idle"),
    ],
)
async def test_a_connection_that_only_pings_is_closed_at_its_deadline(
    settings: dict[str, float],
    query: str,
    first: str | None,
    reason: str,
    start_listener: ListenerFactory,
    session: aiohttp.ClientSession,
) -> None:
    listener = await start_listener(**settings)
    async with (
        session.ws_connect(listener_url(listener, query=query), autoping=False) as ws,
        session.ws_connect(
            listener_url(listener, query=f"?token={LISTENER_TOKEN}"), autoping=False
        ) as camera,
    ):
        await register(camera)
        if first:
            await register(ws)
        while True:
            try:
                message = await ws.receive(timeout=0.3)
            except TimeoutError:
                await ws.ping()
                await camera.ping()
                continue
            if message.type is not aiohttp.WSMsgType.PONG:
                break
        # Closed by the deadline named (pings do not keep it open); a deadline not kept would
        # loop here until pytest's timeout.
        assert (ws.close_code, message.extra) == (CLOSE_LIVENESS, reason)
        # An admitted camera that pings is alive (its liveness timeout is 30 s).
        assert listener.cameras["127.0.0.1"].connected
    await wait_for(lambda: sum(listener.refusals.counts.values()) == 1)


async def test_new_connections_from_unknown_addresses_are_rate_limited(
    start_listener: ListenerFactory,
) -> None:
    listener = await start_listener(
        new_connections_per_second=5.0, approved_addresses=frozenset({"127.0.7.99"})
    )

    async def is_refused(source: str) -> bool:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", listener.settings.stream_port, local_addr=(source, 0)
        )
        try:
            async with asyncio.timeout(0.3):
                with contextlib.suppress(ConnectionResetError):
                    await reader.read(1)
                return True
        except TimeoutError:
            return False  # accepted: waiting for its request
        finally:
            writer.close()

    # 20 at once: the burst allowance is one second's worth.
    refused = sum(await asyncio.gather(*(is_refused(f"127.0.7.{n + 1}") for n in range(20))))
    assert 13 <= refused <= 15
    # A known camera's address is never held back by a flood of strangers.
    async with connect_from("127.0.7.99", listener_url(listener)) as ws:
        await register(ws)
    assert listener.refusals.counts["connection_rate"] == refused
