"""Clips in a real hub: the record action, recording on motion, retention, MP4, diagnostics.

Cameras send real JPEGs over real sockets (a test client for exact frames, the simulator for the
crossing scene); clips are read back with `read_avi` and compared with the frames the hub received
in the clip's window, pre-roll included.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
import logging
import os
from pathlib import Path
import subprocess
import threading
from typing import Any

from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    EVENT_HOMEASSISTANT_STOP,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera import services
from custom_components.esp32_camera.clips import ClipReason, read_avi
from custom_components.esp32_camera.const import CONF_SAVE_DIRECTORY, DOMAIN
from custom_components.esp32_camera.diagnostics import (
    async_get_config_entry_diagnostics,
    async_get_device_diagnostics,
)
from custom_components.esp32_camera.disk import layout
from custom_components.esp32_camera.hub import clip_recording, signals
from custom_components.esp32_camera.hub.clip_recording import (
    RING_BYTES_PER_CAMERA,
    RING_BYTES_TOTAL,
)
from custom_components.esp32_camera.hub.devices import camera_device_identifier
from custom_components.esp32_camera.hub.image_saver import MIB
from custom_components.esp32_camera.hub.recording_settings import RecordingSettings
from custom_components.esp32_camera.hub.store import storage_key
from custom_components.esp32_camera.motion import MotionEvent, MotionEventType, MotionResult
from custom_components.esp32_camera.protocol import Frame
from tests.helpers import (
    CAMERA_FPS,
    ENTITY,
    HUB_TOKEN,
    ClipEvents,
    FrameBus,
    Sender,
    avi_frames,
    crashed_part,
    make_saver,
    numbered_jpeg,
    record_clip,
    ring_frames,
    scene_clip_frames,
    scene_jpegs,
    scene_labels,
    setup_ffmpeg,
    setup_with_camera,
    wait_for,
    written,
)

RECORD_SWITCH = "switch.esp32_camera_cam1_record_on_motion"
PRE_ROLL = "number.esp32_camera_cam1_clip_pre_roll"
POST_ROLL = "number.esp32_camera_cam1_clip_post_roll"
COOLDOWN = "number.esp32_camera_cam1_motion_cool_down"


@dataclass(frozen=True)
class Received:
    """A frame as the hub received it: its bytes and the frames' clock."""

    data: bytes
    at: float


class Frames:
    """Every frame of cam1 the hub received, in order (a frame broker listener like the clips')."""

    def __init__(self, hub: Any) -> None:
        self.received: list[Received] = []
        hub.frames.async_add_listener(self._frame, "cam1")

    @callback
    def _frame(self, _camera: Any, frame: Frame) -> None:
        self.received.append(Received(bytes(frame.data), frame.completed_at))

    def between(self, start: float, end: float) -> list[bytes]:
        return [frame.data for frame in self.received if start <= frame.at <= end]


async def test_the_record_action_writes_exactly_the_frames_of_its_window(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    await hub.motion.async_set("cam1", enabled=False)  # nothing moves: the thumbnail's rule
    frames, events = Frames(hub), ClipEvents(hass)
    sender = Sender(camera)
    sender.start()
    await wait_for(lambda: len(frames.received) >= 30)  # 1.5 s: more than the pre-roll
    call = hass.async_create_task(record_clip(hass, duration=2, pre_roll=1))
    await wait_for(lambda: hub.clips.open_clips("cam1"))
    (request,) = hub.clips.open_clips("cam1")
    assert request.reason is ClipReason.ACTION
    result = await call
    await sender.stop()

    expected = frames.between(request.triggered_at - 1, request.triggered_at + 2)
    assert 50 <= len(expected) <= 62  # 3 s at 20 fps (a loaded machine may send a few late)
    assert avi_frames(result["path"]) == expected
    assert result["frames"] == len(expected)
    assert result["pre_roll_complete"] is True
    assert result["duration"] == pytest.approx(3.0, abs=0.3)
    assert result["mp4_pending"] is False  # no ffmpeg integration loaded
    # The layout: the trigger's local time, the reason; the thumbnail beside it.
    path = Path(result["path"])
    assert path.parent.parent == tmp_path / "saved" / "cam1" / "clips"
    assert layout.DAY_DIRECTORY.match(path.parent.name)
    assert layout.CLIP_FILE.match(path.name)
    assert path.name.endswith("_action.avi")
    assert result["thumbnail"] == str(path.with_suffix(".jpg"))
    # Nothing moved (motion detection is off): the thumbnail is the clip's middle frame.
    middle = request.triggered_at + (2 - 1) / 2
    in_clip = [
        f for f in frames.received if request.triggered_at - 1 <= f.at <= request.triggered_at + 2
    ]
    nearest = min(in_clip, key=lambda f: abs(f.at - middle))
    assert path.with_suffix(".jpg").read_bytes() == nearest.data
    # The recorded times are the frames' own (milliseconds from the first).
    window = [
        f for f in frames.received if request.triggered_at - 1 <= f.at <= request.triggered_at + 2
    ]
    times = read_avi(path).times
    assert times is not None
    assert times == pytest.approx([f.at - window[0].at for f in window], abs=0.0011)
    # The event, for automations.
    await hass.async_block_till_done()
    (event,) = events.events
    assert event == {
        "entity_id": ENTITY,
        "camera_id": "cam1",
        "reason": "action",
        **{key: value for key, value in result.items() if key != "mp4_pending"},
        "mp4": None,
    }
    # Counted with the saver's retention, and in diagnostics.
    thumbnail_size = path.with_suffix(".jpg").stat().st_size
    assert hub.saver.as_dict()["clip_bytes"] == path.stat().st_size + thumbnail_size
    assert hub.clips.stats("cam1")["written"] == 1
    assert hub.clips.open_clips("cam1") == []


async def test_the_panels_payload_says_when_a_clip_is_recorded_and_written(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The panel reads its clip list again when these figures change: they must move."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": f"{DOMAIN}/subscribe"})
    subscription = (await client.receive_json())["id"]
    seen: list[dict[str, int]] = []

    async def pushed_until(wanted: dict[str, int]) -> None:
        while not seen or seen[-1] != wanted:
            message = await client.receive_json()
            if message["type"] == "event" and message["id"] == subscription:
                (payload,) = message["event"]["cameras"]
                if not seen or payload["clips"] != seen[-1]:
                    seen.append(payload["clips"])

    async with asyncio.timeout(10):
        await pushed_until({"written": 0, "converted": 0, "recording": 0})
    sender = Sender(camera)
    sender.start()
    result = await record_clip(hass, duration=2, pre_roll=0)
    await sender.stop()
    async with asyncio.timeout(10):
        await pushed_until({"written": 1, "converted": 0, "recording": 0})
    # Pushed at most every second: the 2 s of recording show in between.
    assert seen == [
        {"written": 0, "converted": 0, "recording": 0},
        {"written": 0, "converted": 0, "recording": 1},
        {"written": 1, "converted": 0, "recording": 0},
    ]
    assert Path(result["path"]).exists()


async def test_an_incomplete_pre_roll_is_reported(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """A camera that went away took its buffered frames with it: the pre-roll has a gap."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    for number in range(5):
        await camera.send_frame(numbered_jpeg(number))
    await wait_for(lambda: ring_frames(hub) == 5)
    await camera.close()
    await wait_for(lambda: not hub.cameras["cam1"].connected)
    assert ring_frames(hub) == 0  # freed at once
    camera = await connect_camera()
    await camera.send_frame(numbered_jpeg(99))
    await wait_for(lambda: ring_frames(hub) == 1)
    result = await record_clip(hass, duration=1, pre_roll=10)
    assert result["pre_roll_complete"] is False
    assert avi_frames(result["path"]) == [numbered_jpeg(99)]


async def test_the_default_pre_roll_is_the_cameras_setting(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: PRE_ROLL, ATTR_VALUE: 0}, blocking=True
    )
    received = hub.cameras["cam1"].stats.frames_received
    for number in range(3):
        await camera.send_frame(numbered_jpeg(number))
    await wait_for(lambda: hub.cameras["cam1"].stats.frames_received == received + 3)
    # No pre-roll and no recording on motion: no clip can want them, none is kept (issue 22).
    assert ring_frames(hub) == 0
    call = hass.async_create_task(record_clip(hass, duration=1))
    await wait_for(lambda: hub.clips.open_clips("cam1"))
    assert hub.clips.open_clips("cam1")[0].pre_roll == 0
    assert hub.clips.open_clips("cam1")[0].pre_roll_complete is True  # none was asked for
    await camera.send_frame(numbered_jpeg(7))
    result = await call
    assert avi_frames(result["path"]) == [numbered_jpeg(7)]  # none of the earlier ones
    # An action asking for a pre-roll gets none of the frames never kept (at most those kept
    # for the clip before), and says so; the clip's frames still come.
    call = hass.async_create_task(record_clip(hass, duration=1, pre_roll=5))
    await wait_for(lambda: hub.clips.open_clips("cam1"))
    assert hub.clips.open_clips("cam1")[0].pre_roll_complete is False
    await camera.send_frame(numbered_jpeg(8))
    result = await call
    assert result["pre_roll_complete"] is False
    assert avi_frames(result["path"]) in (
        [numbered_jpeg(8)],
        [numbered_jpeg(7), numbered_jpeg(8)],
    )
    # Recording on motion keeps the ring at a pre-roll of 0 (a motion clip starts at the analysed
    # frame, before the hub hears of it); off again, it keeps nothing from the next frame on.
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: RECORD_SWITCH}, blocking=True
    )
    await camera.send_frame(numbered_jpeg(9))
    await wait_for(lambda: ring_frames(hub) >= 1)
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: RECORD_SWITCH}, blocking=True
    )
    await camera.send_frame(numbered_jpeg(10))
    await wait_for(lambda: ring_frames(hub) == 0)
    # A pre-roll again: the ring keeps the frames from the change on.
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: PRE_ROLL, ATTR_VALUE: 2}, blocking=True
    )
    await camera.send_frame(numbered_jpeg(11))
    await wait_for(lambda: ring_frames(hub) >= 1)


async def test_record_filename_template_and_allowlist(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    await camera.send_frame(numbered_jpeg(1))
    await wait_for(lambda: ring_frames(hub) == 1)  # before the clips: never in them
    clips = tmp_path / "saved" / "cam1" / "clips"

    async def one_frame_clip(filename: str) -> dict[str, Any]:
        call = hass.async_create_task(record_clip(hass, duration=1, pre_roll=0, filename=filename))
        await wait_for(lambda: hub_entry.runtime_data.clips.open_clips("cam1"))
        await camera.send_frame(numbered_jpeg(2))
        return await call

    # Relative: in the camera's clips folder, with the template's variables; `a/../b` is `b`.
    result = await one_frame_clip("door/{{ camera_id }}_{{ entity_id.split('.')[1] }}.avi")
    assert result["path"] == str(clips / "door" / "cam1_esp32_camera_cam1.avi")
    assert avi_frames(result["path"]) == [numbered_jpeg(2)]
    assert Path(result["thumbnail"]).read_bytes() == numbered_jpeg(2)
    result = await one_frame_clip("door/../porch.AVI")
    assert result["path"] == str(clips / "porch.AVI")
    # Absolute, in another allowed folder.
    result = await one_frame_clip(f"{tmp_path}/elsewhere/porch.avi")
    assert result["path"] == str(tmp_path / "elsewhere" / "porch.avi")
    assert avi_frames(result["path"]) == [numbered_jpeg(2)]
    # A clip of the user's choosing is not counted for retention (never removed by it).
    assert hub_entry.runtime_data.saver.as_dict()["clip_bytes"] == 0

    outside = tmp_path_factory.mktemp("not_allowed")
    (clips / "escape").symlink_to(outside, target_is_directory=True)
    (clips / "sideways").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    refusals = {
        "/etc/esp32_camera.avi": "path_not_allowed",
        "../../../../../outside.avi": "path_not_allowed",
        "escape/clip.avi": "path_not_allowed",  # a link out of the allowed folders
        "sideways/clip.avi": "path_not_allowed",  # a link out of the clips folder
        "clip.html": "invalid_file_extension",
        "clip": "invalid_file_extension",
        "{{ '' }}": "invalid_filename",
        "folder/": "invalid_filename",
    }
    for filename, key in refusals.items():
        with pytest.raises(ServiceValidationError) as error:
            await record_clip(hass, duration=1, filename=filename)
        assert error.value.translation_key == key, filename
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "elsewhere" / "clip.avi").exists()
    # The snapshot action follows the same rules (one implementation).
    (tmp_path / "saved" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN,
            "snapshot",
            {"entity_id": ENTITY, "filename": "link/snap.jpg"},
            blocking=True,
        )
    assert error.value.translation_key == "path_not_allowed"
    assert list(outside.iterdir()) == []


async def test_a_failed_write_leaves_no_file_and_says_why(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    clips = tmp_path / "saved" / "cam1" / "clips"
    (clips / "taken.avi").mkdir(parents=True)  # the rename onto it fails after the frames
    # overwrite: the folder is no file of the user's (else: "file_exists", nothing recorded).
    call = hass.async_create_task(
        record_clip(hass, duration=1, pre_roll=0, filename="taken.avi", overwrite=True)
    )
    await wait_for(lambda: hub_entry.runtime_data.clips.open_clips("cam1"))
    await camera.send_frame(numbered_jpeg(1))
    with pytest.raises(HomeAssistantError) as error:
        await call
    assert error.value.translation_key == "record_failed"
    assert [path.name for path in clips.iterdir()] == ["taken.avi"]  # no partial file
    assert hub_entry.runtime_data.clips.stats("cam1")["failed"] == 1
    # A camera that sends nothing during the clip: nothing is written, and the action says so.
    with pytest.raises(HomeAssistantError) as error:
        await record_clip(hass, duration=1, pre_roll=0)
    assert error.value.translation_key == "record_no_frames"
    assert [path for path in clips.rglob("*") if path.is_file()] == []


async def test_a_link_planted_in_the_save_directory_is_not_followed(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    """The camera's clips folder replaced by a link: the default clips are not written there."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    elsewhere = tmp_path / "elsewhere"  # allowed, but not the save directory
    elsewhere.mkdir()
    (tmp_path / "saved" / "cam1").mkdir(parents=True)
    (tmp_path / "saved" / "cam1" / "clips").symlink_to(elsewhere, target_is_directory=True)
    call = hass.async_create_task(record_clip(hass, duration=1, pre_roll=0))
    await wait_for(lambda: hub_entry.runtime_data.clips.open_clips("cam1"))
    await camera.send_frame(numbered_jpeg(1))
    with pytest.raises(HomeAssistantError) as error:
        await call
    assert error.value.translation_key == "record_failed"
    assert list(elsewhere.iterdir()) == []


async def test_a_thumbnail_that_cannot_be_written_leaves_the_clip(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    clips = tmp_path / "saved" / "cam1" / "clips"
    (clips / "porch.jpg").mkdir(parents=True)  # where the thumbnail should go
    call = hass.async_create_task(
        record_clip(hass, duration=1, pre_roll=0, filename="porch.avi", overwrite=True)
    )
    await wait_for(lambda: hub_entry.runtime_data.clips.open_clips("cam1"))
    await camera.send_frame(numbered_jpeg(1))
    result = await call
    assert avi_frames(result["path"]) == [numbered_jpeg(1)]
    assert result["thumbnail"] is None
    assert "Cannot write the clip's thumbnail" in caplog.text


async def test_clips_triggered_in_the_same_second_get_their_own_files(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    sender = Sender(camera)
    sender.start()
    results = await asyncio.gather(
        record_clip(hass, duration=1, pre_roll=0), record_clip(hass, duration=1, pre_roll=0)
    )
    await sender.stop()
    paths = sorted(Path(result["path"]) for result in results)
    assert paths[0] != paths[1]
    if paths[0].name[:8] == paths[1].name[:8]:  # the same second (almost always)
        assert [path.name[9:] for path in paths] == ["action.avi", "action_2.avi"]
    first, second = avi_frames(paths[0]), avi_frames(paths[1])
    assert min(len(first), len(second)) >= 10  # 1 s each, at once: mostly the same frames
    assert len(set(first) & set(second)) >= 5


def test_a_clip_name_taken_on_disk_gets_the_next_number(tmp_path: Path) -> None:
    """A clip of the same second already on disk (the clock was set back) is never replaced."""
    path = layout.clip_path(
        tmp_path, "cam1", dt_util.now().replace(hour=12, minute=0, second=0), "motion"
    )
    assert path.name == "12-00-00_motion.avi"
    path.parent.mkdir(parents=True)
    assert layout.unused_clip_path(path) == path
    path.with_suffix(".jpg").write_bytes(b"")  # any of its files
    assert layout.unused_clip_path(path).name == "12-00-00_motion_2.avi"
    path.with_name("12-00-00_motion_2.mp4").write_bytes(b"")
    assert layout.unused_clip_path(path).name == "12-00-00_motion_3.avi"
    other = path.with_name("porch.avi")  # not a default name: as it is
    other.write_bytes(b"")
    assert layout.unused_clip_path(other) == other


async def test_clips_are_refused_while_the_save_directory_is_public(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    """A save directory under www/ is served without authentication: no clips go there."""
    hass.config.config_dir = str(tmp_path)
    hass.config_entries.async_update_entry(
        hub_entry, options={CONF_SAVE_DIRECTORY: str(tmp_path / "www" / "cams")}
    )
    await setup_with_camera(hass, hub_entry, connect_camera)
    with pytest.raises(HomeAssistantError) as error:
        await record_clip(hass, duration=1)
    assert error.value.translation_key == "recording_unavailable"
    with pytest.raises(HomeAssistantError) as error:
        await hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: RECORD_SWITCH}, blocking=True
        )
    assert error.value.translation_key == "recording_unavailable"
    assert hass.states.get(RECORD_SWITCH).state == STATE_OFF  # type: ignore[union-attr]


def motion(hass: HomeAssistant, hub: Any, kind: MotionEventType, at: float) -> None:
    """Send the hub's motion signal as its motion detection does."""
    async_dispatcher_send(
        hass, signals.motion_event(hub.entry.entry_id, "cam1"), MotionEvent(kind, at, None)
    )


async def test_motion_clips_from_the_pre_roll_to_the_post_roll(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    frames, events = Frames(hub), ClipEvents(hass)
    sender = Sender(camera)
    sender.start()
    await wait_for(lambda: len(frames.received) >= 30)
    # Off by default: motion records nothing.
    assert hass.states.get(RECORD_SWITCH).state == STATE_OFF  # type: ignore[union-attr]
    motion(hass, hub, MotionEventType.STARTED, frames.received[-1].at)
    assert hub.clips.open_clips("cam1") == []
    motion(hass, hub, MotionEventType.ENDED, frames.received[-1].at)
    for entity_id, value in ((PRE_ROLL, 1), (POST_ROLL, 0.5)):
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
            blocking=True,
        )
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: RECORD_SWITCH}, blocking=True
    )
    assert hass.states.get(RECORD_SWITCH).state == STATE_ON  # type: ignore[union-attr]
    # Motion starts (at an analysed frame), goes on for a while, ends.
    started = frames.received[-1].at
    motion(hass, hub, MotionEventType.STARTED, started)
    (request,) = hub.clips.open_clips("cam1")
    assert request.reason is ClipReason.MOTION
    assert request.pre_roll == 1
    count = len(frames.received)
    await wait_for(lambda: len(frames.received) >= count + 20)
    ended = frames.received[-1].at
    motion(hass, hub, MotionEventType.ENDED, ended)
    await wait_for(lambda: len(events.events) == 1, timeout=10)
    await sender.stop()
    (event,) = events.events
    assert event["reason"] == "motion"
    assert Path(event["path"]).name.endswith("_motion.avi")
    assert avi_frames(event["path"]) == frames.between(started - 1, ended + 0.5)
    assert event["pre_roll_complete"] is True
    assert Path(event["thumbnail"]).read_bytes() == next(
        f.data for f in frames.received if f.at >= started
    )


async def test_turning_recording_on_and_off_during_motion(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """On during a motion: a clip starts now; off: the clip ends after its post-roll."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    frames, events = Frames(hub), ClipEvents(hass)
    sender = Sender(camera)
    sender.start()
    await wait_for(lambda: len(frames.received) >= 5)
    # Motion as the hub's detector reports it (its state is what turning on looks at).
    hub.motion._async_event(
        "cam1", MotionEvent(MotionEventType.STARTED, frames.received[-1].at, None)
    )
    assert hub.motion.is_active("cam1")
    await hub.clips.async_set("cam1", post_roll=0)
    await hub.clips.async_set("cam1", record=True)
    (request,) = hub.clips.open_clips("cam1")
    assert request.reason is ClipReason.MOTION
    count = len(frames.received)
    await wait_for(lambda: len(frames.received) >= count + 5)
    await hub.clips.async_set("cam1", record=False)
    await wait_for(lambda: len(events.events) == 1, timeout=10)
    await sender.stop()
    assert events.events[0]["frames"] >= 5
    assert hub.clips.open_clips("cam1") == []
    with pytest.raises(ServiceValidationError) as error:
        await hub.clips.async_set("cam1", pre_roll=11)
    assert error.value.translation_key == "invalid_recording_setting"


async def test_a_crossing_at_the_simulator_is_recorded_with_its_pre_roll(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    """The whole chain: a walker, motion detection, the clip, over real sockets."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    events = ClipEvents(hass)
    starts: list[float] = []

    @callback
    def motion_event(event: MotionEvent) -> None:
        if event.type is MotionEventType.STARTED:
            starts.append(event.timestamp)

    await hub.clips.async_set("cam1", record=True, pre_roll=1, post_roll=1)
    await hub.motion.async_set("cam1", cooldown=1.0)
    async_dispatcher_connect(hass, signals.motion_event(hub.entry.entry_id, "cam1"), motion_event)
    frames = Frames(hub)
    await simulate(frames=list(scene_jpegs("crossing")), fps=CAMERA_FPS, mode="speed")
    await wait_for(lambda: events.events, timeout=60)
    first = events.events[0]
    assert first["reason"] == "motion"
    assert first["entity_id"] == ENTITY
    stored = avi_frames(first["path"])
    # From 1 s before the motion started: the frames the hub received then, none missing.
    first_index = next(i for i, f in enumerate(frames.received) if f.at >= starts[0] - 1)
    received = [f.data for f in frames.received[first_index : first_index + len(stored)]]
    assert stored == received
    pre_roll = [f for f in frames.received if starts[0] - 1 <= f.at < starts[0]]
    assert len(pre_roll) >= 10  # 20 fps, a busy machine may send fewer
    # The thumbnail shows the walker (the clip's busiest frame), not the empty room at the start.
    thumbnail = Path(first["thumbnail"]).read_bytes()
    assert thumbnail in stored
    scene = scene_jpegs("crossing")
    assert thumbnail != stored[0]
    shown = scene.index(thumbnail)
    assert any(start <= shown < end for start, end in scene_labels("crossing"))


async def test_a_clips_thumbnail_is_its_busiest_frame(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """The frame with the largest motion score of the clip, whenever its score comes."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    await hub.motion.async_set("cam1", enabled=False)  # the scores below are the only ones
    latest: list[MotionResult | None] = [None]
    hub.clips._motion_result = lambda _camera_id: latest[0]
    frames = Frames(hub)
    sender = Sender(camera)
    sender.start()
    await wait_for(lambda: len(frames.received) >= 5)
    call = hass.async_create_task(record_clip(hass, duration=2, pre_roll=0))
    await wait_for(lambda: hub.clips.open_clips("cam1"))

    def scored(score: float, *, moving: bool = True) -> MotionResult:
        return MotionResult(
            timestamp=frames.received[-2].at,
            score=score,
            zone_scores={},
            moving=moving,
            active=True,
        )

    for score, moving in ((3.0, True), (7.0, True), (2.0, True), (50.0, False)):
        count = len(frames.received)
        await wait_for(lambda: len(frames.received) >= count + 4)  # noqa: B023
        latest[0] = scored(score, moving=moving)
        if score == 7.0:
            busiest = latest[0].timestamp
    result = await call
    await sender.stop()
    thumbnail = Path(result["thumbnail"]).read_bytes()
    assert thumbnail == next(f.data for f in frames.received if f.at == busiest)


async def test_recording_settings_survive_a_restart(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_storage: dict[str, Any],
) -> None:
    await setup_with_camera(hass, hub_entry, connect_camera)
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: RECORD_SWITCH}, blocking=True
    )
    for entity_id, value in ((PRE_ROLL, 3), (POST_ROLL, 20)):
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
            blocking=True,
        )
    await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[storage_key(hub_entry.entry_id)]["data"]["cameras"]["cam1"]
    assert stored["recording"] == {"record": True, "pre_roll": 3.0, "post_roll": 20.0}
    assert stored["motion"] == {}  # the detector's settings are apart
    hub = hub_entry.runtime_data
    assert hub.clips.settings("cam1") == RecordingSettings(record=True, pre_roll=3, post_roll=20)
    # Shown while the camera is away (the settings are the hub's).
    assert hass.states.get(RECORD_SWITCH).state == STATE_ON  # type: ignore[union-attr]
    assert hass.states.get(PRE_ROLL).state == "3"  # type: ignore[union-attr]
    assert hass.states.get(POST_ROLL).state == "20"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({}, RecordingSettings()),
        # Damaged: the bad value is dropped (a repair issue says so), the others kept.
        ({"record": "yes", "pre_roll": 2}, RecordingSettings(pre_roll=2)),
        ({"pre_roll": 30}, RecordingSettings()),
        ({"post_roll": 100}, RecordingSettings()),
        ({"post_roll": 12.5}, RecordingSettings(post_roll=12.5)),
    ],
)
async def test_earlier_and_damaged_stores_load(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    stored: dict[str, Any],
    expected: RecordingSettings,
) -> None:
    camera: dict[str, Any] = {"name": "Garden", "firmware": "2.0", "settings": {}}
    if stored:
        camera["recording"] = stored
    hass_storage[storage_key(hub_entry.entry_id)] = {
        "version": 1,
        "minor_version": 1,
        "key": storage_key(hub_entry.entry_id),
        "data": {"cameras": {"cam1": camera}, "approved": {}, "refused": []},
    }
    await hass.config_entries.async_setup(hub_entry.entry_id)
    assert hub_entry.runtime_data.clips.settings("cam1") == expected


def make_clip(root: Path, camera: str, when: Any, reason: str, size: int) -> list[Path]:
    """A clip's three files in the layout, `size` bytes each."""
    avi = layout.clip_path(root, camera, when, reason)
    avi.parent.mkdir(parents=True, exist_ok=True)
    files = list(layout.clip_companions(avi))
    for path in files:
        path.write_bytes(b"x" * size)
    return files


async def test_retention_removes_old_clips_with_their_files(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Age: clips older than the limit go, all three files and their emptied day folder."""
    now = dt_util.now()
    old = make_clip(tmp_path, "cam1", now - timedelta(days=3), "motion", 10)
    recent = make_clip(tmp_path, "cam1", now - timedelta(hours=1), "action", 10)
    mine = tmp_path / "cam1" / "clips" / "door.avi"  # a name of the user's choosing
    mine.write_bytes(b"mine")
    # A crash left a temporary file; a young one is a clip being written.
    leftover = old[0].parent / ".12-00-00_motion.avi.abcd.part"
    leftover.write_bytes(b"partial")
    writing = recent[0].parent / ".13-00-00_motion.avi.efgh.part"
    writing.write_bytes(b"partial")
    ancient = dt_util.utcnow().timestamp() - 2 * 3600
    os.utime(leftover, (ancient, ancient))
    saver = make_saver(hass, tmp_path, FrameBus(), retention_days=2)
    await saver.async_start()
    await written(hass, saver)
    assert not any(path.exists() for path in old)
    assert not old[0].parent.exists()
    assert all(path.exists() for path in recent)
    assert mine.exists()
    assert not leftover.exists()
    assert writing.exists()
    assert saver.as_dict()["clip_bytes"] == 30
    await saver.async_stop()


async def test_retention_by_size_counts_clips_and_images_together(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Over the size limit, the oldest go first, clips and images alike, down to 90 % of it."""
    now = dt_util.now()
    oldest_clip = make_clip(tmp_path, "cam1", now - timedelta(minutes=50), "motion", 100 * 1024)
    image = layout.saved_frame_path(tmp_path, "cam2", now - timedelta(minutes=40), 1)
    image.parent.mkdir(parents=True)
    image.write_bytes(b"x" * 200 * 1024)
    newer_clip = make_clip(tmp_path, "cam1", now - timedelta(minutes=30), "action", 100 * 1024)
    saver = make_saver(hass, tmp_path, FrameBus(), retention_size_mb=1)
    await saver.async_start()
    await written(hass, saver)
    assert saver.as_dict()["clip_bytes"] == 600 * 1024  # 800 KiB with the image: below 1 MiB
    # A new clip of 300 KiB: 1100 KiB > 1 MiB, down to 921.6 KiB: the oldest clip goes.
    new_clip = make_clip(tmp_path, "cam1", now, "motion", 100 * 1024)
    for path in new_clip:
        saver.async_clip_saved("cam1", path, path.stat().st_size)
    await written(hass, saver)
    assert not any(path.exists() for path in oldest_clip)
    assert image.exists()
    assert all(path.exists() for path in newer_clip + new_clip)
    assert saver.as_dict()["clip_bytes"] == 600 * 1024
    assert saver.as_dict()["total_bytes"] + saver.as_dict()["clip_bytes"] <= 0.9 * MIB
    # Files elsewhere are not counted (a clip of the user's choosing).
    saver.async_clip_saved("cam1", tmp_path / "mine.avi", 10 * MIB)
    assert saver.as_dict()["clip_bytes"] == 600 * 1024
    await saver.async_stop()


def ffprobe_frames(path: str) -> int:
    output = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
            path,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    codec, frames = output.split(",")
    assert codec == "h264"
    return int(frames)


async def test_an_mp4_is_made_with_home_assistants_ffmpeg(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    ffmpeg = await setup_ffmpeg(hass)
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    sender = Sender(camera)
    sender.start()
    events = ClipEvents(hass)
    result = await record_clip(hass, duration=1, pre_roll=0)
    await sender.stop()
    # The action answers with the AVI; the MP4 follows, announced by the event.
    assert result["mp4_pending"] is True
    assert "mp4" not in result
    await wait_for(lambda: events.events, timeout=60)
    (event,) = events.events
    assert event["path"] == result["path"]
    assert event["mp4"] == str(Path(result["path"]).with_suffix(".mp4"))
    assert ffprobe_frames(event["mp4"]) == result["frames"]
    assert Path(result["path"]).exists()  # the AVI is kept
    hub = hub_entry.runtime_data
    conversions = hub.clips.as_dict()["conversions"]
    assert conversions["ffmpeg"] == ffmpeg
    assert conversions["done"] == 1
    # The panel's payload says so: its clip list is read again to show the MP4.
    assert hub.clips.figures("cam1") == {"written": 1, "converted": 1, "recording": 0}
    # The MP4 counts for retention too: the AVI, its thumbnail and the MP4.
    files = layout.clip_companions(Path(result["path"]))
    assert hub.saver.as_dict()["clip_bytes"] == sum(path.stat().st_size for path in files)


async def test_a_failing_conversion_keeps_the_avi_and_logs_once(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = tmp_path / "broken-ffmpeg"
    broken.write_text("#!/bin/sh\necho 'no codec' >&2\nexit 1\n")
    broken.chmod(0o755)
    assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {"ffmpeg_bin": str(broken)}})
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    sender = Sender(camera)
    sender.start()
    events = ClipEvents(hass)
    results = [await record_clip(hass, duration=1, pre_roll=0) for _ in range(2)]
    await sender.stop()
    await wait_for(lambda: len(events.events) == 2, timeout=30)
    assert [event["mp4"] for event in events.events] == [None, None]
    for result in results:
        assert result["mp4_pending"] is True  # queued: it failed afterwards
        avi = Path(result["path"])
        assert avi_frames(avi)
        assert sorted(path.suffix for path in avi.parent.glob(f"{avi.stem}*")) == [".avi", ".jpg"]
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "MP4" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert "no codec" in warnings[0].getMessage()
    assert hub_entry.runtime_data.clips.as_dict()["conversions"]["failed"] == 2


async def test_a_slow_conversion_does_not_hold_the_answer_and_unloading_keeps_the_avis(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
) -> None:
    """The action answers when the AVI is written, not after the MP4 (issue 20: a 5 s clip
    answered after 32.5 s); conversions are one at a time."""
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text("#!/bin/sh\nsleep 5\nexit 1\n")
    slow.chmod(0o755)
    assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {"ffmpeg_bin": str(slow)}})
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    events = ClipEvents(hass)
    sender = Sender(camera)
    sender.start()
    first = await record_clip(hass, duration=1, pre_roll=0)
    assert first["mp4_pending"] is True  # still converting (5 s), answered all the same
    assert Path(first["path"]).exists()
    assert events.events == []
    second = hass.async_create_task(record_clip(hass, duration=1, pre_roll=0))
    await wait_for(lambda: hub.clips.as_dict()["conversions"]["queued"] == 1, timeout=10)
    assert hub.clips.as_dict()["conversions"]["running"] is True
    await sender.stop()
    # Unloading stops converting: both clips stay as AVIs, and both are announced.
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    assert (await second)["mp4_pending"] is True
    await hass.async_block_till_done()
    assert [event["mp4"] for event in events.events] == [None, None]
    assert {event["path"] for event in events.events} == {first["path"], (await second)["path"]}


async def test_diagnostics_show_the_ring_memory_and_the_hub_limit(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    cameras = 5  # more than the hub's limit gives 32 MiB each
    sizes: dict[str, int] = {}
    for number in range(cameras):
        camera = await connect_camera(f"?token={HUB_TOKEN}&id=cam{number}")
        jpeg = numbered_jpeg(number)
        for _ in range(number + 1):
            await camera.send_frame(jpeg)
        sizes[f"cam{number}"] = len(jpeg) * (number + 1)
    await wait_for(
        lambda: all(
            (ring := hub.clips.stats(camera_id)["ring"]) and ring["bytes"] == size
            for camera_id, size in sizes.items()
        )
    )
    diagnostics = await async_get_config_entry_diagnostics(hass, hub_entry)
    clips = diagnostics["clips"]
    share = RING_BYTES_TOTAL // cameras
    assert share < RING_BYTES_PER_CAMERA
    assert clips["ring_bytes_per_camera"] == share
    assert clips["ring_memory_limit"] == RING_BYTES_TOTAL
    per_camera = {
        camera_id: camera["clips"]["ring"] for camera_id, camera in diagnostics["cameras"].items()
    }
    assert all(ring["max_bytes"] == share for ring in per_camera.values())
    assert clips["ring_memory"] == sum(ring["memory"] for ring in per_camera.values())
    assert clips["ring_memory"] > sum(sizes.values())  # the JPEGs and each frame's overhead
    assert clips["listener"]["frames"] == sum(number + 1 for number in range(cameras))
    assert clips["listener"]["us_per_frame"] > 0
    assert clips["open_clips"] == 0
    assert clips["conversions"]["ffmpeg"] is None
    device = dr.async_get(hass).async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    camera_diagnostics = await async_get_device_diagnostics(hass, hub_entry, device)
    assert camera_diagnostics["clips"]["ring"]["frames"] == 2
    assert camera_diagnostics["clips"]["settings"] == {
        "record": False,
        "pre_roll": 5.0,
        "post_roll": 5.0,
    }


async def test_open_clips_are_written_when_home_assistant_stops(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """Home Assistant does not unload entries when it stops: the open clips are still written."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    call = hass.async_create_task(record_clip(hass, duration=60, pre_roll=0))
    await wait_for(lambda: hub.clips.open_clips("cam1"))
    for number in range(3):
        await camera.send_frame(numbered_jpeg(number))
    await wait_for(lambda: hub.clips.stats("cam1")["open"][0]["frames"] == 3)
    diagnostics = await async_get_config_entry_diagnostics(hass, hub_entry)
    assert diagnostics["clips"]["open_clips"] == 1
    assert diagnostics["cameras"]["cam1"]["clips"]["open"][0]["reason"] == "action"
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    result = await call
    assert avi_frames(result["path"]) == [numbered_jpeg(n) for n in range(3)]
    await camera.send_frame(numbered_jpeg(9))  # the listener still runs: the clips take no more
    await wait_for(lambda: hub.cameras["cam1"].stats.frames_received == 4)
    assert ring_frames(hub) == 3
    with pytest.raises(HomeAssistantError) as error:
        await record_clip(hass, duration=1)
    assert error.value.translation_key == "not_loaded"
    # Recording turned on during a motion while Home Assistant stops: the choice is kept, no
    # clip opens (the writer pool is shut down).
    hub.clips._motion_active = lambda _camera_id: True
    await hub.clips.async_set("cam1", record=True)
    assert hub.clips.settings("cam1").record is True
    assert hub.clips.open_clips("cam1") == []
    assert await hass.config_entries.async_unload(hub_entry.entry_id)


async def test_a_removed_camera_finishes_its_clip(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    events = ClipEvents(hass)
    call = hass.async_create_task(record_clip(hass, duration=60, pre_roll=0))
    await wait_for(lambda: hub.clips.open_clips("cam1"))
    await camera.send_frame(numbered_jpeg(1))
    await wait_for(lambda: hub.clips.stats("cam1")["open"][0]["frames"] == 1)
    await camera.close()
    await wait_for(lambda: not hub.cameras["cam1"].connected)
    assert await hub.async_remove_camera("cam1")
    result = await call
    assert avi_frames(result["path"]) == [numbered_jpeg(1)]
    assert hub.clips.stats("cam1")["ring"] is None
    await hass.async_block_till_done()
    assert len(events.events) == 1


# -- caps on what a user or an automation can start (issue 18) -----------------------------------


def our_threads() -> int:
    """Threads of this integration (the executor's workers are Home Assistant's)."""
    return sum(1 for thread in threading.enumerate() if thread.name.startswith("esp32_camera"))


def open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def part_files(root: Path) -> list[Path]:
    return list(root.rglob("*.part"))


async def test_concurrent_record_calls_are_capped_and_every_one_is_answered(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    """200 record calls at once: a few clips, the rest refused at once; threads and fds bounded."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    sender = Sender(camera)
    sender.start()
    await wait_for(lambda: ring_frames(hub) >= 5)
    threads_before, fds_before = our_threads(), open_fds()
    calls = [
        hass.async_create_task(record_clip(hass, duration=1, pre_roll=0.2)) for _ in range(200)
    ]
    peak_threads = peak_fds = 0
    while not all(call.done() for call in calls):
        peak_threads, peak_fds = max(peak_threads, our_threads()), max(peak_fds, open_fds())
        await asyncio.sleep(0.01)
    results = await asyncio.gather(*calls, return_exceptions=True)
    await sender.stop()

    recorded = [result for result in results if isinstance(result, dict)]
    refused = [
        result
        for result in results
        if isinstance(result, HomeAssistantError) and result.translation_key == "too_many_clips"
    ]
    assert len(recorded) + len(refused) == 200, [r for r in results if not isinstance(r, dict)]
    assert 1 <= len(recorded) <= clip_recording.MAX_ACTION_CLIPS_PER_CAMERA
    assert all(avi_frames(result["path"]) for result in recorded)
    # Translated, with the limit in the message.
    assert refused[0].translation_placeholders == {
        "camera_id": "cam1",
        "limit": str(clip_recording.MAX_ACTION_CLIPS_PER_CAMERA),
    }
    assert str(clip_recording.MAX_ACTION_CLIPS_PER_CAMERA) in str(refused[0])
    # No thread per clip: the hub's writer pool; a file per open clip at most.
    assert peak_threads - threads_before <= clip_recording.CLIP_WRITERS
    assert peak_fds - fds_before <= clip_recording.MAX_ACTION_CLIPS_PER_CAMERA + 8
    assert part_files(tmp_path) == []


async def test_the_hub_caps_open_clips_across_its_cameras(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clip_recording, "MAX_ACTION_CLIPS_PER_CAMERA", 2)
    monkeypatch.setattr(clip_recording, "MAX_ACTION_CLIPS_PER_HUB", 3)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    cameras = [await connect_camera(f"?token={HUB_TOKEN}&id=cam{n}") for n in (1, 2)]
    await wait_for(lambda: all(hass.states.get(f"camera.esp32_camera_cam{n}") for n in (1, 2)))

    async def call(number: int) -> Any:
        return await hass.services.async_call(
            DOMAIN,
            "record",
            {"entity_id": f"camera.esp32_camera_cam{number}", "duration": 1, "pre_roll": 0},
            blocking=True,
            return_response=True,
        )

    open_calls = [hass.async_create_task(call(1)) for _ in range(2)]
    await wait_for(lambda: len(hub.clips.open_clips("cam1")) == 2)
    with pytest.raises(HomeAssistantError) as error:
        await call(1)  # the camera's cap
    assert error.value.translation_key == "too_many_clips"
    open_calls.append(hass.async_create_task(call(2)))
    await wait_for(lambda: len(hub.clips.open_clips("cam2")) == 1)
    with pytest.raises(HomeAssistantError) as error:
        await call(2)  # the hub's cap, though cam2 has one clip only
    assert error.value.translation_key == "too_many_hub_clips"
    assert error.value.translation_placeholders == {"limit": "3"}
    for camera in cameras:
        await camera.send_frame(numbered_jpeg(1))
    for result in await asyncio.gather(*open_calls):
        assert result is not None
    assert hub.clips.as_dict()["open_clips"] == 0
    with pytest.raises(HomeAssistantError) as error:  # room again: not refused (no frame came)
        await call(2)
    assert error.value.translation_key == "record_no_frames"


async def test_concurrent_snapshot_writes_are_capped(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow card: 2 snapshot writes at once, 16 wait their turn, the others are refused."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    await camera.send_frame(numbered_jpeg(1))
    await wait_for(lambda: hub_entry.runtime_data.cameras["cam1"].latest_frame is not None)
    writing = peak = 0
    lock, release = threading.Lock(), threading.Event()
    real_write = services.write_file_atomic

    def slow_write(*args: Any, **kwargs: Any) -> None:
        nonlocal writing, peak
        with lock:
            writing += 1
            peak = max(peak, writing)
        try:
            release.wait(10)
            real_write(*args, **kwargs)
        finally:
            with lock:
                writing -= 1

    monkeypatch.setattr(services, "write_file_atomic", slow_write)

    async def snapshot(number: int) -> Any:
        return await hass.services.async_call(
            DOMAIN,
            "snapshot",
            {"entity_id": ENTITY, "filename": f"snap{number}.jpg"},
            blocking=True,
            return_response=True,
        )

    calls = [hass.async_create_task(snapshot(n)) for n in range(30)]
    await wait_for(lambda: sum(call.done() for call in calls) == 12 and writing == 2)
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    saved = [result for result in results if isinstance(result, dict)]
    refused = [
        result
        for result in results
        if isinstance(result, HomeAssistantError) and result.translation_key == "too_many_snapshots"
    ]
    assert (
        len(saved)
        == clip_recording.MAX_SNAPSHOT_WRITES + clip_recording.MAX_SNAPSHOTS_WAITING
        == 18
    )
    assert len(refused) == 12, results
    assert "2" in str(refused[0])
    assert peak == clip_recording.MAX_SNAPSHOT_WRITES
    assert hub_entry.runtime_data.clips.as_dict()["caps"]["refused"] == 12


async def test_the_ring_memory_is_shared_among_connected_cameras_only(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cameras that sent a frame and left no longer shrink the rings of those still here."""
    monkeypatch.setattr(clip_recording, "RING_BYTES_TOTAL", 8 * MIB)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    cameras = {}
    for number in range(8):
        camera = cameras[number] = await connect_camera(f"?token={HUB_TOKEN}&id=cam{number}")
        await camera.send_frame(numbered_jpeg(number))
    await wait_for(lambda: all(ring_of(hub, f"cam{n}") for n in range(8)))
    assert hub.clips.ring_bytes_per_camera == MIB
    for number in range(1, 8):  # seven leave
        await cameras[number].close()
    await wait_for(lambda: all(not hub.cameras[f"cam{n}"].connected for n in range(1, 8)))
    assert hub.clips.ring_bytes_per_camera == 8 * MIB
    assert ring_of(hub, "cam0")["max_bytes"] == 8 * MIB
    assert ring_of(hub, "cam5")["frames"] == 0  # a departed camera's ring is freed
    # One comes back: it gets its share again, at its first frame.
    camera = await connect_camera(f"?token={HUB_TOKEN}&id=cam5")
    await camera.send_frame(numbered_jpeg(5))
    await wait_for(lambda: ring_of(hub, "cam5")["frames"] == 1)
    assert hub.clips.ring_bytes_per_camera == 4 * MIB
    assert ring_of(hub, "cam0")["max_bytes"] == ring_of(hub, "cam5")["max_bytes"] == 4 * MIB


def ring_of(hub: Any, camera_id: str) -> Any:
    return hub.clips.stats(camera_id)["ring"]


async def test_clips_interrupted_by_a_crash_are_recovered_when_the_hub_starts(
    hass: HomeAssistant, hub_entry: MockConfigEntry, tmp_path: Path
) -> None:
    """kill -9 during a clip: at the next start its frames are a playable clip, no `.part` left."""
    # Today: an older clip is retention's (7 days by default) as soon as it is a clip again.
    day = tmp_path / "saved" / "cam1" / "clips" / dt_util.now().strftime("%Y-%m-%d")
    part = crashed_part(day, "10-00-00_action.avi", 30)
    (day / ".10-00-05_motion.avi.q.part").write_bytes(bytes(100))  # not one complete frame
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    hub = hub_entry.runtime_data
    clip = day / "10-00-00_action.avi"
    stored = avi_frames(clip)
    sent = [frame.data for frame in scene_clip_frames(30)]
    assert stored == sent
    assert (day / "10-00-00_action.jpg").read_bytes() == sent[0]
    assert not part.exists()
    assert part_files(tmp_path) == []
    assert hub.clips.as_dict()["recovery"] == {"recovered": 1, "removed": 1, "busy": 0}
    # Counted for retention like any clip of the layout.
    files = clip.stat().st_size + (day / "10-00-00_action.jpg").stat().st_size
    await wait_for(lambda: hub.saver.as_dict()["clip_bytes"] == files)
