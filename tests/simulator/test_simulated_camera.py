"""The simulated camera against a recording WebSocket server: what goes over the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import io
import itertools
import json
import re
import time
from typing import Any
from unittest.mock import patch

from PIL import Image, ImageChops
import pytest
from websockets.asyncio.client import ClientConnection

from esp32_simulator import (
    CHUNK_SIZES,
    RESOLUTIONS,
    SimulatedCamera,
    chunk_size_for,
    make_test_jpeg,
    read_frame_stamp,
    resolutions_text,
)
from tests.helpers import RecordedSession, RecordingServer, assemble_frames

type CameraFactory = Callable[..., SimulatedCamera]

HEALTH_FIELDS = {
    "type",
    "frames",
    "dropped",
    "heap",
    "minHeap",
    "rssi",
    "uptime",
    "ip",
    "model",
    "resolution",
    "quality",
}


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def wait_texts(
    server: RecordingServer, session: RecordedSession, message_type: str, count: int = 1
) -> list[dict]:
    await server.wait_for(lambda: len(session.texts(message_type)) >= count)
    return session.texts(message_type)


async def command(
    server: RecordingServer, session: RecordedSession, cmd: str, val: str = ""
) -> dict:
    """Send a command and return its response."""
    before = len(session.texts("response"))
    await session.send_command(cmd, val)
    responses = await wait_texts(server, session, "response", before + 1)
    return responses[before]


async def test_stock_registration_sequence(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera(pacing=True, resolution=7, mode="stability", fps=20)
    session = await server.wait_session()
    await wait_texts(server, session, "health")

    assert session.path == "/"
    assert "authorization" not in session.headers
    assert "sec-websocket-extensions" not in session.headers  # no permessage-deflate
    texts = session.texts()
    assert texts[0] == {"type": "register", "device": "camera"}
    info, health = texts[1], texts[2]
    assert [text["type"] for text in texts[:3]] == ["register", "info", "health"]
    # ~100 ms apart, like the firmware.
    register_at, info_at, health_at = (event.at for event in session.events[:3])
    assert 0.08 <= info_at - register_at < 0.5
    assert 0.08 <= health_at - info_at < 0.5

    assert info == {
        "type": "info",
        "resolutions": resolutions_text(),
        "mode": "Estabilidad",
        "fps": 20,
    }
    entries = info["resolutions"].split(",")
    assert len(entries) == 13
    assert entries[0] == "0:QQVGA(160x120)"
    assert entries[7] == "7:XGA(1024x768)"
    assert entries[12] == "12:QXGA(2048x1536)"

    assert set(health) == HEALTH_FIELDS
    assert health["frames"] == 0
    assert health["dropped"] == 0
    assert health["rssi"] < 0
    assert health["heap"] > 0
    assert health["minHeap"] <= health["heap"]
    assert re.fullmatch(r"\d+h \d+m \d+s", health["uptime"])
    assert health["ip"] == "127.0.0.1"
    assert health["model"] == "OV3660"
    assert health["resolution"] == "XGA (1024x768)"
    assert health["quality"] == 12
    assert camera.is_stock
    assert camera.connection_count == 1


async def test_extension_fields_in_register(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    make_camera(camera_id="garage-1", name="Garage", token="s3cret", firmware="sim 1.0")
    session = await server.wait_session()
    (register,) = await wait_texts(server, session, "register")
    assert session.path == "/"
    assert register == {
        "type": "register",
        "device": "camera",
        "id": "garage-1",
        "name": "Garage",
        "token": "s3cret",
        "firmware": "sim 1.0",
    }


async def test_identity_in_url(server: RecordingServer, make_camera: CameraFactory) -> None:
    make_camera(camera_id="porch", token="t0k en", identity_in_url=True)
    session = await server.wait_session()
    (register,) = await wait_texts(server, session, "register")
    assert session.path == "/?id=porch&token=t0k+en"
    assert register == {"type": "register", "device": "camera"}


async def test_framing_thresholds_exact_sizes(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    sizes = [10_000, 10_001, 30_000, 30_001, 120_000]
    fixed = [make_test_jpeg(size=size) for size in sizes]
    assert [len(data) for data in fixed] == sizes
    camera = make_camera(frames=fixed, fps=0)
    frames = await server.wait_frames(len(sizes))

    assert [frame.framing for frame in frames[:5]] == [
        "binary",
        "frame",
        "frame",
        "chunked",
        "chunked",
    ]
    assert [frame.data for frame in frames[:5]] == fixed
    # One id counter shared by the two framed kinds, starting at 1.
    assert [frame.frame_id for frame in frames[:5]] == [None, 1, 2, 3, 4]
    assert frames[1].header == {"type": "frame_start", "id": 1, "size": 10_001}
    for frame in frames[3:5]:
        header = frame.header
        assert header is not None
        chunk_size = header["chunkSize"]
        assert chunk_size in CHUNK_SIZES
        assert chunk_size == chunk_size_for(header["size"], camera.mode)
        assert header["chunks"] == -(-header["size"] // chunk_size)
        assert all(length == chunk_size for length in frame.chunk_lengths[:-1])
        assert 0 < frame.chunk_lengths[-1] <= chunk_size
        assert (header["width"], header["height"]) == decode(frame.data).size
    session = server.sessions[0]
    img_ends = session.texts("img_end")
    assert img_ends[:2] == [
        {"type": "img_end", "id": 3, "size": 30_001, "success": True},
        {"type": "img_end", "id": 4, "size": 120_000, "success": True},
    ]
    assert camera.sent_frames[0].size == 10_000
    # Each sent frame says which of the fixed frames it was, looping over them.
    await camera.wait_frames(len(sizes) + 2)
    sent = list(camera.sent_frames)[: len(sizes) + 2]
    assert [frame.frame_index for frame in sent] == [0, 1, 2, 3, 4, 0, 1]
    assert [frame.size for frame in sent] == [*sizes, *sizes[:2]]


async def test_rendered_frames_use_the_band_of_their_size(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    """QQVGA, QVGA and VGA test patterns land in the three bands at the default quality."""
    camera = make_camera(resolution=0, fps=0)
    session = await server.wait_session()
    await server.wait_frames(2)
    assert camera.sent_frames[0].frame_index is None  # rendered, not one of fixed frames
    for index, expected in ((3, "frame"), (5, "chunked")):
        await command(server, session, "resolution", str(index))
        before = len(assemble_frames(session.events))
        frames = await server.wait_frames(before + 2)
        assert frames[-1].framing == expected
    frames = assemble_frames(session.events)
    assert {frame.framing for frame in frames} == {"binary", "frame", "chunked"}
    for frame in frames:
        size = len(frame.data)
        if size <= 10_000:
            assert frame.framing == "binary"
        elif size <= 30_000:
            assert frame.framing == "frame"
        else:
            assert frame.framing == "chunked"


async def test_resolution_command_changes_dimensions_and_size(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera(resolution=0, fps=30)
    session = await server.wait_session()
    frames = await server.wait_frames(2)
    assert decode(frames[-1].data).size == (160, 120)
    small_size = len(frames[-1].data)

    response = await command(server, session, "resolution", "5")
    assert response == {"type": "response", "cmd": "resolution", "status": "ok", "value": "5"}
    assert camera.resolution == RESOLUTIONS[5]
    count = len(assemble_frames(session.events))
    frames = await server.wait_frames(count + 2)
    vga = frames[-1]
    assert decode(vga.data).size == (640, 480)
    assert vga.header is not None
    assert (vga.header["width"], vga.header["height"]) == (640, 480)
    assert len(vga.data) > 3 * small_size

    await command(server, session, "stats")
    health = session.texts("health")[-1]
    assert health["resolution"] == "VGA (640x480)"

    response = await command(server, session, "resolution", "13")
    assert response["status"] == "error"
    assert camera.resolution == RESOLUTIONS[5]


async def test_frames_decode_and_change_over_time(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    make_camera(resolution=3, fps=30, name="Hall")
    frames = await server.wait_frames(4)
    images = [decode(frame.data) for frame in frames[:4]]
    assert all(image.format == "JPEG" and image.size == (320, 240) for image in images)
    for earlier, later in itertools.pairwise(images):
        assert ImageChops.difference(earlier, later).getbbox() is not None
    assert all(frame.data.startswith(b"\xff\xd8") for frame in frames)
    assert all(b"\xff\xd9" in frame.data[-100:] for frame in frames)


async def test_quality_changes_size(server: RecordingServer, make_camera: CameraFactory) -> None:
    camera = make_camera(resolution=5, fps=30)
    session = await server.wait_session()
    frames = await server.wait_frames(2)
    default_size = len(frames[-1].data)
    response = await command(server, session, "quality", "40")
    assert response["value"] == "40"
    assert camera.quality == 40
    frames = await server.wait_frames(len(assemble_frames(session.events)) + 2)
    assert len(frames[-1].data) < default_size * 0.7


async def test_commands_are_parsed_like_the_firmware(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera()
    session = await server.wait_session()
    await wait_texts(server, session, "health")

    assert (await command(server, session, "fps", "12abc"))["value"] == "12"
    assert camera.fps == 12
    assert (await command(server, session, "fps", "31"))["status"] == "error"
    assert (await command(server, session, "quality", " 7"))["value"] == "7"
    assert (await command(server, session, "quality", "4"))["status"] == "error"
    assert (await command(server, session, "mode", "estabilidad"))["value"] == "stability"
    assert camera.mode == "stability"
    assert (await command(server, session, "mode", "0"))["value"] == "speed"
    assert (await command(server, session, "mode", "turbo"))["status"] == "error"
    assert (await command(server, session, "brightness", "-2"))["value"] == "-2"
    assert (await command(server, session, "contrast", "3"))["status"] == "error"
    assert (await command(server, session, "hmirror", "on"))["value"] == "1"
    assert (await command(server, session, "vflip", "true"))["value"] == "1"
    assert (await command(server, session, "exposure", "off"))["value"] == "0"
    assert (await command(server, session, "gain", "yes"))["value"] == "0"
    assert (await command(server, session, "whitebalance", "1"))["value"] == "1"
    assert camera.settings == {
        "brightness": -2,
        "contrast": 0,
        "exposure": False,
        "gain": False,
        "whitebalance": True,
        "hmirror": True,
        "vflip": True,
    }
    unknown = await command(server, session, "sensor_reset")
    assert unknown["cmd"] == "sensor_reset"
    assert unknown["status"] == "error"

    # stats: a health message first, then the response.
    healths_before = len(session.texts("health"))
    stats = await command(server, session, "stats")
    assert stats == {"type": "response", "cmd": "stats", "status": "ok"}
    assert len(session.texts("health")) == healths_before + 1
    assert ("fps", "12abc") in camera.commands_received


async def test_info_reports_the_mode_display_name(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    make_camera(mode="speed", fps=15)
    session = await server.wait_session()
    (info,) = await wait_texts(server, session, "info")
    assert info["mode"] == "Velocidad"
    assert info["fps"] == 15


async def test_periodic_health(server: RecordingServer, make_camera: CameraFactory) -> None:
    camera = make_camera(health_interval=0.2, fps=10)
    session = await server.wait_session()
    healths = await wait_texts(server, session, "health", 4)
    assert healths[-1]["frames"] > 0
    assert healths[-1]["frames"] <= camera.frames_sent


async def test_reboot_reconnects_with_counters_reset(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera(resolution=7, fps=30, reconnect_interval=0.2)
    session = await server.wait_session()
    await server.wait_frames(3)
    await command(server, session, "resolution", "5")
    await command(server, session, "hmirror", "1")
    await server.wait_frames(len(assemble_frames(session.events)) + 2)
    ids_before = [frame.frame_id for frame in assemble_frames(session.events)]
    assert max(ids_before) >= 4

    await session.send_command("reboot")
    await server.wait_for(lambda: session.closed)
    assert session.texts()[-2:] == [
        {"type": "response", "cmd": "reboot", "status": "ok"},
        {"type": "status", "msg": "Rebooting..."},
    ]
    assert camera.reboots == 1
    assert camera.resolution == RESOLUTIONS[7]
    assert camera.settings["hmirror"] is False

    second = await server.wait_session(1)
    await wait_texts(server, second, "health")
    assert second.texts()[0] == {"type": "register", "device": "camera"}
    frames = await server.wait_frames(2, session_index=1)
    assert [frame.frame_id for frame in frames[:2]] == [1, 2]  # XGA frames are chunked
    assert decode(frames[0].data).size == (1024, 768)
    health = second.texts("health")[0]
    assert health["uptime"] == "0h 0m 0s"
    assert health["frames"] == 0
    assert health["resolution"] == "XGA (1024x768)"
    assert camera.connection_count == 2
    assert camera.frames_sent > camera.boot_frames_sent  # lifetime counters survive


async def test_reconnects_after_the_server_closes(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera(reconnect_interval=0.2)
    session = await server.wait_session()
    await wait_texts(server, session, "health")
    await session.connection.close(4408, "liveness")
    second = await server.wait_session(1)
    await wait_texts(server, second, "register")
    assert second.texts()[0] == {"type": "register", "device": "camera"}
    await camera.wait_for(lambda cam: cam.connection_count == 2)
    assert camera.reboots == 0


async def test_reconnects_until_the_server_appears(make_camera: CameraFactory) -> None:
    probe = RecordingServer()
    await probe.start()
    port = probe.port
    await probe.stop()  # nothing listens on this port for a while
    camera = SimulatedCamera("127.0.0.1", port, resolution=0, reconnect_interval=0.1)
    camera.start()
    try:
        await camera.wait_for(lambda cam: cam.connect_attempts >= 2)
        assert camera.connection_count == 0
        assert camera.last_error is not None
    finally:
        await camera.stop()


async def test_disconnect_mid_frame_and_no_lost_complete_frames(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera(resolution=5, fps=30, reconnect_interval=0.1)
    session = await server.wait_session()
    await server.wait_frames(2)

    frame_id = await camera.disconnect_mid_frame()
    await server.wait_for(lambda: session.closed)
    starts = [text for text in session.texts("img_start") if text["id"] == frame_id]
    assert len(starts) == 1
    start_index = next(
        index for index, event in enumerate(session.events) if event.text == starts[0]
    )
    chunks_received = [event for event in session.events[start_index + 1 :] if event.data]
    assert 0 < len(chunks_received) < starts[0]["chunks"]  # cut in the middle
    assert frame_id not in [text["id"] for text in session.texts("img_end")]
    assert camera.frames_dropped == 1

    await server.wait_session(1)
    await server.wait_frames(3, session_index=1)
    await camera.stop()
    await server.wait_for(lambda: all(s.closed for s in server.sessions))
    complete = sum(len(assemble_frames(s.events)) for s in server.sessions)
    assert complete == camera.frames_sent
    assert camera.last_frame_size == camera.sent_frames[-1].size


async def test_stability_pacing(server: RecordingServer, make_camera: CameraFactory) -> None:
    """The firmware's pauses in a chunked transfer, timed where the camera sends (a pause never
    ends early, however loaded the machine): the receiver may read queued chunks in one go."""
    sent: list[tuple[float, str | bytes]] = []
    send = ClientConnection.send

    async def timed_send(connection: ClientConnection, message: Any, *args: Any) -> None:
        sent.append((time.monotonic(), message))
        await send(connection, message, *args)

    with patch.object(ClientConnection, "send", timed_send):
        frame = make_test_jpeg(size=40_000)
        make_camera(frames=[frame], pacing=True, mode="stability", fps=1)
        session = await server.wait_session()
        await server.wait_frames(1)
        await server.wait_for(lambda: bool(session.texts("img_end")))
    start = next(
        index
        for index, (_at, message) in enumerate(sent)
        if isinstance(message, str) and json.loads(message)["type"] == "img_start"
    )
    header = json.loads(sent[start][1])
    assert header["chunkSize"] == 2048  # stability: at most 32 chunks
    chunks = sent[start + 1 : start + 1 + header["chunks"]]
    assert all(isinstance(message, bytes) for _at, message in chunks)
    end_at, end = sent[start + 1 + header["chunks"]]
    assert isinstance(end, str)
    assert json.loads(end)["type"] == "img_end"
    rounding = 0.001  # the two clock readings' float rounding, not a tolerance for load
    assert chunks[0][0] - sent[start][0] >= 0.15 - rounding
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(chunks)]
    assert min(gaps) >= 0.03 - rounding
    assert end_at - chunks[-1][0] >= 0.15 - rounding


async def test_stock_cameras_with_distinct_source_addresses(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    make_camera(source_address="127.0.0.2")
    make_camera(source_address="127.0.0.3")
    await server.wait_for(
        lambda: len(server.sessions) == 2 and all(s.texts("health") for s in server.sessions)
    )
    addresses = {session.remote_address for session in server.sessions}
    assert addresses == {"127.0.0.2", "127.0.0.3"}
    for session in server.sessions:
        assert session.texts("register") == [{"type": "register", "device": "camera"}]
        assert session.texts("health")[0]["ip"] == session.remote_address


async def test_hmirror_command_flips_the_picture(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera(resolution=3, fps=30)
    session = await server.wait_session()
    frames = await server.wait_frames(1)
    plain = decode(frames[0].data)
    await command(server, session, "hmirror", "1")
    frames = await server.wait_frames(len(assemble_frames(session.events)) + 1)
    mirrored = decode(frames[-1].data)
    # The label panel (name, counter) sits top-left normally and top-right when mirrored.
    assert _dark_fraction(plain, left=True) > 0.5
    assert _dark_fraction(mirrored, left=False) > 0.5
    assert _dark_fraction(mirrored, left=True) < 0.5
    assert camera.settings["hmirror"] is True


def _dark_fraction(image: Image.Image, *, left: bool) -> float:
    """Share of near-black pixels in a small top corner (where the label panel is)."""
    width = image.width
    box = (2, 2, 30, 12) if left else (width - 30, 2, width - 2, 12)
    pixels = image.convert("L").crop(box).tobytes()
    # The panel is pure black; the darkest bar is 16 plus sensor noise, so < 8 tells them apart.
    return sum(1 for value in pixels if value < 8) / len(pixels)


async def test_stop_closes_with_going_away(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera()
    session = await server.wait_session()
    await wait_texts(server, session, "health")
    await camera.stop()
    await server.wait_for(lambda: session.closed)
    assert session.connection.close_code == 1001
    assert not camera.connected
    await asyncio.sleep(0.3)
    assert len(server.sessions) == 1  # no reconnect after stop


async def test_frames_the_firmware_would_refuse_are_dropped(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    good = make_test_jpeg(160, 120)
    camera = make_camera(frames=[good, b"\xff\xd8 too short", good[:-200] + b"\x00" * 200], fps=0)
    session = await server.wait_session()
    await camera.wait_for(lambda cam: cam.frames_dropped >= 4)
    frames = assemble_frames(session.events)
    assert frames
    assert all(frame.data == good for frame in frames)
    await command(server, session, "stats")
    assert session.texts("health")[-1]["dropped"] >= 4


async def test_drop_connection_reconnects(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    camera = make_camera(reconnect_interval=0.1)
    session = await server.wait_session()
    await wait_texts(server, session, "health")
    await camera.drop_connection()
    await server.wait_for(lambda: session.closed)
    second = await server.wait_session(1)
    await wait_texts(server, second, "register")
    assert camera.connection_count == 2
    assert camera.reboots == 0


def test_constructor_validates_the_boot_settings() -> None:
    with pytest.raises(ValueError, match="resolution"):
        SimulatedCamera(resolution=13)
    with pytest.raises(ValueError, match="quality"):
        SimulatedCamera(quality=4)
    with pytest.raises(ValueError, match="fps"):
        SimulatedCamera(fps=-1)
    with pytest.raises(ValueError, match="Mode"):
        SimulatedCamera(mode="turbo")
    with pytest.raises(ValueError, match="frames"):
        SimulatedCamera(frames=[])


async def test_stamped_frames_carry_their_number_and_send_time(
    server: RecordingServer, make_camera: CameraFactory
) -> None:
    """Each frame reads back as its capture number; the time it was sent is kept by number."""
    before = time.time()
    camera = make_camera(resolution=3, fps=30, stamp_frames=True)
    frames = await server.wait_frames(4)
    numbers = [read_frame_stamp(decode(frame.data)) for frame in frames[:4]]
    assert numbers == [1, 2, 3, 4]
    sent = [camera.stamp_sent_at[number] for number in numbers]
    assert before <= sent[0] <= sent[1] <= sent[2] <= sent[3] <= time.time()
