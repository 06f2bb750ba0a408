"""Pairing a stock (tokenless) camera: the discovery flow approves or ignores it."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from homeassistant.config_entries import SOURCE_IGNORE
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import CONF_APPROVED_ADDRESSES, DOMAIN
from custom_components.esp32_camera.listener import Admission
from tests.helpers import jpeg_bytes, wait_for

STOCK = "127.0.0.2"
# Approved with the suggested name (the hub's first camera), not named after its address.
STOCK_CAMERA = "camera.esp32_camera_1"


def pending_flows(hass: HomeAssistant) -> list[Any]:
    return hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_approving_a_stock_camera_makes_it_stream(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera("", source=STOCK)
    await camera.send_frame(jpeg_bytes())
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    flow = pending_flows(hass)[0]
    assert flow["context"]["unique_id"] == STOCK
    assert flow["context"]["title_placeholders"] == {"address": STOCK}
    hub = hub_entry.runtime_data
    assert not hub.cameras[STOCK].admitted
    assert hass.states.get(STOCK_CAMERA) is None

    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "camera_approved"
    # Kept in the hub's store, as the camera it was approved as; the options are not written.
    assert hub.store.approved == {STOCK: STOCK}
    assert CONF_APPROVED_ADDRESSES not in hub_entry.options
    # Frames flow at once, on the same socket.
    frame = jpeg_bytes(color=(0, 200, 0))
    await camera.send_frame(frame)
    entity_id = STOCK_CAMERA
    await wait_for(lambda: hass.states.get(entity_id) is not None)
    await wait_for(
        lambda: (
            hub.cameras[STOCK].latest_frame is not None
            and bytes(hub.cameras[STOCK].latest_frame.data) == frame
        )
    )
    assert hass.states.get(entity_id).state != "unavailable"  # type: ignore[union-attr]


async def refused_on_connect(hub_entry: MockConfigEntry) -> None:
    """Connect from STOCK and expect the hub to close the socket with 4403."""
    connector = aiohttp.TCPConnector(local_addr=(STOCK, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        port = hub_entry.data["stream_port"]
        async with session.ws_connect(f"http://127.0.0.1:{port}/") as ws:
            message = await ws.receive(timeout=5)
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4403


async def test_ignored_camera_is_refused_at_once_and_after_restart(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    waiting = await connect_camera("", source=STOCK)
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    flow = pending_flows(hass)[0]
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": STOCK, "title": f"ESP32 camera at {STOCK}"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert not pending_flows(hass) or flow["flow_id"] not in {
        f["flow_id"] for f in pending_flows(hass)
    }
    # Refused at once, without a reload: the waiting socket is closed, a new one too.
    message = await waiting.ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert waiting.ws.close_code == 4403
    assert hub_entry.runtime_data.store.refused == {STOCK}
    await refused_on_connect(hub_entry)
    assert await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    await refused_on_connect(hub_entry)


async def test_revoking_an_approval_refuses_the_camera_at_once(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """Revoked in the options: its sockets close (4403); it waits for approval again."""
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await connect_camera("", source=STOCK)
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    await hass.config_entries.flow.async_configure(pending_flows(hass)[0]["flow_id"], {})
    await camera.send_frame(jpeg_bytes())
    entity_id = STOCK_CAMERA
    await wait_for(lambda: (state := hass.states.get(entity_id)) and state.state != "unavailable")

    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "approvals"}
    )
    assert result["step_id"] == "approvals"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"approved": [STOCK], "refused": []}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    message = await camera.ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert camera.ws.close_code == 4403
    assert hub_entry.runtime_data is hub  # no reload was needed
    assert hub.store.approved == {}
    await wait_for(lambda: hass.states.get(entity_id).state == STATE_UNAVAILABLE)  # type: ignore[union-attr]
    # Connecting again, it waits for approval: the user is asked again; no frame is used.
    again = await connect_camera("", source=STOCK)
    await again.send_frame(jpeg_bytes())
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    assert not hub.cameras[STOCK].connected
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE  # type: ignore[union-attr]


async def test_withdrawn_refusal_lets_the_camera_ask_again(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await hub_entry.runtime_data.async_refuse(STOCK)
    await refused_on_connect(hub_entry)
    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "approvals"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"approved": [], "refused": [STOCK]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert hub_entry.runtime_data.store.refused == frozenset()
    await connect_camera("", source=STOCK)
    await wait_for(lambda: len(pending_flows(hass)) == 1)


async def test_approval_aborts_when_hub_unloaded(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await connect_camera("", source=STOCK)
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    flow = pending_flows(hass)[0]
    await hass.config_entries.async_unload(hub_entry.entry_id)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "hub_not_loaded"


async def test_approval_dialog_shows_the_latest_frame_to_admins_only(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_client: Any,
    hass_client_no_auth: Any,
    hass_read_only_access_token: str,
) -> None:
    assert await async_setup_component(hass, "config", {})
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera("", source=STOCK)
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    flow_id = pending_flows(hass)[0]["flow_id"]
    admin = await hass_client()

    # Before its first frame there is nothing to show.
    async with admin.get(f"/api/config/config_entries/flow/{flow_id}") as response:
        assert (await response.json())["description_placeholders"]["preview"] == ""

    frame = jpeg_bytes(color=(200, 0, 0))
    await camera.send_frame(frame)
    await wait_for(lambda: hub_entry.runtime_data.pending_frame(STOCK) is not None)
    async with admin.get(f"/api/config/config_entries/flow/{flow_id}") as response:
        preview = (await response.json())["description_placeholders"]["preview"]
    signed_path = re.fullmatch(rf"!\[{re.escape(STOCK)}\]\((.+)\)", preview)
    assert signed_path is not None
    path = signed_path.group(1)
    assert "authSig=" in path

    # The signed path works without a header (as an <img> in the dialog): exactly the frame.
    anonymous = await hass_client_no_auth()
    async with anonymous.get(path) as response:
        assert response.status == 200
        assert response.content_type == "image/jpeg"
        assert await response.read() == frame
    async with anonymous.get(path.split("?")[0]) as response:
        assert response.status == 401
    read_only = await hass_client(hass_read_only_access_token)
    async with read_only.get(path.split("?")[0]) as response:
        assert response.status == 401  # approvals are for administrators (permissions.py)
    async with admin.get(path.split("?")[0].replace(STOCK, "127.0.0.9")) as response:
        assert response.status == 404

    # Once approved, it is no longer a pending camera: no preview.
    await hass.config_entries.flow.async_configure(flow_id, {})
    async with admin.get(path.split("?")[0]) as response:
        assert response.status == 404


async def test_restored_stock_camera_is_approved_by_address_again(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera("", source=STOCK)
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    await hass.config_entries.flow.async_configure(pending_flows(hass)[0]["flow_id"], {})
    entity_id = STOCK_CAMERA
    await wait_for(lambda: hass.states.get(entity_id) is not None)
    await camera.close()
    # Restarted without the approval (withdrawn): the camera is restored...
    await hub_entry.runtime_data.async_revoke(STOCK)
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    hub = hub_entry.runtime_data
    assert hub.cameras[STOCK].admission is Admission.RESTORED
    assert hub.cameras[STOCK].address == STOCK
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    # ...but being restored admits nothing: connecting, it waits for approval as before.
    camera = await connect_camera("", source=STOCK)
    await camera.send_frame(jpeg_bytes())
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    # The restored record is not the connection's: it stays restored, offline, until approval.
    assert hub.cameras[STOCK].admission is Admission.RESTORED
    assert not hub.cameras[STOCK].connected
    await wait_for(lambda: hub.pending_frame(STOCK) is not None)
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    # Commands wait for the camera as for any restored camera; the waiting connection gets none.
    assert (await hub.async_send_command(STOCK, "stats")).queued
    # Approved again, it gets what waited and streams.
    await hass.config_entries.flow.async_configure(pending_flows(hass)[0]["flow_id"], {})
    assert (await camera.ws.receive_json(timeout=5))["cmd"] == "stats"
    await camera.send_frame(jpeg_bytes())
    await wait_for(lambda: hass.states.get(entity_id).state != STATE_UNAVAILABLE)  # type: ignore[union-attr]


async def test_tokenless_claim_of_a_token_camera_gets_no_frames_or_commands(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    real = await connect_camera()
    frame = jpeg_bytes(color=(0, 0, 200))
    await real.send_frame(frame)
    await wait_for(lambda: hub.cameras["cam1"].latest_frame is not None)
    connectivity = "binary_sensor.esp32_camera_cam1_connectivity"
    await wait_for(lambda: hass.states.get(connectivity).state == "on")  # type: ignore[union-attr]
    await real.close()
    await wait_for(lambda: hass.states.get(connectivity).state == "off")  # type: ignore[union-attr]

    # A device without the token claims the camera's id: it waits for approval of its address.
    impostor = await connect_camera("?id=cam1", source="127.0.0.3")
    await impostor.send_frame(jpeg_bytes(color=(0, 200, 0)))
    await wait_for(lambda: len(pending_flows(hass)) == 1)
    assert pending_flows(hass)[0]["context"]["unique_id"] == "127.0.0.3"
    await wait_for(lambda: hub.pending_frame("127.0.0.3") is not None)
    assert hass.states.get(connectivity).state == "off"  # type: ignore[union-attr]
    assert hass.states.get("camera.esp32_camera_cam1").state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert bytes(hub.cameras["cam1"].latest_frame.data) == frame  # type: ignore[union-attr]
    assert (await hub.async_send_command("cam1", "stats")).queued
    assert hub.hub_statistics()["connected_cameras"] == 0
