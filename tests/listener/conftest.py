"""The listener tests use real sockets on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest
import pytest_socket

from custom_components.esp32_camera.listener import DeviceListener, ListenerSettings
from harness.hass_process import free_port
from tests.helpers import LISTENER_TOKEN, ListenerFactory, RecordingObserver


@pytest.fixture(autouse=True)
def allow_loopback_sockets(socket_enabled: None) -> None:
    """Let these tests open real TCP sockets (the test plugin blocks them by default)."""


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
            token=LISTENER_TOKEN,
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
