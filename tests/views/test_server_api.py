"""The JSON API behind HA authentication, and the token-protected control-port endpoints."""

from __future__ import annotations

import asyncio
from collections import Counter
import time
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.esp32_camera.const import CONF_EXPOSE_HTTP
from custom_components.esp32_camera.protocol import COMMANDS, RESOLUTIONS
from esp32_simulator import framing_for, make_test_jpeg
from tests.helpers import (
    HUB_TOKEN,
    control_url,
    hub_settings_form,
    jpeg_bytes,
    settings_input,
    wait_for,
)

API = "/api/esp32_camera"


async def test_api_requires_home_assistant_authentication(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    client = await hass_client_no_auth()
    for path in ("stats", "health", "resolutions", "commands"):
        response = await client.get(f"{API}/{path}")
        assert response.status == 401, path


async def test_api_json(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    frame = jpeg_bytes()
    await camera.send_json({"type": "health", "frames": 7, "rssi": -60, "uptime": "0h 1m 0s"})
    await camera.send_frame(frame)
    hub = hub_entry.runtime_data
    await wait_for(lambda: hub.cameras["cam1"].latest_frame is not None)
    client = await hass_client()

    stats = await (await client.get(f"{API}/stats")).json()
    assert set(stats) == {"timestamp", "hubs"}
    [hub_stats] = stats["hubs"]
    assert hub_stats["entry_id"] == hub_entry.entry_id
    assert hub_stats["server"]["connected_cameras"] == 1
    assert hub_stats["server"]["frames_received"] == 1
    assert hub_stats["saver"]["state"] == "running"
    cam1 = hub_stats["cameras"]["cam1"]
    assert cam1["connected"] is True
    assert cam1["admission"] == "token"
    assert cam1["stats"]["last_frame_size"] == len(frame)
    assert cam1["last_frame_at"] is not None
    assert cam1["queued_commands"] == {}
    assert cam1["health"]["rssi"] == -60
    assert cam1["health"]["uptime"] == 60

    # A user who is not an administrator sees everything but where cameras and files are.
    read_only = await hass_client(hass_read_only_access_token)
    [visible] = (await (await read_only.get(f"{API}/stats")).json())["hubs"]
    assert visible["cameras"]["cam1"]["address"] is None
    assert visible["cameras"]["cam1"]["stats"]["last_frame_size"] == len(frame)
    assert visible["saver"]["directory"] is None
    assert cam1["address"] is not None
    assert hub_stats["saver"]["directory"] is not None

    # A hub up for an hour: its uptime is the time since its start, as seen around the request
    # (rounded to tenths).
    hub.started_at = time.monotonic() - 3600
    up_before = round(time.monotonic() - hub.started_at, 1)
    response = await client.get(f"{API}/health")
    up_after = round(time.monotonic() - hub.started_at, 1)
    assert response.status == 200
    health = await response.json()
    assert health["status"] == "ok"
    assert health["version"] == "0.1.0"
    assert up_before <= health["uptime"] <= up_after
    assert health["hubs"][0]["uptime"] == health["uptime"]
    assert health["hubs"][0]["connected_cameras"] == 1

    resolutions = await (await client.get(f"{API}/resolutions")).json()
    assert resolutions["default"] == 7
    assert [r["key"] for r in resolutions["resolutions"]] == [r.key for r in RESOLUTIONS]
    assert resolutions["resolutions"][12] == {
        "index": 12,
        "key": "qxga",
        "name": "QXGA",
        "width": 2048,
        "height": 1536,
        "risk": "critical",
    }

    commands = (await (await client.get(f"{API}/commands")).json())["commands"]
    assert list(commands) == list(COMMANDS)
    assert commands["quality"] == {
        "type": "integer",
        "min": 5,
        "max": 63,
        "choices": None,
        "description": "JPEG quality, lower is better",
    }
    assert commands["mode"]["choices"] == ["speed", "stability"]

    # The views stay registered after unloading: health says nothing listens.
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    response = await client.get(f"{API}/health")
    assert response.status == 503
    assert (await response.json())["status"] == "not_loaded"
    assert (await (await client.get(f"{API}/stats")).json())["hubs"] == []


async def test_stats_count_frames_by_framing(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    """The three framings of the firmware, sent by the simulator, are counted apart.

    The original `/api/stats` reported "chunked frames"; the stats API and the diagnostics
    report frames per framing, per camera and for the hub.
    """
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    # 9,000 B: one binary message; 25,000 B: frame_start/binary/frame_end; 60,000 B: chunked.
    sizes = (9_000, 25_000, 60_000)
    camera = await simulate(frames=[make_test_jpeg(size=size) for size in sizes], pacing=False)
    cameras = hub_entry.runtime_data.cameras
    await wait_for(lambda: "cam1" in cameras and min(cameras["cam1"].stats.framings.values()) >= 2)
    await camera.stop()
    sent = Counter(str(frame.framing) for frame in camera.sent_frames)
    assert [framing_for(size) for size in sizes] == ["binary", "frame", "chunked"]
    await wait_for(lambda: cameras["cam1"].stats.frames_received == camera.frames_sent)
    expected = {framing: sent[framing] for framing in ("binary", "frame", "chunked")}

    client = await hass_client()
    [hub_stats] = (await (await client.get(f"{API}/stats")).json())["hubs"]
    assert hub_stats["cameras"]["cam1"]["stats"]["framings"] == expected
    assert hub_stats["server"]["framings"] == expected
    assert sum(expected.values()) == hub_stats["server"]["frames_received"]

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, hub_entry)
    assert diagnostics["cameras"]["cam1"]["stats"]["framings"] == expected
    assert diagnostics["hub"]["framings"] == expected


async def test_control_port_endpoints_are_off_by_default(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    await camera.send_frame(jpeg_bytes())
    async with aiohttp.ClientSession() as session:
        for path in ("/mjpeg/cam1", "/snapshot/cam1.jpg"):
            async with session.get(control_url(hub_entry, f"{path}?token={HUB_TOKEN}")) as response:
                assert response.status == 404, path


async def test_options_flow_turns_the_control_port_endpoints_on(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    result = await hub_settings_form(hass, hub_entry)
    assert result["type"] is FlowResultType.FORM
    assert settings_input(result)["connections"][CONF_EXPOSE_HTTP] is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings_input(result, **{CONF_EXPOSE_HTTP: True})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hub_entry.options[CONF_EXPOSE_HTTP] is True
    camera = await connect_camera()
    frame = jpeg_bytes(color=(9, 9, 9))
    await camera.send_frame(frame)
    async with (
        aiohttp.ClientSession() as session,
        session.get(control_url(hub_entry, f"/snapshot/cam1.jpg?token={HUB_TOKEN}")) as response,
    ):
        assert response.status == 200
        assert await response.read() == frame


@pytest.fixture
async def exposed_entry(hass: HomeAssistant, hub_entry: MockConfigEntry) -> MockConfigEntry:
    """The hub entry with the control-port endpoints on, set up."""
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_EXPOSE_HTTP: True}
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    return hub_entry


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/snapshot/cam1.jpg", {}),
        ("/snapshot/cam1.jpg?token=wrong", {}),
        ("/snapshot/cam1.jpg", {"Authorization": "Bearer wrong"}),
        ("/snapshot/cam1.jpg", {"Authorization": f"Basic {HUB_TOKEN}"}),
        ("/mjpeg/cam1", {}),
        ("/mjpeg/cam1?token=", {"Authorization": f"Bearer {HUB_TOKEN[:-1]}"}),
    ],
)
async def test_control_port_endpoints_need_the_hub_token(
    exposed_entry: MockConfigEntry, connect_camera: Any, path: str, headers: dict[str, str]
) -> None:
    camera = await connect_camera()
    await camera.send_frame(jpeg_bytes())
    async with (
        aiohttp.ClientSession() as session,
        session.get(control_url(exposed_entry, path), headers=headers) as response,
    ):
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="esp32_camera"'


async def test_control_port_snapshot(exposed_entry: MockConfigEntry, connect_camera: Any) -> None:
    camera = await connect_camera()
    first, second = jpeg_bytes(color=(255, 0, 0)), jpeg_bytes(color=(0, 255, 0))
    hub = exposed_entry.runtime_data
    headers = {"Authorization": f"Bearer {HUB_TOKEN}"}
    async with aiohttp.ClientSession() as session:
        # Before the first frame the request waits for it.
        pending = asyncio.ensure_future(
            session.get(control_url(exposed_entry, "/snapshot/CAM1.jpg"), headers=headers)
        )
        await wait_for(lambda: hub.frames._waiters.get("cam1"))
        await camera.send_frame(first)
        async with await pending as response:
            assert response.status == 200
            assert response.content_type == "image/jpeg"
            assert await response.read() == first
        await camera.send_frame(second)
        await wait_for(lambda: bytes(hub.cameras["cam1"].latest_frame.data) == second)
        async with session.get(
            control_url(exposed_entry, "/snapshot/cam1.jpg"), headers=headers
        ) as response:
            assert await response.read() == second
        async with session.get(
            control_url(exposed_entry, f"/snapshot/garage.jpg?token={HUB_TOKEN}")
        ) as response:
            assert response.status == 404


async def test_control_port_mjpeg_delivers_consecutive_frames(
    exposed_entry: MockConfigEntry, simulate: Any
) -> None:
    """A third-party client reads the simulator's frames as a multipart stream."""
    await simulate(resolution=3, mode="speed", fps=20)
    hub = exposed_entry.runtime_data
    await wait_for(lambda: "cam1" in hub.cameras and hub.cameras["cam1"].latest_frame)
    published: list[bytes] = []
    hub.frames.async_add_listener(
        lambda _camera, frame: published.append(bytes(frame.data)), "cam1"
    )
    async with (
        aiohttp.ClientSession() as session,
        session.get(control_url(exposed_entry, f"/mjpeg/cam1?token={HUB_TOKEN}")) as response,
    ):
        assert response.status == 200
        assert response.content_type == "multipart/x-mixed-replace"
        assert response.headers["Content-Type"].endswith("boundary=frame")
        reader = aiohttp.MultipartReader.from_response(response)
        parts: list[bytes] = []
        async with asyncio.timeout(10):
            while len(parts) < 5:
                part = await reader.next()
                assert isinstance(part, aiohttp.BodyPartReader)
                assert part.headers["Content-Type"] == "image/jpeg"
                parts.append(bytes(await part.read()))
    # Each part is a complete frame the hub published, in order, none twice (a slow reader may
    # skip frames, so the parts need not be adjacent).
    positions = [published.index(part) for part in parts[1:]]
    assert positions == sorted(set(positions))
    assert len(set(parts)) == 5
