"""Unique ids and devices per hub: two hubs may know the same camera id; entities name themselves.

A camera's entity unique ids and device identifier start with its hub's entry id (a camera id is
unique within one hub only); entries of earlier releases are migrated (config entry 1.2).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera.const import CONF_STREAM_PORT, DOMAIN
from custom_components.esp32_camera.hub.devices import camera_device_identifier
from custom_components.esp32_camera.hub.store import STORAGE_VERSION, empty_camera, storage_key
from tests.helpers import (
    HUB_TOKEN,
    CameraClient,
    add_hub_entry,
    jpeg_bytes,
    wait_for,
    websocket_command,
)

type ConnectTo = Callable[..., Awaitable[CameraClient]]


@pytest.fixture
async def connect_camera_to(socket_allowed: None) -> AsyncGenerator[ConnectTo]:
    """Connect a camera to a given hub entry's stream port and register it."""
    cameras: list[CameraClient] = []

    async def connect(entry: MockConfigEntry, query: str, **register: str) -> CameraClient:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(f"http://127.0.0.1:{entry.data[CONF_STREAM_PORT]}/{query}")
        camera = CameraClient(session, ws)
        cameras.append(camera)
        await camera.register(**register)
        return camera

    yield connect
    for camera in cameras:
        await camera.close()


async def test_a_restored_cameras_entities_bring_their_device_and_names(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The store knows a camera, the registries do not (HA stopped before writing them).

    Each entity carries its device's whole description, so its id follows the camera's name
    whatever was registered first.
    """
    hass_storage[storage_key(hub_entry.entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": storage_key(hub_entry.entry_id),
        "data": {
            "cameras": {"cam1": {**empty_camera(), "name": "Garden", "firmware": "2.0"}},
            "approved": {},
            "refused": [],
        },
    }
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    hub_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, hub_entry.entry_id), hub_entry.entry_id
    )
    assert hub_device is not None
    entries = er.async_entries_for_config_entry(entity_registry, hub_entry.entry_id)
    camera_entity_ids = sorted(e.entity_id for e in entries if e.device_id != hub_device.id)
    assert "camera.garden" in camera_entity_ids
    assert all(
        ".garden_" in entity_id for entity_id in camera_entity_ids if entity_id != "camera.garden"
    )
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{hub_entry.entry_id}_cam1"), hub_entry.entry_id
    )
    assert device is not None
    assert (device.name, device.manufacturer, device.model, device.sw_version) == (
        "Garden",
        "Espressif",
        "ESP32-S3 camera",
        "2.0",
    )
    assert device.via_device_id == hub_device.id
    assert {entry.device_id for entry in entries if entry.entity_id in camera_entity_ids} == {
        device.id
    }


async def _two_hubs_with_cam1(
    hass: HomeAssistant, tmp_path: Any, connect_camera_to: ConnectTo
) -> list[MockConfigEntry]:
    """Two loaded hubs, each with a connected camera of the id cam1; their cameras."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    hubs = [add_hub_entry(hass, title, str(tmp_path / title)) for title in ("Garden", "Garage")]
    assert await hass.config_entries.async_setup(hubs[0].entry_id)  # sets both up
    await hass.async_block_till_done()
    assert [entry.state for entry in hubs] == [ConfigEntryState.LOADED] * 2
    for hub_entry in hubs:
        camera = await connect_camera_to(hub_entry, f"?token={HUB_TOKEN}&id=cam1")
        await camera.send_frame(jpeg_bytes())
        hub = hub_entry.runtime_data
        await wait_for(lambda hub=hub: "cam1" in hub.cameras and hub.cameras["cam1"].connected)
        await hass.async_block_till_done()
    return hubs


async def test_two_hubs_may_each_have_a_camera_of_the_same_id(
    hass: HomeAssistant,
    tmp_path: Any,
    socket_allowed: None,
    connect_camera_to: ConnectTo,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A camera moved to another hub (or two cameras of the same id): each hub has its own."""
    hubs = await _two_hubs_with_cam1(hass, tmp_path, connect_camera_to)
    cameras_per_hub = [
        [
            e
            for e in er.async_entries_for_config_entry(entity_registry, h.entry_id)
            if e.domain == "camera"
        ]
        for h in hubs
    ]
    assert [len(cameras) for cameras in cameras_per_hub] == [1, 1]
    camera_entities = [
        entity_registry.async_get_entity_id("camera", DOMAIN, f"{hub_entry.entry_id}_cam1_camera")
        for hub_entry in hubs
    ]
    assert camera_entities == ["camera.esp32_camera_cam1", "camera.esp32_camera_cam1_2"]
    devices = [
        device_registry.async_get_device_by_identifier(
            (DOMAIN, f"{hub_entry.entry_id}_cam1"), hub_entry.entry_id
        )
        for hub_entry in hubs
    ]
    assert None not in devices
    assert len({device.id for device in devices if device}) == 2
    for hub_entry, entity_id in zip(hubs, camera_entities, strict=True):
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state != "unavailable"
        entry = entity_registry.async_get(entity_id)
        assert entry is not None
        assert entry.config_entry_id == hub_entry.entry_id


async def test_earlier_unique_ids_and_devices_are_migrated_keeping_entity_ids(
    hass: HomeAssistant,
    tmp_path: Any,
    socket_allowed: None,
    connect_camera_to: ConnectTo,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """An entry of 1.1 with camera-id unique ids: the same entities and device, new ids (1.2)."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    hub_entry = add_hub_entry(hass, "Test hub", str(tmp_path / "saved"))
    assert (hub_entry.version, hub_entry.minor_version) == (1, 1)
    entry_id = hub_entry.entry_id
    hub_device = device_registry.async_get_or_create(
        config_entry_id=entry_id, identifiers={(DOMAIN, entry_id)}, name="Test hub"
    )
    camera_device = device_registry.async_get_or_create(
        config_entry_id=entry_id,
        identifiers={(DOMAIN, "cam1")},
        name="Garden",
        via_device_id=hub_device.id,
    )
    old = {
        ("camera", "cam1_camera"): "camera.my_garden",  # renamed by the user: kept
        ("sensor", "cam1_fps"): "sensor.garden_fps",
        ("sensor", f"{entry_id}_connected_cameras"): "sensor.test_hub_connected_cameras",
    }
    for (domain, unique_id), entity_id in old.items():
        on_hub = unique_id.startswith(entry_id)
        entity_registry.async_get_or_create(
            domain,
            DOMAIN,
            unique_id,
            config_entry=hub_entry,
            device_id=(hub_device if on_hub else camera_device).id,
            suggested_object_id=entity_id.split(".")[1],
        )
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    assert (hub_entry.version, hub_entry.minor_version) == (1, 2)
    new_ids = {
        ("camera", "cam1_camera"): f"{entry_id}_cam1_camera",
        ("sensor", "cam1_fps"): f"{entry_id}_cam1_fps",
        ("sensor", f"{entry_id}_connected_cameras"): f"{entry_id}_connected_cameras",
    }
    for key, entity_id in old.items():
        entry = entity_registry.async_get(entity_id)
        assert entry is not None
        assert entry.unique_id == new_ids[key]
    migrated = device_registry.async_get(camera_device.id)
    assert migrated is not None
    assert migrated.identifiers == {(DOMAIN, f"{entry_id}_cam1")}
    assert device_registry.async_get(hub_device.id).identifiers == {(DOMAIN, entry_id)}  # type: ignore[union-attr]

    # The camera comes back: its entities are the migrated ones, none is added twice.
    count = len(er.async_entries_for_config_entry(entity_registry, entry_id))
    camera = await connect_camera_to(hub_entry, f"?token={HUB_TOKEN}&id=cam1", name="Garden")
    await camera.send_frame(jpeg_bytes())
    await wait_for(
        lambda: (
            (state := hass.states.get("camera.my_garden")) is not None
            and state.state != "unavailable"
        )
    )
    await hass.async_block_till_done()
    entries = er.async_entries_for_config_entry(entity_registry, entry_id)
    assert len([e for e in entries if e.domain == "camera"]) == 1
    assert len(entries) >= count
    assert {e.device_id for e in entries if e.unique_id.startswith(f"{entry_id}_cam1_")} == {
        camera_device.id
    }


async def test_a_camera_id_two_hubs_know_is_named_by_its_device_not_its_id(
    hass: HomeAssistant,
    tmp_path: Any,
    socket_allowed: None,
    connect_camera_to: ConnectTo,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """`camera_id` alone, or both hubs' cam1 in one call, would reach one camera: refused, named."""
    hubs = await _two_hubs_with_cam1(hass, tmp_path, connect_camera_to)
    devices = [
        device_registry.async_get_device_by_identifier(
            camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
        )
        for hub_entry in hubs
    ]
    assert None not in devices
    for target in (
        {"camera_id": "cam1"},
        {"device_id": [device.id for device in devices if device]},
    ):
        with pytest.raises(ServiceValidationError) as error:
            await hass.services.async_call(
                DOMAIN,
                "send_command",
                {**target, "command": "quality", "value": "20"},
                blocking=True,
                return_response=True,
            )
        assert error.value.translation_key == "camera_on_several_hubs"
        assert error.value.translation_placeholders == {
            "camera_id": "cam1",
            "hubs": "Garage, Garden",
        }
    client = await hass_ws_client(hass)
    answer = await websocket_command(client, type=f"{DOMAIN}/saver", camera_id="cam1", enabled=True)
    assert answer["error"]["translation_key"] == "camera_on_several_hubs"
    assert [hub_entry.runtime_data.saver.is_enabled("cam1") for hub_entry in hubs] == [False] * 2
