"""Shared fixtures for the ESP32 Camera tests."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import AsyncMock, patch

import pytest

# Import the integration before the `hass` fixture runs, so that HA's loader finds this repository's
# custom_components package rather than the test plugin's own testing_config.
from custom_components.esp32_camera.const import DOMAIN

__all__ = ["DOMAIN"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let every test load custom integrations."""


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep config flow tests from setting up the entry."""
    with patch("custom_components.esp32_camera.async_setup_entry", return_value=True) as mock_setup:
        yield mock_setup


# Real cameras for Home Assistant tests ------------------------------------------------------
import asyncio  # noqa: E402
from collections.abc import AsyncGenerator  # noqa: E402
import dataclasses  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_TOKEN  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from PIL import Image  # noqa: E402
from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: E402

from custom_components.esp32_camera.const import (  # noqa: E402
    CONF_CONTROL_PORT,
    CONF_RETENTION_DAYS,
    CONF_SAVE_DIRECTORY,
    CONF_STREAM_PORT,
)
from tests.ports import free_port  # noqa: E402

HUB_TOKEN = "test-hub-token-0123456789abcdef"


def jpeg_bytes(
    width: int = 160, height: int = 120, color: tuple[int, int, int] = (200, 0, 0)
) -> bytes:
    """A real JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


class CameraClient:
    """A camera speaking the firmware's protocol over a real WebSocket."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws

    async def register(self, **extra: Any) -> None:
        await self.ws.send_str(json.dumps({"type": "register", "device": "camera", **extra}))
        await self.ws.receive_json(timeout=5)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def send_frame(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


@pytest.fixture
def socket_allowed(socket_enabled: None) -> None:
    """Real loopback sockets for tests that run the listener."""


def add_hub_entry(
    hass: HomeAssistant, title: str, save_directory: str, entry_id: str | None = None
) -> MockConfigEntry:
    """Add a hub entry on free loopback ports to `hass` (not set up)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title=title,
        data={
            CONF_NAME: title,
            CONF_HOST: "127.0.0.1",
            CONF_STREAM_PORT: free_port(),
            CONF_CONTROL_PORT: free_port(),
            CONF_TOKEN: HUB_TOKEN,
        },
        # Retention off: the tests write clips and images with fixed old dates, which the hub's
        # first sweep (in the background) would race to remove; retention has its own tests.
        options={CONF_SAVE_DIRECTORY: save_directory, CONF_RETENTION_DAYS: 0},
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
def hub_entry(hass: HomeAssistant, tmp_path: Any, socket_allowed: None) -> MockConfigEntry:
    """A hub entry on free loopback ports, saving under a temporary allowed directory."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    return add_hub_entry(hass, "Test hub", str(tmp_path / "saved"))


@pytest.fixture
async def connect_camera(hub_entry: MockConfigEntry, socket_allowed: None) -> AsyncGenerator[Any]:
    """Connect cameras to the hub entry's stream port."""
    cameras: list[CameraClient] = []

    async def connect(
        query: str = f"?token={HUB_TOKEN}&id=cam1",
        *,
        register: bool = True,
        source: str | None = None,
    ) -> CameraClient:
        connector = aiohttp.TCPConnector(local_addr=(source, 0)) if source else None
        session = aiohttp.ClientSession(connector=connector)
        ws = await session.ws_connect(
            f"http://127.0.0.1:{hub_entry.data[CONF_STREAM_PORT]}/{query}"
        )
        camera = CameraClient(session, ws)
        cameras.append(camera)
        if register:
            await camera.register()
        return camera

    yield connect
    for camera in cameras:
        await camera.close()


async def answer(camera: CameraClient, status: str = "ok") -> dict[str, Any]:
    """Receive the next command as the camera and answer it; return the command."""
    command: dict[str, Any] = await camera.ws.receive_json(timeout=5)
    await camera.send_json(
        {"type": "response", "cmd": command["cmd"], "status": status, "value": command["val"]}
    )
    return command


def shorten_command_timeout(hub: Any, seconds: float = 0.2) -> None:
    """Make the hub's listener give up waiting for a command's response sooner."""
    hub.listener.settings = dataclasses.replace(hub.listener.settings, command_timeout=seconds)


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    """Poll a condition in the test (not in the code under test)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled (as HA core's tests do)."""
    from unittest.mock import PropertyMock

    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
async def simulate(hub_entry: MockConfigEntry, socket_allowed: None) -> AsyncGenerator[Any]:
    """Start simulated cameras (esp32_simulator) against the hub entry's stream port."""
    from esp32_simulator import SimulatedCamera

    cameras: list[SimulatedCamera] = []

    async def start(**options: Any) -> SimulatedCamera:
        camera = SimulatedCamera(
            "127.0.0.1",
            hub_entry.data[CONF_STREAM_PORT],
            **{"camera_id": "cam1", "token": HUB_TOKEN, "reconnect_interval": 0.2, **options},
        )
        cameras.append(camera)
        camera.start()
        await camera.wait_connected()
        return camera

    yield start
    for camera in cameras:
        await camera.stop()


from pytest_homeassistant_custom_component.syrupy import (  # noqa: E402
    HomeAssistantSnapshotExtension,
)
from syrupy.assertion import SnapshotAssertion  # noqa: E402


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots serialized as Home Assistant core's (registry entries, states without ids/times)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
