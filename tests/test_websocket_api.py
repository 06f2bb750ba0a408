"""The panel's WebSocket commands, the saved-image view and the panel's registration.

Real Home Assistant, real WebSocket clients and simulated cameras over real sockets.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
import os
from pathlib import Path
import re
from typing import Any

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, DATA_PANELS
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.esp32_camera.const import (
    CONF_SAVE_DIRECTORY,
    CONF_STREAM_PORT,
    DOMAIN,
)
from custom_components.esp32_camera.views.panel import PANEL_URL_PATH
from esp32_simulator import SimulatedCamera
from tests.helpers import HUB_TOKEN, add_hub_entry, jpeg_bytes, wait_for, websocket_command

type StartCamera = Callable[..., Any]


@pytest.fixture
async def simulated_camera(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> AsyncGenerator[StartCamera]:
    """Set up the hub and start simulated cameras (small, fast frames) that dial it."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    cameras: list[SimulatedCamera] = []

    async def start(camera_id: str = "cam1", **options: Any) -> SimulatedCamera:
        camera = SimulatedCamera(
            "127.0.0.1",
            hub_entry.data[CONF_STREAM_PORT],
            camera_id=camera_id,
            token=HUB_TOKEN,
            resolution=0,
            fps=options.pop("fps", 10),
            pacing=False,
            **options,
        )
        cameras.append(camera)
        camera.start()
        await camera.wait_frames(1)
        hub = hub_entry.runtime_data
        await wait_for(lambda: camera_id in hub.cameras and hub.cameras[camera_id].latest_frame)
        return camera

    yield start
    for camera in cameras:
        await camera.stop()


async def next_event(client: MockHAClientWebSocket, subscription: int) -> dict[str, Any]:
    """Return the next event of `subscription` (other answers are skipped)."""
    while True:
        message = await client.receive_json()
        if message["type"] == "event" and message["id"] == subscription:
            event: dict[str, Any] = message["event"]
            return event


async def test_cameras_lists_cameras_tables_and_clock(
    hass: HomeAssistant, simulated_camera: StartCamera, hass_ws_client: WebSocketGenerator
) -> None:
    await simulated_camera("cam1")
    client = await hass_ws_client(hass)
    answer = await websocket_command(client, type=f"{DOMAIN}/cameras")
    assert answer["success"]
    result = answer["result"]
    (camera,) = result["cameras"]
    assert camera["camera_id"] == "cam1"
    assert camera["connected"]
    assert camera["entity_id"] == "camera.esp32_camera_cam1"
    assert camera["connected_since"] <= result["now"]
    assert camera["saver"]["enabled"] is False
    assert [r["name"] for r in result["resolutions"]][11:] == ["FHD", "QXGA"]
    assert result["resolutions"][12]["risk"] == "critical"
    assert result["default_resolution"] == 7
    assert result["commands"]["quality"] == {
        "type": "integer",
        "min": 5,
        "max": 63,
        "choices": None,
        "description": "JPEG quality, lower is better",
    }
    assert result["commands"]["mode"]["choices"] == ["speed", "stability"]
    (hub,) = result["hubs"]
    assert hub["stats"]["connected_cameras"] == 1
    assert hub["frame_subscribers"] == 0
    assert hub["started_at"] <= result["now"]
    again = await websocket_command(client, type=f"{DOMAIN}/cameras")
    assert again["result"]["hubs"][0]["started_at"] == hub["started_at"]  # stable, not recomputed


async def test_subscribe_pushes_changes(
    hass: HomeAssistant, simulated_camera: StartCamera, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    answer = await websocket_command(client, type=f"{DOMAIN}/subscribe")
    assert answer["success"]
    subscription = answer["id"]
    first = await next_event(client, subscription)
    assert first["cameras"] == []
    await simulated_camera("cam1", health_interval=0.5)
    event = await next_event(client, subscription)
    while not (event["cameras"] and event["cameras"][0]["health"]):
        event = await next_event(client, subscription)
    camera = event["cameras"][0]
    assert camera["health"]["model"] == "OV3660"
    assert camera["health"]["resolution"] == 0
    # Statistics keep moving while frames flow: more pushes arrive, each one different.
    following = await next_event(client, subscription)
    assert following != event


async def test_command_success_and_errors(
    hass: HomeAssistant, simulated_camera: StartCamera, hass_ws_client: WebSocketGenerator
) -> None:
    camera = await simulated_camera("cam1")
    client = await hass_ws_client(hass)
    answer = await websocket_command(
        client, type=f"{DOMAIN}/command", camera_id="cam1", command="resolution", value=3
    )
    assert answer["success"], answer
    assert answer["result"]["ok"] is True
    assert answer["result"]["queued"] is False
    await camera.wait_for(lambda cam: cam.last_frame is not None and cam.last_frame.width == 320)
    listing = await websocket_command(client, type=f"{DOMAIN}/cameras")
    assert listing["result"]["cameras"][0]["settings"]["resolution"] == "3"

    invalid = await websocket_command(
        client, type=f"{DOMAIN}/command", camera_id="cam1", command="quality", value=99
    )
    assert invalid["error"]["code"] == "home_assistant_error"
    assert invalid["error"]["translation_key"] == "invalid_command_value"
    unknown = await websocket_command(
        client, type=f"{DOMAIN}/command", camera_id="nope", command="reboot"
    )
    assert unknown["error"]["translation_key"] == "unknown_camera"
    bad_name = await websocket_command(
        client, type=f"{DOMAIN}/command", camera_id="cam1", command="x"
    )
    assert bad_name["error"]["code"] == "invalid_format"


async def test_non_admin_can_view_but_not_change(
    hass: HomeAssistant,
    simulated_camera: StartCamera,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    camera = await simulated_camera("cam1")
    client = await hass_ws_client(hass, hass_read_only_access_token)
    listing = await websocket_command(client, type=f"{DOMAIN}/cameras")
    [cam1] = listing["result"]["cameras"]
    # Where the camera is on the network is for administrators.
    assert cam1["camera_id"] == "cam1"
    assert cam1["address"] is None
    assert cam1["health"] is None or cam1["health"]["ip"] is None
    admin = await hass_ws_client(hass)
    [admin_cam1] = (await websocket_command(admin, type=f"{DOMAIN}/cameras"))["result"]["cameras"]
    assert admin_cam1["address"].startswith("127.0.0.1")
    refused = await websocket_command(
        client, type=f"{DOMAIN}/command", camera_id="cam1", command="reboot"
    )
    assert refused["error"]["code"] == "unauthorized"
    saver = await websocket_command(client, type=f"{DOMAIN}/saver", camera_id="cam1", enabled=True)
    assert saver["error"]["code"] == "unauthorized"
    assert camera.commands_received == []
    assert not hass.config_entries.async_entries(DOMAIN)[0].runtime_data.saver.is_enabled("cam1")


async def test_saver_gallery_and_saved_image_view(
    hass: HomeAssistant,
    *,
    hub_entry: MockConfigEntry,
    simulated_camera: StartCamera,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    await simulated_camera("cam1")
    client = await hass_ws_client(hass)
    empty = await websocket_command(client, type=f"{DOMAIN}/gallery", camera_id="cam1")
    assert empty["result"] == {"images": [], "counts": {"by_date": {}, "by_hour": {}}}
    answer = await websocket_command(client, type=f"{DOMAIN}/saver", camera_id="cam1", enabled=True)
    assert answer["result"] == {"enabled": True}
    saver = hub_entry.runtime_data.saver
    await wait_for(lambda: saver.counters("cam1").saved_total >= 3, timeout=10)
    answer = await websocket_command(
        client, type=f"{DOMAIN}/saver", camera_id="cam1", enabled=False
    )
    assert answer["result"] == {"enabled": False}
    await wait_for(lambda: not saver.busy)

    gallery = await websocket_command(client, type=f"{DOMAIN}/gallery", camera_id="cam1", limit=2)
    images = gallery["result"]["images"]
    assert len(images) == 2
    # Counts by date and hour (the original's image statistics), from the saver's counters.
    counts = gallery["result"]["counts"]
    today = dt_util.now().date().isoformat()
    saved = saver.counters("cam1").saved_total
    assert sum(counts["by_date"].values()) == saved
    assert sum(sum(hours.values()) for hours in counts["by_hour"].values()) == saved
    assert counts["by_date"].get(today) == saver.counters("cam1").saved_today
    assert images[0]["saved_at"] >= images[1]["saved_at"]
    assert images[0]["name"].startswith("cam1/")
    anonymous = await hass_client_no_auth()
    signed = await anonymous.get(images[0]["url"])
    assert signed.status == 200
    assert (await signed.read())[:2] == b"\xff\xd8"
    unsigned = await anonymous.get(images[0]["url"].split("?")[0])
    assert unsigned.status == 401

    user = await hass_client()
    entry_id = hub_entry.entry_id
    for path in ("cam1/../../outside.jpg", "cam1/missing.jpg", "cam1"):
        response = await user.get(f"/api/{DOMAIN}/saved/{entry_id}/{path}")
        assert response.status == 404, path
    response = await user.get(f"/api/{DOMAIN}/saved/unknown/{images[0]['name']}")
    assert response.status == 404


async def test_panel_registered_until_last_hub_unloads(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    panel = hass.data[DATA_PANELS][PANEL_URL_PATH]
    module_url = panel.config["_panel_custom"]["module_url"]
    assert re.fullmatch(rf"/{DOMAIN}_static/[0-9a-f]{{16}}/esp32-camera-panel\.js", module_url)
    assert panel.sidebar_title == "ESP32 Cameras"
    assert not panel.require_admin
    assert module_url in hass.data[DATA_EXTRA_MODULE_URL].urls
    client = await hass_client()
    response = await client.get(module_url)
    assert response.status == 200
    assert "customElements.define" in await response.text()

    second = add_hub_entry(hass, "Second hub", hub_entry.options[CONF_SAVE_DIRECTORY])
    assert await hass.config_entries.async_setup(second.entry_id)
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    assert PANEL_URL_PATH in hass.data[DATA_PANELS]
    assert await hass.config_entries.async_unload(second.entry_id)
    assert PANEL_URL_PATH not in hass.data[DATA_PANELS]
    assert module_url not in hass.data[DATA_EXTRA_MODULE_URL].urls
    # Loading again registers it again (the static route stays from the first time).
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    assert PANEL_URL_PATH in hass.data[DATA_PANELS]


async def test_gallery_newest_first_across_hours_and_snapshots(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulated_camera: StartCamera,
    hass_ws_client: WebSocketGenerator,
) -> None:
    await simulated_camera("cam1")
    root = Path(hub_entry.options["save_directory"]) / "cam1"
    files = {
        "2026-01-01/09/09-00-00.000000_1.jpg": 100,
        "2026-01-02/10/10-00-00.000000_2.jpg": 200,
        "2026-01-02/11/11-00-00.000000_3.jpg": 300,
        "2026-01-02/11/11-30-00.000000_4.jpg": 400,
        "snapshots/2026-01-02_10-30-00.000000.jpg": 250,
        "2026-01-02/11/notes.txt": 500,  # not an image: never listed
        "not-a-day/11/11-00-00.000000_5.jpg": 600,  # outside the layout
    }
    for name, modified in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg_bytes())
        os.utime(path, (modified, modified))
    client = await hass_ws_client(hass)
    answer = await websocket_command(client, type=f"{DOMAIN}/gallery", camera_id="cam1", limit=3)
    assert [image["name"] for image in answer["result"]["images"]] == [
        "cam1/2026-01-02/11/11-30-00.000000_4.jpg",
        "cam1/2026-01-02/11/11-00-00.000000_3.jpg",
        "cam1/snapshots/2026-01-02_10-30-00.000000.jpg",
    ]
    everything = await websocket_command(client, type=f"{DOMAIN}/gallery", camera_id="cam1")
    assert len(everything["result"]["images"]) == 5


async def test_saver_refused_when_saving_is_unavailable(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, socket_allowed: None
) -> None:
    entry = add_hub_entry(hass, "Public hub", hass.config.path("www", "cameras"))
    hass.config.allowlist_external_dirs = {hass.config.path("www")}
    assert await hass.config_entries.async_setup(entry.entry_id)
    camera = await connect_and_wait(hass, entry)
    client = await hass_ws_client(hass)
    refused = await websocket_command(
        client, type=f"{DOMAIN}/saver", camera_id=camera, enabled=True
    )
    assert refused["error"]["translation_key"] == "saving_unavailable"
    assert not entry.runtime_data.saver.is_enabled(camera)
    listing = await websocket_command(client, type=f"{DOMAIN}/cameras")
    assert "www" in listing["result"]["hubs"][0]["saver"]["error"]


async def connect_and_wait(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Stream one simulated camera into `entry` until the hub knows it; return its id."""
    camera = SimulatedCamera(
        "127.0.0.1",
        entry.data[CONF_STREAM_PORT],
        camera_id="cam9",
        token=HUB_TOKEN,
        resolution=0,
        pacing=False,
    )
    camera.start()
    entry.async_on_unload(camera.stop)
    await wait_for(lambda: "cam9" in entry.runtime_data.cameras)
    return "cam9"
