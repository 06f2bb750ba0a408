"""What the panel and the card learn of motion: the camera payload's `motion_now`.

The crossing scene streamed over real sockets to a real hub, with the picture split into two
zones: while a walker crosses, `motion_now` says motion is on and names the zone he is in; it
names the motion entities the panel switches, and when motion last started.
"""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera.const import DOMAIN
from tests.helpers import scene_jpegs, websocket_command

HALVES = [
    {"name": "Left", "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
    {"name": "Right", "points": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]},
]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_motion_now_names_the_zones_seeing_motion_and_the_motion_entities(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_ws_client: WebSocketGenerator,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    client = await hass_ws_client(hass)
    # A short cool-down, so that a motion ends between two crossings of the looped scene (the
    # default of 30 s would keep it on).
    await hub_entry.runtime_data.motion.async_set("cam1", cooldown=2.0)
    # The crossing, looped: an empty room, then walkers going from left to right.
    await simulate(frames=list(scene_jpegs("crossing")), fps=20, mode="speed")
    saved = await websocket_command(
        client, type=f"{DOMAIN}/motion_zones", camera_id="cam1", zones=HALVES, mask=[]
    )
    assert saved["success"], saved

    async def motion_now() -> dict[str, Any]:
        answer = await websocket_command(client, type=f"{DOMAIN}/cameras")
        (cam,) = answer["result"]["cameras"]
        now: dict[str, Any] = cam["motion_now"]
        return now

    before = await motion_now()
    assert before["enabled"] is True
    assert before["record_on_motion"] is False
    registry = er.async_get(hass)
    for key, domain in (
        ("motion", "binary_sensor"),
        ("motion_detection", "switch"),
        ("record_on_motion", "switch"),
    ):
        entity_id = before["entities"][key]
        assert entity_id is not None, key
        entry = registry.async_get(entity_id)
        assert entry is not None
        assert entry.domain == domain
        assert entry.platform == DOMAIN

    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(40):  # the scene is 16 s long
        while not (seen and seen[-1]["active"] and seen[-1]["zones"]):
            await asyncio.sleep(0.1)
            seen.append(await motion_now())
    during = seen[-1]
    assert during["active"] is True
    assert set(during["zones"]) <= {"Left", "Right"}
    assert during["zones"]
    assert isinstance(during["last_started"], int)
    assert hass.states.get(during["entities"]["motion"]).state == "on"  # type: ignore[union-attr]

    # The motion ends after its cool-down: nothing lit, the last start kept.
    async with asyncio.timeout(40):
        while (after := await motion_now())["active"]:
            await asyncio.sleep(0.1)
    assert after["zones"] == []
    assert after["last_started"] >= during["last_started"]
