"""One truth for the settings a camera never reports, and actions only where the firmware has them.

The entities and the panel's payload show the same thing: the value last set from Home Assistant
(kept in the store, marked as assumed), or unknown in both when it was never set.
"""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ASSUMED_STATE,
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.hub.devices import camera_unique_id
from esp32_simulator import SimulatedCamera
from tests.helpers import CameraClient, answer, wait_for, websocket_command

PREFIX = "esp32_camera_cam1"
BRIGHTNESS = f"number.{PREFIX}_brightness"
EXPOSURE = f"switch.{PREFIX}_automatic_exposure"
QUALITY = f"number.{PREFIX}_jpeg_quality"
SENSOR_RESET = f"button.{PREFIX}_reset_sensor"


async def payload(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, camera_id: str = "cam1"
) -> dict[str, Any]:
    """The panel's description of a camera (esp32_camera/cameras)."""
    client = await hass_ws_client(hass)
    answer = await websocket_command(client, type="esp32_camera/cameras")
    assert answer["success"], answer
    (camera,) = [c for c in answer["result"]["cameras"] if c["camera_id"] == camera_id]
    return dict(camera)


def shown(hass: HomeAssistant, entity_id: str) -> tuple[str, bool] | None:
    """An entity's state and whether it says the state is assumed."""
    state = hass.states.get(entity_id)
    if state is None:
        return None
    return state.state, bool(state.attributes.get(ATTR_ASSUMED_STATE))


async def test_unreported_settings_are_unknown_then_the_last_set_in_entities_and_panel(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Never set: unknown in both. Set from HA: that value, assumed, in both; kept over a reload."""
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera: SimulatedCamera = await simulate(resolution=0, fps=5, pacing=False)
    await wait_for(lambda: shown(hass, QUALITY) == (str(camera.quality), False))  # health is in

    # Never set from Home Assistant: the camera does not say; neither do the entity and the panel.
    assert shown(hass, BRIGHTNESS) == (STATE_UNKNOWN, True)
    assert shown(hass, EXPOSURE) == (STATE_UNKNOWN, True)
    described = await payload(hass, hass_ws_client)
    assert "brightness" not in described["settings"]
    assert "exposure" not in described["settings"]
    assert "brightness" not in described["settings_last_set"]
    # A reported setting is a reading: not assumed, and not "last set".
    assert shown(hass, QUALITY) == (str(camera.quality), False)
    assert described["settings"]["quality"] == str(camera.quality)
    assert "quality" not in described["settings_last_set"]

    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: BRIGHTNESS, "value": 1}, blocking=True
    )
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: EXPOSURE}, blocking=True
    )
    assert shown(hass, BRIGHTNESS) == ("1", True)
    assert shown(hass, EXPOSURE) == ("off", True)
    described = await payload(hass, hass_ws_client)
    assert (described["settings"]["brightness"], described["settings"]["exposure"]) == ("1", "0")
    assert {"brightness", "exposure"} <= set(described["settings_last_set"])

    # Home Assistant restarts (the entry reloads) while the camera stays away: the store keeps it.
    await camera.stop()
    assert await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert shown(hass, BRIGHTNESS) == (STATE_UNAVAILABLE, True)
    described = await payload(hass, hass_ws_client)
    assert described["settings"]["brightness"] == "1"
    assert "brightness" in described["settings_last_set"]


async def test_sensor_reset_only_for_firmware_that_may_have_it(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_ws_client: WebSocketGenerator,
    entity_registry: er.EntityRegistry,
) -> None:
    """No reset button for the stock firmware (it always refuses it), in HA or the panel.

    The disabled button an earlier release registered for it is removed; a firmware that
    names itself in `register` gets the button, enabled, also after a restart.
    """
    unique_id = camera_unique_id(hub_entry.entry_id, "cam1", "sensor_reset")
    earlier = entity_registry.async_get_or_create(
        BUTTON_DOMAIN,
        DOMAIN,
        unique_id,
        config_entry=hub_entry,
        suggested_object_id=f"{PREFIX}_reset_sensor",
        disabled_by=er.RegistryEntryDisabler.INTEGRATION,
    )
    await hass.config_entries.async_setup(hub_entry.entry_id)
    stock = await simulate()  # no `firmware` in its register, as the stock firmware
    await hass.async_block_till_done()
    await wait_for(lambda: hass.states.get(f"button.{PREFIX}_restart") is not None)
    assert entity_registry.async_get(earlier.entity_id) is None
    assert hass.states.get(SENSOR_RESET) is None
    assert (await payload(hass, hass_ws_client))["actions"] == ["reboot", "stats"]

    # A rebuilt firmware declares itself in `register`: it is offered the reset, enabled.
    await simulate(camera_id="cam2", firmware="2.1-rebuilt")
    rebuilt_reset = "button.esp32_camera_cam2_reset_sensor"
    await wait_for(lambda: hass.states.get(rebuilt_reset) is not None)
    assert entity_registry.async_get(rebuilt_reset).disabled_by is None  # type: ignore[union-attr]
    described = await payload(hass, hass_ws_client, "cam2")
    assert described["actions"] == ["reboot", "sensor_reset", "stats"]
    # Known across a restart (the store keeps the firmware), while the camera is away too.
    await stock.stop()
    assert await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(rebuilt_reset) is not None
    assert hass.states.get(SENSOR_RESET) is None


async def test_a_change_from_the_panel_shows_on_the_entity_at_once(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The panel's command (or an action) changes the entity's state as soon as the camera took it.

    No frames flow here, so no periodic update could show it later instead.
    """
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera: CameraClient = await connect_camera()
    await wait_for(lambda: shown(hass, EXPOSURE) == (STATE_UNKNOWN, True))
    client = await hass_ws_client(hass)
    answering = asyncio.create_task(answer(camera))
    result = await websocket_command(
        client, type=f"{DOMAIN}/command", camera_id="cam1", command="exposure", value=False
    )
    assert result["success"], result
    assert (await answering)["cmd"] == "exposure"
    await hass.async_block_till_done()
    assert shown(hass, EXPOSURE) == ("off", True)
