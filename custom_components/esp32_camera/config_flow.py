"""Config flow for the ESP32 Camera integration."""

from __future__ import annotations

import secrets
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_TOKEN
import probatio

from .const import (
    CONF_CONTROL_PORT,
    CONF_STREAM_PORT,
    DEFAULT_CONTROL_PORT,
    DEFAULT_HOST,
    DEFAULT_NAME,
    DEFAULT_STREAM_PORT,
    DOMAIN,
)


class Esp32CameraConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the hub entry that runs the camera listeners."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the hub's name, bind address and ports."""
        if user_input is not None:
            return self.async_create_entry(
                title=user_input[CONF_NAME],
                data={**user_input, CONF_TOKEN: secrets.token_urlsafe(24)},
            )
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME, default=DEFAULT_NAME): str,
                probatio.Required(CONF_HOST, default=DEFAULT_HOST): str,
                probatio.Required(CONF_STREAM_PORT, default=DEFAULT_STREAM_PORT): int,
                probatio.Required(CONF_CONTROL_PORT, default=DEFAULT_CONTROL_PORT): int,
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema)
