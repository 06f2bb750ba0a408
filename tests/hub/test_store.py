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
from homeassistant.setup import async_setup_component
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
from custom_components.esp32_camera.hub.devices import camera_device_identifier
from custom_components.esp32_camera.hub.store import copy_key, storage_key
from custom_components.esp32_camera.listener import Admission
from tests.helpers import HUB_TOKEN, jpeg_bytes, wait_for

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
    await hub_entry.runtime_data.async_refuse("192.0.2.9")
    await hass.config_entries.async_unload(hub_entry.entry_id)
    assert stored(hass_storage, hub_entry)["refused"] == ["192.0.2.9"]
    assert hass_storage[copy_key(hub_entry.entry_id)]["data"]["refused"] == ["192.0.2.9"]
    await hass.config_entries.async_remove(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert storage_key(hub_entry.entry_id) not in hass_storage
    assert copy_key(hub_entry.entry_id) not in hass_storage  # its last-good copy too


# Written before done -------------------------------------------------------------------------
# Home Assistant killed right after the UI showed a choice done must find it after a restart:
# when the call, the WebSocket command or the flow step returns, the store on disk holds it
# (hass_storage is what Home Assistant's Store wrote, not what it will write later).

STOCK = "127.0.0.2"
ZONE = {"name": "door", "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]}


def _on_disk(hass_storage: dict[str, Any], entry: MockConfigEntry, *path: str) -> Any:
    value: Any = stored(hass_storage, entry)
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _entity(domain: str, service: str, entity_id: str, **data: Any) -> Any:
    async def call(hass: HomeAssistant, client: Any) -> None:
        await hass.services.async_call(
            domain, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
        )

    return call


def _action(**data: Any) -> Any:
    async def call(hass: HomeAssistant, client: Any) -> None:
        await hass.services.async_call(DOMAIN, "send_command", data, blocking=True)

    return call


def _ws(**message: Any) -> Any:
    async def call(hass: HomeAssistant, client: Any) -> None:
        await ws_command(client, **message)

    return call


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        (
            _entity(NUMBER_DOMAIN, SERVICE_SET_VALUE, QUALITY, value=23),
            ("settings", "quality"),
            "23",
        ),
        (_action(camera_id="cam1", command="fps", value="7"), ("settings", "fps"), "7"),
        (
            _ws(type=f"{DOMAIN}/command", camera_id="cam1", command="hmirror", value=1),
            ("settings", "hmirror"),
            "1",
        ),
        (_entity(SWITCH_DOMAIN, SERVICE_TURN_ON, SAVING), ("saving",), True),
        (_ws(type=f"{DOMAIN}/saver", camera_id="cam1", enabled=True), ("saving",), True),
        (_entity(NUMBER_DOMAIN, SERVICE_SET_VALUE, SAVING_RATE, value=0.5), ("saving_rate",), 0.5),
        (
            _entity(
                NUMBER_DOMAIN,
                SERVICE_SET_VALUE,
                "number.esp32_camera_cam1_motion_sensitivity",
                value=70,
            ),
            ("motion", "sensitivity"),
            70,
        ),
        (
            _entity(SWITCH_DOMAIN, "turn_off", "switch.esp32_camera_cam1_motion_detection"),
            ("motion", "enabled"),
            False,
        ),
        (
            _ws(type=f"{DOMAIN}/motion_zones", camera_id="cam1", zones=[ZONE], mask=[]),
            ("motion", "zones"),
            [ZONE],
        ),
        (
            _entity(SWITCH_DOMAIN, SERVICE_TURN_ON, "switch.esp32_camera_cam1_record_on_motion"),
            ("recording", "record"),
            True,
        ),
        (
            _entity(
                NUMBER_DOMAIN, SERVICE_SET_VALUE, "number.esp32_camera_cam1_clip_pre_roll", value=3
            ),
            ("recording", "pre_roll"),
            3.0,
        ),
    ],
    ids=[
        "quality entity",
        "send_command action",
        "panel command",
        "saving switch",
        "panel saver",
        "saving rate",
        "motion sensitivity",
        "motion switch",
        "panel zones",
        "record on motion",
        "clip pre-roll",
    ],
)
async def test_a_choice_is_on_disk_when_the_ui_is_told_it_is_done(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_storage: dict[str, Any],
    change: Any,
    path: tuple[str, ...],
    expected: Any,
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await dial(hub_entry.data[CONF_STREAM_PORT], f"?token={HUB_TOKEN}&id=cam1")
    try:
        hub = hub_entry.runtime_data
        await wait_for(lambda: "cam1" in hub.cameras and hub.cameras["cam1"].connected)
        await hass.async_block_till_done()
        client = await hass_ws_client(hass)
        await wait_for(lambda: _on_disk(hass_storage, hub_entry, "cameras", "cam1") is not None)
        assert _on_disk(hass_storage, hub_entry, "cameras", "cam1", *path) != expected

        await change(hass, client)
        # No waiting: this is the moment the UI shows the change done.
        assert _on_disk(hass_storage, hub_entry, "cameras", "cam1", *path) == expected
    finally:
        await camera.close()


async def test_approval_refusal_and_revocation_are_on_disk_when_the_flow_step_returns(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    connect_camera: Any,
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera("", source=STOCK)
    await camera.send_frame(jpeg_bytes())
    flows = hass.config_entries.flow.async_progress_by_handler
    await wait_for(lambda: len(flows(DOMAIN)) == 1)

    await hass.config_entries.flow.async_configure(flows(DOMAIN)[0]["flow_id"], {})
    assert _on_disk(hass_storage, hub_entry, "approved") == {STOCK: STOCK}

    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "approvals"}
    )
    await hass.config_entries.options.async_configure(
        result["flow_id"], {"approved": [STOCK], "refused": []}
    )
    assert _on_disk(hass_storage, hub_entry, "approved") == {}

    await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": "192.0.2.9", "title": "ESP32 camera at 192.0.2.9"},
    )
    assert _on_disk(hass_storage, hub_entry, "refused") == ["192.0.2.9"]


async def test_removing_a_camera_is_on_disk_when_the_device_is_gone(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_storage: dict[str, Any],
) -> None:
    hass_storage[storage_key(hub_entry.entry_id)] = {
        "version": 1,
        "key": storage_key(hub_entry.entry_id),
        "data": {"cameras": {"cam1": {"name": "Garden"}}, "approved": {}, "refused": []},
    }
    assert await async_setup_component(hass, "config", {})
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    device = dr.async_get(hass).async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    client = await hass_ws_client(hass)
    await ws_command(
        client,
        type="config/device_registry/remove_config_entry",
        config_entry_id=hub_entry.entry_id,
        device_id=device.id,
    )
    assert _on_disk(hass_storage, hub_entry, "cameras", "cam1") is None
