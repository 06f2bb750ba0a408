"""Tests for the ESP32 Camera config flow."""

from __future__ import annotations

import copy
import json
from pathlib import Path
import socket
import threading
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.components.http import StaticPathConfig
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import (
    CONF_ADDRESS,
    CONF_HOST,
    CONF_NAME,
    CONF_TOKEN,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.network import NoURLAvailableError
import probatio
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import CONF_CONTROL_PORT, CONF_STREAM_PORT, DOMAIN
from custom_components.esp32_camera.hub.devices import camera_device_identifier, camera_unique_id
from custom_components.esp32_camera.hub.store import storage_key
from custom_components.esp32_camera.listener import host_has_ipv6
from harness.hass_process import free_port
from tests.helpers import hub_settings_form, jpeg_bytes, settings_input, wait_for


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
    assert result["menu_options"] == ["settings", "connection", "approvals"]
    result = await hub_settings_form(hass, hub_entry)
    assert result["type"] is FlowResultType.FORM
    good = settings_input(
        result,
        allow_tokenless=False,
        trusted_networks=["192.168.10.0/24"],
        frame_timeout=5,
        max_frame_size=1,  # MiB
        liveness_timeout=20,
        save_directory=f"{tmp_path}/images",
        retention_days=3,
        retention_size_mb=100,
    )
    bad_network = copy.deepcopy(good)
    bad_network["connections"]["trusted_networks"] = ["not a network"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], bad_network)
    # The form is in sections: its errors are the form's, naming the field.
    assert result["errors"] == {"base": "invalid_network"}
    # What was typed stays in the form shown again.
    assert settings_input(result)["connections"]["trusted_networks"] == ["not a network"]
    # is_allowed_path touches the disk: it must run in the executor, never in the event loop.
    checked_in: list[int] = []
    is_allowed_path = hass.config.is_allowed_path

    def recording_is_allowed_path(path: str) -> bool:
        checked_in.append(threading.get_ident())
        return is_allowed_path(path)

    outside = {**good, "saving": {**good["saving"], "save_directory": "/etc/esp32"}}
    with patch.object(hass.config, "is_allowed_path", recording_is_allowed_path):
        result = await hass.config_entries.options.async_configure(result["flow_id"], outside)
    assert result["errors"] == {"base": "path_not_allowed"}
    assert checked_in
    assert hass.loop_thread_id not in checked_in
    # Resolved, as is_allowed_path compares resolved paths (the config folder may sit behind a link).
    hass.config.allowlist_external_dirs.add(str(Path(hass.config.path("www")).resolve()))
    public = {
        **good,
        "saving": {**good["saving"], "save_directory": hass.config.path("www", "cams")},
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], public)
    assert result["errors"] == {"base": "path_public"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # Stored flat, as before the form had sections; the largest frame in bytes.
    assert hub_entry.options["trusted_networks"] == ["192.168.10.0/24"]
    assert hub_entry.options["max_frame_size"] == 1 << 20
    assert "connections" not in hub_entry.options
    reloaded = hub_entry.runtime_data
    assert reloaded is not hub
    assert not reloaded.listener.settings.allow_tokenless
    assert reloaded.listener.settings.max_frame_size == 1 << 20
    assert reloaded.save_directory == f"{tmp_path}/images"


async def test_options_form_has_sections_and_number_boxes_with_units(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    """Sections (limits collapsed), typed number boxes with units; the largest frame in MiB."""
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, "max_pending_cameras": 7}
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    result = await hub_settings_form(hass, hub_entry)
    # As the frontend receives the form.
    form = {
        field["name"]: field
        for field in probatio.to_field_list(
            result["data_schema"], custom_serializer=cv.custom_serializer
        )
    }
    assert list(form) == ["connections", "saving", "limits", "h264"]
    assert [form[name]["type"] for name in form] == ["expandable"] * 4
    assert [form[name]["expanded"] for name in form] == [True, True, False, False]
    (encoder,) = form["h264"]["schema"]  # the H.264 streams' encoder: software by default
    assert encoder["name"] == "h264_encoder"
    assert encoder["default"] == "libx264"
    assert encoder["selector"]["select"]["options"] == [
        "libx264",
        "h264_vaapi",
        "h264_v4l2m2m",
        "h264_qsv",
    ]
    limits = {field["name"]: field for field in form["limits"]["schema"]}
    boxes = {
        name: field["selector"]["number"]
        for section in form.values()
        for field in section["schema"]
        if "number" in field.get("selector", {})
        for name in (field["name"],)
    }
    assert {name: number["mode"] for name, number in boxes.items()} == dict.fromkeys(
        (
            "retention_days",
            "retention_size_mb",
            "max_connections_per_source",
            "max_pending_cameras",
            "max_frame_size",
            "frame_timeout",
            "liveness_timeout",
        ),
        "box",
    )
    assert {name: number.get("unit_of_measurement") for name, number in boxes.items()} == {
        "retention_days": "d",
        "retention_size_mb": "MB",
        "max_connections_per_source": None,
        "max_pending_cameras": None,
        "max_frame_size": "MiB",
        "frame_timeout": "s",
        "liveness_timeout": "s",
    }
    # 8 MiB, not 8388608; the stored option keeps its value.
    assert limits["max_frame_size"]["default"] == 8
    assert limits["max_pending_cameras"]["default"] == 7
    # The token is not in the settings form: it has its own read-only step.
    assert hub_entry.data["token"] not in json.dumps(result.get("description_placeholders"))
    # Submitted unchanged, the options keep their stored values and shape.
    before = dict(hub_entry.options)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings_input(result)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert {key: hub_entry.options[key] for key in before} == before
    assert hub_entry.options["max_frame_size"] == 8 << 20
    assert isinstance(hub_entry.options["max_pending_cameras"], int)


async def test_options_keep_a_stored_largest_frame_of_64_kib(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    """The smallest stored value (65536 bytes) is valid in the form's MiB and saved exact."""
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, "max_frame_size": 65536}
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    result = await hub_settings_form(hass, hub_entry)
    assert settings_input(result)["limits"]["max_frame_size"] == 0.0625
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings_input(result)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the hub reloads (the defaults are now stored too)
    assert hub_entry.options["max_frame_size"] == 65536


async def test_connection_step_shows_the_token_and_urls_read_only(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    """A menu step of its own shows what cameras use; its button leads back to the menu."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "connection"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["data_schema"] is None or not result["data_schema"].schema
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
    options = dict(hub_entry.options)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "init"
    assert dict(hub_entry.options) == options


async def test_approval_names_the_camera_its_device_and_entity_ids(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_storage: dict[str, Any],
) -> None:
    """The name typed where a stock camera is approved names its device and entity ids."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await connect_camera("", source=STOCK)
    await camera.send_frame(jpeg_bytes())
    flow = await pending_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["step_id"] == "approve"
    # Suggested: not the address (it changes with DHCP and reads badly in entity ids).
    assert suggested(result) == "ESP32 camera 1"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {CONF_NAME: "  "})
    assert result["errors"] == {CONF_NAME: "name_required"}
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {CONF_NAME: "x" * 65})
    assert result["errors"] == {CONF_NAME: "name_too_long"}
    assert not hub.cameras[STOCK].admitted
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_NAME: "  Garage  door "}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "camera_approved"
    assert result["description_placeholders"] == {CONF_ADDRESS: STOCK, CONF_NAME: "Garage door"}
    # On disk when the flow ends.
    stored = hass_storage[storage_key(hub_entry.entry_id)]["data"]
    assert stored["cameras"][STOCK]["name"] == "Garage door"
    assert stored["approved"] == {STOCK: STOCK}
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, STOCK), hub_entry.entry_id
    )
    assert device is not None
    assert device.name == "Garage door"
    entities = er.async_entries_for_device(er.async_get(hass), device.id)
    # A unique id is unique within its platform (the sensor and the number of the frame rate
    # share one): key them by both.
    by_unique_id = {(entity.domain, entity.unique_id): entity.entity_id for entity in entities}
    # Unique ids as before: the hub's entry id and the camera id (its address).
    assert by_unique_id["camera", camera_unique_id(hub_entry.entry_id, STOCK, "camera")] == (
        "camera.garage_door"
    )
    assert by_unique_id["sensor", camera_unique_id(hub_entry.entry_id, STOCK, "fps")] == (
        "sensor.garage_door_frame_rate"
    )
    assert by_unique_id["number", camera_unique_id(hub_entry.entry_id, STOCK, "fps")] == (
        "number.garage_door_target_frame_rate"
    )
    assert all("127_0_0" not in entity_id for entity_id in by_unique_id.values())
    await wait_for(lambda: hass.states.get("camera.garage_door").state != STATE_UNAVAILABLE)  # type: ignore[union-attr]
    # The next camera is suggested the next number; this one's name is kept across a reload.
    other = await connect_camera("", source=OTHER)
    await other.send_frame(jpeg_bytes())
    flow = await pending_flow(hass)
    assert suggested(await hass.config_entries.flow.async_configure(flow["flow_id"])) == (
        "ESP32 camera 2"
    )
    # The options' approvals list it by its name too.
    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "approvals"}
    )
    approved = next(
        validator
        for key, validator in result["data_schema"].schema.items()
        if key.schema == "approved"
    )
    assert approved.options == {STOCK: f"{STOCK} (Garage door)"}
    assert await hass.config_entries.async_reload(hub_entry.entry_id)
    assert hub_entry.runtime_data.cameras[STOCK].name == "Garage door"


async def test_a_known_camera_is_suggested_its_name_in_home_assistant(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """Approved again (its approval was withdrawn), a camera is offered the name the user gave."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await connect_camera("", source=STOCK)
    flow = await pending_flow(hass)
    await hass.config_entries.flow.async_configure(flow["flow_id"], {CONF_NAME: "Porch"})
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, STOCK), hub_entry.entry_id
    )
    assert device is not None
    dr.async_get(hass).async_update_device(device.id, name_by_user="Front porch")
    await hub.async_revoke(STOCK)
    await camera.close()
    camera = await connect_camera("", source=STOCK)
    flow = await pending_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert suggested(result) == "Front porch"
    # Another camera is numbered after the hub's cameras, past a name one of them has.
    hub.store.async_note_camera("cam9", "ESP32 camera 3", None)
    other = await connect_camera("", source=OTHER)
    await other.send_frame(jpeg_bytes())
    await wait_for(lambda: len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 2)
    other_flow = next(
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["unique_id"] == OTHER
    )
    result = await hass.config_entries.flow.async_configure(other_flow["flow_id"])
    assert suggested(result) == "ESP32 camera 4"


STOCK, OTHER = "127.0.0.2", "127.0.0.3"


async def pending_flow(hass: HomeAssistant) -> dict[str, Any]:
    """Return the one discovery flow in progress, once the hub started it."""
    await wait_for(lambda: len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 1)
    return dict(hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0])


def suggested(result: Any) -> str:
    """Return the name field's value as the approval form shows it."""
    (field,) = result["data_schema"].schema
    assert field.schema == CONF_NAME
    value: str = field.default()
    return value


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
    result = await hub_settings_form(hass, hub_entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings_input(result, save_directory=str(served / "cams"))
    )
    assert result["errors"] == {"base": "path_public"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings_input(result, save_directory=str(tmp_path / "cams"))
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
