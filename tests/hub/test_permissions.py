"""The one rule for Home Assistant users (hub/permissions.py), enforced everywhere.

A household member (a non-admin user as Home Assistant creates one: group `system-users`, who may
control entities) may watch, take a snapshot and record a clip; everything that changes a camera
or the hub is for administrators; a call without a user (an automation) passes. Every control
entity, every action and every WebSocket command is tried by all three, against a simulated camera
over real sockets: what the camera received and what the hub stored are read back.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import Credentials, User
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.number import (
    ATTR_MAX,
    ATTR_MIN,
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.components.select import (
    ATTR_OPTION,
    ATTR_OPTIONS,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.components.websocket_api import DOMAIN as WS_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.esp32_camera.button import BUTTONS
from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.hub.devices import camera_unique_id
from custom_components.esp32_camera.number import NUMBERS
from custom_components.esp32_camera.select import SELECTS
from custom_components.esp32_camera.switch import SWITCHES
from tests.helpers import (
    ENTITY,
    call_action,
    jpeg_bytes,
    setup_ffmpeg,
    setup_with_camera,
    wait_for,
)

CONTROL_PLATFORMS = (BUTTON_DOMAIN, NUMBER_DOMAIN, SELECT_DOMAIN, SWITCH_DOMAIN)
# Every control entity of a camera, by platform and key (the hub has none: see the test below).
CONTROLS = [
    *((BUTTON_DOMAIN, description.key) for description in BUTTONS),
    *((SELECT_DOMAIN, description.key) for description in SELECTS),
    *((NUMBER_DOMAIN, description.key) for description in NUMBERS),
    *((SWITCH_DOMAIN, description.key) for description in SWITCHES),
]


@pytest.fixture
async def member(hass: HomeAssistant) -> User:
    """A household member: not an administrator, allowed to control entities (HA's default)."""
    return MockUser(
        name="Member", groups=[await hass.auth.async_get_group(GROUP_ID_USER)]
    ).add_to_hass(hass)


@pytest.fixture
async def member_token(hass: HomeAssistant, member: User, local_auth: Any) -> str:
    """An access token of the household member."""
    member.credentials.append(
        Credentials(
            id="member-credential",
            auth_provider_type="homeassistant",
            auth_provider_id=None,
            data={"username": "member"},
            is_new=False,
        )
    )
    refresh = await hass.auth.async_create_refresh_token(
        member, CLIENT_ID, credential=member.credentials[0]
    )
    return hass.auth.async_create_access_token(refresh)


def stored(hass_entry: MockConfigEntry) -> Any:
    """A copy of everything the hub keeps for its cameras (settings, saving, motion, clips)."""
    return copy.deepcopy(hass_entry.runtime_data.store.as_dict())


# Without the ffmpeg integration this switch is unavailable (tests/platforms/test_h264_switch.py).
H264_STREAM_KEY = "h264_stream"

# A firmware that names itself in `register` gets every control (sensor_reset too).
EVERY_CONTROL = {"mode": "speed", "fps": 5, "firmware": "2.1-rebuilt"}


def control_call(
    hass: HomeAssistant, domain: str, entity_id: str, turn: int
) -> tuple[str, dict[str, Any]]:
    """The service and data of a change: turns 0 and 1 (member, admin) the same, turn 2 back.

    A select gets its last option (QXGA for the resolution), a number its maximum, a switch is
    turned on; the automation then picks the option before, the minimum, off.
    """
    state = hass.states.get(entity_id)
    assert state is not None
    back = turn == 2
    if domain == SELECT_DOMAIN:
        options = state.attributes[ATTR_OPTIONS]
        return SERVICE_SELECT_OPTION, {ATTR_OPTION: options[-2 if back else -1]}
    if domain == NUMBER_DOMAIN:
        return SERVICE_SET_VALUE, {ATTR_VALUE: state.attributes[ATTR_MIN if back else ATTR_MAX]}
    if domain == SWITCH_DOMAIN:
        return SERVICE_TURN_OFF if back else SERVICE_TURN_ON, {}
    return SERVICE_PRESS, {}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(("domain", "key"), CONTROLS, ids=[key for _, key in CONTROLS])
async def test_every_control_is_an_admin_action(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    member: User,
    hass_admin_user: User,
    domain: str,
    key: str,
) -> None:
    """A member's change is refused (Unauthorized), nothing sent or stored; an admin's and an
    automation's go through (the camera receives the command, or the hub stores the choice)."""
    if key == H264_STREAM_KEY:
        await setup_ffmpeg(hass)  # without ffmpeg the switch is unavailable
    camera = await setup_with_camera(hass, hub_entry, lambda: simulate(**EVERY_CONTROL))
    entity_id = er.async_get(hass).async_get_entity_id(
        domain, DOMAIN, camera_unique_id(hub_entry.entry_id, "cam1", key)
    )
    assert entity_id is not None
    await wait_for(
        lambda: (state := hass.states.get(entity_id)) and state.state != STATE_UNAVAILABLE
    )

    async def change(turn: int, context: Context) -> None:
        service, data = control_call(hass, domain, entity_id, turn)
        await hass.services.async_call(
            domain, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True, context=context
        )

    sent, kept, shown = (
        list(camera.commands_received),
        stored(hub_entry),
        hass.states.get(entity_id),
    )
    with pytest.raises(Unauthorized) as refused:
        await change(0, Context(user_id=member.id))
    assert refused.value.translation_key == "admin_required"
    assert str(refused.value) == f"Only a Home Assistant administrator can do this ({entity_id})"
    assert camera.commands_received == sent
    assert stored(hub_entry) == kept
    if domain != BUTTON_DOMAIN:  # a button's state is its last press: HA writes it before acting
        assert hass.states.get(entity_id) == shown

    reboots = 0
    for turn, context in ((1, Context(user_id=hass_admin_user.id)), (2, Context())):
        sent, kept = list(camera.commands_received), stored(hub_entry)
        if key == "sensor_reset":  # offered to a named firmware; the simulator does not know it
            with pytest.raises(HomeAssistantError) as failed:
                await change(turn, context)
            assert failed.value.translation_key == "command_failed"
        else:
            await change(turn, context)
        assert camera.commands_received != sent or stored(hub_entry) != kept
        if key == "reboot":  # let it come back before the next press
            reboots += 1
            await camera.wait_for(lambda cam, n=reboots: cam.reboots == n and cam.connected)
            await wait_for(lambda: hass.states.get(entity_id).state != STATE_UNAVAILABLE)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_the_rule_covers_every_control_entity(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    """Every button, number, select and switch of the hub and its cameras is tried above."""
    await setup_with_camera(hass, hub_entry, lambda: simulate(**EVERY_CONTROL))
    registered = {
        (entry.domain, entry.unique_id)
        for entry in er.async_entries_for_config_entry(er.async_get(hass), hub_entry.entry_id)
        if entry.domain in CONTROL_PLATFORMS
    }
    assert registered == {
        (domain, camera_unique_id(hub_entry.entry_id, "cam1", key)) for domain, key in CONTROLS
    }


async def test_send_command_is_an_admin_action(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    member: User,
    hass_admin_user: User,
) -> None:
    """A member's reboot never reaches the camera; an admin's and an automation's do."""
    camera = await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    data = {"entity_id": ENTITY, "command": "reboot"}
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, "send_command", data, blocking=True, context=Context(user_id=member.id)
        )
    assert camera.commands_received == []
    for context in (Context(user_id=hass_admin_user.id), Context()):  # Context(): an automation
        await hass.services.async_call(
            DOMAIN, "send_command", {**data, "command": "stats"}, blocking=True, context=context
        )
    assert camera.commands_received == [("stats", ""), ("stats", "")]


async def test_a_member_takes_snapshots_and_records_clips(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    member: User,
    hass_admin_user: User,
) -> None:
    """Snapshots and clips are a member's; a snapshot at another resolution switches the camera
    (QXGA can hang the OV3660), so it is an administrator's."""
    camera = await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    snapshot = await call_action(hass, "snapshot", member)
    assert snapshot["size"] > 0
    assert Path(hub_entry.runtime_data.save_directory, snapshot["path"]).is_file()
    clip = await call_action(hass, "record", member, duration=1, pre_roll=0)
    assert clip["frames"] > 0

    kept = stored(hub_entry)
    with pytest.raises(Unauthorized) as refused:
        await call_action(hass, "snapshot", member, resolution="qxga")
    assert refused.value.translation_placeholders == {"action": f"{DOMAIN}.snapshot resolution"}
    assert camera.commands_received == []
    assert stored(hub_entry) == kept
    for caller in (hass_admin_user, None):  # an administrator, an automation
        assert (await call_action(hass, "snapshot", caller, resolution="qvga"))["width"] == 320


async def test_websocket_changes_are_admin_commands(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_ws_client: WebSocketGenerator,
    member_token: str,
) -> None:
    """`command`, `saver` and `motion_zones` refuse a member (nothing sent or stored) and do an
    admin's bidding; the reading commands answer a member."""
    camera = await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    zone = {"name": "Door", "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.9]]}
    changes = [
        {"type": f"{DOMAIN}/command", "camera_id": "cam1", "command": "resolution", "value": 12},
        {"type": f"{DOMAIN}/saver", "camera_id": "cam1", "enabled": True},
        {"type": f"{DOMAIN}/motion_zones", "camera_id": "cam1", "zones": [zone], "mask": []},
    ]
    member_client = await hass_ws_client(hass, member_token)
    admin_client = await hass_ws_client(hass)

    async def send(client: Any, message: dict[str, Any]) -> dict[str, Any]:
        await client.send_json_auto_id(dict(message))
        while True:
            answer: dict[str, Any] = await client.receive_json()
            if answer["type"] == "result":
                return answer

    kept = stored(hub_entry)
    for message in changes:
        refused = await send(member_client, message)
        assert refused["error"]["code"] == "unauthorized", message
    assert camera.commands_received == []
    assert stored(hub_entry) == kept
    assert not hub_entry.runtime_data.saver.is_enabled("cam1")

    reads = [
        {"type": f"{DOMAIN}/cameras"},
        {"type": f"{DOMAIN}/subscribe"},
        {"type": f"{DOMAIN}/gallery", "camera_id": "cam1"},
        {"type": f"{DOMAIN}/clips", "camera_id": "cam1"},
    ]
    for message in reads:
        assert (await send(member_client, message))["success"], message
    # Every command of ours is one of these (the pictures go over the frame socket).
    ours = {name for name in hass.data[WS_DOMAIN] if name.startswith(f"{DOMAIN}/")}
    assert ours == {m["type"] for m in changes + reads}

    for message in changes:
        assert (await send(admin_client, message))["success"], message
    assert ("resolution", "12") in camera.commands_received
    assert hub_entry.runtime_data.saver.is_enabled("cam1")
    assert [z["name"] for z in hub_entry.runtime_data.motion.areas("cam1")["zones"]] == ["Door"]


async def test_approvals_are_for_administrators(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_client: ClientSessionGenerator,
    member_token: str,
) -> None:
    """Approvals live in the options flow and discovery flows: Home Assistant keeps them for
    administrators, as the rule says."""
    await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    assert await async_setup_component(hass, "config", {})
    member_client = await hass_client(member_token)
    for url, handler in (
        ("/api/config/config_entries/options/flow", hub_entry.entry_id),
        ("/api/config/config_entries/flow", DOMAIN),
    ):
        response = await member_client.post(url, json={"handler": handler})
        assert response.status == 401, url
    admin = await hass_client()
    response = await admin.post(
        "/api/config/config_entries/options/flow", json={"handler": hub_entry.entry_id}
    )
    assert response.status == 200


async def test_statistics_show_addresses_and_paths_to_admins_only(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    # A camera that sends exactly three frames: the counter is known and stays put.
    client = await connect_camera()
    for _ in range(3):
        await client.send_frame(jpeg_bytes())
    camera = hub_entry.runtime_data.cameras["cam1"]
    await wait_for(lambda: camera.stats.frames_received == 3)
    url = f"/api/{DOMAIN}/stats"
    admin = await (await (await hass_client()).get(url)).json()
    (hub,) = admin["hubs"]
    assert hub["cameras"]["cam1"]["address"] == "127.0.0.1"
    assert hub["saver"]["directory"] == hub_entry.runtime_data.save_directory
    assert hub["cameras"]["cam1"]["stats"]["frames_received"] == 3

    response = await (await hass_client(hass_read_only_access_token)).get(url)
    assert response.status == 200
    user = await response.json()
    (hub,) = user["hubs"]
    assert hub["cameras"]["cam1"]["connected"] is True  # statistics stay
    assert hub["cameras"]["cam1"]["stats"]["frames_received"] == 3  # the admin's figure
    text = json.dumps(user)
    assert "127.0.0.1" not in text
    assert hub_entry.runtime_data.save_directory not in text
