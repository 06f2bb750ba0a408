"""The hub's store: what the user chose survives restarts and upgrades, whoever changed it.

Settings are chosen from an entity, the panel (`esp32_camera/command`, `esp32_camera/saver`) and
the action (`esp32_camera.send_command`), with their entities enabled and disabled; the hub is
restarted (unloaded, then set up again: a new hub reading the store), and the camera, redialling
as fast as it can, gets every choice re-applied on its first connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import SOURCE_IGNORE
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera.const import (
    CONF_APPROVED_ADDRESSES,
    CONF_STREAM_PORT,
    DOMAIN,
)
from custom_components.esp32_camera.listener import Admission
from custom_components.esp32_camera.store import storage_key

from .conftest import HUB_TOKEN, jpeg_bytes, wait_for

QUALITY = "number.esp32_camera_cam1_jpeg_quality"
FPS = "number.esp32_camera_cam1_target_frame_rate"
SAVING_RATE = "number.esp32_camera_cam1_saving_rate_limit"
MIRROR = "switch.esp32_camera_cam1_horizontal_mirror"
SAVING = "switch.esp32_camera_cam1_save_every_frame"
# What every test chooses, as the firmware receives it.
CHOSEN = {"quality": "23", "hmirror": "1", "fps": "7"}


class AnsweringCamera:
    """A camera (real WebSocket) that answers every command `ok` and records them."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session, self.ws = session, ws
        self.commands: dict[str, str] = {}
        self._task = asyncio.get_running_loop().create_task(self._answer())

    async def _answer(self) -> None:
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            command = json.loads(message.data)
            if command.get("type") == "command":
                self.commands[command["cmd"]] = command["val"]
                await self.ws.send_str(
                    json.dumps(
                        {
                            "type": "response",
                            "cmd": command["cmd"],
                            "status": "ok",
                            "value": command["val"],
                        }
                    )
                )

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def dial(port: int, query: str) -> AnsweringCamera:
    """Dial the stream port until it accepts (a camera redialling), then register."""
    session = aiohttp.ClientSession()
    while True:
        try:
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/{query}")
            break
        except aiohttp.ClientError:
            await asyncio.sleep(0.005)
    await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
    return AnsweringCamera(session, ws)


async def ws_command(client: Any, **message: Any) -> dict[str, Any]:
    await client.send_json_auto_id(message)
    while True:
        answer: dict[str, Any] = await client.receive_json()
        if answer["type"] == "result":
            assert answer["success"], answer
            return answer


def stored(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    data: dict[str, Any] = hass_storage[storage_key(entry.entry_id)]["data"]
    return data


@pytest.mark.parametrize("entities_enabled", [True, False], ids=["enabled", "disabled"])
async def test_settings_from_everywhere_survive_a_restart_and_are_reapplied_at_once(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_storage: dict[str, Any],
    entities_enabled: bool,
) -> None:
    registry = er.async_get(hass)
    if not entities_enabled:  # the user disabled these controls
        for domain, key in (
            (NUMBER_DOMAIN, "quality"),
            (NUMBER_DOMAIN, "fps"),
            (NUMBER_DOMAIN, "saving_rate"),
            (SWITCH_DOMAIN, "hmirror"),
            (SWITCH_DOMAIN, "saving"),
        ):
            registry.async_get_or_create(
                domain,
                DOMAIN,
                f"cam1_{key}",
                config_entry=hub_entry,
                disabled_by=er.RegistryEntryDisabler.USER,
            )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    port = hub_entry.data[CONF_STREAM_PORT]
    camera = await dial(port, f"?token={HUB_TOKEN}&id=cam1")
    hub = hub_entry.runtime_data
    await wait_for(lambda: "cam1" in hub.cameras and hub.cameras["cam1"].connected)
    await hass.async_block_till_done()
    client = await hass_ws_client(hass)

    if entities_enabled:
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: QUALITY, ATTR_VALUE: 23},
            blocking=True,
        )
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: SAVING_RATE, ATTR_VALUE: 0.5},
            blocking=True,
        )
        await hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: SAVING}, blocking=True
        )
    else:
        assert hass.states.get(QUALITY) is None
        await hass.services.async_call(
            DOMAIN,
            "send_command",
            {"camera_id": "cam1", "command": "quality", "value": "23"},
            blocking=True,
        )
        await ws_command(client, type=f"{DOMAIN}/saver", camera_id="cam1", enabled=True)
    await ws_command(client, type=f"{DOMAIN}/command", camera_id="cam1", command="hmirror", value=1)
    await hass.services.async_call(
        DOMAIN,
        "send_command",
        {"camera_id": "cam1", "command": "fps", "value": "7"},
        blocking=True,
    )
    assert camera.commands == CHOSEN

    await hass.config_entries.async_unload(hub_entry.entry_id)
    await camera.close()
    data = stored(hass_storage, hub_entry)
    assert data["cameras"]["cam1"]["settings"] == CHOSEN
    assert data["cameras"]["cam1"]["saving"] is True
    assert data["cameras"]["cam1"]["saving_rate"] == (0.5 if entities_enabled else 0.0)

    # The camera redials as fast as it can while Home Assistant starts the hub again.
    redialling = asyncio.get_running_loop().create_task(dial(port, f"?token={HUB_TOKEN}&id=cam1"))
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await redialling
    try:
        await wait_for(lambda: camera.commands == CHOSEN)
        restarted = hub_entry.runtime_data
        assert restarted is not hub
        assert dict(restarted.settings.chosen("cam1")) == CHOSEN
        assert restarted.saver.is_enabled("cam1")
        if entities_enabled:
            assert restarted.saver.max_rate("cam1") == 0.5
            await wait_for(lambda: (s := hass.states.get(QUALITY)) is not None and s.state == "23")
            assert hass.states.get(MIRROR).state == "on"  # type: ignore[union-attr]
            assert hass.states.get(SAVING).state == "on"  # type: ignore[union-attr]
    finally:
        await camera.close()


async def test_upgrade_from_restore_data_options_and_ignored_entries_keeps_every_choice(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    connect_camera: Any,
) -> None:
    """Data of the release before the store: restore data, approved options, an ignored entry."""
    stock = "127.0.0.2"
    device_registry, entity_registry = dr.async_get(hass), er.async_get(hass)
    device = device_registry.async_get_or_create(
        config_entry_id=hub_entry.entry_id,
        identifiers={(DOMAIN, "cam1")},
        name="Garden",
        sw_version="2.0",
    )
    device_registry.async_get_or_create(
        config_entry_id=hub_entry.entry_id, identifiers={(DOMAIN, stock)}
    )
    restored: list[tuple[State, dict[str, Any]]] = []
    for domain, key, object_id, value in (
        (NUMBER_DOMAIN, "quality", "jpeg_quality", "30"),
        (NUMBER_DOMAIN, "fps", "target_frame_rate", "99"),  # out of range: left out
        ("select", "resolution", "resolution", "1"),
        ("select", "mode", "sending_mode", None),  # never chosen
        (SWITCH_DOMAIN, "hmirror", "horizontal_mirror", "1"),
        (SWITCH_DOMAIN, "saving", "save_every_frame", "1"),
        (NUMBER_DOMAIN, "saving_rate", "saving_rate_limit", "2"),
    ):
        entry = entity_registry.async_get_or_create(
            domain,
            DOMAIN,
            f"cam1_{key}",
            config_entry=hub_entry,
            device_id=device.id,
            suggested_object_id=f"esp32_camera_cam1_{object_id}",
            # A control the user disabled still has its last restore data.
            disabled_by=er.RegistryEntryDisabler.USER if key == "quality" else None,
        )
        restored.append((State(entry.entity_id, "unavailable"), {"value": value}))
    mock_restore_cache_with_extra_data(hass, restored)
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_APPROVED_ADDRESSES: [stock]}
    )
    MockConfigEntry(
        domain=DOMAIN, source=SOURCE_IGNORE, unique_id="192.0.2.9", title="192.0.2.9"
    ).add_to_hass(hass)

    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    data = stored(hass_storage, hub_entry)
    assert data["cameras"]["cam1"] == {
        "name": "Garden",
        "firmware": "2.0",
        "settings": {"quality": "30", "resolution": "1", "hmirror": "1"},
        "saving": True,
        "saving_rate": 2.0,
        "motion": {},  # nothing chosen: the defaults
        "recording": {},  # nothing chosen: the defaults
    }
    assert data["cameras"][stock]["settings"] == {}
    assert data["approved"] == {stock: stock}
    assert data["refused"] == ["192.0.2.9"]
    # The approvals' one home is the store now.
    assert CONF_APPROVED_ADDRESSES not in hub_entry.options
    assert hub.listener.settings.approved_addresses == {stock}
    assert hub.listener.settings.rejected_addresses == {"192.0.2.9"}
    assert hub.saver.is_enabled("cam1")
    assert hub.saver.max_rate("cam1") == 2

    # The camera gets its settings back; the approved stock camera is admitted at once.
    camera = await dial(hub_entry.data[CONF_STREAM_PORT], f"?token={HUB_TOKEN}&id=cam1")
    try:
        await wait_for(
            lambda: camera.commands == {"quality": "30", "resolution": "1", "hmirror": "1"}
        )
    finally:
        await camera.close()
    stock_camera = await connect_camera("", source=stock)
    await stock_camera.send_frame(jpeg_bytes())
    await wait_for(lambda: hub.cameras[stock].latest_frame is not None)
    assert hub.cameras[stock].admission is Admission.APPROVED

    # A later start reads the store, not the old data again.
    await hass.config_entries.async_unload(hub_entry.entry_id)
    hass_storage[storage_key(hub_entry.entry_id)]["data"]["cameras"]["cam1"]["settings"] = {}
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    assert dict(hub_entry.runtime_data.settings.chosen("cam1")) == {}


async def test_removing_the_hub_deletes_its_store(
    hass: HomeAssistant, hub_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub_entry.runtime_data.async_refuse("192.0.2.9")
    await hass.config_entries.async_unload(hub_entry.entry_id)
    assert stored(hass_storage, hub_entry)["refused"] == ["192.0.2.9"]
    await hass.config_entries.async_remove(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert storage_key(hub_entry.entry_id) not in hass_storage
