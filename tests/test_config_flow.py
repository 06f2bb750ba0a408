"""Tests for the ESP32 Camera config flow."""

from __future__ import annotations

import socket
from unittest.mock import AsyncMock

from aiohttp.test_utils import unused_port
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import CONF_CONTROL_PORT, CONF_STREAM_PORT, DOMAIN


def hub_input(stream: int, control: int) -> dict[str, object]:
    return {
        CONF_NAME: "Garden",
        CONF_HOST: "127.0.0.1",
        CONF_STREAM_PORT: stream,
        CONF_CONTROL_PORT: control,
    }


async def test_user_flow_creates_hub_entry_and_shows_the_token(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, socket_allowed: None
) -> None:
    """The user step shows the defaults and creates one hub entry with a fresh token."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    stream, control = unused_port(), unused_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(stream, control)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garden"
    data = result["data"]
    assert (data[CONF_STREAM_PORT], data[CONF_CONTROL_PORT]) == (stream, control)
    assert len(data[CONF_TOKEN]) >= 32
    placeholders = result["description_placeholders"]
    assert placeholders["url"] == f"ws://<home-assistant-ip>:{stream}/?token={data[CONF_TOKEN]}"
    assert len(mock_setup_entry.mock_calls) == 1


async def test_port_errors_then_recovery(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, socket_allowed: None
) -> None:
    """Same ports, a port of another hub and a busy port are refused; then a fix succeeds."""
    other_stream, other_control = unused_port(), unused_port()
    MockConfigEntry(domain=DOMAIN, data=hub_input(other_stream, other_control)).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    free = unused_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(free, free)
    )
    assert result["errors"] == {CONF_CONTROL_PORT: "same_port"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(other_stream, unused_port())
    )
    assert result["errors"] == {CONF_STREAM_PORT: "port_used_by_hub"}
    with socket.create_server(("127.0.0.1", 0)) as busy:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], hub_input(unused_port(), busy.getsockname()[1])
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_CONTROL_PORT: "port_in_use"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(unused_port(), unused_port())
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
