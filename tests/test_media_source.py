"""The save directory in Home Assistant's Media panel: real hass, media_source, real files.

Cameras come from the hub's store (known from an earlier run, not connected): the Media panel
shows what was saved whether or not a camera is online.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import os
from pathlib import Path
from typing import Any

from homeassistant.components import media_source
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import Unresolvable
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.esp32_camera.const import CONF_SAVE_DIRECTORY, DOMAIN
from custom_components.esp32_camera.hub.devices import camera_device_identifier, camera_unique_id
from custom_components.esp32_camera.media_source import (
    LIST_LIMIT,
    clock_title,
    day_title,
    length_title,
)
from tests.helpers import (
    MP4_BYTES,
    add_hub_entry,
    avi_frames,
    jpeg_bytes,
    local,
    stored_cameras,
    wait_for,
    write_clip,
)

SOURCE = f"media-source://{DOMAIN}"


@pytest.fixture
async def hub(
    hass: HomeAssistant, hub_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> MockConfigEntry:
    """A loaded hub that knows cam1 (Garden) and cam2 (Porch), and the media_source integration."""
    cameras = {"cam1": "Garden", "cam2": "Porch", "192.168.1.50": None}  # the last: stock firmware
    stored_cameras(hass_storage, hub_entry.entry_id, cameras)
    for camera_id, name in cameras.items():  # their devices, as an earlier run named them
        dr.async_get(hass).async_get_or_create(
            config_entry_id=hub_entry.entry_id,
            identifiers={camera_device_identifier(hub_entry.entry_id, camera_id)},
            name=name or f"ESP32 camera {camera_id}",
        )
    assert await async_setup_component(hass, "media_source", {})
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    return hub_entry


def save_root(entry: MockConfigEntry) -> Path:
    return Path(entry.options[CONF_SAVE_DIRECTORY])


def write(path: Path, data: bytes, modified: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if modified is not None:
        os.utime(path, (modified, modified))
    return path


async def browse(hass: HomeAssistant, identifier: str = "") -> Any:
    return await media_source.async_browse_media(
        hass, f"{SOURCE}/{identifier}" if identifier else SOURCE
    )


async def test_one_hub_shows_its_cameras_by_device_name(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier(
        camera_device_identifier(hub.entry_id, "cam2"), hub.entry_id
    )
    assert device is not None
    devices.async_update_device(device.id, name_by_user="Front door")
    camera_entity = er.async_get(hass).async_get_entity_id(
        "camera", DOMAIN, camera_unique_id(hub.entry_id, "cam1", "camera")
    )

    root = await browse(hass)
    assert root.title == "ESP32 Camera"
    assert [(child.title, child.identifier) for child in root.children] == [
        ("ESP32 camera 192.168.1.50", f"{hub.entry_id}/192.168.1.50"),
        ("Front door", f"{hub.entry_id}/cam2"),
        ("Garden", f"{hub.entry_id}/cam1"),
    ]
    assert all(child.can_expand and not child.can_play for child in root.children)
    # The folder's picture is the camera's still image (Home Assistant's camera proxy).
    assert root.children[2].thumbnail == f"/api/camera_proxy/{camera_entity}"

    camera = await browse(hass, f"{hub.entry_id}/cam1")
    assert camera.title == "Garden"
    assert [(child.title, child.identifier) for child in camera.children] == [
        ("Clips", f"{hub.entry_id}/cam1/clips"),
        ("Snapshots", f"{hub.entry_id}/cam1/snapshots"),
        ("Saved images", f"{hub.entry_id}/cam1/saved"),
    ]
    # The sources list of the Media panel has this integration.
    sources = await media_source.async_browse_media(hass, None)
    assert "ESP32 Camera" in [child.title for child in sources.children]


async def test_a_camera_waiting_for_approval_is_not_shown(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    connect_camera: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    await connect_camera("?id=stranger", register=True)  # no token: it waits for approval
    await wait_for(lambda: "127.0.0.1" in hub.runtime_data.cameras)
    clip = write_clip(save_root(hub), "127.0.0.1", local(2026, 1, 2, 8, 0, 5))  # its address's
    root = await browse(hass)
    assert len(root.children) == 3
    assert "127.0.0.1" not in [child.identifier.split("/")[-1] for child in root.children]
    with pytest.raises(BrowseError):
        await browse(hass, f"{hub.entry_id}/127.0.0.1")
    answer = await (await hass_client()).get(
        f"/api/{DOMAIN}/clip/{hub.entry_id}/127.0.0.1/{clip.parent.name}/{clip.name}"
    )
    assert answer.status == 404


async def test_folder_titles_follow_the_server_language(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    await hass.config.async_update(language="es")
    camera = await browse(hass, f"{hub.entry_id}/cam1")
    assert [child.title for child in camera.children] == [
        "Clips",
        "Capturas",
        "Imágenes guardadas",
    ]


async def test_clips_newest_first_with_thumbnails_and_what_plays_them(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    root = save_root(hub)
    oldest = write_clip(root, "cam1", local(2026, 1, 1, 23, 59, 0), reason="action")
    newest = write_clip(root, "cam1", local(2026, 1, 2, 8, 0, 5), mp4=True)
    middle = write_clip(root, "cam1", local(2026, 1, 2, 7, 30, 0), thumbnail=False)
    write_clip(root, "cam2", local(2026, 1, 3, 0, 0, 0))  # another camera's
    days = root / "cam1" / "clips"
    write(days / "2026-01-02" / ".07-45-00_motion.avi.x1.part", b"half a clip")  # being written
    write(days / "2026-01-02" / "notes.txt", b"not a clip")
    write(days / "not-a-day" / "09-00-00_motion.avi", b"outside the layout")

    # The clips by day, newest first, each day with its newest clip's thumbnail.
    folder = await browse(hass, f"{hub.entry_id}/cam1/clips")
    assert folder.title == "Clips"
    this_year = dt_util.now().year == 2026
    assert [(child.title, child.identifier) for child in folder.children] == [
        (
            "Fri, Jan 2" if this_year else "Fri, Jan 2, 2026",
            f"{hub.entry_id}/cam1/clips/2026-01-02",
        ),
        (
            "Thu, Jan 1" if this_year else "Thu, Jan 1, 2026",
            f"{hub.entry_id}/cam1/clips/2026-01-01",
        ),
    ]
    assert all(child.can_expand and not child.can_play for child in folder.children)
    assert [child.thumbnail for child in folder.children] == [
        f"/api/{DOMAIN}/saved/{hub.entry_id}/cam1/clips/{path.parent.name}/{path.stem}.jpg"
        for path in (newest, oldest)
    ]
    # A day's clips: the time and the length, short enough never to be cut; an action says so.
    clips = await browse(hass, f"{hub.entry_id}/cam1/clips/2026-01-02")
    assert clips.title == folder.children[0].title
    assert clips.not_shown == 0
    assert [child.title for child in clips.children] == ["8:00:05 AM · 1 s", "7:30:00 AM · 1 s"]
    earlier = await browse(hass, f"{hub.entry_id}/cam1/clips/2026-01-01")
    assert [child.title for child in earlier.children] == ["11:59:00 PM · 1 s · action"]
    assert [child.identifier for child in clips.children + earlier.children] == [
        f"{hub.entry_id}/cam1/clips/{path.parent.name}/{path.name}"
        for path in (newest, middle, oldest)
    ]
    assert all(child.can_play and not child.can_expand for child in clips.children)
    assert [child.media_content_type for child in clips.children + earlier.children] == [
        "video/mp4",
        "image/jpeg",
        "image/jpeg",
    ]
    # A clip's thumbnail is its .jpg, an authenticated path (the Media panel sends the token).
    thumbnail = clips.children[0].thumbnail
    assert (
        thumbnail == f"/api/{DOMAIN}/saved/{hub.entry_id}/cam1/clips/2026-01-02/08-00-05_motion.jpg"
    )
    assert clips.children[1].thumbnail is None
    user = await hass_client()
    answer = await user.get(thumbnail)
    assert answer.status == 200
    assert await answer.read() == newest.with_suffix(".jpg").read_bytes()
    assert (await (await hass_client_no_auth()).get(thumbnail)).status == 401

    # Converted: the MP4 (H.264) plays in the browser's <video>.
    played = await media_source.async_resolve_media(hass, clips.children[0].media_content_id, None)
    assert played.mime_type == "video/mp4"
    answer = await user.get(played.url)
    assert answer.status == 200
    assert answer.content_type == "video/mp4"
    assert await answer.read() == MP4_BYTES
    # Not converted: the MJPEG replay, which the Media panel shows in an <img>.
    played = await media_source.async_resolve_media(hass, clips.children[1].media_content_id, None)
    assert played.mime_type == "image/jpeg"
    assert played.url == f"/api/{DOMAIN}/clip/{hub.entry_id}/cam1/2026-01-02/07-30-00_motion.avi"
    # What the Media panel gets: a signed URL, which an <img> loads without a token.
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "media_source/resolve_media",
            "media_content_id": clips.children[1].media_content_id,
        }
    )
    resolved = (await client.receive_json())["result"]
    assert resolved["mime_type"] == "image/jpeg"
    assert "authSig=" in resolved["url"]
    answer = await (await hass_client_no_auth()).get(resolved["url"], headers={"Accept": "*/*"})
    assert answer.status == 200
    assert answer.content_type == "multipart/x-mixed-replace"
    body = await answer.read()
    frames = avi_frames(middle)
    assert all(frame in body for frame in frames)
    assert body.endswith(b"--frame--\r\n")


async def test_snapshots_and_saved_images_newest_first_and_bounded(
    hass: HomeAssistant, hub: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    camera = save_root(hub) / "cam1"
    picture = jpeg_bytes()
    write(camera / "snapshots" / "2026-01-02_10-30-00.000001.jpg", picture, 300)
    write(camera / "snapshots" / "garage door.jpg", picture, 400)  # a name chosen in an action
    write(camera / "snapshots" / "2026-01-01_09-00-00.000001.jpg", picture, 100)
    write(camera / "snapshots" / ".esp32cam-0123.tmp", picture)  # a write in progress
    for day, hour in (("2026-01-01", "23"), ("2026-01-02", "00"), ("2026-01-02", "09")):
        write(camera / day / hour / f"{hour}-00-00.000000_1.jpg", picture)
    busy = camera / "2026-01-02" / "10"
    for second in range(LIST_LIMIT + 3):  # more than a folder shows
        name = f"10-{second // 60:02d}-{second % 60:02d}.250000_{second}.jpg"
        write(busy / name, picture)
    write(busy / "notes.txt", b"not an image")

    snapshots = await browse(hass, f"{hub.entry_id}/cam1/snapshots")
    assert [child.title for child in snapshots.children] == [
        "garage door.jpg",
        "2026-01-02 10:30:00",
        "2026-01-01 09:00:00",
    ]
    assert all(child.media_content_type == "image/jpeg" for child in snapshots.children)
    # A picture is its own thumbnail, and what it resolves to.
    first = snapshots.children[0]
    played = await media_source.async_resolve_media(hass, first.media_content_id, None)
    assert played.mime_type == "image/jpeg"
    assert played.url == first.thumbnail
    answer = await (await hass_client()).get(played.url)
    assert answer.status == 200
    assert await answer.read() == picture

    saved = await browse(hass, f"{hub.entry_id}/cam1/saved")
    assert [child.title for child in saved.children] == ["2026-01-02", "2026-01-01"]
    hours = await browse(hass, f"{hub.entry_id}/cam1/saved/2026-01-02")
    assert [child.title for child in hours.children] == ["10:00", "09:00", "00:00"]
    hour = await browse(hass, f"{hub.entry_id}/cam1/saved/2026-01-02/10")
    assert len(hour.children) == LIST_LIMIT
    assert hour.not_shown == 3
    last = LIST_LIMIT + 2
    assert hour.children[0].title == f"10:{last // 60:02d}:{last % 60:02d}.250"
    assert hour.children[-1].title == "10:00:03.250"  # the three oldest are not shown
    played = await media_source.async_resolve_media(hass, hour.children[0].media_content_id, None)
    assert played.url.endswith(
        f"/cam1/2026-01-02/10/10-{last // 60:02d}-{last % 60:02d}.250000_{last}.jpg"
    )


@pytest.mark.parametrize(
    "identifier",
    [
        "{entry}/cam1/clips/2026-01-02/../../../outside.avi",
        "{entry}/cam1/clips/2026-01-02/08-00-05_motion.mp4",
        "{entry}/cam1/clips/..%2F..%2Foutside/08-00-05_motion.avi",
        "{entry}/cam1/snapshots/../../outside.jpg",
        "{entry}/cam1/snapshots/link.jpg",
        "{entry}/cam1/saved/2026-01-02/10/../../../../outside.jpg",
        "{entry}/cam1/saved/2026-01-02/10/10-00-00.000000_1.jpg",  # no such file
        "{entry}/cam1/clips/2026-01-02/09-00-00_motion.avi",  # a link out of the directory
        "{entry}/cam1",  # a folder, not a file
        "{entry}/../cam1/snapshots/a.jpg",
        "{entry}/cam3/snapshots/a.jpg",  # no such camera
        "{entry}",
    ],
)
async def test_resolving_refuses_what_is_not_a_saved_file(
    hass: HomeAssistant, hub: MockConfigEntry, tmp_path: Path, identifier: str
) -> None:
    root = save_root(hub)
    outside = write(tmp_path / "outside.jpg", jpeg_bytes())
    elsewhere = write_clip(tmp_path / "elsewhere", "cam1", local(2026, 1, 2, 9, 0, 0))
    clip = root / "cam1" / "clips" / "2026-01-02" / "09-00-00_motion.avi"
    clip.parent.mkdir(parents=True)
    clip.symlink_to(elsewhere)
    (root / "cam1" / "snapshots").mkdir(parents=True)
    (root / "cam1" / "snapshots" / "link.jpg").symlink_to(outside)
    with pytest.raises(Unresolvable):
        await media_source.async_resolve_media(
            hass, f"{SOURCE}/{identifier.format(entry=hub.entry_id)}", None
        )


async def test_links_out_of_the_save_directory_are_not_listed(
    hass: HomeAssistant, hub: MockConfigEntry, tmp_path: Path, hass_client: ClientSessionGenerator
) -> None:
    root = save_root(hub)
    elsewhere = write_clip(tmp_path / "elsewhere", "cam1", local(2026, 1, 2, 9, 0, 0))
    real = write_clip(root, "cam1", local(2026, 1, 2, 8, 0, 0))
    (real.parent / elsewhere.name).symlink_to(elsewhere)
    (real.parent.parent / "2026-01-03").symlink_to(elsewhere.parent, target_is_directory=True)
    outside = write(tmp_path / "outside.jpg", jpeg_bytes())
    (root / "cam1" / "snapshots").mkdir(parents=True)
    (root / "cam1" / "snapshots" / "link.jpg").symlink_to(outside)

    days = await browse(hass, f"{hub.entry_id}/cam1/clips")
    assert [child.identifier for child in days.children] == [
        f"{hub.entry_id}/cam1/clips/2026-01-02"
    ]
    clips = await browse(hass, f"{hub.entry_id}/cam1/clips/2026-01-02")
    assert [child.title for child in clips.children] == ["8:00:00 AM · 1 s"]
    snapshots = await browse(hass, f"{hub.entry_id}/cam1/snapshots")
    assert snapshots.children == []
    # Nor served, whatever the URL says.
    user = await hass_client()
    answer = await user.get(f"/api/{DOMAIN}/saved/{hub.entry_id}/cam1/snapshots/link.jpg")
    assert answer.status == 404


@pytest.mark.parametrize(
    "identifier",
    [
        "{entry}/cam1/clips/2026-01-02/08-00-05_motion.avi",
        "{entry}/cam1/clips/not-a-day",
        "{entry}/cam1/saved/2026-13-45x",
        "{entry}/cam1/saved/2026-01-02/10/11",
        "{entry}/cam1/elsewhere",
        "{entry}/cam9",
        "{entry}/../cam1",
        "unknown-entry",
        "unknown-entry/cam1/clips",
    ],
)
async def test_browsing_refuses_what_is_not_a_folder(
    hass: HomeAssistant, hub: MockConfigEntry, identifier: str
) -> None:
    with pytest.raises(BrowseError):
        await browse(hass, identifier.format(entry=hub.entry_id))


async def test_an_unloaded_hub_shows_nothing(hass: HomeAssistant, hub: MockConfigEntry) -> None:
    write_clip(save_root(hub), "cam1", local(2026, 1, 2, 8, 0, 0))
    clips = await browse(hass, f"{hub.entry_id}/cam1/clips/2026-01-02")
    identifier = clips.children[0].media_content_id
    assert await hass.config_entries.async_unload(hub.entry_id)

    root = await browse(hass)
    assert root.children == []
    with pytest.raises(BrowseError, match="not loaded"):
        await browse(hass, f"{hub.entry_id}/cam1/clips")
    with pytest.raises(Unresolvable, match="not loaded"):
        await media_source.async_resolve_media(hass, identifier, None)


async def test_several_hubs_are_folders(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    hass_storage: dict[str, Any],
    tmp_path: Path,
) -> None:
    second = add_hub_entry(hass, "Barn hub", str(tmp_path / "barn"))
    # Known from the store only: Home Assistant names its new device after the hub; the folder
    # keeps the camera's own name.
    stored_cameras(hass_storage, second.entry_id, {"cow": "Cow shed"})
    assert await hass.config_entries.async_setup(second.entry_id)
    # Recent: the new hub's first retention sweep (7 days, run in the background) must not race it.
    recent = write_clip(tmp_path / "barn", "cow", dt_util.now() - timedelta(hours=1))

    root = await browse(hass)
    assert [(child.title, child.identifier) for child in root.children] == [
        ("Barn hub", second.entry_id),
        ("Test hub", hub.entry_id),
    ]
    barn = await browse(hass, second.entry_id)
    assert [child.title for child in barn.children] == ["Cow shed"]
    clips = await browse(hass, f"{second.entry_id}/cow/clips/{recent.parent.name}")
    assert len(clips.children) == 1
    # A camera of the other hub is not this hub's.
    with pytest.raises(BrowseError):
        await browse(hass, f"{hub.entry_id}/cow/clips")


async def test_unreadable_clips_are_not_listed(
    hass: HomeAssistant, hub: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """A crafted or damaged AVI in the clips folder is skipped, not offered to play (issue 18)."""
    root = save_root(hub)
    good = write_clip(root, "cam1", local(2026, 1, 2, 8, 0, 5))
    data = good.read_bytes()
    rate = data.index(b"strh") + 8 + 24  # dwRate 0: the replay divided by it
    write(good.with_name("09-00-00_motion.avi"), data[:rate] + bytes(4) + data[rate + 4 :])
    write(good.with_name("10-00-00_motion.avi"), b"RIFF\x00\x00\x00\x00AVI cut short")
    clips = await browse(hass, f"{hub.entry_id}/cam1/clips/2026-01-02")
    assert [child.identifier for child in clips.children] == [
        f"{hub.entry_id}/cam1/clips/2026-01-02/08-00-05_motion.avi"
    ]
    assert clips.not_shown == 0
    # Resolving one anyway (an old link) gives the replay, which refuses it: not found, not a 500.
    played = await media_source.async_resolve_media(
        hass, f"{SOURCE}/{hub.entry_id}/cam1/clips/2026-01-02/09-00-00_motion.avi", None
    )
    answer = await (await hass_client()).get(played.url, headers={"Accept": "*/*"})
    assert answer.status == 404


@pytest.mark.parametrize(
    ("language", "day", "clock"),
    [
        ("en", "Sun, Dec 6", "2:03:09 PM"),
        ("en-GB", "Sun, Dec 6", "14:03:09"),
        ("es", "dom 6 dic", "14:03:09"),
        ("de", "2026-12-06", "14:03:09"),  # not translated: ISO, 24 hours
    ],
)
def test_titles_in_the_servers_language(language: str, day: str, clock: str) -> None:
    assert day_title("2026-12-06", language, date(2026, 12, 31)) == day
    assert clock_title(datetime(2026, 12, 6, 14, 3, 9, tzinfo=UTC), language) == clock


def test_titles_say_the_year_the_midnight_and_the_length() -> None:
    assert day_title("2025-12-06", "en", date(2026, 1, 1)) == "Sat, Dec 6, 2025"
    assert day_title("2025-12-06", "es", date(2026, 1, 1)) == "sáb 6 dic 2025"
    assert clock_title(datetime(2026, 1, 1, 0, 5, 0, tzinfo=UTC), "en") == "12:05:00 AM"
    assert clock_title(datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC), "en") == "12:00:00 PM"
    assert [length_title(seconds) for seconds in (0.3, 12.4, 60, 65, 299.6)] == [
        "1 s",
        "12 s",
        "1 min",
        "1 min 5 s",
        "5 min",
    ]


async def test_clip_titles_follow_the_server_language(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    write_clip(save_root(hub), "cam1", local(2026, 1, 2, 18, 0, 5), reason="action")
    await hass.config.async_update(language="es")
    clips = await browse(hass, f"{hub.entry_id}/cam1/clips/2026-01-02")
    assert [child.title for child in clips.children] == ["18:00:05 · 1 s · acción"]
