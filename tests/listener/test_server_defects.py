"""Defects issue 19 found in the listener's server: each test failed before its fix."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from .conftest import TOKEN, ListenerFactory


async def test_malformed_text_is_counted_apart_from_binaries_that_are_not_jpeg(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    """`not_jpeg` is documented as a binary that is not a JPEG; bad text has a reason of its own."""
    listener = await start_listener()
    port = listener.settings.stream_port
    async with session.ws_connect(f"http://127.0.0.1:{port}/?token={TOKEN}&id=cam-a") as ws:
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
    async with session.ws_connect(f"http://127.0.0.1:{port}/?token={TOKEN}&id=cam-a") as ws:
        await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
        await ws.receive_json(timeout=5)
        await ws.send_str(json.dumps({"type": long_type, "payload": "x" * 2000}))
        # Handled in order: once the next message's answer is here, the unknown one was logged.
        await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
        await ws.receive_json(timeout=5)
    lines = [r.getMessage() for r in caplog.records if "Ignoring message type" in r.getMessage()]
    assert lines == [f"Ignoring message type {'t' * 64} from 127.0.0.1"]
