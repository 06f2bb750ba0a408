"""A lean camera for load generation: the firmware's framings over a hand-rolled WebSocket client.

The simulator (`esp32_simulator`) is the faithful camera; this client is the cheap one, so that
the benchmarks measure the receiver and not the sender. Client frames must be masked (RFC 6455
§5.3); a zero masking key leaves the payload unchanged, so each JPEG is written as it is, without
a copy or an XOR pass. Writes wait until asyncio's buffer is empty (`drain` with a zero high-water
mark), so "sent" means every byte reached the kernel.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
import time
from typing import Any

from esp32_simulator.camera import (
    Framing,
    Mode,
    chunk_size_for,
    framing_for,
    image_start_message,
)
from esp32_simulator.jpeg import SOI, jpeg_dimensions, make_test_jpeg

OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
_ZERO_MASK = b"\x00\x00\x00\x00"
# A COM segment right after SOI carries the frame's sequence number, so that a viewer can tell
# which frame it read: marker, length (2 + 4 + 8), tag, sequence.
SEQUENCE_TAG = b"BNCH"
_SEQUENCE_SEGMENT = struct.Struct(">2sH4sQ")
SEQUENCE_OFFSET = len(SOI)
SEQUENCE_END = SEQUENCE_OFFSET + _SEQUENCE_SEGMENT.size


def ws_header(opcode: int, length: int) -> bytes:
    """Return a final, masked (zero key) client frame header for a payload of `length` bytes."""
    if length < 126:
        return struct.pack(">BB", 0x80 | opcode, 0x80 | length) + _ZERO_MASK
    if length < 1 << 16:
        return struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, length) + _ZERO_MASK
    return struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, length) + _ZERO_MASK


def text_frame(message: dict[str, Any]) -> bytes:
    """Return one text WebSocket frame holding `message` as compact JSON, as the firmware sends."""
    payload = json.dumps(message, separators=(",", ":")).encode()
    return ws_header(OPCODE_TEXT, len(payload)) + payload


def sequenced_jpeg(
    size: int, label: str = "bench", resolution: tuple[int, int] | None = None
) -> bytearray:
    """Return a real JPEG of exactly `size` bytes with room for a sequence number after SOI.

    With `resolution` (width, height) the picture has those dimensions (the coarsest quality
    that fits, for work that decodes it: motion detection); else the largest that fits `size`.
    """
    room = size - _SEQUENCE_SEGMENT.size
    if resolution is None:
        jpeg = make_test_jpeg(size=room, label=label)
    else:
        for quality in (12, 20, 30, 63):
            with contextlib.suppress(ValueError):
                jpeg = make_test_jpeg(*resolution, quality=quality, size=room, label=label)
                break
        else:
            raise ValueError(f"no {resolution} JPEG fits {size} bytes")
    return bytearray(with_sequence(jpeg, 0))


def with_sequence(jpeg: bytes | bytearray, sequence: int) -> bytes:
    """`jpeg` with `sequence` in a COM segment after its SOI: the same picture, other bytes."""
    segment = _SEQUENCE_SEGMENT.pack(
        b"\xff\xfe", _SEQUENCE_SEGMENT.size - 2, SEQUENCE_TAG, sequence
    )
    return SOI + segment + jpeg[len(SOI) :]


def set_sequence(jpeg: bytearray, sequence: int) -> None:
    """Write `sequence` into a JPEG made by `sequenced_jpeg`, in place."""
    struct.pack_into(">Q", jpeg, SEQUENCE_END - 8, sequence)


def read_sequence(jpeg: bytes | bytearray | memoryview) -> int | None:
    """Return the sequence number a `sequenced_jpeg` carries, or None for another JPEG."""
    if len(jpeg) < SEQUENCE_END:
        return None
    _, _, tag, sequence = _SEQUENCE_SEGMENT.unpack_from(jpeg, SEQUENCE_OFFSET)
    return int(sequence) if tag == SEQUENCE_TAG else None


def frame_messages(jpeg: bytes | bytearray, frame_id: int, mode: Mode = Mode.SPEED) -> list[bytes]:
    """Return the WebSocket frames the firmware sends for one JPEG, by its size (three framings).

    Binary payloads are memoryviews of `jpeg`, not copies: build the messages once and change
    the sequence number in place between sends (after `send` returned: the buffer is empty). The
    JPEG's last byte is in the last binary payload; the messages after it are footers.
    """
    size = len(jpeg)
    view = memoryview(jpeg)
    framing = framing_for(size)
    if framing is Framing.BINARY:
        return [ws_header(OPCODE_BINARY, size), view]  # type: ignore[list-item]
    if framing is Framing.FRAME:
        return [
            text_frame({"type": "frame_start", "id": frame_id, "size": size}),
            ws_header(OPCODE_BINARY, size),
            view,  # type: ignore[list-item]
            text_frame({"type": "frame_end", "id": frame_id}),
        ]
    chunk_size = chunk_size_for(size, mode)
    width, height = jpeg_dimensions(bytes(jpeg)) or (0, 0)
    header = image_start_message(frame_id, size, chunk_size, width, height)
    messages: list[bytes] = [text_frame(header)]
    for index in range(header["chunks"]):
        chunk = view[index * chunk_size : (index + 1) * chunk_size]
        messages += [ws_header(OPCODE_BINARY, len(chunk)), chunk]  # type: ignore[list-item]
    messages.append(text_frame({"type": "img_end", "id": frame_id, "size": size, "success": True}))
    return messages


def footer_count(jpeg_size: int) -> int:
    """Return how many messages follow the JPEG's last byte in `frame_messages` (its footer)."""
    return 0 if framing_for(jpeg_size) is Framing.BINARY else 1


class _Discard(asyncio.Protocol):
    """Drop what the server sends (acks, commands) but answer its close, as the firmware's client.

    Server frames are parsed only as far as needed to find a close frame (RFC 6455 §5.5.1).
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.handshake = bytearray()
        self._incoming = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self._can_write = asyncio.Event()
        self._can_write.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=0)  # drained means handed to the kernel

    def data_received(self, data: bytes) -> None:
        if self.upgraded.done():
            self._incoming += data
            self._answer_close()
            return
        self.handshake += data
        if b"\r\n\r\n" in self.handshake:
            head, _, rest = bytes(self.handshake).partition(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            if b" 101 " in status:
                self.upgraded.set_result(None)
                self._incoming += rest
                self._answer_close()
            else:
                self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))

    def _answer_close(self) -> None:
        """Skip whole server frames; on a close frame, echo it and end the connection."""
        while len(self._incoming) >= 2:
            opcode, length = self._incoming[0] & 0x0F, self._incoming[1] & 0x7F
            start = 2
            if length == 126:
                if len(self._incoming) < 4:
                    return
                length, start = struct.unpack_from(">H", self._incoming, 2)[0], 4
            elif length == 127:
                if len(self._incoming) < 10:
                    return
                length, start = struct.unpack_from(">Q", self._incoming, 2)[0], 10
            if len(self._incoming) < start + length:
                return
            payload = bytes(self._incoming[start : start + length])
            del self._incoming[: start + length]
            if opcode == OPCODE_CLOSE and self.transport is not None:
                self.transport.write(ws_header(OPCODE_CLOSE, len(payload[:2])) + payload[:2])
                self.transport.close()
                return

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    async def drain(self) -> None:
        if self.closed.done():
            raise ConnectionResetError("the server closed the connection")
        await self._can_write.wait()

    def connection_lost(self, exc: Exception | None) -> None:
        self._can_write.set()
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)


class WireCamera:
    """One camera connection: handshake, `register`, then frames written as fast as asked."""

    def __init__(self, host: str, port: int, camera_id: str, token: str) -> None:
        """Prepare; `connect` dials."""
        self.host = host
        self.port = port
        self.camera_id = camera_id
        self.token = token
        self._protocol: _Discard | None = None

    async def connect(self) -> None:
        """Dial, upgrade to WebSocket and register (token and id in the URL, as rebuilt firmware)."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Discard, self.host, self.port)
        self._protocol = protocol
        key = base64.b64encode(os.urandom(16)).decode()
        assert protocol.transport is not None
        protocol.transport.write(
            (
                f"GET /?id={self.camera_id}&token={self.token} HTTP/1.1\r\n"
                f"Host: {self.host}:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "User-Agent: arduino-WebSocket-Client\r\n\r\n"
            ).encode()
        )
        async with asyncio.timeout(10):
            await protocol.upgraded
        await self.send(
            [text_frame({"type": "register", "device": "camera", "id": self.camera_id})]
        )

    @property
    def closed(self) -> bool:
        """Return whether the connection has ended."""
        return self._protocol is None or self._protocol.closed.done()

    async def send(self, messages: list[bytes]) -> int:
        """Write `messages` and wait until they are all in the kernel; return the time (ns)."""
        protocol = self._protocol
        assert protocol is not None
        assert protocol.transport is not None
        if protocol.closed.done():  # asyncio would only log each write to a closed socket
            raise ConnectionResetError("the server closed the connection")
        protocol.transport.writelines(messages)
        await protocol.drain()
        return time.monotonic_ns()

    async def send_frame(self, messages: list[bytes], footers: int) -> int:
        """Write one frame's messages; return when (ns) its JPEG's last byte reached the kernel."""
        split = len(messages) - footers
        sent_at = await self.send(messages[:split])
        if footers:
            await self.send(messages[split:])
        return sent_at

    def abort(self) -> None:
        """Cut the connection at once (a camera losing power or Wi-Fi)."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.abort()

    async def close(self) -> None:
        """Close the TCP connection (without a WebSocket close handshake, like a reset camera)."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
            await self._protocol.closed
