"""Config flow for the ESP32 Camera integration."""

from __future__ import annotations

import secrets
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_ADDRESS, CONF_HOST, CONF_NAME, CONF_TOKEN
import probatio

from .const import (
    CONF_APPROVED_ADDRESSES,
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

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """Ask the user to approve a tokenless camera that connected (the hub starts this)."""
        address: str = discovery_info[CONF_ADDRESS]
        # Ignoring this flow stores an ignored entry with this unique id: the hub then refuses
        # the address, across restarts.
        await self.async_set_unique_id(address)
        self._abort_if_unique_id_configured()
        self._hub_entry_id: str = discovery_info["entry_id"]
        self._address = address
        self.context["title_placeholders"] = {CONF_ADDRESS: address}
        return await self.async_step_approve()

    async def async_step_approve(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Approve the camera: its address joins the hub's approved addresses."""
        if user_input is None:
            return self.async_show_form(
                step_id="approve", description_placeholders={CONF_ADDRESS: self._address}
            )
        hub_entry = self.hass.config_entries.async_get_entry(self._hub_entry_id)
        if hub_entry is None or hub_entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="hub_not_loaded")
        approved = sorted({*hub_entry.options.get(CONF_APPROVED_ADDRESSES, []), self._address})
        self.hass.config_entries.async_update_entry(
            hub_entry, options={**hub_entry.options, CONF_APPROVED_ADDRESSES: approved}
        )
        hub_entry.runtime_data.listener.approve(self._address)
        return self.async_abort(
            reason="camera_approved", description_placeholders={CONF_ADDRESS: self._address}
        )
