"""Defects issue 19 found in the listener's server: each test failed before its fix."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest

from custom_components.esp32_camera.listener import DeviceListener
from tests.helpers import LISTENER_TOKEN, ListenerFactory


async def test_malformed_text_is_counted_apart_from_binaries_that_are_not_jpeg(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    """`not_jpeg` is documented as a binary that is not a JPEG; bad text has a reason of its own."""
    listener = await start_listener()
    port = listener.settings.stream_port
    async with session.ws_connect(
        f"http://127.0.0.1:{port}/?token={LISTENER_TOKEN}&id=cam-a"
    ) as ws:
        await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
        await ws.receive_json(timeout=5)
        await ws.send_bytes(b"garbage that is not a jpeg")
        await ws.send_str("{not json")
        await ws.send_str(json.dumps(["an array", "not an object"]))
        await ws.send_str(json.dumps({"no": "type"}))
        stats = listener.cameras["cam-a"].stats
        async with asyncio.timeout(5):
            while stats.frames_failed < 4:
                await asyncio.sleep(0.01)
    failures = listener.cameras["cam-a"].stats.failures
    assert {str(reason): count for reason, count in failures.items()} == {
        "not_jpeg": 1,
        "malformed_message": 3,
    }
    assert listener.cameras["cam-a"].stats.as_dict()["failures"] == {
        "not_jpeg": 1,
        "malformed_message": 3,
    }


async def test_an_unknown_message_type_is_logged_as_its_type_only(
    start_listener: ListenerFactory,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The log line names the type (at most 64 characters), not the whole message."""
    caplog.set_level(logging.DEBUG, logger="custom_components.esp32_camera.listener")
    listener = await start_listener()
    port = listener.settings.stream_port
    long_type = "t" * 1000
    async with session.ws_connect(
        f"http://127.0.0.1:{port}/?token={LISTENER_TOKEN}&id=cam-a"
    ) as ws:
        await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
        await ws.receive_json(timeout=5)
        await ws.send_str(json.dumps({"type": long_type, "payload": "x" * 2000}))
        # Handled in order: once the next message's answer is here, the unknown one was logged.
        await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
        await ws.receive_json(timeout=5)
    lines = [r.getMessage() for r in caplog.records if "Ignoring message type" in r.getMessage()]
    assert lines == [f"Ignoring message type {'t' * 64} from 127.0.0.1"]


async def _background_tasks(listener: DeviceListener) -> set[asyncio.Task[Any]]:
    """The running tasks of the listener's methods but its watchdog: its background work."""
    await asyncio.sleep(0)  # let tasks just created start
    found: set[asyncio.Task[Any]] = set()
    for task in asyncio.all_tasks():
        coroutine = task.get_coro()
        frame = getattr(coroutine, "cr_frame", None)
        if (
            frame is not None
            and frame.f_locals.get("self") is listener
            and getattr(coroutine, "__qualname__", "") != "DeviceListener._watch"
        ):
            found.add(task)
    return found


async def test_background_closes_are_kept_until_done_and_stop_ends_them(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    """A refused socket's close runs in the background; the listener holds it, and stop ends it.

    The loop keeps only a weak reference to a task: one nobody holds may be garbage collected
    mid-flight, and one still running after `stop` outlives the listener.
    """
    listener = await start_listener()
    port = listener.settings.stream_port
    # This camera never reads, so never answers the close: the close waits (up to 1 s).
    deaf = await session.ws_connect(f"http://127.0.0.1:{port}/?token={LISTENER_TOKEN}&id=cam-a")
    await deaf.send_str(json.dumps({"type": "register", "device": "camera"}))
    await deaf.receive_json(timeout=5)
    listener.reject("127.0.0.1")
    closing = await _background_tasks(listener)
    assert [getattr(task.get_coro(), "__qualname__", "") for task in closing] == [
        "DeviceListener._refuse"
    ]
    await listener.stop()
    assert [task for task in closing if not task.done()] == []
    assert listener.background_tasks == set()
    await deaf.close()


async def test_a_finished_background_task_is_let_go(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    """Held while running, dropped when done: the set does not grow with every refusal."""
    listener = await start_listener()
    port = listener.settings.stream_port
    for _ in range(3):
        async with session.ws_connect(
            f"http://127.0.0.1:{port}/?token={LISTENER_TOKEN}&id=cam-a"
        ) as ws:
            await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
            await ws.receive_json(timeout=5)
            listener.revoke("127.0.0.1")  # token sockets stay: nothing to close
            listener.reject("127.0.0.1")
            assert len(listener.background_tasks) == 1
            closed = await ws.receive(timeout=5)  # answers the close: the task ends
            assert closed.type is aiohttp.WSMsgType.CLOSE
            assert closed.data == 4403
        async with asyncio.timeout(5):
            while listener.background_tasks:
                await asyncio.sleep(0.01)
        listener.revoke("127.0.0.1")  # let the next round connect
