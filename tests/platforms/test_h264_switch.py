"""The "H.264 stream" switch: off by default, kept in the hub's store, unavailable without ffmpeg.

The stream itself is tested in tests/hub/test_h264_streams.py.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.camera import async_get_stream_source
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.const import (
    ATTR_SUPPORTED_FEATURES,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.diagnostics import async_get_config_entry_diagnostics
from custom_components.esp32_camera.hub.store import storage_key
from tests.helpers import (
    ENTITY,
    HUB_TOKEN,
    h264_switch_entity,
    setup_ffmpeg,
    stored_cameras,
    turn_switch,
    wait_for,
)


def camera_streams(hass: HomeAssistant) -> bool:
    """Whether the camera entity has the STREAM feature."""
    state = hass.states.get(ENTITY)
    assert state is not None
    return bool(state.attributes[ATTR_SUPPORTED_FEATURES] & CameraEntityFeature.STREAM)


async def start_hub(hass: HomeAssistant, entry: MockConfigEntry, connect_camera: Any) -> Any:
    """Set the hub up and connect cam1."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    camera = await connect_camera()
    await wait_for(lambda: (state := hass.states.get(ENTITY)) and state.state != "unavailable")
    return camera


async def test_off_by_default_a_config_switch_and_nothing_changes(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """Off: the camera entity stays MJPEG only (no STREAM, no stream source)."""
    await setup_ffmpeg(hass)
    await start_hub(hass, hub_entry, connect_camera)
    entity_id = h264_switch_entity(hass, hub_entry)
    entry = er.async_get(hass).async_get(entity_id)
    assert entry is not None
    assert entry.entity_category is EntityCategory.CONFIG
    assert entry.translation_key == "h264_stream"
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == STATE_OFF
    assert not camera_streams(hass)
    assert await async_get_stream_source(hass, ENTITY) is None
    assert hub_entry.runtime_data.h264.processes() == {}


async def test_the_choice_is_stored_before_the_switch_answers_and_survives_a_reload(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_storage: dict[str, Any],
) -> None:
    """On: written to the store when the call returns; after a reload still on, with STREAM."""
    await setup_ffmpeg(hass)
    await start_hub(hass, hub_entry, connect_camera)
    entity_id = h264_switch_entity(hass, hub_entry)
    await turn_switch(hass, entity_id, True)
    assert hass_storage[storage_key(hub_entry.entry_id)]["data"]["cameras"]["cam1"]["h264"]
    assert hass.states.get(entity_id).state == STATE_ON  # type: ignore[union-attr]
    assert camera_streams(hass)
    url = await async_get_stream_source(hass, ENTITY)
    assert url is not None
    assert url.endswith("/h264/cam1.ts")
    assert HUB_TOKEN not in url
    assert await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_ON  # type: ignore[union-attr]
    await turn_switch(hass, entity_id, False)
    assert not hass_storage[storage_key(hub_entry.entry_id)]["data"]["cameras"]["cam1"]["h264"]
    assert not camera_streams(hass)


async def test_without_ffmpeg_the_switch_is_unavailable_and_a_repair_issue_says_why(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No ffmpeg integration: the switch is unavailable, a camera stored on has no STREAM, the
    repair issue names it, the log says it once, and turning it on is a translated error."""
    stored_cameras(hass_storage, hub_entry.entry_id, {"cam1": None})
    hass_storage[storage_key(hub_entry.entry_id)]["data"]["cameras"]["cam1"]["h264"] = True
    await start_hub(hass, hub_entry, connect_camera)
    entity_id = h264_switch_entity(hass, hub_entry)
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert not camera_streams(hass)
    assert await async_get_stream_source(hass, ENTITY) is None
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"h264_no_ffmpeg_{hub_entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "h264_no_ffmpeg"
    assert issue.translation_placeholders["title"] == "Test hub"
    assert "cam1" in issue.translation_placeholders["cameras"]
    with pytest.raises(HomeAssistantError) as raised:
        await hub_entry.runtime_data.h264.async_set_enabled("cam1", True)
    assert raised.value.translation_key == "h264_no_ffmpeg"
    lines = [r for r in caplog.records if "need Home Assistant's ffmpeg" in r.message]
    assert len(lines) == 1


async def test_diagnostics_show_the_transcoders_never_the_credential(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """The diagnostics carry the encoder and each camera's choice, not the URL's password."""
    await setup_ffmpeg(hass)
    await start_hub(hass, hub_entry, connect_camera)
    await turn_switch(hass, h264_switch_entity(hass, hub_entry), True)
    diagnostics = await async_get_config_entry_diagnostics(hass, hub_entry)
    assert diagnostics["h264"]["encoder"] == "libx264"
    assert diagnostics["cameras"]["cam1"]["h264_stream"] is True
    text = json.dumps(diagnostics, default=str)
    assert hub_entry.runtime_data.h264.credential not in text
    assert HUB_TOKEN not in text
