"""Setting up and unloading the hub entry; devices appear when cameras connect."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera.const import CONF_CONTROL_PORT, CONF_STREAM_PORT, DOMAIN
from custom_components.esp32_camera.hub.devices import camera_device_identifier, camera_unique_id
from custom_components.esp32_camera.listener import Admission
from tests.helpers import INTEGRATION, jpeg_bytes, wait_for


def ports_free(entry: MockConfigEntry) -> bool:
    for port in (entry.data[CONF_STREAM_PORT], entry.data[CONF_CONTROL_PORT]):
        try:
            with socket.create_server(("127.0.0.1", port)):
                pass
        except OSError:
            return False
    return True


async def test_setup_unload_frees_ports_twice(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    for _ in range(2):
        assert await hass.config_entries.async_setup(hub_entry.entry_id)
        await hass.async_block_till_done()
        assert hub_entry.state is ConfigEntryState.LOADED
        assert not ports_free(hub_entry)
        camera = await connect_camera()
        await camera.send_frame(jpeg_bytes())
        assert await hass.config_entries.async_unload(hub_entry.entry_id)
        await hass.async_block_till_done()
        assert hub_entry.state is ConfigEntryState.NOT_LOADED
        assert ports_free(hub_entry)


async def test_port_in_use_retries_setup(
    hass: HomeAssistant, hub_entry: MockConfigEntry, socket_allowed: None
) -> None:
    with socket.create_server(("127.0.0.1", hub_entry.data[CONF_CONTROL_PORT])):
        await hass.config_entries.async_setup(hub_entry.entry_id)
        await hass.async_block_till_done()
        assert hub_entry.state is ConfigEntryState.SETUP_RETRY
        assert str(hub_entry.data[CONF_CONTROL_PORT]) in (hub_entry.reason or "")
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"port_in_use_{hub_entry.entry_id}")
        assert issue is not None
        assert issue.translation_key == "port_in_use"
    # The stream port bound before the failure was released.
    assert ports_free(hub_entry)
    # Removed while retrying: its issue goes with it.
    await hass.config_entries.async_remove(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"port_in_use_{hub_entry.entry_id}") is None


async def test_camera_becomes_device_with_entities(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    camera = await connect_camera()
    await camera.send_json(
        {
            "type": "health",
            "frames": 5,
            "heap": 120000,
            "minHeap": 90000,
            "rssi": -60,
            "uptime": "0h 1m 0s",
            "ip": "127.0.0.1",
            "model": "OV3660",
            "resolution": "XGA (1024x768)",
            "quality": 12,
        }
    )
    await wait_for(
        lambda: device_registry.async_get_device_by_identifier(
            camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
        )
    )
    await hass.async_block_till_done()
    device = device_registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    await wait_for(
        lambda: (
            device_registry.async_get_device_by_identifier(
                camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
            ).model
            == "OV3660"
        )
    )  # type: ignore[union-attr]
    hub_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, hub_entry.entry_id), hub_entry.entry_id
    )
    assert hub_device is not None
    assert device.via_device_id == hub_device.id
    entities = er.async_entries_for_device(
        entity_registry, device.id, include_disabled_entities=True
    )
    unique_ids = {entity.unique_id for entity in entities}
    assert {
        camera_unique_id(hub_entry.entry_id, "cam1", key)
        for key in ("camera", "connected", "fps", "wifi_signal")
    } <= unique_ids
    await wait_for(
        lambda: (
            hass.states.get("sensor.esp32_camera_cam1_resolution") is not None
            and hass.states.get("sensor.esp32_camera_cam1_resolution").state == "XGA (1024x768)"
        )
    )  # type: ignore[union-attr]
    assert hass.states.get("binary_sensor.esp32_camera_cam1_connectivity").state == "on"  # type: ignore[union-attr]
    wifi = entity_registry.async_get("sensor.esp32_camera_cam1_wi_fi_signal")
    assert wifi is not None
    assert wifi.disabled_by is er.RegistryEntryDisabler.INTEGRATION

    # A connected camera cannot be removed; a disconnected one can.
    from custom_components.esp32_camera import async_remove_config_entry_device

    assert not await async_remove_config_entry_device(hass, hub_entry, device)  # type: ignore[arg-type]
    assert not await async_remove_config_entry_device(hass, hub_entry, hub_device)  # type: ignore[arg-type]
    await camera.close()
    await wait_for(
        lambda: hass.states.get("binary_sensor.esp32_camera_cam1_connectivity").state == "off"
    )  # type: ignore[union-attr]
    assert hass.states.get("camera.esp32_camera_cam1").state == "unavailable"  # type: ignore[union-attr]
    assert await async_remove_config_entry_device(hass, hub_entry, device)  # type: ignore[arg-type]


async def test_device_takes_its_name_from_the_first_register(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    device_registry: dr.DeviceRegistry,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    camera = await connect_camera(register=False)
    await camera.register(name="Front door", firmware="2.1")
    # The entity ids come from the camera's name, not from the default device name.
    await wait_for(lambda: hass.states.get("camera.front_door") is not None)
    assert hass.states.get("camera.esp32_camera_cam1") is None
    device = device_registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    assert (device.name, device.sw_version) == ("Front door", "2.1")
    # The user's name wins over a later register's; the entity ids stay.
    device_registry.async_update_device(device.id, name_by_user="Porch")
    await camera.close()
    await wait_for(lambda: hass.states.get("camera.front_door").state == STATE_UNAVAILABLE)  # type: ignore[union-attr]
    camera = await connect_camera(register=False)
    await camera.register(name="Back door")
    await wait_for(lambda: hass.states.get("camera.front_door").state != STATE_UNAVAILABLE)  # type: ignore[union-attr]
    device = device_registry.async_get(device.id)
    assert device is not None
    assert (device.name_by_user, device.name) == ("Porch", "Back door")
    assert hass.states.get("camera.back_door") is None


async def test_repeated_wrong_token_raises_repair_issue(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    issue_id = f"authentication_failed_{hub_entry.entry_id}_127.0.0.1"
    for attempt in range(3):
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None, attempt
        camera = await connect_camera("?token=wrong", register=False)
        await camera.send_json({"type": "register", "device": "camera"})
        message = await camera.ws.receive(timeout=5)
        assert camera.ws.close_code == 4401, message
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"address": "127.0.0.1", "title": "Test hub"}

    async def fail_three_times() -> None:
        for _ in range(3):
            camera = await connect_camera("?token=wrong", register=False)
            await camera.send_json({"type": "register", "device": "camera"})
            await camera.ws.receive(timeout=5)

    # The device got the right token: the issue is resolved.
    await connect_camera()
    await wait_for(lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None)
    # It is raised again after three more failures, and goes with the entry's unloading.
    await fail_three_times()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    current = hass.states.get(entity_id)
    return None if current is None else current.state


async def test_removed_camera_comes_back_with_entities(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    assert await async_setup_component(hass, "config", {})
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await simulate(resolution=0, fps=5, pacing=False)
    await wait_for(lambda: state(hass, "camera.esp32_camera_cam1") not in (None, STATE_UNAVAILABLE))
    await hub.async_send_command("cam1", "quality", 30)
    hub.saver.async_set_enabled("cam1", True)
    await camera.stop()
    await wait_for(lambda: state(hass, "binary_sensor.esp32_camera_cam1_connectivity") == "off")
    assert (await hub.async_send_command("cam1", "fps", 3)).queued

    device = device_registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    client = await hass_ws_client(hass)
    response = await client.remove_device(device.id)
    assert response["success"], response
    await hass.async_block_till_done()
    assert (
        device_registry.async_get_device_by_identifier(
            camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
        )
        is None
    )
    assert hass.states.get("camera.esp32_camera_cam1") is None
    # The hub forgot it: record, queued command, settings, continuous saving.
    assert "cam1" not in hub.cameras
    assert hub.settings.chosen("cam1") == {}
    assert not hub.saver.is_enabled("cam1")

    # It connects again: a new device, with all its entities, without a reload.
    commands_before = len(camera.commands_received)
    camera.start()
    await camera.wait_connected()
    await wait_for(lambda: state(hass, "camera.esp32_camera_cam1") not in (None, STATE_UNAVAILABLE))
    device = device_registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    unique_ids = {
        entry.unique_id
        for entry in er.async_entries_for_device(
            entity_registry, device.id, include_disabled_entities=True
        )
    }
    assert {
        camera_unique_id(hub_entry.entry_id, "cam1", key)
        for key in ("camera", "connected", "quality", "saving", "fps")
    } <= unique_ids
    await wait_for(lambda: state(hass, "switch.esp32_camera_cam1_save_every_frame") == "off")
    # The quality shows what the camera reports (it kept 30: it did not reboot).
    await wait_for(lambda: state(hass, "number.esp32_camera_cam1_jpeg_quality") == "30")
    # Nothing of the forgotten camera is sent to it: no queued command, no re-applied setting.
    await camera.wait_frames(camera.frames_sent + 3)
    await hass.async_block_till_done()
    assert camera.commands_received[commands_before:] == []
    assert not hub.saver.is_enabled("cam1")


async def test_cameras_are_restored_at_start_up(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    device_registry: dr.DeviceRegistry,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await simulate(resolution=0, fps=5, pacing=False, name="Garden", firmware="2.0")
    # Named by its first register, so are its entities.
    await wait_for(lambda: state(hass, "camera.garden") not in (None, STATE_UNAVAILABLE))

    def model() -> str | None:
        device = device_registry.async_get_device_by_identifier(
            camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
        )
        return None if device is None else device.model

    await wait_for(lambda: model() == "OV3660")
    await camera.stop()
    await wait_for(lambda: state(hass, "binary_sensor.garden_connectivity") == "off")

    assert await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    hub = hub_entry.runtime_data
    restored = hub.cameras["cam1"]
    assert restored.admission is Admission.RESTORED
    assert (restored.name, restored.firmware, restored.connected) == ("Garden", "2.0", False)
    # Its entities exist (not the registry's restored placeholders), unavailable until it connects.
    still = hass.states.get("camera.garden")
    assert still is not None
    assert still.state == STATE_UNAVAILABLE
    assert "restored" not in still.attributes
    assert state(hass, "binary_sensor.garden_connectivity") == "off"
    assert state(hass, "sensor.test_hub_connected_cameras") == "0"
    device = device_registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    assert (device.name, device.model, device.sw_version) == ("Garden", "OV3660", "2.0")
    # A command waits for it.
    assert (await hub.async_send_command("cam1", "quality", 30)).queued

    camera.start()
    await camera.wait_for(lambda cam: cam.connected and cam.quality == 30)
    await wait_for(lambda: state(hass, "camera.garden") not in (None, STATE_UNAVAILABLE))
    assert hub.cameras["cam1"] is restored
    assert restored.admission is Admission.TOKEN
    assert state(hass, "binary_sensor.garden_connectivity") == "on"
    assert model() == "OV3660"


def test_wrong_token_issue_points_to_where_the_token_is_shown() -> None:
    """The token is shown by the options (Configure), not by Reconfigure; en.json is strings.json."""
    root = INTEGRATION
    strings = json.loads((root / "strings.json").read_text())
    assert json.loads((root / "translations" / "en.json").read_text()) == strings
    assert "{token}" in strings["options"]["step"]["connection"]["description"]
    assert "{token}" not in json.dumps(strings["config"]["step"]["reconfigure"])
    issue = strings["issues"]["authentication_failed"]["description"]
    assert "under Configure" in issue
    assert "Reconfigure" not in issue


def _leaves(strings: dict[str, Any], prefix: str = "") -> dict[str, set[str]]:
    """Return every string's key path and the placeholders it uses."""
    leaves: dict[str, set[str]] = {}
    for key, value in strings.items():
        if isinstance(value, dict):
            leaves.update(_leaves(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = set(re.findall(r"\{(\w+)\}", value))
    return leaves


def test_spanish_translation_is_complete() -> None:
    """es.json has every key of strings.json, with the same placeholders, and is not English."""
    root = INTEGRATION
    english = _leaves(json.loads((root / "strings.json").read_text()))
    spanish_strings = json.loads((root / "translations" / "es.json").read_text())
    assert _leaves(spanish_strings) == english
    assert spanish_strings["options"]["step"]["approvals"]["title"] == (
        "Cámaras aprobadas y rechazadas"
    )
