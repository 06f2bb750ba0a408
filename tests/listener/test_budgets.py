"""Memory budgets: what a connection can make the hub hold (issue 11), over real sockets."""

from __future__ import annotations

import contextlib
import json

import aiohttp

from custom_components.esp32_camera.protocol import DropReason

from ..protocol.conftest import make_jpeg
from .conftest import TOKEN, ListenerFactory, RecordingObserver
from .test_listener import LARGE, SMALL, connect_from, register, until, url

MIB = 1024 * 1024


async def img_start(ws: aiohttp.ClientWebSocketResponse, size: int) -> None:
    await ws.send_str(json.dumps({"type": "img_start", "id": 1, "size": size, "chunks": 9}))
    await ws.receive_json(timeout=5)  # img_ack


async def test_a_declared_frame_costs_nothing_until_its_bytes_arrive(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(
                connect_from(f"127.0.8.{n + 1}", url(listener, query=f"?token={TOKEN}&id=b{n}"))
            )
            for n in range(20)
        ]
        for ws in sockets:
            await register(ws)
            await img_start(ws, 8 * MIB)  # 160 MiB declared in all
        assert listener.frame_budget.in_flight == 0
        await sockets[0].send_bytes(b"\xff\xd8" + bytes(4094))
        await until(lambda: listener.frame_budget.in_flight == 4096)
    await until(lambda: listener.frame_budget.in_flight == 0)


async def test_the_global_budget_drops_the_frame_that_would_exceed_it(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener(frame_budget=len(LARGE) + 1000, max_frame_size=len(LARGE))
    async with (
        session.ws_connect(url(listener, query=f"?token={TOKEN}&id=hog")) as hog,
        session.ws_connect(url(listener, query=f"?token={TOKEN}&id=cam")) as cam,
    ):
        await register(hog)
        await register(cam)
        await img_start(hog, len(LARGE))
        await hog.send_bytes(LARGE[:-10])  # holds nearly the whole budget, never finishes
        await img_start(cam, len(LARGE))
        await cam.send_bytes(LARGE[:2000])
        await until(lambda: listener.cameras["cam"].stats.failures.get(DropReason.OVER_BUDGET) == 1)
        # The dropped frame gave its bytes back; small frames still flow.
        await cam.send_bytes(SMALL)
        await observer.wait_frames(1)
        await hog.close()
        await until(lambda: listener.frame_budget.in_flight == 0)
        await img_start(cam, len(LARGE))
        await cam.send_bytes(LARGE)
        await observer.wait_frames(2)
    assert [bytes(frame.data) for _, frame in observer.frames] == [SMALL, LARGE]


async def test_a_pending_connection_gets_one_preview_not_a_frame_buffer(
    start_listener: ListenerFactory, observer: RecordingObserver
) -> None:
    listener = await start_listener(pending_frame_size=64 * 1024)
    preview = make_jpeg(64, 48)
    async with connect_from("127.0.0.5", url(listener)) as ws:
        await register(ws)
        await img_start(ws, 8 * MIB)  # declared above the pending budget: refused at once
        await ws.send_bytes(preview)
        await until(lambda: listener.pending_frame("127.0.0.5") is not None)
        camera = listener.cameras["127.0.0.5"]
        assert camera.stats.failures == {DropReason.TOO_LARGE: 1}
        # A single message above the pending budget closes the socket (1009) before it is held.
        await ws.send_bytes(bytes(100 * 1024))
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    # Once approved, the same camera's frames may be as large as admitted ones.
    async with connect_from("127.0.0.5", url(listener)) as ws:
        listener.approve("127.0.0.5")
        await register(ws)
        await img_start(ws, len(LARGE))
        for offset in range(0, len(LARGE), 24576):  # as the firmware chunks it
            await ws.send_bytes(LARGE[offset : offset + 24576])
        await observer.wait_frames(1)
    assert bytes(observer.frames[0][1].data) == LARGE
