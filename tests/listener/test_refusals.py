"""Refusals: bad registrations, closing sockets, the rate-limited log (issue 11), real sockets."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
import struct

import aiohttp
import pytest

from custom_components.esp32_camera.listener import CLOSE_WRONG_TOKEN, DeviceListener
from custom_components.esp32_camera.listener.refusals import LOG_PERIOD, Refusals, source_of
from tests.helpers import ListenerFactory, RecordingObserver, listener_url


@pytest.mark.parametrize(
    "fields",
    [{"token": "\ud800"}, {"token": 42}, {"name": "x" * 1000}, {"firmware": ["1"]}],
)
async def test_a_bad_registration_closes_4401_counted_without_traceback(
    fields: dict[str, object],
    start_listener: ListenerFactory,
    observer: RecordingObserver,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = await start_listener()
    for _ in range(5):
        async with session.ws_connect(listener_url(listener)) as ws:
            await ws.send_str(json.dumps({"type": "register", "device": "camera", **fields}))
            message = await ws.receive(timeout=5)
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == CLOSE_WRONG_TOKEN
            assert message.extra.startswith("invalid registration: invalid ")
    assert observer.events.count(("auth_failed", "127.0.0.1")) == 5
    assert listener.refusals.counts == {"invalid_registration": 5}
    assert not listener.cameras
    # (The test observer fails on purpose; that is logged, and is not the listener's.)
    assert not [r for r in caplog.records if r.exc_info and "Observer failed" not in r.getMessage()]
    # Logged once for the address, not once per attempt.
    refusals = [r for r in caplog.records if r.name.endswith("refusals")]
    assert len(refusals) == 1
    assert "127.0.0.1" in refusals[0].getMessage()


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455) small enough for a 7-bit length."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + mask + masked


async def _send_then_reset(listener: DeviceListener, *texts: str) -> None:
    """Upgrade, send text messages and vanish at once (RST), as a camera losing Wi-Fi.

    The first answer fails on the reset socket and closes the transport: the hub answers the
    next message on a closing transport.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.settings.stream_port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /?token=s3cret-token HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    raw = writer.get_extra_info("socket")
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.write(b"".join(_ws_frame(0x1, text.encode()) for text in texts))
    await writer.drain()
    writer.transport.abort()


async def test_a_camera_leaving_while_answered_is_routine(
    start_listener: ListenerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    listener = await start_listener()
    start = json.dumps({"type": "img_start", "id": 1, "size": 40000})
    register = json.dumps({"type": "register", "device": "camera"})
    for _ in range(10):
        await _send_then_reset(listener, register, start, start, start)
    await asyncio.sleep(0.3)
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert not [r for r in ours if r.levelno >= logging.ERROR or r.exc_info]


def test_refusals_log_once_per_source_per_period_and_a_few_lines_in_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    refusals = Refusals(clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            refusals.refuse("10.0.0.1", "invalid_token")
        # One IPv6 host has a whole /64: its addresses are one source.
        refusals.refuse("2001:db8::1", "too_many_connections")
        refusals.refuse("2001:db8::ffff:2", "too_many_connections")
        for n in range(100):
            refusals.refuse(f"10.1.0.{n}", "too_many_pending")
        assert len(caplog.records) == 20  # the period's budget of lines
        assert "2001:db8::1" in caplog.records[1].getMessage()
        now[0] = LOG_PERIOD
        refusals.refuse("10.0.0.1", "invalid_token")
        assert len(caplog.records) == 21
    assert refusals.counts == {
        "invalid_token": 4,
        "too_many_connections": 2,
        "too_many_pending": 100,
    }
    assert source_of("2001:db8::ffff:2") == "2001:db8::/64"
    assert source_of("::ffff:10.0.0.1") == "::ffff:10.0.0.1"  # canonical_address reduces these
    assert source_of("unknown") == "unknown"
