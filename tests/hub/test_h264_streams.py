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
import signal
import subprocess
from types import SimpleNamespace
from typing import Any

import aiohttp
from homeassistant.components.camera import async_get_stream_source
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.const import ATTR_SUPPORTED_FEATURES
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yarl

from custom_components.esp32_camera.const import (
    CONF_H264_ENCODER,
    CONF_MAX_CONNECTIONS_PER_SOURCE,
    DOMAIN,
)
from custom_components.esp32_camera.hub import h264_streams
from custom_components.esp32_camera.hub.h264_streams import (
    TS_PACKET,
    keyframe_offsets,
    stream_credential,
)
from custom_components.esp32_camera.views import h264_stream
from tests.helpers import (
    ENTITY,
    HUB_TOKEN,
    h264_switch_entity,
    jpeg_bytes,
    scene_jpegs,
    setup_ffmpeg,
    turn_switch,
    wait_for,
)


@pytest.fixture(autouse=True)
def quick_idle_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop a transcoder 0.3 s after its last reader (5 s in use), and restart it at once."""
    monkeypatch.setattr(h264_streams, "IDLE_STOP_DELAY", 0.3)
    monkeypatch.setattr(h264_streams, "RESTART_DELAYS", (0.1, 0.2))


async def switch_h264(hass: HomeAssistant, hub_entry: MockConfigEntry, on: bool) -> None:
    """Turn cam1's H.264 switch on or off as a user would."""
    await turn_switch(hass, h264_switch_entity(hass, hub_entry), on)


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
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


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


async def read_keyframe(response: aiohttp.ClientResponse, timeout: float = 15) -> bytes:
    """Read the stream until a keyframe (PAT, PMT, IDR) arrived; return what was read."""
    received = bytearray()
    async with asyncio.timeout(timeout):
        while not keyframe_offsets(bytes(received[: len(received) - len(received) % TS_PACKET])):
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


async def start_h264_camera(hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any) -> Any:
    """Home Assistant's ffmpeg, the hub and a simulated VGA camera at 20 fps, H.264 switched on."""
    await setup_ffmpeg(hass)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await simulate(frames=list(scene_jpegs("crossing")), fps=20, mode="speed")
    await wait_for(lambda: (state := hass.states.get(ENTITY)) and state.state != "unavailable")
    await switch_h264(hass, hub_entry, True)
    return camera


@pytest.fixture
async def h264_camera(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> AsyncIterator[Any]:
    """The camera of `start_h264_camera`; its transcoders stopped at the end."""
    camera = await start_h264_camera(hass, hub_entry, simulate)
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


@pytest.mark.parametrize(
    "auth",
    [
        None,
        aiohttp.encode_basic_auth("esp32_camera", "wrong"),
        aiohttp.encode_basic_auth("esp32_camera", HUB_TOKEN),  # the token itself is not it
        "Bearer wrong",
        "Basic !!not-base64!!",
    ],
)
async def test_the_url_needs_its_credential(
    hass: HomeAssistant, hub_entry: MockConfigEntry, h264_camera: Any, auth: Any
) -> None:
    """401 without the stream's credential (the hub token itself is not it); no process."""
    url = yarl.URL(await stream_url(hass))
    bare = url.with_user(None)
    headers = {} if auth is None else {"Authorization": auth}
    async with reading(str(bare), headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="esp32_camera"'
    assert not ffmpeg_children()


async def test_a_bearer_credential_is_taken_and_switched_off_is_404(
    hass: HomeAssistant, hub_entry: MockConfigEntry, h264_camera: Any
) -> None:
    """The credential as a Bearer header works; an unknown camera and a switched-off one: 404."""
    url = yarl.URL(await stream_url(hass))
    hub = hub_entry.runtime_data
    bearer = {"Authorization": f"Bearer {hub.h264.credential}"}
    async with reading(str(url.with_user(None)), headers=bearer) as response:
        assert response.status == 200
        await read_bytes(response, 1000)
    async with reading(str(url.with_path("/h264/nobody.ts"))) as response:
        assert response.status == 404
    await switch_h264(hass, hub_entry, False)
    async with reading(str(url)) as response:
        assert response.status == 404
    await wait_for(lambda: not ffmpeg_children(), timeout=10)


async def test_switching_off_ends_the_readers_and_the_process(
    hass: HomeAssistant, hub_entry: MockConfigEntry, h264_camera: Any
) -> None:
    """Off while someone reads: the stream ends at once, the process goes, STREAM goes."""
    url = await stream_url(hass)
    async with reading(url) as response:
        await read_bytes(response, 20_000)
        assert len(ffmpeg_children()) == 1
        await switch_h264(hass, hub_entry, False)
        async with asyncio.timeout(5):
            while await response.content.readany():
                pass  # the rest of what was sent, then the end
    await wait_for(lambda: not ffmpeg_children(), timeout=5)
    state = hass.states.get(ENTITY)
    assert state is not None
    assert not state.attributes[ATTR_SUPPORTED_FEATURES] & CameraEntityFeature.STREAM
    assert await async_get_stream_source(hass, ENTITY) is None


async def test_ffmpeg_killed_is_restarted_and_the_reader_stays(
    hass: HomeAssistant, hub_entry: MockConfigEntry, h264_camera: Any
) -> None:
    """SIGKILL of ffmpeg: a new one starts, the same reader goes on receiving a stream."""
    hub = hub_entry.runtime_data
    async with reading(await stream_url(hass)) as response:
        await read_bytes(response, 20_000)
        (first,) = ffmpeg_children()
        os.kill(first, signal.SIGKILL)
        await wait_for(lambda: ffmpeg_children() not in ([], [first]), timeout=10)
        await read_keyframe(response)  # the new process's stream reaches the reader
    figures = hub.h264.as_dict()["transcoders"]["cam1"]
    assert figures["starts"] == 2
    assert figures["failures"] == 1
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"h264_failing_{hub_entry.entry_id}_cam1")
    await wait_for(lambda: not ffmpeg_children(), timeout=10)


async def test_an_ffmpeg_that_keeps_failing_raises_a_repair_issue(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any, tmp_path: Path
) -> None:
    """An ffmpeg exiting at once is restarted with a back-off; the third exit: a repair issue."""
    broken = tmp_path / "broken-ffmpeg"
    broken.write_text("#!/bin/sh\necho \"Unknown encoder 'libx264'\" >&2\nexit 1\n")
    broken.chmod(0o755)
    await setup_ffmpeg(hass, str(broken))
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await simulate(frames=list(scene_jpegs("crossing")), fps=20, mode="speed")
    await wait_for(lambda: (state := hass.states.get(ENTITY)) and state.state != "unavailable")
    await switch_h264(hass, hub_entry, True)
    issue_id = f"h264_failing_{hub_entry.entry_id}_cam1"
    async with reading(await stream_url(hass)) as response:
        assert response.status == 200
        await wait_for(lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id), timeout=10)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "h264_failing"
    assert "Unknown encoder 'libx264'" in issue.translation_placeholders["error"]
    await hub_entry.runtime_data.h264.async_stop()


async def test_a_hardware_encoder_that_fails_falls_back_to_x264(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A hardware encoder this machine lacks: one log line, then the stream comes from x264."""
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_H264_ENCODER: "h264_v4l2m2m"}
    )
    await setup_ffmpeg(hass)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await simulate(frames=list(scene_jpegs("crossing")), fps=20, mode="speed")
    await wait_for(lambda: (state := hass.states.get(ENTITY)) and state.state != "unavailable")
    await switch_h264(hass, hub_entry, True)
    hub = hub_entry.runtime_data
    async with reading(await stream_url(hass)) as response:
        data = await read_bytes(response, 30_000)
    assert keyframe_offsets(data)
    assert hub.h264.encoder == "libx264"
    assert hub.h264.as_dict()["chosen_encoder"] == "h264_v4l2m2m"
    fallbacks = [r for r in caplog.records if "h264_v4l2m2m encoder failed to open" in r.message]
    assert len(fallbacks) == 1
    await hub.h264.async_stop()


async def test_a_camera_changing_resolution_mid_stream(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    """VGA then QVGA: a new encoder for the new size, the same reader, no failure counted."""
    await setup_ffmpeg(hass)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    await wait_for(lambda: (state := hass.states.get(ENTITY)) and state.state != "unavailable")
    await switch_h264(hass, hub_entry, True)
    size = {"now": (640, 480)}
    frames = {
        (640, 480): [jpeg_bytes(640, 480, (seed * 60, 90, 30)) for seed in range(4)],
        (320, 240): [jpeg_bytes(320, 240, (30, seed * 60, 90)) for seed in range(4)],
    }

    async def send() -> None:
        number = 0
        while True:
            number += 1
            await camera.send_frame(frames[size["now"]][number % 4])
            await asyncio.sleep(0.05)

    sender = asyncio.create_task(send())
    hub = hub_entry.runtime_data
    try:
        async with reading(await stream_url(hass)) as response:
            before = await read_keyframe(response)
            size["now"] = (320, 240)
            await wait_for(lambda: hub.h264.as_dict()["transcoders"]["cam1"]["starts"] == 2)
            # The new process's first bytes are a keyframe: read until it is the last one read.
            after = await read_keyframe(response)
            tail: dict[str, str] = {}
            while tail.get("width") != "320":
                after += await read_keyframe(response)
                tail = probe(after[keyframe_offsets(after)[-1] :], tmp_path)
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    assert probe(before, tmp_path)["width"] == "640"
    assert (tail["codec_name"], tail["width"], tail["height"]) == ("h264", "320", "240")
    assert hub.h264.as_dict()["transcoders"]["cam1"]["failures"] == 0
    await hub.h264.async_stop()


async def test_a_camera_that_reconnects_resumes_the_same_stream(
    hass: HomeAssistant, hub_entry: MockConfigEntry, h264_camera: Any
) -> None:
    """The camera drops its connection and redials: the reader stays, the bytes resume."""
    async with reading(await stream_url(hass)) as response:
        await read_keyframe(response)
        hub = hub_entry.runtime_data
        written = hub.h264.as_dict()["transcoders"]["cam1"]["frames_written"]
        await h264_camera.drop_connection()
        await h264_camera.wait_connected()
        await wait_for(
            lambda: hub.h264.as_dict()["transcoders"]["cam1"]["frames_written"] > written + 20
        )
        await read_keyframe(response)
    assert hub.h264.as_dict()["transcoders"]["cam1"]["starts"] == 1


async def test_a_reader_that_never_reads_holds_at_most_its_cap(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    h264_camera: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reader that takes nothing holds at most its cap (plus one chunk) and delays nobody:
    the URL's reader goes on receiving keyframes, and the idle one skips what it cannot hold."""
    monkeypatch.setattr(h264_streams, "READER_BUFFER_BYTES", 32 << 10)
    hub = hub_entry.runtime_data
    idle = hub.h264.async_open_reader("cam1")  # never read
    try:
        async with reading(await stream_url(hass)) as response:
            for _ in range(3):
                await read_keyframe(response)
                assert idle.queued_bytes <= (32 << 10) + h264_streams.READ_SIZE + TS_PACKET
            await wait_for(lambda: idle.dropped_bytes > 0)
    finally:
        idle.async_close()


async def test_fifty_readers_at_once(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    """50 readers of one camera at once: one process, the cap's readers served from a keyframe,
    the others refused at once (503); when they leave, no process and no descriptor remains.

    Every reader is a connection from 127.0.0.1: the listener's connections per address (16 by
    default) is raised here so that the streams' own caps are what refuses.
    """
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_MAX_CONNECTIONS_PER_SOURCE: 64}
    )
    await start_h264_camera(hass, hub_entry, simulate)
    url = await stream_url(hass)
    hub = hub_entry.runtime_data
    fds = open_fds()
    async with contextlib.AsyncExitStack() as stack:
        responses = await asyncio.gather(
            *(stack.enter_async_context(reading(url)) for _ in range(50))
        )
        statuses = [response.status for response in responses]
        assert statuses.count(200) == h264_streams.MAX_READERS_PER_CAMERA
        assert statuses.count(503) == 50 - h264_streams.MAX_READERS_PER_CAMERA
        served = [response for response in responses if response.status == 200]
        starts = await asyncio.gather(*(read_bytes(response, 2000) for response in served))
        assert all(start.startswith(b"\x47\x40\x00") for start in starts)
        assert len(ffmpeg_children()) == 1
        # The hub answers meanwhile.
        assert hass.states.get(ENTITY) is not None
    await wait_for(lambda: not ffmpeg_children(), timeout=10)
    await wait_for(lambda: hub.h264.as_dict()["transcoders"]["cam1"]["readers"] == 0)
    await wait_for(lambda: open_fds() <= fds, timeout=10)
    await hub.h264.async_stop()


async def test_nothing_leaks_over_many_streams(
    hass: HomeAssistant, hub_entry: MockConfigEntry, h264_camera: Any
) -> None:
    """Five streams started and left: processes and file descriptors back to where they were."""
    url = await stream_url(hass)
    hub = hub_entry.runtime_data
    fds = open_fds()
    for _ in range(5):
        async with reading(url) as response:
            await read_bytes(response, 5000)
        await wait_for(lambda: not ffmpeg_children(), timeout=10)
        await wait_for(lambda: not hub.h264.processes())
    assert hub.h264.as_dict()["transcoders"]["cam1"]["starts"] == 5
    await wait_for(lambda: open_fds() <= fds, timeout=10)


async def test_a_reader_arriving_while_the_idle_transcoder_stops_gets_a_new_one(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    h264_camera: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last reader left and ffmpeg is being stopped when a new reader comes: it is served
    by a new process once the old one is gone, never left waiting on the stopped one."""
    monkeypatch.setattr(h264_streams, "IDLE_STOP_DELAY", 0)
    hub = hub_entry.runtime_data
    first = hub.h264.async_open_reader("cam1")
    async with asyncio.timeout(15):
        assert await first.async_read()
    first.async_close()
    async with asyncio.timeout(5):  # the idle stop runs: the process is being stopped
        while not hub.h264.as_dict()["transcoders"]["cam1"]["stopping"]:
            await asyncio.sleep(0)
    second = hub.h264.async_open_reader("cam1")
    try:
        async with asyncio.timeout(15):
            data = await second.async_read()
        assert data is not None
        assert data.startswith(b"\x47\x40\x00")
        assert hub.h264.as_dict()["transcoders"]["cam1"]["starts"] == 2
    finally:
        second.async_close()


async def test_a_transcoder_stopped_twice_has_reaped_its_process_when_the_stop_returns(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    h264_camera: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The idle stop has begun (its process being reaped) when the hub stops too: the hub's stop
    returns only once ffmpeg is reaped and its pipes' readers have ended. The second cancellation
    used to end the task at once, its shielded reap left running past the stop."""
    monkeypatch.setattr(h264_streams, "IDLE_STOP_DELAY", 0)
    hub = hub_entry.runtime_data
    reader = hub.h264.async_open_reader("cam1")
    async with asyncio.timeout(15):
        assert await reader.async_read()
    (pid,) = ffmpeg_children()
    reader.async_close()
    async with asyncio.timeout(5):  # the idle stop runs: the process is being stopped
        while not hub.h264.as_dict()["transcoders"]["cam1"]["stopping"]:
            await asyncio.sleep(0)
    for _ in range(3):  # into the reap, which waits for the pipes' ends
        await asyncio.sleep(0)
    await hub.h264.async_stop()
    assert pid not in ffmpeg_children(), "ffmpeg not reaped when the stop returned"
    pending = [
        task
        for task in asyncio.all_tasks()
        if not task.done() and task.get_coro().__qualname__.startswith("_Transcoder.")  # type: ignore[union-attr]
    ]
    assert not pending, pending


@pytest.mark.parametrize(
    ("bind", "host"),
    [
        ("0.0.0.0", "127.0.0.1"),  # every interface: the loopback is one
        ("::", "127.0.0.1"),
        ("192.168.1.5", "192.168.1.5"),
        ("fd00::1", "[fd00::1]"),
    ],
)
def test_the_url_names_an_address_the_control_port_listens_on(bind: str, host: str) -> None:
    """The stream URL's host follows the hub's bind address; the password is the derived one."""
    hub = SimpleNamespace(h264=SimpleNamespace(credential=stream_credential("token")))
    url = h264_stream.stream_url(hub, "cam1", bind, 6971)  # type: ignore[arg-type]
    assert url == f"http://esp32_camera:{stream_credential('token')}@{host}:6971/h264/cam1.ts"
    assert stream_credential("token") != stream_credential("other token")  # rotates with it
