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
