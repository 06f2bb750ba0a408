"""A small recording WebSocket server standing in for the integration's listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
import json
import time
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from esp32_simulator import SimulatedCamera


@dataclass
class Event:
    """One message the server received."""

    at: float
    text: dict[str, Any] | None = None
    data: bytes | None = None

    @property
    def type(self) -> str | None:
        return None if self.text is None else self.text.get("type")


@dataclass
class Session:
    """One camera connection as the server saw it."""

    connection: ServerConnection
    path: str
    headers: dict[str, str]
    remote_address: str
    events: list[Event] = field(default_factory=list)
    closed: bool = False

    def texts(self, message_type: str | None = None) -> list[dict[str, Any]]:
        return [
            event.text
            for event in self.events
            if event.text is not None and (message_type is None or event.type == message_type)
        ]

    async def send_command(self, cmd: str, val: str = "") -> None:
        await self.connection.send(json.dumps({"type": "command", "cmd": cmd, "val": val}))


@dataclass
class AssembledFrame:
    """A frame reassembled from one of the three framings, checked against the protocol."""

    framing: str
    data: bytes
    frame_id: int | None
    header: dict[str, Any] | None = None
    chunk_lengths: tuple[int, ...] = ()


class RecordingServer:
    """Accepts camera connections on 127.0.0.1, records every message, sends commands."""

    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self.port = 0
        self._changed = asyncio.Event()
        self._server: Server | None = None

    async def start(self) -> None:
        self._server = await serve(self._handler, "127.0.0.1", 0, max_size=8 << 20)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _handler(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        session = Session(
            connection=connection,
            path=request.path,
            headers={key.lower(): value for key, value in request.headers.raw_items()},
            remote_address=connection.remote_address[0],
        )
        self.sessions.append(session)
        self._notify()
        try:
            async for message in connection:
                now = time.monotonic()
                if isinstance(message, str):
                    session.events.append(Event(now, text=json.loads(message)))
                else:
                    session.events.append(Event(now, data=message))
                self._notify()
        except Exception:  # noqa: BLE001 - an aborted camera socket is a normal end here
            pass
        finally:
            session.closed = True
            self._notify()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    async def wait_session(self, index: int = 0, timeout: float = 5.0) -> Session:
        await self.wait_for(lambda: len(self.sessions) > index, timeout)
        return self.sessions[index]

    async def wait_frames(
        self, count: int, session_index: int = 0, timeout: float = 5.0
    ) -> list[AssembledFrame]:
        def enough() -> bool:
            return (
                len(self.sessions) > session_index
                and len(assemble_frames(self.sessions[session_index].events)) >= count
            )

        await self.wait_for(enough, timeout)
        return assemble_frames(self.sessions[session_index].events)


def assemble_frames(events: list[Event]) -> list[AssembledFrame]:
    """Reassemble the complete frames of a session, asserting the framing rules on the way."""
    frames: list[AssembledFrame] = []
    position = 0
    while position < len(events):
        event = events[position]
        if event.data is not None:
            frames.append(AssembledFrame("binary", event.data, None))
            position += 1
            continue
        header = event.text or {}
        if header.get("type") == "frame_start":
            if position + 2 >= len(events):
                break  # still in flight
            data, footer = events[position + 1].data, events[position + 2].text
            assert data is not None
            assert len(data) == header["size"]
            assert footer == {"type": "frame_end", "id": header["id"]}
            frames.append(AssembledFrame("frame", data, header["id"], header))
            position += 3
            continue
        if header.get("type") == "img_start":
            chunks = events[position + 1 : position + 1 + header["chunks"]]
            if len(chunks) < header["chunks"] or any(chunk.data is None for chunk in chunks):
                break  # in flight or cut
            payload = b"".join(chunk.data or b"" for chunk in chunks)
            assert len(payload) == header["size"]
            frames.append(
                AssembledFrame(
                    "chunked",
                    payload,
                    header["id"],
                    header,
                    tuple(len(chunk.data or b"") for chunk in chunks),
                )
            )
            position += 1 + header["chunks"]
            continue
        position += 1  # register, info, health, response, status, img_end
    return frames


@pytest.fixture(autouse=True)
def allow_loopback_sockets(socket_enabled: None) -> None:
    """Let these tests open real TCP sockets (the test plugin blocks them by default)."""


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    recording_server = RecordingServer()
    await recording_server.start()
    yield recording_server
    await recording_server.stop()


@pytest.fixture
async def make_camera(
    server: RecordingServer,
) -> AsyncIterator[Callable[..., SimulatedCamera]]:
    """Start SimulatedCameras against the recording server; stop them all at teardown.

    Defaults favour fast tests: speed mode, no pacing, QQVGA, short reconnect interval.
    """
    cameras: list[SimulatedCamera] = []

    def factory(**options: Any) -> SimulatedCamera:
        options.setdefault("mode", "speed")
        options.setdefault("pacing", False)
        options.setdefault("resolution", 0)
        options.setdefault("reconnect_interval", 0.1)
        camera = SimulatedCamera("127.0.0.1", server.port, **options)
        cameras.append(camera)
        camera.start()
        return camera

    yield factory
    for camera in cameras:
        await camera.stop()
