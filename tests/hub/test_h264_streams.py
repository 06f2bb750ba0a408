"""H.264 on demand (hub/h264_streams.py, views/h264_stream.py): real ffmpeg, real sockets.

A simulated camera pushes JPEGs; with its "H.264 stream" switch on, the control port's
`/h264/<camera>.ts` serves MPEG-TS that ffprobe reads as H.264, only while someone reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import os
from pathlib import Path
import shutil
import signal
import subprocess
from typing import Any

import aiohttp
from homeassistant.components.camera import async_get_stream_source
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.const import ATTR_ENTITY_ID, ATTR_SUPPORTED_FEATURES
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.hub import h264_streams
from custom_components.esp32_camera.hub.h264_streams import TS_PACKET, keyframe_offsets
from tests.helpers import ENTITY, scene_jpegs, wait_for

H264_SWITCH_KEY = "h264_stream"


@pytest.fixture(autouse=True)
def quick_idle_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop a transcoder 0.3 s after its last reader (5 s in use), and restart it at once."""
    monkeypatch.setattr(h264_streams, "IDLE_STOP_DELAY", 0.3)
    monkeypatch.setattr(h264_streams, "RESTART_DELAYS", (0.1, 0.2))


async def setup_ffmpeg(hass: HomeAssistant, binary: str | None = None) -> str:
    """Load Home Assistant's ffmpeg integration with the system's ffmpeg (or `binary`)."""
    ffmpeg = binary or shutil.which("ffmpeg")
    assert ffmpeg is not None, "these tests need ffmpeg (scripts/setup installs it)"
    assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {"ffmpeg_bin": ffmpeg}})
    return ffmpeg


def switch_entity(hass: HomeAssistant, hub_entry: MockConfigEntry) -> str:
    """The entity id of cam1's H.264 switch."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{hub_entry.entry_id}_cam1_{H264_SWITCH_KEY}"
    )
    assert entity_id is not None
    return entity_id


async def switch_h264(hass: HomeAssistant, hub_entry: MockConfigEntry, on: bool) -> None:
    """Turn cam1's H.264 switch on or off as a user would."""
    await hass.services.async_call(
        "switch",
        "turn_on" if on else "turn_off",
        {ATTR_ENTITY_ID: switch_entity(hass, hub_entry)},
        blocking=True,
    )


def ffmpeg_children() -> list[int]:
    """The ffmpeg processes started by this test process (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == os.getpid() and "ffmpeg" in (entry / "comm").read_text():
                found.append(int(entry.name))
    return found


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


@contextlib.asynccontextmanager
async def reading(url: str, **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
    """Open the stream URL (aiohttp takes the URL's user and password as Basic auth)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, timeout=aiohttp.ClientTimeout(total=30), **kwargs) as response,
    ):
        yield response


async def read_bytes(response: aiohttp.ClientResponse, count: int, timeout: float = 15) -> bytes:
    """Read at least `count` bytes of the stream."""
    received = bytearray()
    async with asyncio.timeout(timeout):
        while len(received) < count:
            chunk = await response.content.readany()
            assert chunk, "the stream ended"
            received.extend(chunk)
    return bytes(received)


def probe(data: bytes, folder: Path) -> dict[str, str]:
    """What ffprobe reads of TS bytes: the video stream's codec, size and frame count."""
    path = folder / "stream.ts"
    path.write_bytes(data)
    output = subprocess.run(
        [
            "ffprobe",
            *("-v", "error", "-count_frames", "-select_streams", "v:0"),
            *("-show_entries", "stream=codec_name,width,height,nb_read_frames"),
            *("-of", "default=noprint_wrappers=1", str(path)),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


@pytest.fixture
async def h264_camera(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> AsyncIterator[Any]:
    """Home Assistant's ffmpeg, the hub and a simulated VGA camera at 20 fps, H.264 switched on."""
    await setup_ffmpeg(hass)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await simulate(frames=list(scene_jpegs("crossing")), fps=20, mode="speed")
    await wait_for(lambda: (state := hass.states.get(ENTITY)) and state.state != "unavailable")
    await switch_h264(hass, hub_entry, True)
    yield camera
    hub = hub_entry.runtime_data
    await hub.h264.async_stop()


async def stream_url(hass: HomeAssistant) -> str:
    """The camera entity's stream source."""
    url = await async_get_stream_source(hass, ENTITY)
    assert url is not None
    return url


async def test_switched_on_the_url_serves_h264_in_mpeg_ts(
    hass: HomeAssistant, hub_entry: MockConfigEntry, h264_camera: Any, tmp_path: Path
) -> None:
    """The switch gives the entity STREAM and a URL; reading it yields H.264 ffprobe reads."""
    state = hass.states.get(ENTITY)
    assert state is not None
    assert state.attributes[ATTR_SUPPORTED_FEATURES] & CameraEntityFeature.STREAM
    url = await stream_url(hass)
    hub = hub_entry.runtime_data
    assert url.startswith(f"http://esp32_camera:{hub.h264.credential}@127.0.0.1:")
    assert hub.token not in url  # a leaked URL lets one watch, never admit a camera
    assert not ffmpeg_children()  # nobody reads yet
    async with reading(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "video/mp2t"
        data = await read_bytes(response, 150_000)
        assert len(ffmpeg_children()) == 1
    # The stream starts at a keyframe: the PAT first, on a packet boundary.
    assert data.startswith(b"\x47\x40\x00")
    assert keyframe_offsets(data)[0] == 0
    assert all(data[offset] == 0x47 for offset in range(0, len(data) - TS_PACKET, TS_PACKET))
    probed = probe(data, tmp_path)
    assert probed["codec_name"] == "h264"
    assert (probed["width"], probed["height"]) == ("640", "480")
    assert int(probed["nb_read_frames"]) > 5
    # The last reader left: the process goes a moment later.
    await wait_for(lambda: not ffmpeg_children(), timeout=10)
