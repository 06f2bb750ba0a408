"""Where the snapshot and record actions may write, and who may choose (issue 18, finding 5).

A real Home Assistant, real files, a real camera socket and real users: a household member (HA's
"users" group, not an administrator), an administrator, and automations (no user).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import tempfile
from typing import Any

from homeassistant.auth.models import User
from homeassistant.components.http import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from hypothesis import given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera import services
from custom_components.esp32_camera.const import CONF_ALLOW_SERVED_FILES
from custom_components.esp32_camera.disk.layout import is_inside
from tests.helpers import (
    avi_frames,
    call_action,
    hub_settings_form,
    jpeg_bytes,
    numbered_jpeg,
    record_one_frame,
    refused_action,
    ring_frames,
    settings_input,
    setup_with_camera,
    wait_for,
    with_frame,
)

FRAME = jpeg_bytes(color=(9, 99, 199))


# snapshot ---------------------------------------------------------------------------------------


async def test_a_household_member_writes_nothing_into_www(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    config_dir: Path,
    household_user: User,
) -> None:
    """The attack of the issue: www/pwn.html is served at /local/pwn.html without login."""
    await with_frame(hass, hub_entry, connect_camera)
    www = config_dir / "www"
    (www / "existing.js").write_text("precious")
    for filename in (str(www / "pwn.html"), str(www / "existing.js"), "../config/www/pwn.jpg"):
        error = await refused_action(hass, "snapshot", household_user, filename=filename)
        assert isinstance(error, ServiceValidationError), filename
    assert sorted(path.name for path in www.iterdir()) == ["existing.js"]
    assert (www / "existing.js").read_text() == "precious"


async def test_only_administrators_and_automations_choose_a_folder(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    household_user: User,
    hass_admin_user: User,
) -> None:
    await with_frame(hass, hub_entry, connect_camera)
    elsewhere = tmp_path / "elsewhere"  # allowed (allowlist_external_dirs), not the save directory
    error = await refused_action(hass, "snapshot", household_user, filename=f"{elsewhere}/a.jpg")
    assert error.translation_key == "absolute_path_admin_only"
    assert str(tmp_path) not in str(error)
    assert not elsewhere.exists()
    # The household member's own name stays in the save directory.
    result = await call_action(hass, "snapshot", household_user, filename="door/a.jpg")
    assert (tmp_path / "saved" / "door" / "a.jpg").read_bytes() == FRAME
    assert result["path"] == "door/a.jpg"
    for user, name in ((hass_admin_user, "admin.jpg"), (None, "automation.jpg")):
        result = await call_action(hass, "snapshot", user, filename=f"{elsewhere}/{name}")
        assert result["path"] == str(elsewhere / name)
        assert (elsewhere / name).read_bytes() == FRAME


async def test_household_members_see_paths_relative_to_the_save_directory(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    household_user: User,
    hass_admin_user: User,
) -> None:
    await with_frame(hass, hub_entry, connect_camera)
    result = await call_action(hass, "snapshot", household_user)
    assert result["path"].startswith("cam1/snapshots/")
    assert str(tmp_path) not in str(result)
    assert (tmp_path / "saved" / result["path"]).read_bytes() == FRAME
    # The same refusal, with the path each may see.
    (tmp_path / "saved" / "taken.jpg").write_bytes(b"old")
    error = await refused_action(hass, "snapshot", household_user, filename="taken.jpg")
    assert error.translation_key == "file_exists"
    assert error.translation_placeholders == {"path": "taken.jpg"}
    assert str(tmp_path) not in str(error)
    error = await refused_action(hass, "snapshot", hass_admin_user, filename="taken.jpg")
    assert error.translation_placeholders == {"path": str(tmp_path / "saved" / "taken.jpg")}
    (tmp_path / "saved" / "blocked").write_bytes(b"a file where a folder goes")  # the write fails
    error = await refused_action(hass, "snapshot", household_user, filename="blocked/a.jpg")
    assert error.translation_key == "snapshot_write_failed"
    assert str(tmp_path) not in str(error)
    result = await call_action(hass, "snapshot", hass_admin_user)
    assert result["path"].startswith(str(tmp_path / "saved" / "cam1" / "snapshots"))


@pytest.mark.parametrize("user", ["admin", "automation"])
async def test_served_folders_are_refused_unless_the_hub_allows_them(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    config_dir: Path,
    tmp_path: Path,
    hass_admin_user: User,
    user: str,
) -> None:
    """www/ (/local/) and every folder registered as a static path, also through a link."""
    caller = hass_admin_user if user == "admin" else None
    served = tmp_path / "served"
    served.mkdir()
    (tmp_path / "innocent").symlink_to(config_dir / "www", target_is_directory=True)
    await with_frame(hass, hub_entry, connect_camera)  # sets http up (a dependency)
    assert hass.http is not None
    await hass.http.async_register_static_paths([StaticPathConfig("/pictures", str(served))])
    www = config_dir / "www"
    for filename in (
        f"{www}/pwn.jpg",
        f"{served}/pwn.jpg",
        f"{tmp_path}/innocent/pwn.jpg",  # a link into www/
        f"{www}/sub/../pwn.jpg",
    ):
        error = await refused_action(hass, "snapshot", caller, filename=filename)
        assert error.translation_key == "path_served", filename
    assert list(www.iterdir()) == []
    assert list(served.iterdir()) == []

    # The user turns it on in the hub's options (off by default); the hub reloads.
    result = await hub_settings_form(hass, hub_entry)
    assert settings_input(result)["saving"][CONF_ALLOW_SERVED_FILES] is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings_input(result, **{CONF_ALLOW_SERVED_FILES: True})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    camera = await connect_camera()
    await camera.send_frame(FRAME)
    await wait_for(lambda: hub_entry.runtime_data.cameras["cam1"].latest_frame is not None)
    result = await call_action(hass, "snapshot", caller, filename=f"{www}/notify.jpg")
    assert result["path"] == str(www / "notify.jpg")
    assert (www / "notify.jpg").read_bytes() == FRAME


async def test_only_jpeg_names_for_a_snapshot(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    await with_frame(hass, hub_entry, connect_camera)
    for filename in ("pwn.html", "pwn.js", "a.jpg.svg", "noextension", ".jpg/x.png"):
        error = await refused_action(hass, "snapshot", filename=filename)
        assert error.translation_key == "invalid_file_extension", filename
    for filename in ("a.jpg", "b.JPEG", "c.Jpg"):
        await call_action(hass, "snapshot", filename=filename)
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == ["a.jpg", "b.JPEG", "c.Jpg"]


async def test_an_existing_file_is_replaced_only_when_asked(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    await with_frame(hass, hub_entry, connect_camera)
    existing = tmp_path / "saved" / "door.jpg"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"yesterday")
    error = await refused_action(hass, "snapshot", filename="door.jpg")
    assert error.translation_key == "file_exists"
    assert existing.read_bytes() == b"yesterday"
    await call_action(hass, "snapshot", filename="door.jpg", overwrite=True)
    assert existing.read_bytes() == FRAME
    # Concurrent calls for one new name: exactly one writes it, the others are told it exists.
    results = await asyncio.gather(
        *(call_action(hass, "snapshot", filename="race.jpg") for _ in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(result, dict) for result in results) == 1
    assert all(
        isinstance(result, dict) or result.translation_key == "file_exists"  # type: ignore[union-attr]
        for result in results
    )
    assert [p.name for p in (tmp_path / "saved").iterdir() if p.name.startswith(".")] == []


# record -----------------------------------------------------------------------------------------


async def test_record_follows_the_same_rules(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    config_dir: Path,
    tmp_path: Path,
    household_user: User,
    hass_admin_user: User,
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    await camera.send_frame(numbered_jpeg(1))
    await wait_for(lambda: ring_frames(hub) == 1)
    www, clips = config_dir / "www", tmp_path / "saved" / "cam1" / "clips"
    (www / "existing.avi").write_bytes(b"precious")
    refusals = [
        (household_user, f"{www}/pwn.avi", "absolute_path_admin_only"),
        (household_user, f"{tmp_path}/elsewhere/a.avi", "absolute_path_admin_only"),
        (hass_admin_user, f"{www}/pwn.avi", "path_served"),
        (None, f"{www}/existing.avi", "path_served"),
        (None, "pwn.html", "invalid_file_extension"),
        (None, "pwn.jpg", "invalid_file_extension"),
    ]
    for user, filename, key in refusals:
        error = await refused_action(hass, "record", user, duration=1, filename=filename)
        assert error.translation_key == key, filename
        assert str(tmp_path) not in str(error) or user is not household_user
    assert sorted(p.name for p in www.iterdir()) == ["existing.avi"]
    assert (www / "existing.avi").read_bytes() == b"precious"

    # A household member's clip: in the clips folder, its paths shown relative to the save directory.
    result = await record_one_frame(hass, hub_entry, camera, household_user, filename="door.avi")
    assert result["path"] == "cam1/clips/door.avi"
    assert result["thumbnail"] == "cam1/clips/door.jpg"
    assert str(tmp_path) not in str(result)
    assert avi_frames(clips / "door.avi") == [numbered_jpeg(2)]
    # The name taken: refused with nothing written, unless the call says overwrite.
    error = await refused_action(hass, "record", household_user, duration=1, filename="door.avi")
    assert error.translation_key == "file_exists"
    assert error.translation_placeholders == {"path": "cam1/clips/door.avi"}
    (clips / "porch.mp4").write_bytes(b"an MP4 of the same name")  # a clip's companion file
    error = await refused_action(hass, "record", None, duration=1, filename="porch.avi")
    assert error.translation_key == "file_exists"
    assert not (clips / "porch.avi").exists()
    result = await record_one_frame(
        hass, hub_entry, camera, hass_admin_user, filename="door.avi", overwrite=True
    )
    assert result["path"] == str(clips / "door.avi")
    # An .mp4 name names the clip: the AVI beside it, the MP4 there when ffmpeg makes one.
    result = await record_one_frame(hass, hub_entry, camera, None, filename="garden.MP4")
    assert result["path"] == str(clips / "garden.avi")
    assert avi_frames(clips / "garden.avi") == [numbered_jpeg(2)]


async def test_a_failed_clip_releases_its_name(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    """The name is taken when the call starts; a clip that is not written leaves nothing there."""
    await setup_with_camera(hass, hub_entry, connect_camera)
    error = await refused_action(hass, "record", None, duration=1, pre_roll=0, filename="empty.avi")
    assert error.translation_key == "record_no_frames"
    assert not (tmp_path / "saved" / "cam1" / "clips" / "empty.avi").exists()


async def test_a_household_member_sees_no_absolute_path_in_a_clips_error(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    household_user: User,
) -> None:
    """The writer's own error names its files: shown relative to the save directory."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    clips = tmp_path / "saved" / "cam1" / "clips"
    task = hass.async_create_task(
        call_action(hass, "record", household_user, duration=1, pre_roll=0, filename="taken.avi")
    )
    await wait_for(lambda: hub_entry.runtime_data.clips.open_clips("cam1"))
    (clips / "taken.avi").unlink()  # the name reserved, then a folder there: the rename fails
    (clips / "taken.avi").mkdir()
    await camera.send_frame(numbered_jpeg(2))
    with pytest.raises(HomeAssistantError) as error:
        await task
    assert error.value.translation_key == "record_failed"
    assert error.value.translation_placeholders is not None
    assert error.value.translation_placeholders["path"] == "cam1/clips/taken.avi"
    assert str(tmp_path) not in str(error.value)


async def test_concurrent_clips_of_one_name_record_once(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    """The AVI's name is taken when the call starts: of four calls for one name, one records."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    calls = [
        hass.async_create_task(
            call_action(hass, "record", duration=1, pre_roll=0, filename="same.avi")
        )
        for _ in range(4)
    ]
    # Every call answered or recording (a clip per call that took the name).
    await wait_for(
        lambda: (
            len(hub_entry.runtime_data.clips.open_clips("cam1"))
            + sum(task.done() for task in calls)
            == 4
        )
    )
    await camera.send_frame(numbered_jpeg(3))
    results = await asyncio.gather(*calls, return_exceptions=True)
    recorded = [result for result in results if isinstance(result, dict)]
    assert len(recorded) == 1
    assert all(
        isinstance(result, dict) or result.translation_key == "file_exists"  # type: ignore[union-attr]
        for result in results
    )
    assert avi_frames(tmp_path / "saved" / "cam1" / "clips" / "same.avi") == [numbered_jpeg(3)]


async def test_a_clip_name_that_cannot_be_taken_says_why(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    household_user: User,
) -> None:
    """A file where the clip's folder goes: refused before recording, the path as the user may see it."""
    await setup_with_camera(hass, hub_entry, connect_camera)
    clips = tmp_path / "saved" / "cam1" / "clips"
    clips.mkdir(parents=True)
    (clips / "blocked").write_bytes(b"a file, not a folder")
    error = await refused_action(
        hass, "record", household_user, duration=1, filename="blocked/a.avi"
    )
    assert error.translation_key == "record_failed"
    assert error.translation_placeholders == {
        "path": "cam1/clips/blocked/a.avi",
        "error": "Not a directory",
    }
    assert not hub_entry.runtime_data.clips.open_clips("cam1")


# The rule itself, fuzzed ---------------------------------------------------------------------------

# Path parts that climb (`..`), stay (`.`), name folders, links into www/ and files.
PARTS = st.sampled_from(
    ["..", ".", "", "cam1", "www", "into_www", "out", "a.jpg", "b.JPG", "c.mp4"]
)


@settings(max_examples=400, deadline=None)
@given(
    parts=st.lists(PARTS, min_size=1, max_size=7),
    absolute=st.booleans(),
    overwrite=st.booleans(),
    clip=st.booleans(),
)
def test_no_name_reaches_a_served_folder_or_leaves_where_it_must_stay(
    parts: list[str], absolute: bool, overwrite: bool, clip: bool
) -> None:
    """Any name, however it climbs or whatever link it goes through: a file the rule lets through
    is inside the allowed folders, outside the served one, inside the save directory when the name
    is relative, and (without overwrite) not an existing file."""
    with tempfile.TemporaryDirectory() as temporary:
        top = Path(temporary).resolve()
        save, www, out = top / "save", top / "www", top / "out"
        for folder in (save / "cam1", www, out):
            folder.mkdir(parents=True)
        for holder in (save, top, save / "cam1"):
            (holder / "into_www").symlink_to(www, target_is_directory=True)
        (save / "a.jpg").write_bytes(b"taken")
        (www / "a.jpg").write_bytes(b"taken")
        name = "/".join(parts)
        if absolute:
            name = f"{top}/{name}"
        refusal, path = services._check_file(
            name,
            save,
            served=[str(www)],
            is_allowed=lambda candidate: is_inside(candidate, top),
            overwrite=overwrite,
            clip=clip,
        )
        if refusal is None:
            resolved = path.resolve()
            assert is_inside(resolved, top)
            assert not is_inside(resolved, www)
            if not absolute:
                assert is_inside(resolved, save)
            if not overwrite:
                assert not os.path.lexists(path)
