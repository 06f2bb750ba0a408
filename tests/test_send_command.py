"""esp32_camera.send_command to several cameras: each is sent the command, each failure is named."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant, ServiceResponse
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import DOMAIN
from tests.helpers import HUB_TOKEN, CameraClient, answer, shorten_command_timeout, wait_for

CAMERA_IDS = ("door", "garage", "yard")


async def _cameras(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> dict[str, CameraClient]:
    """Set the hub up with three connected cameras that answer by hand."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    cameras = {
        camera_id: await connect_camera(f"?token={HUB_TOKEN}&id={camera_id}")
        for camera_id in CAMERA_IDS
    }
    await wait_for(lambda: all(c in hub.cameras and hub.cameras[c].connected for c in cameras))
    return cameras


def _send_to_every_camera(
    hass: HomeAssistant, hub_entry: MockConfigEntry, command: str, value: str
) -> asyncio.Task[ServiceResponse]:
    """Call send_command on the hub device (all its cameras) in the background."""
    hub_device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, hub_entry.entry_id), hub_entry.entry_id
    )
    assert hub_device is not None
    return asyncio.create_task(
        hass.services.async_call(
            DOMAIN,
            "send_command",
            {"device_id": hub_device.id, "command": command, "value": value},
            blocking=True,
            return_response=True,
        )
    )


async def test_each_camera_answers_in_the_response(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    cameras = await _cameras(hass, hub_entry, connect_camera)
    call = _send_to_every_camera(hass, hub_entry, "quality", "20")
    sent = [await answer(camera) for camera in cameras.values()]
    assert await call == {
        "cameras": {
            camera_id: {"ok": True, "value": "20", "queued": False} for camera_id in CAMERA_IDS
        }
    }
    assert [command["cmd"] for command in sent] == ["quality"] * 3


async def test_a_partial_failure_names_each_camera_that_failed_and_those_that_took_it(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """One camera refuses, one does not answer, one takes it: every one was sent the command."""
    cameras = await _cameras(hass, hub_entry, connect_camera)
    shorten_command_timeout(hub_entry.runtime_data)
    call = _send_to_every_camera(hass, hub_entry, "quality", "20")
    refused = await answer(cameras["door"], status="error")
    taken = await answer(cameras["yard"])
    unanswered = await cameras["garage"].ws.receive_json(timeout=5)  # and never answered
    assert refused["cmd"] == taken["cmd"] == unanswered["cmd"] == "quality"
    with pytest.raises(HomeAssistantError) as error:
        await call
    assert type(error.value) is HomeAssistantError  # the cameras failed, not the call's data
    assert error.value.translation_key == "command_failed_on_some"
    assert error.value.translation_placeholders == {
        "command": "quality",
        "failures": (
            "door (The camera door refused the quality command: 20); "
            "garage (The camera garage did not answer the quality command in time)"
        ),
        "succeeded": "yard",
    }
    assert str(error.value) == (
        "The quality command failed on door (The camera door refused the quality command: 20); "
        "garage (The camera garage did not answer the quality command in time). "
        "These cameras took it: yard"  # HA drops a message's final period
    )
    # What a camera took is kept as its user's choice; what it refused is not.
    settings = hub_entry.runtime_data.settings
    assert settings.chosen("yard").get("quality") == "20"
    assert "quality" not in settings.chosen("door")


async def test_when_every_camera_fails_each_is_named(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    cameras = await _cameras(hass, hub_entry, connect_camera)
    call = _send_to_every_camera(hass, hub_entry, "quality", "20")
    for camera in cameras.values():
        await answer(camera, status="error")
    with pytest.raises(HomeAssistantError) as error:
        await call
    assert error.value.translation_key == "command_failed_on_every"
    assert str(error.value) == (
        "The quality command failed on every targeted camera: "
        "door (The camera door refused the quality command: 20); "
        "garage (The camera garage refused the quality command: 20); "
        "yard (The camera yard refused the quality command: 20)"
    )
