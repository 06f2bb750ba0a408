"""Memory budgets: what a connection can make the hub hold (issue 11), over real sockets."""

from __future__ import annotations

import contextlib
import json

import aiohttp

from custom_components.esp32_camera.listener import DeviceListener
from custom_components.esp32_camera.protocol import DropReason
from tests.helpers import (
    LARGE_JPEG,
    LISTENER_TOKEN,
    SMALL_JPEG,
    ListenerFactory,
    RecordingObserver,
    connect_from,
    jpeg_bytes,
    listener_url,
    read_through,
    register,
    wait_for,
)

MIB = 1024 * 1024


async def img_start(
    listener: DeviceListener, ws: aiohttp.ClientWebSocketResponse, camera_id: str, size: int
) -> None:
    """Declare a chunked frame; return once the listener has read the declaration."""
    await ws.send_str(json.dumps({"type": "img_start", "id": 1, "size": size, "chunks": 9}))
    await read_through(listener, ws, camera_id)


async def test_a_declared_frame_costs_nothing_until_its_bytes_arrive(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(
                connect_from(
                    f"127.0.8.{n + 1}",
                    listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=b{n}"),
                )
            )
            for n in range(20)
        ]
        for n, ws in enumerate(sockets):
            await register(ws)
            await img_start(listener, ws, f"b{n}", 8 * MIB)  # 160 MiB declared in all
        assert listener.frame_budget.in_flight == 0
        await sockets[0].send_bytes(b"\xff\xd8" + bytes(4094))
        await wait_for(lambda: listener.frame_budget.in_flight == 4096)
    await wait_for(lambda: listener.frame_budget.in_flight == 0)


async def test_the_global_budget_drops_the_frame_that_would_exceed_it(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener(
        frame_budget=len(LARGE_JPEG) + 1000, max_frame_size=len(LARGE_JPEG)
    )
    async with (
        session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=hog")) as hog,
        session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=cam")) as cam,
    ):
        await register(hog)
        await register(cam)
        await img_start(listener, hog, "hog", len(LARGE_JPEG))
        await hog.send_bytes(LARGE_JPEG[:-10])  # holds nearly the whole budget, never finishes
        await img_start(listener, cam, "cam", len(LARGE_JPEG))
        await cam.send_bytes(LARGE_JPEG[:2000])
        await wait_for(
            lambda: listener.cameras["cam"].stats.failures.get(DropReason.OVER_BUDGET) == 1
        )
        # The dropped frame gave its bytes back; small frames still flow.
        await cam.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
        await hog.close()
        await wait_for(lambda: listener.frame_budget.in_flight == 0)
        await img_start(listener, cam, "cam", len(LARGE_JPEG))
        await cam.send_bytes(LARGE_JPEG)
        await observer.wait_frames(2)
    assert [bytes(frame.data) for _, frame in observer.frames] == [SMALL_JPEG, LARGE_JPEG]


async def test_a_pending_connection_gets_one_preview_not_a_frame_buffer(
    start_listener: ListenerFactory, observer: RecordingObserver
) -> None:
    listener = await start_listener(pending_frame_size=64 * 1024)
    preview = jpeg_bytes(64, 48)
    async with connect_from("127.0.0.5", listener_url(listener)) as ws:
        await register(ws)
        # Declared above the pending budget: refused at once.
        await img_start(listener, ws, "127.0.0.5", 8 * MIB)
        await ws.send_bytes(preview)
        await wait_for(lambda: listener.pending_frame("127.0.0.5") is not None)
        camera = listener.cameras["127.0.0.5"]
        assert camera.stats.failures == {DropReason.TOO_LARGE: 1}
        # A single message above the pending budget closes the socket (1009) before it is held.
        await ws.send_bytes(bytes(100 * 1024))
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    # Once approved, the same camera's frames may be as large as admitted ones.
    async with connect_from("127.0.0.5", listener_url(listener)) as ws:
        listener.approve("127.0.0.5")
        await register(ws)
        await img_start(listener, ws, "127.0.0.5", len(LARGE_JPEG))
        for offset in range(0, len(LARGE_JPEG), 24576):  # as the firmware chunks it
            await ws.send_bytes(LARGE_JPEG[offset : offset + 24576])
        await observer.wait_frames(1)
    assert bytes(observer.frames[0][1].data) == LARGE_JPEG
