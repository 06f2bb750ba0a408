"""Tests for the ESP32 Camera config flow."""

from __future__ import annotations

from pathlib import Path
import socket
import threading
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.components.http import StaticPathConfig
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.network import NoURLAvailableError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import CONF_CONTROL_PORT, CONF_STREAM_PORT, DOMAIN
from custom_components.esp32_camera.listener import host_has_ipv6
from harness.hass_process import free_port


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
    stream, control = free_port(), free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(stream, control)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garden"
    data = result["data"]
    assert (data[CONF_STREAM_PORT], data[CONF_CONTROL_PORT]) == (stream, control)
    assert len(data[CONF_TOKEN]) >= 32
    # The hub listens on one address: that is the address cameras dial.
    assert result["description_placeholders"] == {
        "host": "127.0.0.1",
        "port": str(stream),
        "url": f"ws://127.0.0.1:{stream}/?token={data[CONF_TOKEN]}",
        "token": data[CONF_TOKEN],
    }
    assert len(mock_setup_entry.mock_calls) == 1


async def create_hub_on_every_interface(hass: HomeAssistant) -> dict[str, Any]:
    """Run the user step with bind address 0.0.0.0; return the created entry's result."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    stream = free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**hub_input(stream, free_port()), CONF_HOST: "0.0.0.0"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    return dict(result)


async def test_firmware_setting_shows_home_assistants_address(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, socket_allowed: None
) -> None:
    """Listening on every interface: the address Home Assistant uses on the network is shown."""
    result = await create_hub_on_every_interface(hass)
    placeholders = result["description_placeholders"]
    stream, token = result["data"][CONF_STREAM_PORT], result["data"][CONF_TOKEN]
    # The network integration's source address (10.10.10.10 in the test harness).
    assert placeholders["host"] == "10.10.10.10"
    assert placeholders["url"] == f"ws://10.10.10.10:{stream}/?token={token}"


async def test_firmware_setting_falls_back_to_the_internal_url(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, socket_allowed: None
) -> None:
    """Without a source address, the internal URL's host is shown (IPv6 in brackets in URLs)."""
    await hass.config.async_update(internal_url="http://[fd00::5]:8123")
    with patch(
        "custom_components.esp32_camera.config_flow.async_get_source_ip",
        side_effect=HomeAssistantError("no IPv4 address"),
    ):
        result = await create_hub_on_every_interface(hass)
    placeholders = result["description_placeholders"]
    stream, token = result["data"][CONF_STREAM_PORT], result["data"][CONF_TOKEN]
    assert placeholders["host"] == "fd00::5"
    assert placeholders["url"] == f"ws://[fd00::5]:{stream}/?token={token}"


async def test_firmware_setting_without_any_known_address(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, socket_allowed: None
) -> None:
    """No address found at all: a placeholder the user replaces, never an error."""
    with (
        patch(
            "custom_components.esp32_camera.config_flow.async_get_source_ip",
            side_effect=HomeAssistantError("no IPv4 address"),
        ),
        patch(
            "custom_components.esp32_camera.config_flow.get_url",
            side_effect=NoURLAvailableError,
        ),
    ):
        result = await create_hub_on_every_interface(hass)
    assert result["description_placeholders"]["host"] == "<home-assistant-ip>"


async def test_port_errors_then_recovery(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, socket_allowed: None
) -> None:
    """Same ports, a port of another hub and a busy port are refused; then a fix succeeds."""
    other_stream, other_control = free_port(), free_port()
    MockConfigEntry(domain=DOMAIN, data=hub_input(other_stream, other_control)).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    free = free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(free, free)
    )
    assert result["errors"] == {CONF_CONTROL_PORT: "same_port"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(other_stream, free_port())
    )
    assert result["errors"] == {CONF_STREAM_PORT: "port_used_by_hub"}
    with socket.create_server(("127.0.0.1", 0)) as busy:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], hub_input(free_port(), busy.getsockname()[1])
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_CONTROL_PORT: "port_in_use"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], hub_input(free_port(), free_port())
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_options_flow_validates_and_reloads(
    hass: HomeAssistant, hub_entry: MockConfigEntry, tmp_path: object
) -> None:
    """Bad networks and disallowed or public folders are refused; valid options reload the hub."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    hub = hub_entry.runtime_data
    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["settings", "approvals"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["type"] is FlowResultType.FORM
    # The token is shown again, for rebuilt firmware and third-party URLs.
    token, stream, control = (
        hub_entry.data[key] for key in ("token", "stream_port", "control_port")
    )
    assert result["description_placeholders"] == {
        "host": "127.0.0.1",
        "token": token,
        "stream_port": str(stream),
        "url": f"ws://127.0.0.1:{stream}/?token={token}",
        "mjpeg_url": f"http://127.0.0.1:{control}/mjpeg/",
    }
    good = {
        "allow_tokenless": False,
        "trusted_networks": ["192.168.10.0/24"],
        "frame_timeout": 5,
        "max_frame_size": 1 << 20,
        "liveness_timeout": 20,
        "save_directory": f"{tmp_path}/images",
        "retention_days": 3,
        "retention_size_mb": 100,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**good, "trusted_networks": ["not a network"]}
    )
    assert result["errors"] == {"trusted_networks": "invalid_network"}
    # is_allowed_path touches the disk: it must run in the executor, never in the event loop.
    checked_in: list[int] = []
    is_allowed_path = hass.config.is_allowed_path

    def recording_is_allowed_path(path: str) -> bool:
        checked_in.append(threading.get_ident())
        return is_allowed_path(path)

    with patch.object(hass.config, "is_allowed_path", recording_is_allowed_path):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**good, "save_directory": "/etc/esp32"}
        )
    assert result["errors"] == {"save_directory": "path_not_allowed"}
    assert checked_in
    assert hass.loop_thread_id not in checked_in
    # Resolved, as is_allowed_path compares resolved paths (the config folder may sit behind a link).
    hass.config.allowlist_external_dirs.add(str(Path(hass.config.path("www")).resolve()))
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**good, "save_directory": hass.config.path("www", "cams")}
    )
    assert result["errors"] == {"save_directory": "path_public"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hub_entry.options["trusted_networks"] == ["192.168.10.0/24"]
    reloaded = hub_entry.runtime_data
    assert reloaded is not hub
    assert not reloaded.listener.settings.allow_tokenless
    assert reloaded.listener.settings.max_frame_size == 1 << 20
    assert reloaded.save_directory == f"{tmp_path}/images"


async def test_every_interface_is_checked_in_both_address_families(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, socket_allowed: None
) -> None:
    """The listener binds 0.0.0.0 and :: (issue 18): a port busy on IPv6 only is busy."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    if not host_has_ipv6():  # this host has no IPv6: IPv4 alone is checked, and that passes
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**hub_input(free_port(), free_port()), CONF_HOST: "0.0.0.0"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        return
    with socket.create_server(("::", 0), family=socket.AF_INET6) as busy:  # IPv6 only
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {**hub_input(free_port(), busy.getsockname()[1]), CONF_HOST: "0.0.0.0"},
        )
    assert result.get("errors") == {CONF_CONTROL_PORT: "port_in_use"}


async def test_reconfigure_moves_the_ports(hass: HomeAssistant, hub_entry: MockConfigEntry) -> None:
    """The running hub's own ports do not count as busy; new ports are bound after reload."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    result = await hub_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    current = {key: hub_entry.data[key] for key in (CONF_HOST, CONF_STREAM_PORT, CONF_CONTROL_PORT)}
    with socket.create_server(("127.0.0.1", 0)) as busy:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**current, CONF_CONTROL_PORT: busy.getsockname()[1]}
        )
        assert result["errors"] == {CONF_CONTROL_PORT: "port_in_use"}
    new_stream = free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**current, CONF_STREAM_PORT: new_stream}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert hub_entry.data[CONF_STREAM_PORT] == new_stream
    assert hub_entry.runtime_data.listener.settings.stream_port == new_stream
    # The old stream port was released by the reload.
    with socket.create_server(("127.0.0.1", current[CONF_STREAM_PORT])):
        pass


async def test_no_save_directory_inside_a_folder_served_without_login(
    hass: HomeAssistant, hub_entry: MockConfigEntry, tmp_path: Path
) -> None:
    """Any static path HA serves counts as www/ does (the actions already refused them all)."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    served = tmp_path / "served"
    served.mkdir()
    assert hass.http is not None
    await hass.http.async_register_static_paths([StaticPathConfig("/pictures", str(served))])
    hass.config.allowlist_external_dirs.add(str(tmp_path.resolve()))
    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**hub_entry.options, "save_directory": str(served / "cams")}
    )
    assert result["errors"] == {"save_directory": "path_public"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**hub_entry.options, "save_directory": str(tmp_path / "cams")}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(hub_entry.entry_id)


async def test_the_saver_stays_off_in_a_folder_served_without_login(
    hass: HomeAssistant, hub_entry: MockConfigEntry, tmp_path: Path
) -> None:
    """A save directory that became served (another integration's static path) is not written."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    directory = Path(hub_entry.runtime_data.saver.directory)
    directory.mkdir(parents=True, exist_ok=True)
    assert hass.http is not None
    await hass.http.async_register_static_paths([StaticPathConfig("/pictures", str(directory))])
    assert await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    saver = hub_entry.runtime_data.saver
    assert saver.error is not None
    assert "served without authentication" in saver.error
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
