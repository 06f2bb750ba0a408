"""Motion zones and mask areas: kept in the hub's store, set from the panel, used by the detector.

Real Home Assistant, real WebSocket clients (the panel's and the cameras'), real JPEGs drawn with
Pillow: motion only in zone B fires `motion_started` with zone "B"; the same motion inside a mask
area fires nothing.
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from PIL import Image, ImageDraw
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.diagnostics import async_get_config_entry_diagnostics
from custom_components.esp32_camera.hub.motion_detection import (
    MAX_AREAS,
    MAX_NAME_LENGTH,
    MAX_POINTS,
    ZONE_LIMITS,
)
from custom_components.esp32_camera.hub.store import STORAGE_VERSION, storage_key
from custom_components.esp32_camera.motion import MotionSettings, Zone
from tests.helpers import HUB_TOKEN, CameraClient, jpeg_bytes, wait_for, websocket_command

WIDTH, HEIGHT = 640, 480
# Analysed at most 10 times a second: frames this far apart are each analysed.
FRAME_INTERVAL = 0.11


def rectangle(name: str, left: float, top: float, right: float, bottom: float) -> dict[str, Any]:
    """A rectangular area in its JSON form."""
    return {"name": name, "points": [[left, top], [right, top], [right, bottom], [left, bottom]]}


def circle(name: str, corners: int) -> dict[str, Any]:
    """A polygon of `corners` points around the picture's centre."""
    return {
        "name": name,
        "points": [
            [
                0.5 + 0.3 * math.cos(2 * math.pi * i / corners),
                0.5 + 0.3 * math.sin(2 * math.pi * i / corners),
            ]
            for i in range(corners)
        ],
    }


def room() -> Image.Image:
    """A still picture with a gradient and a fixed texture (a wall)."""
    wall = Image.linear_gradient("L").resize((WIDTH, HEIGHT)).point(lambda v: 90 + v * 80 // 255)
    texture = Image.frombytes("L", (WIDTH, HEIGHT), random.Random(7).randbytes(WIDTH * HEIGHT))
    return Image.merge("RGB", [Image.blend(wall, texture, 0.08)] * 3)


def still_frames(count: int) -> list[bytes]:
    return [jpeg_bytes(picture=room(), quality=85)] * count


def walker_frames(count: int) -> list[bytes]:
    """A dark object walking from 60 % to 85 % of the width: only in the right half."""
    frames = []
    for number in range(count):
        image = room()
        left = round(WIDTH * (0.6 + 0.15 * number / (count - 1)))
        top = round(HEIGHT * 0.4)
        ImageDraw.Draw(image).rectangle((left, top, left + 64, top + 96), fill=(30, 35, 50))
        frames.append(jpeg_bytes(picture=image, quality=85))
    return frames


async def set_areas(
    client: MockHAClientWebSocket, camera_id: str, zones: Any, mask: Any
) -> dict[str, Any]:
    return await websocket_command(
        client, type=f"{DOMAIN}/motion_zones", camera_id=camera_id, zones=zones, mask=mask
    )


async def send_frames(camera: CameraClient, frames: list[bytes]) -> None:
    for frame in frames:
        await camera.send_frame(frame)
        await asyncio.sleep(FRAME_INTERVAL)


async def analyse_one_more(hub: Any, camera_id: str, camera: CameraClient) -> None:
    """Send still frames until the camera's detector analysed one more (the rate cap skips some)."""
    detector = hub.motion.detector(camera_id)
    analysed = detector.stats.analysed
    async with asyncio.timeout(5):
        while detector.stats.analysed == analysed:
            await send_frames(camera, still_frames(1))


@pytest.fixture
async def cam1(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> CameraClient:
    """The hub set up, with camera cam1 connected and one still frame received."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera: CameraClient = await connect_camera()
    await camera.send_frame(still_frames(1)[0])
    hub = hub_entry.runtime_data
    await wait_for(lambda: "cam1" in hub.cameras and hub.cameras["cam1"].latest_frame)
    return camera


async def test_zones_are_stored_shown_and_kept_across_a_restart(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cam1: CameraClient,
    hass_ws_client: WebSocketGenerator,
    hass_storage: dict[str, Any],
) -> None:
    hub = hub_entry.runtime_data
    await hub.motion.async_set("cam1", sensitivity=70, cooldown=2.0)
    # The background is made; new zones must not restart it.
    await analyse_one_more(hub, "cam1", cam1)
    resets = hub.motion.detector("cam1").stats.resets
    client = await hass_ws_client(hass)
    zones = [
        {"name": " Door ", "points": [[0.123456, 0.1], [0.5, 0.1], [0.5, 0.9]]},
        circle("Garden", MAX_POINTS),
    ]
    answer = await set_areas(client, "cam1", zones, [rectangle("Road", 0, 0, 1, 0.2)])
    assert answer["success"], answer
    # Names trimmed, coordinates rounded to 1/10000 of the picture.
    expected_zones = [
        {"name": "Door", "points": [[0.1235, 0.1], [0.5, 0.1], [0.5, 0.9]]},
        {
            "name": "Garden",
            "points": [
                [round(x, 4), round(y, 4)] for x, y in circle("Garden", MAX_POINTS)["points"]
            ],
        },
    ]
    expected = {"zones": expected_zones, "mask": [rectangle("Road", 0, 0, 1, 0.2)]}
    assert answer["result"] == expected
    settings = hub.motion.settings("cam1")
    assert [zone.name for zone in settings.zones] == ["Door", "Garden"]
    assert settings.mask == (Zone.rectangle("Road", 0, 0, 1, 0.2),)
    # Nothing else changed: the other settings, the detector, its background.
    assert (settings.sensitivity, settings.cooldown) == (70, 2.0)
    await analyse_one_more(hub, "cam1", cam1)
    assert hub.motion.detector("cam1").stats.resets == resets
    # The panel gets them with the camera, and the limits with the tables.
    listing = await websocket_command(client, type=f"{DOMAIN}/cameras")
    assert listing["result"]["cameras"][0]["motion"] == expected
    assert listing["result"]["zone_limits"] == ZONE_LIMITS
    diagnostics = await async_get_config_entry_diagnostics(hass, hub_entry)
    assert diagnostics["cameras"]["cam1"]["motion"]["settings"]["zones"] == expected_zones

    # Kept in the store (JSON), and read again by a new hub after a restart.
    await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[storage_key(hub_entry.entry_id)]["data"]["cameras"]["cam1"]["motion"]
    assert stored == {"sensitivity": 70, "cooldown": 2.0, **expected}
    hub = hub_entry.runtime_data
    assert hub.motion.settings("cam1") == settings
    assert hub.motion.areas("cam1") == expected

    # Empty lists: the whole picture is one zone again.
    answer = await set_areas(client, "cam1", [], [])
    assert answer["result"] == {"zones": [], "mask": []}
    assert hub.motion.settings("cam1") == MotionSettings(sensitivity=70, cooldown=2.0)


async def test_only_administrators_change_zones(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cam1: CameraClient,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    hass_storage: dict[str, Any],
) -> None:
    client = await hass_ws_client(hass, hass_read_only_access_token)
    refused = await set_areas(client, "cam1", [rectangle("A", 0, 0, 0.5, 0.5)], [])
    assert refused["error"]["code"] == "unauthorized"
    # They see what an administrator drew.
    admin = await hass_ws_client(hass)
    assert (await set_areas(admin, "cam1", [rectangle("A", 0, 0, 0.5, 0.5)], []))["success"]
    listing = await websocket_command(client, type=f"{DOMAIN}/cameras")
    assert listing["result"]["cameras"][0]["motion"]["zones"] == [rectangle("A", 0, 0, 0.5, 0.5)]
    refused = await set_areas(client, "cam1", [], [])
    assert refused["error"]["code"] == "unauthorized"
    assert [zone.name for zone in hub_entry.runtime_data.motion.settings("cam1").zones] == ["A"]


def _many(count: int) -> list[dict[str, Any]]:
    return [rectangle(f"Z{index}", 0, 0, 0.1, 0.1) for index in range(count)]


@pytest.mark.parametrize(
    ("zones", "mask", "key"),
    [
        (_many(MAX_AREAS + 1), [], "too_many_zones"),
        ([], _many(MAX_AREAS + 1), "too_many_zones"),
        ([circle("Round", MAX_POINTS + 1)], [], "invalid_zone"),
        ([{"name": "Line", "points": [[0, 0], [1, 1]]}], [], "invalid_zone"),
        ([rectangle("Outside", 0, 0, 1.2, 0.5)], [], "invalid_zone"),
        ([{"name": "Odd", "points": [[0, 0], [1], [1, 1]]}], [], "invalid_zone"),
        ([{"name": "Text", "points": [[0, 0], ["1", 0], [1, 1]]}], [], "invalid_zone"),
        ([{"name": "Yes", "points": [[0, 0], [True, 0], [1, 1]]}], [], "invalid_zone"),
        ([{"name": "None"}], [], "invalid_zone"),
        ([rectangle("   ", 0, 0, 1, 1)], [], "invalid_zone_name"),
        ([rectangle("x" * (MAX_NAME_LENGTH + 1), 0, 0, 1, 1)], [], "invalid_zone_name"),
        ([{"name": 5, "points": [[0, 0], [1, 0], [1, 1]]}], [], "invalid_zone_name"),
        ([rectangle("Door", 0, 0, 1, 1)], [rectangle("Door ", 0, 0, 1, 1)], "duplicate_zone_name"),
        ([rectangle("A", 0, 0, 1, 1), rectangle("A", 0, 0, 1, 1)], [], "duplicate_zone_name"),
    ],
)
async def test_invalid_zones_are_refused_with_a_translated_error_and_change_nothing(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cam1: CameraClient,
    hass_ws_client: WebSocketGenerator,
    zones: list[Any],
    mask: list[Any],
    key: str,
) -> None:
    client = await hass_ws_client(hass)
    kept = [rectangle("Kept", 0, 0, 0.5, 0.5)]
    assert (await set_areas(client, "cam1", kept, []))["success"]
    answer = await set_areas(client, "cam1", zones, mask)
    assert answer["error"]["translation_key"] == key, answer
    assert answer["error"]["message"]  # the English message, not the key
    assert answer["error"]["message"] != key
    assert hub_entry.runtime_data.motion.areas("cam1") == {"zones": kept, "mask": []}


async def test_a_wrong_shape_or_an_unknown_camera_is_refused(
    hass: HomeAssistant, cam1: CameraClient, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    unknown = await set_areas(client, "nope", [], [])
    assert unknown["error"]["translation_key"] == "unknown_camera"
    shape = await set_areas(client, "cam1", "everything", [])
    assert shape["error"]["code"] == "invalid_format"


@pytest.mark.parametrize(
    ("stored_areas", "kept_zones", "lost"),
    [
        ({"zones": "everything"}, [], "zones"),
        ({"zones": _many(MAX_AREAS + 1)}, [], "zones"),
        ({"mask": [rectangle("Outside", 0, 0, 2, 2)]}, [], "mask"),
        (
            {"zones": [rectangle("A", 0, 0, 1, 1)], "mask": [rectangle("A", 0, 0, 1, 1)]},
            [rectangle("A", 0, 0, 1, 1)],
            "mask",  # names are unique among both: the zones come first
        ),
    ],
)
async def test_damaged_stored_zones_are_dropped_and_reported_the_rest_is_kept(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    stored_areas: dict[str, Any],
    kept_zones: list[dict[str, Any]],
    lost: str,
) -> None:
    hass_storage[storage_key(hub_entry.entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": storage_key(hub_entry.entry_id),
        "data": {
            "cameras": {
                "cam1": {
                    "name": "Garden",
                    "firmware": "2.0",
                    "settings": {"quality": "20"},
                    "saving": False,
                    "saving_rate": 0.0,
                    "motion": {"sensitivity": 60, **stored_areas},
                }
            },
            "approved": {},
            "refused": [],
        },
    }
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    assert hub.motion.settings("cam1").sensitivity == 60
    assert hub.motion.areas("cam1") == {"zones": kept_zones, "mask": []}
    assert hub.store.chosen_settings("cam1") == {"quality": "20"}
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"store_repaired_{hub_entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["lost"] == f"cameras/cam1/motion/{lost}"


class EventRecorder:
    """Every motion event of the cameras' event entities, in order, with its zone."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.events: dict[str, list[tuple[str, Any]]] = {}
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed)

    @callback
    def _changed(self, event: Event[Any]) -> None:
        state = event.data["new_state"]
        if state is None or not state.entity_id.startswith("event."):
            return
        if state.attributes.get("event_type") is not None:
            self.events.setdefault(state.entity_id, []).append(
                (state.attributes["event_type"], state.attributes.get("zone"))
            )


async def test_motion_in_zone_b_names_b_and_motion_in_the_mask_fires_nothing(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    cam1: CameraClient,
    connect_camera: Any,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The same frames at two cameras: zones A (left) and B (right) at one, the right masked at the other."""
    hub = hub_entry.runtime_data
    cam2: CameraClient = await connect_camera(f"?token={HUB_TOKEN}&id=cam2")
    await cam2.send_frame(still_frames(1)[0])
    await wait_for(lambda: "cam2" in hub.cameras and hub.cameras["cam2"].latest_frame)
    client = await hass_ws_client(hass)
    left, right = rectangle("A", 0, 0, 0.5, 1), rectangle("B", 0.5, 0, 1, 1)
    assert (await set_areas(client, "cam1", [left, right], []))["success"]
    assert (await set_areas(client, "cam2", [], [{**right, "name": "Street"}]))["success"]
    recorder = EventRecorder(hass)
    masked = hub.motion.detector("cam2")
    analysed = masked.stats.analysed
    frames = still_frames(5) + walker_frames(16)
    await asyncio.gather(send_frames(cam1, frames), send_frames(cam2, frames))
    # Most frames analysed (a late frame may be skipped), so the walker's among them.
    await wait_for(lambda: masked.stats.analysed - analysed >= 12, timeout=10)
    await wait_for(lambda: "event.esp32_camera_cam1_motion" in recorder.events)
    await hass.async_block_till_done()
    assert recorder.events["event.esp32_camera_cam1_motion"][0] == ("motion_started", "B")
    assert hass.states.get("event.esp32_camera_cam1_motion").attributes["zone"] == "B"  # type: ignore[union-attr]
    assert hub.motion.detector("cam1").last_result.zone_scores["A"] == 0.0  # type: ignore[union-attr]
    # The other camera analysed the same frames and saw nothing: it is all in the mask.
    assert "event.esp32_camera_cam2_motion" not in recorder.events
    assert masked.stats.events == 0
    assert not hub.motion.is_active("cam2")
    assert hass.states.get("binary_sensor.esp32_camera_cam2_motion").state == "off"  # type: ignore[union-attr]
