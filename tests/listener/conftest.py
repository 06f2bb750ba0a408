"""The listener tests use real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import pytest
import pytest_socket

from custom_components.esp32_camera.listener import CameraRecord, DeviceListener, ListenerSettings
from custom_components.esp32_camera.protocol import Frame
from tests.ports import free_port

TOKEN = "s3cret-token"


@pytest.fixture(autouse=True)
def allow_loopback_sockets(socket_enabled: None) -> None:
    """Let these tests open real TCP sockets (the test plugin blocks them by default)."""


class RecordingObserver:
    """Keeps every callback for assertions."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.frames: list[tuple[str, Frame]] = []
        self.frame_event = asyncio.Event()

    def camera_connected(self, camera: CameraRecord) -> None:
        self.events.append(("connected", camera.camera_id))

    def camera_disconnected(self, camera: CameraRecord) -> None:
        self.events.append(("disconnected", camera.camera_id))

    def camera_pending(self, camera: CameraRecord) -> None:
        self.events.append(("pending", camera.address))

    def camera_updated(self, camera: CameraRecord) -> None:
        self.events.append(("updated", camera.camera_id))

    def frame_received(self, camera: CameraRecord, frame: Frame) -> None:
        self.frames.append((camera.camera_id, frame))
        self.frame_event.set()

    def pending_overflow(self, sources: Sequence[str]) -> None:
        self.events.append(("overflow", tuple(sources)))

    def authentication_failed(self, address: str, reason: str) -> None:
        self.events.append(("auth_failed", address))
        raise RuntimeError("observer bug")  # must not break the listener

    async def wait_frames(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.frames) < count:
                self.frame_event.clear()
                await self.frame_event.wait()


type ListenerFactory = Callable[..., Awaitable[DeviceListener]]


@pytest.fixture
async def observer() -> RecordingObserver:
    return RecordingObserver()


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def start_listener(
    observer: RecordingObserver,
) -> AsyncGenerator[ListenerFactory]:
    listeners: list[DeviceListener] = []

    async def factory(**overrides: Any) -> DeviceListener:
        settings = ListenerSettings(
            token=TOKEN,
            stream_port=free_port(),
            control_port=free_port(),
            **{"command_timeout": 1.0, "host": "127.0.0.1", **overrides},
        )
        listener = DeviceListener(settings, observer)
        await listener.start()
        listeners.append(listener)
        return listener

    yield factory
    for listener in listeners:
        await listener.stop()


@pytest.fixture
def ipv6_loopback_allowed() -> None:
    """Let the test connect to ::1 too (Home Assistant's test plugin allows 127.0.0.1 only)."""
    pytest_socket.socket_allow_hosts(["127.0.0.1", "::1"])
