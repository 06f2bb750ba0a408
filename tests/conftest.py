"""Shared fixtures for the ESP32 Camera tests (the helpers they use are in tests/helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
import os
from pathlib import Path
import shutil
import tempfile
from typing import Any
from unittest.mock import AsyncMock, PropertyMock, patch

import aiohttp
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Importing the integration here, before the `hass` fixture runs, makes HA's loader find this
# repository's custom_components package rather than the test plugin's own testing_config.
from custom_components.esp32_camera.const import CONF_STREAM_PORT
from tests.helpers import (
    HUB_TOKEN,
    SCENES_FOLDER_VARIABLE,
    CameraClient,
    add_hub_entry,
    longest_first,
)


def pytest_configure(config: pytest.Config) -> None:
    """Make the run's folder of rendered scenes, shared by the xdist workers (tests/helpers.py)."""
    if SCENES_FOLDER_VARIABLE not in os.environ:  # the controller (or -n 0): workers inherit it
        folder = tempfile.mkdtemp(prefix="esp32-camera-test-scenes-")
        os.environ[SCENES_FOLDER_VARIABLE] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start each xdist worker on its share of the longest tests (tests/helpers.py)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    by_id = {item.nodeid: item for item in items}
    items[:] = [by_id[node_id] for node_id in longest_first(list(by_id), workers)]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let every test load custom integrations."""


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep config flow tests from setting up the entry."""
    with patch("custom_components.esp32_camera.async_setup_entry", return_value=True) as mock_setup:
        yield mock_setup


@pytest.fixture
def socket_allowed(socket_enabled: None) -> None:
    """Real loopback sockets for tests that run the listener."""


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


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled (as HA core's tests do)."""
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


@pytest.fixture
async def household_user(hass: HomeAssistant) -> User:
    """A signed-in member of the household: HA's "users" group, not an administrator."""
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    user: User = MockUser(groups=[group]).add_to_hass(hass)
    assert not user.is_admin
    return user


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """HA's configuration folder inside the allowed temporary folder, with its www/."""
    hass.config.config_dir = str(tmp_path / "config")
    (tmp_path / "config" / "www").mkdir(parents=True)
    return tmp_path / "config"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots serialized as Home Assistant core's (registry entries, states without ids/times)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
