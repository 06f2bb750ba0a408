"""Clips for browsers: the panel's clip list (WebSocket) and the MJPEG replay view.

Real hass, real HTTP and WebSocket clients, clips written by the real AVI writer. Timing is checked
loosely (order, and a replay not faster than the recording): the machine may be busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
import struct
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.esp32_camera.const import CONF_SAVE_DIRECTORY, DOMAIN
from custom_components.esp32_camera.disk.listing import clip_details
from custom_components.esp32_camera.views.clip_replay import MAX_FRAME_GAP
from tests.helpers import (
    CHROMIUM_IMAGE_ACCEPT,
    MP4_BYTES,
    Go2rtcPartReader,
    MultipartRuleError,
    avi_frames,
    local,
    stored_cameras,
    wait_for,
    write_clip,
)

# Recorded times of the replayed clip's frames (seconds from the first): irregular, as a camera's.
TIMES = [0.0, 0.12, 0.2, 0.45, 0.5, 0.8]
STARTED = local(2026, 1, 2, 8, 0, 5)


@pytest.fixture
async def hub(
    hass: HomeAssistant, hub_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> MockConfigEntry:
    """A loaded hub that knows cam1 and cam2 (from its store)."""
    stored_cameras(hass_storage, hub_entry.entry_id, {"cam1": "Garden", "cam2": "Porch"})
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    return hub_entry


@pytest.fixture
def clip(hub: MockConfigEntry) -> Path:
    """A motion clip of cam1 with six frames at TIMES."""
    return write_clip(Path(hub.options[CONF_SAVE_DIRECTORY]), "cam1", STARTED, times=TIMES)


def replay_path(entry: MockConfigEntry, clip: Path, camera_id: str = "cam1") -> str:
    return f"/api/{DOMAIN}/clip/{entry.entry_id}/{camera_id}/{clip.parent.name}/{clip.name}"


async def test_replay_sends_every_frame_at_its_recorded_time(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    clip: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """A reader by go2rtc's rules (Content-Length parts) gets the AVI's frames, paced, then the end."""
    client = await hass_client()
    loop = asyncio.get_running_loop()
    requested = loop.time()
    response = await client.get(replay_path(hub, clip), headers={"Accept": "*/*"})
    assert response.status == 200
    assert response.content_type == "multipart/x-mixed-replace"
    reader = Go2rtcPartReader(response.content)
    frames, arrived = [], []
    for _ in TIMES:
        async with asyncio.timeout(10):
            headers, body = await reader.next_part()
        arrived.append(loop.time())
        assert headers == {"Content-Type": "image/jpeg", "Content-Length": str(len(body))}
        frames.append(body)
    assert frames == avi_frames(clip)
    # The stream is finite: the closing boundary, then the end.
    assert await response.content.read() == b"--frame--\r\n"
    # Paced by the recording: no frame before its time (a busy machine may make them later).
    assert all(at - requested >= recorded for at, recorded in zip(arrived, TIMES, strict=True)), [
        round(at - requested, 3) for at in arrived
    ]
    assert arrived[-1] - arrived[0] >= TIMES[-1] - 0.1


async def test_replay_for_an_image_ends_each_part_and_closes(
    hub: MockConfigEntry, clip: Path, hass_client: ClientSessionGenerator
) -> None:
    """An <img> gets each JPEG followed by the next boundary; the last by the closing one."""
    client = await hass_client()
    response = await client.get(replay_path(hub, clip), headers={"Accept": CHROMIUM_IMAGE_ACCEPT})
    assert response.status == 200
    async with asyncio.timeout(10):
        body = await response.read()
    part = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n"
    expected = part + (b"\r\n" + part).join(avi_frames(clip)) + b"\r\n--frame--\r\n"
    assert body == expected


async def test_leaving_a_replay_stops_it_and_closes_the_clip(
    hub: MockConfigEntry, hass_client: ClientSessionGenerator, tmp_path: Path
) -> None:
    """A viewer who leaves mid-clip frees the open file (the replay does not run on)."""
    root = Path(hub.options[CONF_SAVE_DIRECTORY])
    long_clip = write_clip(root, "cam1", STARTED, times=[index * 0.5 for index in range(40)])

    def clip_open() -> bool:
        descriptors = Path("/proc/self/fd")
        return any(
            descriptor.resolve() == long_clip.resolve() for descriptor in descriptors.iterdir()
        )

    client = await hass_client()
    response = await client.get(replay_path(hub, long_clip), headers={"Accept": "*/*"})
    await Go2rtcPartReader(response.content).next_part()
    assert clip_open()
    response.close()
    await wait_for(lambda: not clip_open(), timeout=10)


@pytest.mark.parametrize(
    "path",
    [
        "/api/{domain}/clip/{entry}/cam1/2026-01-02/08-00-05_motion.mp4",
        "/api/{domain}/clip/{entry}/cam1/2026-01-02/07-00-00_motion.avi",  # no such clip
        "/api/{domain}/clip/{entry}/cam1/2026-01-02/..%2F..%2F..%2Fclip.avi",
        "/api/{domain}/clip/{entry}/cam1/..%2F..%2Foutside/08-00-05_motion.avi",
        "/api/{domain}/clip/{entry}/cam1/2026-01-02/08-00-05_motion.avi%00.jpg",
        "/api/{domain}/clip/{entry}/cam1/2026-1-2/08-00-05_motion.avi",
        "/api/{domain}/clip/{entry}/cam1/2026-01-02/8-0-5_motion.avi",
        "/api/{domain}/clip/{entry}/cam1/2026-01-02/09-00-00_motion.avi",  # a link out
        "/api/{domain}/clip/{entry}/cam1/2026-01-02/10-00-00_motion.avi",  # not an AVI
        "/api/{domain}/clip/{entry}/cam9/2026-01-02/08-00-05_motion.avi",  # unknown camera
        "/api/{domain}/clip/{entry}/cam2/2026-01-02/08-00-05_motion.avi",  # cam1's clip
        "/api/{domain}/clip/unknown/cam1/2026-01-02/08-00-05_motion.avi",
    ],
)
async def test_replay_refuses_what_is_not_a_clip(
    hub: MockConfigEntry,
    clip: Path,
    tmp_path: Path,
    hass_client: ClientSessionGenerator,
    path: str,
) -> None:
    elsewhere = write_clip(tmp_path / "elsewhere", "cam1", local(2026, 1, 2, 9, 0, 0))
    (clip.parent / elsewhere.name).symlink_to(elsewhere)
    (clip.parent / "10-00-00_motion.avi").write_bytes(b"RIFF, but not really")
    client = await hass_client()
    response = await client.get(path.format(domain=DOMAIN, entry=hub.entry_id))
    # Home Assistant's own filter refuses an encoded `..` or NUL (400) before the view does (404).
    assert response.status in (400, 404)


async def test_replay_needs_a_user_or_a_signature(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    clip: Path,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(replay_path(hub, clip))).status == 401
    assert await hass.config_entries.async_unload(hub.entry_id)
    assert (await anonymous.get(replay_path(hub, clip))).status == 401


async def test_replay_of_an_unloaded_hub_is_gone(
    hass: HomeAssistant, hub: MockConfigEntry, clip: Path, hass_client: ClientSessionGenerator
) -> None:
    assert await hass.config_entries.async_unload(hub.entry_id)
    assert (await (await hass_client()).get(replay_path(hub, clip))).status == 404


async def test_clip_list_newest_first_with_details_and_signed_urls(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    root = Path(hub.options[CONF_SAVE_DIRECTORY])
    oldest = write_clip(root, "cam1", local(2026, 1, 1, 22, 0, 0), reason="action")
    newest = write_clip(root, "cam1", local(2026, 1, 2, 9, 15, 0), mp4=True, times=TIMES)
    damaged = root / "cam1" / "clips" / "2026-01-02" / "09-00-00_motion.avi"
    damaged.write_bytes(b"RIFF\x00\x00\x00\x00AVI cut short")
    write_clip(root, "cam2", local(2026, 1, 3, 0, 0, 0))  # another camera's

    # Listing reads: a user who is not an administrator may.
    client = await hass_ws_client(hass, hass_read_only_access_token)
    await client.send_json_auto_id({"type": f"{DOMAIN}/clips", "camera_id": "cam1"})
    answer = await client.receive_json()
    assert answer["success"], answer
    result = answer["result"]
    # A damaged clip is not listed, and is counted.
    assert result["total"] == 2
    assert result["skipped"] == 1
    clips = result["clips"]
    assert [clip["name"] for clip in clips] == [
        "cam1/clips/2026-01-02/09-15-00_motion.avi",
        "cam1/clips/2026-01-01/22-00-00_action.avi",
    ]
    first, last = clips
    # The clip's start is its name's local time, in Home Assistant's time zone.
    assert dt_util.get_default_time_zone() != UTC
    assert first["started_at"] == local(2026, 1, 2, 9, 15, 0).isoformat()
    assert first["reason"] == "motion"
    assert last["reason"] == "action"
    details = clip_details(newest)
    assert details is not None
    assert first["frames"] == len(TIMES) == details.frames
    # The declared rate is the average: (6 - 1) / 0.8 s, so six frames last 0.96 s.
    assert first["duration"] == pytest.approx(0.96, abs=0.01)
    assert first["replay"] == TIMES[-1]  # the player's end: the last frame's time
    assert (first["width"], first["height"]) == (160, 120)
    assert first["size"] == newest.stat().st_size
    assert last["video_url"] is None

    anonymous = await hass_client_no_auth()
    for url, expected in (
        (first["thumbnail_url"], newest.with_suffix(".jpg").read_bytes()),
        (first["video_url"], MP4_BYTES),
        (last["thumbnail_url"], oldest.with_suffix(".jpg").read_bytes()),
    ):
        assert "authSig=" in url
        response = await anonymous.get(url)
        assert response.status == 200
        assert await response.read() == expected
    response = await anonymous.get(first["replay_url"], headers={"Accept": CHROMIUM_IMAGE_ACCEPT})
    assert response.status == 200
    body = await response.read()
    assert all(frame in body for frame in avi_frames(newest))

    await client.send_json_auto_id({"type": f"{DOMAIN}/clips", "camera_id": "cam1", "limit": 1})
    limited = (await client.receive_json())["result"]
    assert [clip["name"] for clip in limited["clips"]] == [first["name"]]
    assert limited["total"] == 3  # what was not read is counted, as it is
    assert limited["skipped"] == 0
    await client.send_json_auto_id({"type": f"{DOMAIN}/clips", "camera_id": "cam2"})
    assert len((await client.receive_json())["result"]["clips"]) == 1


async def test_clip_list_of_a_camera_without_clips_or_unknown(
    hass: HomeAssistant, hub: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": f"{DOMAIN}/clips", "camera_id": "cam2"})
    assert (await client.receive_json())["result"] == {"total": 0, "skipped": 0, "clips": []}
    await client.send_json_auto_id({"type": f"{DOMAIN}/clips", "camera_id": "cam9"})
    answer = await client.receive_json()
    assert not answer["success"]
    assert answer["error"]["translation_key"] == "unknown_camera"
    await client.send_json_auto_id({"type": f"{DOMAIN}/clips", "camera_id": "cam1", "limit": 0})
    assert (await client.receive_json())["error"]["code"] == "invalid_format"


def test_clip_details_of_what_is_not_a_clip(tmp_path: Path) -> None:
    assert clip_details(tmp_path / "missing.avi") is None
    (tmp_path / "short.avi").write_bytes(b"RIFF")
    assert clip_details(tmp_path / "short.avi") is None


async def test_a_clip_cut_while_it_plays_ends_its_replay(
    hub: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    root = Path(hub.options[CONF_SAVE_DIRECTORY])
    long_clip = write_clip(root, "cam1", STARTED, times=[index * 0.2 for index in range(20)])
    client = await hass_client()
    response = await client.get(replay_path(hub, long_clip), headers={"Accept": "*/*"})
    reader = Go2rtcPartReader(response.content)
    await reader.next_part()
    with long_clip.open("r+b") as file:  # retention, or a full disk, takes its end away
        file.truncate(1024)

    async def read_to_the_end() -> None:
        while True:
            await reader.next_part()

    with pytest.raises(MultipartRuleError, match="stream ended"):
        await asyncio.wait_for(read_to_the_end(), timeout=5)


async def test_replay_ends_when_the_hub_unloads(
    hass: HomeAssistant, hub: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    root = Path(hub.options[CONF_SAVE_DIRECTORY])
    long_clip = write_clip(root, "cam1", STARTED, times=[index * 0.5 for index in range(40)])
    client = await hass_client()
    response = await client.get(replay_path(hub, long_clip), headers={"Accept": "*/*"})
    reader = Go2rtcPartReader(response.content)
    await reader.next_part()
    assert await hass.config_entries.async_unload(hub.entry_id)

    async def read_to_the_end() -> None:
        while True:
            await reader.next_part()

    # The 20 s clip ends within seconds, without its closing boundary.
    with pytest.raises(MultipartRuleError, match="stream ended"):
        await asyncio.wait_for(read_to_the_end(), timeout=5)


def crafted(valid: Path, name: str, damage: Callable[[bytes], bytes]) -> Path:
    """A copy of a valid clip, damaged as a hostile file in the clips folder would be."""
    path = valid.with_name(name)
    path.write_bytes(damage(valid.read_bytes()))
    return path


def rate(value: int) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        position = data.index(b"strh") + 8 + 24  # dwRate
        return data[:position] + struct.pack("<I", value) + data[position + 4 :]

    return damage


async def test_a_crafted_clip_is_skipped_and_never_a_500(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    clip: Path,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 18: dwRate 0 made the replay answer 500 and the whole clip list fail."""
    hostile = crafted(clip, "09-00-00_motion.avi", rate(0))
    client = await hass_ws_client(hass)
    for _ in range(3):
        await client.send_json_auto_id({"type": f"{DOMAIN}/clips", "camera_id": "cam1"})
        answer = await client.receive_json()
        assert answer["success"], answer
        assert [item["name"] for item in answer["result"]["clips"]] == [
            clip.relative_to(hub.options[CONF_SAVE_DIRECTORY]).as_posix()
        ]
        assert answer["result"]["skipped"] == 1
    # Reported, rate-limited: one line for three listings.
    lines = [record for record in caplog.records if "unreadable clip" in record.getMessage()]
    assert len(lines) == 1
    assert "dwRate" in lines[0].getMessage()
    response = await (await hass_client()).get(replay_path(hub, hostile), headers={"Accept": "*/*"})
    assert response.status == 404
    # The good clip still plays.
    response = await (await hass_client()).get(replay_path(hub, clip), headers={"Accept": "*/*"})
    assert response.status == 200


async def test_a_long_gap_in_a_clip_is_replayed_shortened(
    hub: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """A frame gap is capped: a clip cannot hold its viewer (and its file) for as long as it says."""
    root = Path(hub.options[CONF_SAVE_DIRECTORY])
    gap = write_clip(root, "cam1", STARTED, times=[0.0, 0.1, 60.0, 60.1])
    client = await hass_client()
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.get(replay_path(hub, gap), headers={"Accept": CHROMIUM_IMAGE_ACCEPT})
    assert response.status == 200
    async with asyncio.timeout(MAX_FRAME_GAP + 10):
        body = await response.read()
    assert all(frame in body for frame in avi_frames(gap))
    assert loop.time() - started >= MAX_FRAME_GAP  # the gap is kept, shortened


async def test_replay_from_a_start_sends_the_frame_on_screen_then_and_the_rest(
    hub: MockConfigEntry, clip: Path, hass_client: ClientSessionGenerator
) -> None:
    """The player's seek: from 0.3 s the frame shown then (at 0.2 s) comes first, then the rest,
    at their times from there."""
    client = await hass_client()
    loop = asyncio.get_running_loop()
    requested = loop.time()
    response = await client.get(f"{replay_path(hub, clip)}?start=0.3", headers={"Accept": "*/*"})
    assert response.status == 200
    reader = Go2rtcPartReader(response.content)
    frames, arrived = [], []
    for _ in TIMES[2:]:
        async with asyncio.timeout(10):
            frames.append((await reader.next_part())[1])
        arrived.append(loop.time() - requested)
    assert frames == avi_frames(clip)[2:]
    assert await response.content.read() == b"--frame--\r\n"
    # Paced from the start: the frame recorded at 0.8 s comes 0.6 s after 0.2's, not 0.8 s.
    assert arrived[-1] >= TIMES[-1] - TIMES[2] - 0.02
    # Past the end: the last frame, and the end.
    response = await client.get(f"{replay_path(hub, clip)}?start=99", headers={"Accept": "*/*"})
    reader = Go2rtcPartReader(response.content)
    async with asyncio.timeout(10):
        assert (await reader.next_part())[1] == avi_frames(clip)[-1]
    assert await response.content.read() == b"--frame--\r\n"


async def test_a_still_is_the_frame_on_screen_at_its_time(
    hub: MockConfigEntry, clip: Path, hass_client: ClientSessionGenerator
) -> None:
    """What a paused player shows: one JPEG, not a stream."""
    client = await hass_client()
    frames = avi_frames(clip)
    for start, number in (("0", 0), ("0.45", 3), ("0.49", 3), ("0.8", 5), ("5", 5)):
        response = await client.get(f"{replay_path(hub, clip)}?start={start}&still=1")
        assert response.status == 200
        assert response.content_type == "image/jpeg"
        assert await response.read() == frames[number], start


@pytest.mark.parametrize(
    "query", ["start=-1", "start=soon", "start=nan", "start=inf", "still=yes", "start=1&still=0"]
)
async def test_a_bad_start_or_still_is_refused_clearly(
    hub: MockConfigEntry, clip: Path, hass_client: ClientSessionGenerator, query: str
) -> None:
    client = await hass_client()
    response = await client.get(f"{replay_path(hub, clip)}?{query}")
    assert response.status == 400
    assert "start must be a number of seconds" in await response.text()


async def test_a_seek_is_signed_by_home_assistant_for_an_img(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    clip: Path,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The panel asks `auth/sign_path` for the replay with its start: the signature covers it."""
    client = await hass_ws_client(hass)
    path = f"{replay_path(hub, clip)}?start=0.45&still=1"
    await client.send_json_auto_id({"type": "auth/sign_path", "path": path, "expires": 30})
    signed = (await client.receive_json())["result"]["path"]
    anonymous = await hass_client_no_auth()
    response = await anonymous.get(signed)
    assert response.status == 200
    assert await response.read() == avi_frames(clip)[3]
    # Another start under the same signature is refused.
    tampered = signed.replace("start=0.45", "start=0")
    assert (await anonymous.get(tampered)).status == 401
