"""Tests for the ESP32 Camera config flow."""

from __future__ import annotations

from unittest.mock import AsyncMock

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.esp32_camera.const import CONF_CONTROL_PORT, CONF_STREAM_PORT, DOMAIN


async def test_user_flow_creates_hub_entry(
    hass: HomeAssistant, mock_setup_entry: AsyncMock
) -> None:
    """The user step shows the defaults and creates one hub entry with a fresh token."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Garden",
            CONF_HOST: "0.0.0.0",
            CONF_STREAM_PORT: 6972,
            CONF_CONTROL_PORT: 6971,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garden"
    data = result["data"]
    assert data[CONF_STREAM_PORT] == 6972
    assert data[CONF_CONTROL_PORT] == 6971
    assert len(data[CONF_TOKEN]) >= 32
    assert len(mock_setup_entry.mock_calls) == 1
