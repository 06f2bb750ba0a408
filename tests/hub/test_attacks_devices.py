"""Red team, round two: what a device, a clip file or a user can make the hub hold (issue 18).

Each test is an attack; the ones kept here either found a hole (fixed) or add coverage that did
not exist.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.clips.avi import (
    _HEADER_SIZE,
    MAX_FRAMES,
    AviWriter,
    ClipTooLargeError,
    read_avi,
)
from custom_components.esp32_camera.clips.recovery import recover_clips
from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.disk import layout
from custom_components.esp32_camera.hub import clip_recording
from custom_components.esp32_camera.hub.devices import camera_device_identifier
from custom_components.esp32_camera.motion import MotionDetector, MotionSettings
from custom_components.esp32_camera.motion.detector import MAX_SCANS, decode_small
from custom_components.esp32_camera.views.camera_payload import camera_payload
from tests.helpers import (
    HUB_TOKEN,
    ClipEvents,
    Sender,
    jpeg_bytes,
    record_clip,
    setup_with_camera,
    wait_for,
)


def _progressive(width: int, height: int, repeats: int) -> bytes:
    """A progressive JPEG whose last (refinement) scan is repeated: each copy is 14 bytes.

    libjpeg only warns about a repeated scan, and walks the whole picture for each, even at
    1/8 scale.
    """
    jpeg = jpeg_bytes(width, height, 128, mode="L", quality=90, progressive=True)
    last = jpeg.rindex(b"\xff\xda")
    return jpeg[:last] + jpeg[last:-2] * repeats + jpeg[-2:]


def test_a_progressive_jpeg_of_many_scans_is_not_decoded() -> None:
    """1,000 repeated scans in 26 kB held the hub's one motion thread 1.7 s at QXGA.

    Every camera's motion waits for that thread; a 1 MB frame of such scans held it minutes.
    """
    bomb = _progressive(2048, 1536, 1000)
    assert len(bomb) < 32 * 1024
    detector = MotionDetector(MotionSettings(max_rate=0))
    with patch.object(Image, "open", wraps=Image.open) as opened:
        assert detector.analyse(bomb, 0.0) is None
    assert opened.call_count == 0  # refused before Pillow reads a byte of it
    assert detector.stats_snapshot()["unsupported"] == 1


@pytest.mark.parametrize("repeats", [1, MAX_SCANS - 6])
def test_ordinary_progressive_jpegs_are_still_analysed(repeats: int) -> None:
    """Pillow's progressive grey JPEG has 6 scans: it and up to MAX_SCANS scans are decoded."""
    size, grey = decode_small(_progressive(640, 480, repeats))
    assert size == (640, 480)
    assert grey.size == (80, 60)


async def test_a_camera_changing_its_model_every_message_does_not_churn_the_device_registry(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """Every `health` with another model (and every `register` with another name) updated the
    camera's device: an event on HA's bus, a registry write and a refresh of every open
    frontend, as often as an admitted camera liked (the firmware reports its model every 10 s).
    """
    await hass.config_entries.async_setup(hub_entry.entry_id)
    updates: list[Any] = []
    hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, updates.append)
    camera = await connect_camera()
    await camera.send_json({"type": "health", "model": "OV3660"})
    registry = dr.async_get(hass)
    await wait_for(
        lambda: (
            (
                device := registry.async_get_device_by_identifier(
                    camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
                )
            )
            is not None
            and device.model == "OV3660"
        )
    )
    before = len(updates)
    for number in range(300):
        await camera.send_json({"type": "health", "model": f"OV{number}"})
        if number % 50 == 0:
            await camera.ws.send_str(
                json.dumps({"type": "register", "device": "camera", "name": f"cam {number}"})
            )
    await camera.send_json({"type": "status", "msg": "last"})
    hub = hub_entry.runtime_data
    await wait_for(lambda: hub.cameras["cam1"].last_status == "last")
    await hass.async_block_till_done()
    assert len(updates) - before <= 10


def _tiny_jpeg() -> bytes:
    return jpeg_bytes(8, 8, 90, mode="L")


def test_a_clip_of_a_camera_sending_tiny_frames_fast_stays_playable(tmp_path: Path) -> None:
    """The writer took any number of frames, the reader refuses more than MAX_FRAMES: a camera
    sending small frames fast (200 a second fill a 5-minute clip past it) had its clip written
    and then left out of every list, never replayable; the writer's index grew without bound.
    """
    jpeg = _tiny_jpeg()
    writer = AviWriter(tmp_path / "fast.avi")
    dropped = 0
    for number in range(MAX_FRAMES + 10):
        try:
            writer.add_frame(jpeg, number / 1000)
        except ClipTooLargeError:
            dropped += 1
    info = writer.commit()
    assert (info.frames, dropped) == (MAX_FRAMES, 10)
    assert len(read_avi(info.path).frames) == MAX_FRAMES


def test_a_crashed_clip_of_too_many_frames_is_recovered_playable(tmp_path: Path) -> None:
    """Recovery kept every complete frame of a `.part`: more than the reader takes made a clip
    that was never listed (and an index as long as the file allowed, in memory).
    """
    jpeg = _tiny_jpeg()
    chunk = b"00dc" + len(jpeg).to_bytes(4, "little") + jpeg + b"\x00" * (len(jpeg) & 1)
    folder = tmp_path / "cam" / "clips" / "2026-01-01"
    folder.mkdir(parents=True)
    part = folder / ".12-00-00_action.avi.abc123.part"
    part.write_bytes(bytes(_HEADER_SIZE) + chunk * (MAX_FRAMES + 10))
    recovery = recover_clips(tmp_path, layout.unused_clip_path)
    [(info, _first)] = recovery.recovered
    assert info.frames == MAX_FRAMES
    assert len(read_avi(info.path).frames) == MAX_FRAMES
    assert not part.exists()


async def test_clips_waiting_for_their_mp4_are_bounded(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MP4s are made one at a time, each up to 10 minutes; a household member's record calls
    (4 at a time per camera, as often as they like) queued every clip behind them without end:
    each held its first frame in memory, and its `clip_saved` event waited for the whole queue.
    """
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text("#!/bin/sh\nsleep 3\nexit 1\n")
    slow.chmod(0o755)
    assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {"ffmpeg_bin": str(slow)}})
    monkeypatch.setattr(clip_recording, "MAX_QUEUED_CONVERSIONS", 2)
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    events = ClipEvents(hass)
    sender = Sender(camera)
    sender.start()
    for _ in range(2):
        results = await asyncio.gather(
            *(record_clip(hass, duration=1, pre_roll=0) for _ in range(4))
        )
        assert all(Path(result["path"]).exists() for result in results)
    await sender.stop()
    conversions = hub.clips.as_dict()["conversions"]
    assert conversions["queued"] <= 2
    # The clips past the queue are announced at once, as AVIs.
    await wait_for(lambda: len(events.events) >= 8 - 1 - 2)
    assert all(event["mp4"] is None for event in events.events)
    assert await hass.config_entries.async_unload(hub_entry.entry_id)


async def test_record_calls_racing_an_unload_leave_no_thread_and_no_part_file(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """Record calls on two cameras, the hub unloaded while their clips are open, then set up
    again: every call is answered, no writer thread runs on, no `.part` file is left.
    """
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    other = await connect_camera(f"?token={HUB_TOKEN}&id=cam2")
    hub = hub_entry.runtime_data
    senders = [Sender(camera), Sender(other)]
    for sender in senders:
        sender.start()
    await wait_for(lambda: hub.clips.stats("cam2")["ring"] is not None)
    calls = [
        hass.async_create_task(
            hass.services.async_call(
                DOMAIN,
                "record",
                {"entity_id": entity, "duration": 5, "pre_roll": 1},
                blocking=True,
                return_response=True,
            )
        )
        for entity in ("camera.esp32_camera_cam1", "camera.esp32_camera_cam2")
        for _ in range(4)
    ]
    await wait_for(lambda: hub.clips.as_dict()["open_clips"] == 8)
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    for sender in senders:
        await sender.stop()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(outcome, (dict, HomeAssistantError)) for outcome in outcomes), outcomes
    assert not [t for t in threading.enumerate() if t.name.startswith("esp32_camera_clips")]
    saved = Path(hub.save_directory)
    assert not list(saved.rglob("*.part"))
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    assert not list(saved.rglob("*.part"))
    assert await hass.config_entries.async_unload(hub_entry.entry_id)


async def test_long_texts_in_health_reach_no_state_and_no_device(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`health`'s resolution became a sensor's state and its model the device's, at any length:
    a state above 255 characters is an error line in Home Assistant's log at every update (the
    device log's budget does not cover Home Assistant's own lines), and the model (up to the
    message size) was kept in the device registry.
    """
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    hub = hub_entry.runtime_data
    await camera.send_json(
        {"type": "health", "resolution": "X" * 300, "model": "M" * 100_000, "heap": 1}
    )
    await wait_for(lambda: (health := hub.cameras["cam1"].health) is not None and health.heap == 1)
    await hass.async_block_till_done()
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    assert device.model is not None
    assert len(device.model) <= 64
    states = [state for state in hass.states.async_all("sensor") if len(state.state) > 255]
    assert states == []
    assert not [r for r in caplog.records if "longer than 255" in r.getMessage()]


async def test_a_huge_status_is_not_kept_for_every_panel(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """An admitted camera's `status` (and a command's answer) was kept at any length, up to the
    8 MiB message limit, and every open panel's statistics carried it each second, JSON-escaped
    on the event loop: 4 MiB of "é" is 24 MB of JSON, 40-60 ms per viewer per push here.
    """
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera = await connect_camera()
    hub = hub_entry.runtime_data
    huge = json.dumps({"type": "status", "msg": "é" * (2 * 1024 * 1024)}, ensure_ascii=False)
    await camera.send_json({"type": "status", "msg": "ready"})
    await wait_for(lambda: hub.cameras["cam1"].last_status == "ready")
    await camera.ws.send_str(huge)  # 4 MiB of UTF-8: within an admitted camera's limit
    await camera.send_json({"type": "health", "heap": 7})
    await wait_for(lambda: (health := hub.cameras["cam1"].health) is not None and health.heap == 7)
    status = hub.cameras["cam1"].last_status
    assert status is None or len(status) <= 4096
    payload = json.dumps(camera_payload(hub, hub.cameras["cam1"], er.async_get(hass)), default=str)
    assert len(payload) < 64 * 1024


def test_recovery_passes_odd_part_files_without_blocking_or_following(tmp_path: Path) -> None:
    """`.part` names that are a FIFO (an open for reading alone would block the start), a folder,
    a link to a file elsewhere, a 1 TB sparse file: removed or left, never followed or read whole.
    """
    folder = tmp_path / "cam" / "clips" / "2026-01-01"
    folder.mkdir(parents=True)
    os.mkfifo(folder / ".a.avi.x1.part")
    (folder / ".b.avi.x2.part").mkdir()
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"RIFF" + bytes(5000))
    (folder / ".c.avi.x3.part").symlink_to(outside)
    with (folder / ".d.avi.x4.part").open("wb") as sparse:
        sparse.truncate(10**12)
    # Opening the FIFO to read, or reading the sparse file whole, would hang here until pytest's
    # timeout fails the test: returning at all is the assertion.
    recovery = recover_clips(tmp_path, layout.unused_clip_path)
    assert recovery.recovered == []
    assert outside.read_bytes() == b"RIFF" + bytes(5000)  # the link's target is untouched
    assert sorted(path.name for path in folder.iterdir()) == [".b.avi.x2.part", ".c.avi.x3.part"]
