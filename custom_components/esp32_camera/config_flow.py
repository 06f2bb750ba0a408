"""Config flow for the ESP32 Camera integration."""

from __future__ import annotations

from contextlib import suppress
from ipaddress import ip_address, ip_network
import secrets
import socket
from typing import Any

from homeassistant.components.network import async_get_source_ip
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_ADDRESS, CONF_HOST, CONF_NAME, CONF_TOKEN
from homeassistant.core import HomeAssistant, callback
from homeassistant.core_config import Config
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.helpers.network import NoURLAvailableError, get_url
import probatio
from yarl import URL

from .const import (
    CONF_CONTROL_PORT,
    CONF_SAVE_DIRECTORY,
    CONF_STREAM_PORT,
    CONF_TRUSTED_NETWORKS,
    DEFAULT_CONTROL_PORT,
    DEFAULT_HOST,
    DEFAULT_NAME,
    DEFAULT_STREAM_PORT,
    DOMAIN,
)
from .disk import layout
from .hub.devices import MAX_NAME_LENGTH
from .hub.hub import Esp32CameraHub, loaded_hub, loaded_hubs
from .hub.options import hub_options, options_from_form, options_schema, served_directories
from .listener import bind_hosts
from .views.pending_preview import async_preview_markdown

# Fields of the options' approvals step: the addresses whose approval or refusal is withdrawn.
CONF_APPROVED, CONF_REFUSED = "approved", "refused"


def _save_directory_error(config: Config, directory: str, served: list[str]) -> str | None:
    """Return why the save directory cannot be used, or None.

    Blocking (both checks resolve links and `..` on disk): run it in the executor.
    """
    if not config.is_allowed_path(directory):
        return "path_not_allowed"
    if layout.folder_holding(directory, served) is not None:
        return "path_public"
    return None


# Shown when no address of Home Assistant can be found; the user fills it in.
UNKNOWN_HOST = "<home-assistant-ip>"


async def async_camera_host(hass: HomeAssistant, bind_host: str) -> str:
    """Return the address cameras must dial (the firmware's `server_host`).

    The bind address when the hub listens on one address; else the address Home Assistant uses
    on the local network (the network integration's source address), else the host of its
    internal URL, else a placeholder for the user to replace.
    """
    host: str | None = bind_host.strip()
    if not host or _is_unspecified(host):  # every interface: one of Home Assistant's addresses
        host = None
        with suppress(HomeAssistantError):  # no IPv4 address and no route
            host = await async_get_source_ip(hass)
    if not host:
        with suppress(NoURLAvailableError):
            host = URL(get_url(hass, allow_external=False, allow_cloud=False)).host
    return host or UNKNOWN_HOST


def _is_unspecified(host: str) -> bool:
    """Return whether the host is the address of every interface (0.0.0.0 or ::)."""
    try:
        return ip_address(host).is_unspecified
    except ValueError:  # a host name
        return False


def _url_host(host: str) -> str:
    """Return the host as it goes into a URL: an IPv6 address in brackets."""
    with suppress(ValueError):
        if ip_address(host).version == 6:
            return f"[{host}]"
    return host


TEXT = selector.TextSelector()
PORT = probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=65535))


def _port_is_free(host: str, port: int) -> bool:
    """Try to bind the port the way the listener will (blocking: run in the executor).

    Every interface is both address families where the host has IPv6 (`bind_hosts`).
    """
    for address in bind_hosts(host):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        try:
            with socket.create_server((address, port), family=family, reuse_port=False):
                pass
        except OSError:
            return False
    return True


class Esp32CameraConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the hub entry that runs the camera listeners."""

    VERSION = 1
    MINOR_VERSION = 2  # 1.2: camera unique ids and device identifiers start with the entry id

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> Esp32CameraOptionsFlow:
        """Options of the hub."""
        return Esp32CameraOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the hub's name, bind address and ports; check the ports can be bound."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_validate_ports(user_input)
            if not errors:
                token = secrets.token_urlsafe(24)
                host = await async_camera_host(self.hass, user_input[CONF_HOST])
                port = user_input[CONF_STREAM_PORT]
                url_host = _url_host(host)
                return self.async_create_entry(
                    title=user_input[CONF_NAME],
                    data={**user_input, CONF_TOKEN: token},
                    description_placeholders={
                        "host": host,
                        "port": str(port),
                        "url": f"ws://{url_host}:{port}/?token={token}",
                        "token": token,
                    },
                )
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME, default=DEFAULT_NAME): str,
                probatio.Required(CONF_HOST, default=DEFAULT_HOST): str,
                probatio.Required(CONF_STREAM_PORT, default=DEFAULT_STREAM_PORT): PORT,
                probatio.Required(CONF_CONTROL_PORT, default=DEFAULT_CONTROL_PORT): PORT,
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the hub's bind address and ports; the hub restarts on them."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_validate_ports(user_input, entry)
            if not errors:
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
        schema = probatio.Schema(
            {
                probatio.Required(CONF_HOST): str,
                probatio.Required(CONF_STREAM_PORT): PORT,
                probatio.Required(CONF_CONTROL_PORT): PORT,
            }
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or entry.data),
            errors=errors,
        )

    async def _async_validate_ports(
        self, user_input: dict[str, Any], current: ConfigEntry | None = None
    ) -> dict[str, str]:
        """Distinct ports, not used by another hub, and free to bind now.

        The hub being reconfigured holds its own ports while it runs: those are not checked.
        """
        ports = (user_input[CONF_STREAM_PORT], user_input[CONF_CONTROL_PORT])
        if ports[0] == ports[1]:
            return {CONF_CONTROL_PORT: "same_port"}
        own: set[int] = set()
        if current is not None and current.data[CONF_HOST] == user_input[CONF_HOST]:
            own = {current.data[CONF_STREAM_PORT], current.data[CONF_CONTROL_PORT]}
        for entry in self._async_current_entries(include_ignore=False):
            if current is not None and entry.entry_id == current.entry_id:
                continue
            used = {entry.data.get(CONF_STREAM_PORT), entry.data.get(CONF_CONTROL_PORT)}
            for key, port in zip((CONF_STREAM_PORT, CONF_CONTROL_PORT), ports, strict=True):
                if port in used:
                    return {key: "port_used_by_hub"}
        for key, port in zip((CONF_STREAM_PORT, CONF_CONTROL_PORT), ports, strict=True):
            if port not in own and not await self.hass.async_add_executor_job(
                _port_is_free, user_input[CONF_HOST], port
            ):
                return {key: "port_in_use"}
        return {}

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """Ask the user to approve a tokenless camera that connected (the hub starts this)."""
        address: str = discovery_info[CONF_ADDRESS]
        # Ignoring this flow refuses the address (see async_step_ignore).
        await self.async_set_unique_id(address)
        self._abort_if_unique_id_configured()
        self._hub_entry_id: str = discovery_info["entry_id"]
        self._address = address
        self.context["title_placeholders"] = {CONF_ADDRESS: address}
        return await self.async_step_approve()

    async def async_step_approve(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Approve and name the camera: its address joins the hub's approved addresses.

        The name names its device and so its entity ids (`camera.garage`); it is in the hub's
        store when the flow ends.
        """
        errors: dict[str, str] = {}
        hub = loaded_hub(self.hass, self._hub_entry_id)
        if user_input is not None:
            if hub is None:
                return self.async_abort(reason="hub_not_loaded")
            name = " ".join(user_input[CONF_NAME].split())  # no stray or doubled spaces
            if not name:
                errors[CONF_NAME] = "name_required"
            elif len(name) > MAX_NAME_LENGTH:
                errors[CONF_NAME] = "name_too_long"
            else:
                await hub.async_approve(self._address, name)
                return self.async_abort(
                    reason="camera_approved",
                    description_placeholders={CONF_ADDRESS: self._address, CONF_NAME: name},
                )
        suggestion = hub.suggested_name(self._address) if hub is not None else ""
        schema = probatio.Schema({probatio.Required(CONF_NAME, default=suggestion): TEXT})
        return self.async_show_form(
            step_id="approve",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders={
                CONF_ADDRESS: self._address,
                "preview": async_preview_markdown(self.hass, self._hub_entry_id, self._address),
            },
        )

    async def async_step_ignore(self, user_input: dict[str, Any]) -> ConfigFlowResult:
        """Refuse the ignored camera's address at once on every hub (kept in their stores).

        The ignored entry stays too: Home Assistant then offers no new discovery of it.
        """
        for hub in loaded_hubs(self.hass):
            await hub.async_refuse(user_input["unique_id"])
        return await super().async_step_ignore(user_input)


def _approved_label(hub: Esp32CameraHub, address: str, camera_id: str | None) -> str:
    """Return an approved address as the approvals step lists it: with its camera's name.

    `192.168.1.50 (Garage)`; the camera id too where it is not the address (approved as one).
    """
    known: list[str] = []
    if (camera := hub.cameras.get(camera_id or address)) is not None:
        known.append(hub.camera_name(camera))
    if camera_id is not None and camera_id not in (address, *known):
        known.append(camera_id)
    return f"{address} ({', '.join(known)})" if known else address


class Esp32CameraOptionsFlow(OptionsFlowWithReload):
    """Admission, limits and saving options (the hub reloads to apply them); approvals."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose between the hub's settings and its approved and refused addresses."""
        return self.async_show_menu(
            step_id="init", menu_options=["settings", "connection", "approvals"]
        )

    async def async_step_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what cameras and other apps must use (token, URLs): read only; back to the menu.

        Administrators only, as every options flow: the token admits any camera.
        """
        if user_input is not None:
            return await self.async_step_init()
        data = self.config_entry.data
        host = await async_camera_host(self.hass, data[CONF_HOST])
        url_host, token = _url_host(host), data[CONF_TOKEN]
        return self.async_show_form(
            step_id="connection",
            description_placeholders={
                "host": host,
                "token": token,
                "stream_port": str(data[CONF_STREAM_PORT]),
                "url": f"ws://{url_host}:{data[CONF_STREAM_PORT]}/?token={token}",
                "mjpeg_url": f"http://{url_host}:{data[CONF_CONTROL_PORT]}/mjpeg/",
            },
        )

    async def async_step_approvals(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Withdraw approvals (the camera is refused at once) or refusals; no reload."""
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="hub_not_loaded")
        hub: Esp32CameraHub = self.config_entry.runtime_data
        if user_input is not None:
            for address in (*user_input[CONF_APPROVED], *user_input[CONF_REFUSED]):
                await hub.async_revoke(address)
            # Unchanged options: nothing reloads.
            return self.async_create_entry(data=dict(self.config_entry.options))
        approved = {
            address: _approved_label(hub, address, camera_id)
            for address, camera_id in sorted(hub.store.approved.items())
        }
        refused = {address: address for address in sorted(hub.store.refused)}
        schema = probatio.Schema(
            {
                probatio.Optional(CONF_APPROVED, default=[]): cv.multi_select(approved),
                probatio.Optional(CONF_REFUSED, default=[]): cv.multi_select(refused),
            }
        )
        return self.async_show_form(step_id="approvals", data_schema=schema)

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and validate the hub's settings."""
        errors: dict[str, str] = {}
        options = hub_options(self.hass, self.config_entry)
        if user_input is not None:
            options = {**options, **options_from_form(user_input)}
            try:
                for network in options[CONF_TRUSTED_NETWORKS]:
                    ip_network(network, strict=False)
            except ValueError:
                errors["base"] = "invalid_network"
            if error := await self.hass.async_add_executor_job(
                _save_directory_error,
                self.hass.config,
                options[CONF_SAVE_DIRECTORY],
                served_directories(self.hass),
            ):
                errors["base"] = error
            if not errors:
                return self.async_create_entry(data={**self.config_entry.options, **options})
        return self.async_show_form(
            step_id="settings", data_schema=options_schema(options), errors=errors
        )
