"""A small recording WebSocket server standing in for the integration's listener."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from esp32_simulator import SimulatedCamera
from tests.helpers import (
    RecordingServer,
)


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
