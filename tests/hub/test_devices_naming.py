"""A camera's name follows its device in Home Assistant: renamed there, renamed everywhere."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.hub.devices import camera_device_identifier, suggested_name
from tests.helpers import jpeg_bytes, wait_for, websocket_command


async def test_a_renamed_device_renames_the_camera_in_the_panel_live(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The panel's subscription (and the card, which reads it) shows the user's name, unasked."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera(register=False)
    await camera.register(name="Garden")
    await camera.send_frame(jpeg_bytes())
    hub = hub_entry.runtime_data
    await wait_for(lambda: "cam1" in hub.cameras and hub.cameras["cam1"].latest_frame)
    client = await hass_ws_client(hass)
    subscription = (await websocket_command(client, type=f"{DOMAIN}/subscribe"))["id"]

    async def next_names() -> list[str]:
        while True:
            message = await client.receive_json()
            if message["type"] == "event" and message["id"] == subscription:
                return [camera["name"] for camera in message["event"]["cameras"]]

    assert await next_names() == ["Garden"]
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    # As the device page does: the user's name.
    registry.async_update_device(device.id, name_by_user="Garage")
    while (names := await next_names()) != ["Garage"]:
        assert names == ["Garden"]  # the only other value it may push meanwhile
    answer = await websocket_command(client, type=f"{DOMAIN}/cameras")
    assert [camera["name"] for camera in answer["result"]["cameras"]] == ["Garage"]
    # The user's name cleared: the camera's own name again.
    registry.async_update_device(device.id, name_by_user=None)
    while (names := await next_names()) != ["Garden"]:
        assert names == ["Garage"]


def test_the_suggested_name_counts_on_from_the_hubs_cameras() -> None:
    """The suggestion counts on from the hub's cameras, past the names they have."""
    assert suggested_name([]) == "ESP32 camera 1"
    assert suggested_name(["Garage"]) == "ESP32 camera 2"
    assert suggested_name(["Garage", "esp32 CAMERA 3"]) == "ESP32 camera 4"
