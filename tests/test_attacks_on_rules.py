"""Red team, round two: attacks on the rule for users, the file rule and the store (issue 18).

A real Home Assistant, real users (a household member of HA's "users" group, an administrator,
an automation without a user), real sockets and real files. Each test is an attack: those that got
through before are named for what they can no longer do; the others keep a defence that no other
test covered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.auth.models import User
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.template import Template
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera import services
from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.hub.devices import camera_unique_id
from custom_components.esp32_camera.hub.store import copy_key, storage_key
from tests.helpers import (
    avi_frames,
    call_action,
    numbered_jpeg,
    record_one_frame,
    refused_action,
    ring_frames,
    setup_with_camera,
    wait_for,
    with_frame,
)

# A filename template that loops 4 million times while it renders (on the event loop). With
# range(100000) twice, the most Home Assistant's sandbox allows, it is 10^10: hours.
LOOPING_TEMPLATE = (
    "{% for a in range(2000) %}{% for b in range(2000) %}{% if b < 0 %}x{% endif %}"
    "{% endfor %}{% endfor %}stall.jpg"
)


async def test_a_household_members_filename_is_no_template(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    household_user: User,
) -> None:
    """A template renders on the event loop with no limit on its loops: before, a household
    member's `filename` stalled Home Assistant for as long as they liked (this one: ~0.2 s; two
    loops of 100,000: hours). Templates are an administrator's (and an automation's)."""
    await with_frame(hass, hub_entry, connect_camera)
    # Refused before rendering: the template is never rendered, however long it would take.
    with patch.object(
        Template, "async_render", autospec=True, side_effect=Template.async_render
    ) as render:
        for action, data in (
            ("snapshot", {"filename": LOOPING_TEMPLATE}),
            ("record", {"filename": LOOPING_TEMPLATE.replace(".jpg", ".avi"), "duration": 1}),
            ("snapshot", {"filename": "{{ camera_id }}.jpg"}),
        ):
            error = await refused_action(hass, action, household_user, **data)
            assert isinstance(error, Unauthorized), action
            assert error.translation_key == "admin_required"
            assert error.translation_placeholders == {
                "action": f"{DOMAIN}.{action} filename template"
            }
        assert render.call_count == 0
    assert not (tmp_path / "saved" / "stall.jpg").exists()
    assert not (tmp_path / "saved" / "cam1.jpg").exists()
    # A plain name is still theirs; a template still an automation's.
    assert (await call_action(hass, "snapshot", household_user, filename="door.jpg"))[
        "path"
    ] == "door.jpg"
    result = await call_action(hass, "snapshot", None, filename="{{ camera_id }}.jpg")
    assert result["path"] == str(tmp_path / "saved" / "cam1.jpg")


async def test_a_household_member_replaces_no_recording(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    household_user: User,
    hass_admin_user: User,
) -> None:
    """Before, `overwrite: true` let a household member replace any camera's recordings: the
    motion clip of cam1 and an image continuously saved from cam2 became other frames. Replacing
    a file is not taking a snapshot or recording a clip: an administrator's (permissions.py)."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    await camera.send_frame(numbered_jpeg(1))
    await wait_for(lambda: ring_frames(hub) == 1)
    saved = tmp_path / "saved"
    motion_clip = saved / "cam1" / "clips" / "2026-12-06" / "10-00-00_motion.avi"
    saved_image = saved / "cam2" / "2026-12-06" / "10" / "10-00-00.000000_1.jpg"
    for evidence in (motion_clip, saved_image):
        evidence.parent.mkdir(parents=True)
        evidence.write_bytes(b"what happened")

    for action, data in (
        ("record", {"filename": "2026-12-06/10-00-00_motion.avi", "duration": 1}),
        ("record", {"filename": "2026-12-06/10-00-00_motion.mp4", "duration": 1}),
        ("snapshot", {"filename": "cam2/2026-12-06/10/10-00-00.000000_1.jpg"}),
    ):
        error = await refused_action(hass, action, household_user, overwrite=True, **data)
        assert isinstance(error, Unauthorized), data
        assert error.translation_placeholders == {"action": f"{DOMAIN}.{action} overwrite"}
    assert motion_clip.read_bytes() == saved_image.read_bytes() == b"what happened"
    assert not hub.clips.open_clips("cam1")

    # An administrator may.
    await record_one_frame(
        hass,
        hub_entry,
        camera,
        hass_admin_user,
        filename="2026-12-06/10-00-00_motion.avi",
        overwrite=True,
    )
    assert avi_frames(motion_clip) == [numbered_jpeg(2)]


class TestAHostileStoreFile:
    """The hub's store (`.storage`) as real files that something else wrote."""

    @pytest.fixture
    def hass_config_dir(self, hass_tmp_config_dir: str) -> str:
        """A configuration directory of this test's own: `.storage` holds real files."""
        return hass_tmp_config_dir

    @pytest.fixture
    def hass_storage(self) -> dict[str, Any]:
        """Home Assistant's Store as it is: reading and writing `.storage`."""
        return {}

    @staticmethod
    def write(path: Path, data: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        envelope = {"version": 1, "minor_version": 1, "key": path.name, "data": data}
        path.write_text(json.dumps(envelope), encoding="utf-8")

    async def test_many_refused_addresses_are_all_loaded(
        self, hass: HomeAssistant, hub_entry: MockConfigEntry
    ) -> None:
        """Before, each refused address was looked up in a list of those kept: 50,000 addresses
        (a 0.9 MB file) held the event loop ~6 s at every start (100,000: 22 s). The loop's
        longest stall while such a store loads is the bench's figure (bench/attacks_store.py)."""
        refused = [f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in range(50_000)]
        path = Path(hass.config.path(".storage", storage_key(hub_entry.entry_id)))
        self.write(path, {"cameras": {}, "approved": {}, "refused": [*refused, refused[0]]})

        assert await hass.config_entries.async_setup(hub_entry.entry_id)
        assert hub_entry.runtime_data.store.refused == set(refused)

    async def test_a_camera_id_no_camera_can_have_is_not_restored(
        self,
        hass: HomeAssistant,
        hub_entry: MockConfigEntry,
        tmp_path: Path,
        household_user: User,
        hass_ws_client: WebSocketGenerator,
    ) -> None:
        """Ids come from cameras (a firmware id of CAMERA_ID_PATTERN, or a stock camera's address),
        but the store's were taken as any text: before, a camera `..` was restored, its folder the
        save directory's parent, and any signed-in user was shown the JPEGs there (names, sizes,
        times) by the panel's gallery and the Media panel."""
        (tmp_path / "saved").mkdir()
        (tmp_path / "snapshots").mkdir()
        (tmp_path / "snapshots" / "private.jpg").write_bytes(b"\xff\xd8 outside the save directory")
        path = Path(hass.config.path(".storage", storage_key(hub_entry.entry_id)))
        hostile = ["..", "a/b", "/etc", "", "Cam1", "cam1\n", "x" * 65]
        cameras = {camera_id: {"saving": True} for camera_id in [*hostile, "cam1", "192.0.2.7"]}
        self.write(path, {"cameras": cameras, "approved": {}, "refused": []})

        assert await hass.config_entries.async_setup(hub_entry.entry_id)
        assert set(hub_entry.runtime_data.cameras) == {"cam1", "192.0.2.7"}
        await hass_ws_client(hass)  # HA's WebSocket API set up; the member connects below
        access = hass.auth.async_create_access_token(
            await hass.auth.async_create_refresh_token(household_user, CLIENT_ID)
        )
        client = await hass_ws_client(hass, access_token=access)
        await client.send_json_auto_id({"type": f"{DOMAIN}/gallery", "camera_id": ".."})
        answer = await client.receive_json()
        assert not answer["success"]
        assert "private.jpg" not in json.dumps(answer)
        found = ir.async_get(hass).async_get_issue(DOMAIN, f"store_repaired_{hub_entry.entry_id}")
        assert found is not None
        assert found.translation_placeholders is not None
        assert "cameras/.." in found.translation_placeholders["lost"]

    async def test_a_hostile_last_good_copy_gives_nothing_unusable(
        self, hass: HomeAssistant, hub_entry: MockConfigEntry
    ) -> None:
        """A damaged store is completed from its copy: a copy whose zone has a million corners
        (12 MB) is checked like the store, the zone dropped, the hub started. How long the loop
        stalls while it loads is the bench's figure (bench/attacks_store.py)."""
        store = Path(hass.config.path(".storage", storage_key(hub_entry.entry_id)))
        copy = Path(hass.config.path(".storage", copy_key(hub_entry.entry_id)))
        zone = {"name": "door", "points": [[0.5, 0.25]] * 1_000_000}
        self.write(store, {"cameras": {"cam1": {"motion": {"zones": "door"}}}})
        self.write(
            copy,
            {
                "cameras": {"cam1": {"motion": {"zones": [zone], "sensitivity": 70}}},
                "approved": {"192.0.2.7": "../../www"},
                "refused": [],
            },
        )

        assert await hass.config_entries.async_setup(hub_entry.entry_id)
        hub = hub_entry.runtime_data
        assert hub.motion.areas("cam1")["zones"] == []
        assert hub.store.as_dict()["cameras"]["cam1"]["motion"] == {}
        found = ir.async_get(hass).async_get_issue(DOMAIN, f"store_repaired_{hub_entry.entry_id}")
        assert found is not None
        assert found.translation_placeholders is not None
        assert found.translation_placeholders["lost"] == "cameras/cam1/motion/zones"


async def test_home_assistants_generic_actions_reach_no_control_of_a_household_member(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    household_user: User,
    hass_admin_user: User,
) -> None:
    """Not only the platforms' own actions: `homeassistant.toggle`/`turn_on`, a select's
    `select_next`/`select_last` and `scene.apply` call the same entity methods with the caller's
    context, so the rule refuses them all; nothing reaches the camera or the store."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "scene", {})
    camera = await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    registry = er.async_get(hass)

    def entity(domain: str, key: str) -> str:
        entity_id = registry.async_get_entity_id(
            domain, DOMAIN, camera_unique_id(hub_entry.entry_id, "cam1", key)
        )
        assert entity_id is not None
        return entity_id

    resolution, motion = entity("select", "resolution"), entity("switch", "motion_detection")
    hmirror, saving = entity("switch", "hmirror"), entity("switch", "saving")
    await wait_for(
        lambda: all(
            (state := hass.states.get(entity_id)) and state.state != STATE_UNAVAILABLE
            for entity_id in (resolution, motion, hmirror)
        )
    )
    calls = [
        ("homeassistant", "toggle", {ATTR_ENTITY_ID: [motion, saving]}),
        ("homeassistant", "turn_on", {ATTR_ENTITY_ID: hmirror}),
        ("select", "select_next", {ATTR_ENTITY_ID: resolution, "cycle": True}),
        ("select", "select_last", {ATTR_ENTITY_ID: resolution}),
        ("scene", "apply", {"entities": {resolution: "qxga", saving: "on"}}),
    ]
    sent = list(camera.commands_received)
    kept = json.dumps(hub_entry.runtime_data.store.as_dict(), sort_keys=True)
    for domain, service, data in calls:
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                domain, service, data, blocking=True, context=Context(user_id=household_user.id)
            )
    assert camera.commands_received == sent
    assert json.dumps(hub_entry.runtime_data.store.as_dict(), sort_keys=True) == kept
    # The same through an administrator: the camera gets the command.
    await hass.services.async_call(
        "homeassistant",
        "turn_on",
        {ATTR_ENTITY_ID: hmirror},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert camera.commands_received[len(sent) :] == [("hmirror", "1")]


async def test_links_beside_a_replaced_file_lead_nowhere(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    config_dir: Path,
    tmp_path: Path,
) -> None:
    """An administrator's (or an automation's) `overwrite` of a name that is a hard link to a
    file in www/, and of a clip whose thumbnail name is a symbolic link and a hard link into www/:
    the names are replaced, the files they led to keep their bytes."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    await camera.send_frame(numbered_jpeg(1))
    await wait_for(lambda: ring_frames(hub) == 1)
    www, saved = config_dir / "www", tmp_path / "saved"
    clips = saved / "cam1" / "clips"
    clips.mkdir(parents=True)
    targets = {name: www / name for name in ("hard.jpg", "thumb.jpg", "soft.jpg")}
    for target in targets.values():
        target.write_bytes(b"served, precious")
    os.link(targets["hard.jpg"], saved / "door.jpg")
    os.link(targets["thumb.jpg"], clips / "porch.jpg")
    (clips / "garden.jpg").symlink_to(targets["soft.jpg"])

    await call_action(hass, "snapshot", None, filename="door.jpg", overwrite=True)
    assert (saved / "door.jpg").read_bytes() == numbered_jpeg(1)
    for name in ("porch.avi", "garden.avi"):
        await record_one_frame(hass, hub_entry, camera, None, filename=name, overwrite=True)
        thumbnail = (clips / name).with_suffix(".jpg")
        assert not thumbnail.is_symlink()
        assert thumbnail.read_bytes().startswith(b"\xff\xd8")
    assert all(target.read_bytes() == b"served, precious" for target in targets.values())
    assert sorted(path.name for path in www.iterdir()) == sorted(targets)


async def test_a_folder_swapped_for_a_link_after_the_check_is_not_followed(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    config_dir: Path,
    tmp_path: Path,
    household_user: User,
) -> None:
    """The race: the name is checked while `sub/` is a folder, then `sub/` becomes a link into
    www/ before the file is written (a snapshot), or while the clip records: nothing lands in www/."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    await camera.send_frame(numbered_jpeg(1))
    await wait_for(lambda: ring_frames(hub) == 1)
    www, saved = config_dir / "www", tmp_path / "saved"
    clips = saved / "cam1" / "clips"

    def swap(folder: Path) -> None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
        folder.symlink_to(www, target_is_directory=True)

    real_check = services._check_file

    def check_then_swap(*args: Any, **kwargs: Any) -> Any:
        result = real_check(*args, **kwargs)
        swap(saved / "sub")
        return result

    (saved / "sub").mkdir(parents=True)
    with patch.object(services, "_check_file", check_then_swap):
        error = await refused_action(hass, "snapshot", household_user, filename="sub/a.jpg")
    assert error.translation_key == "snapshot_write_failed"

    (clips / "sub").mkdir(parents=True)
    task = hass.async_create_task(
        call_action(hass, "record", household_user, duration=1, pre_roll=0, filename="sub/b.avi")
    )
    await wait_for(lambda: hub.clips.open_clips("cam1"))
    await hass.async_add_executor_job(swap, clips / "sub")  # the reserved name goes with it
    await camera.send_frame(numbered_jpeg(2))
    with pytest.raises(HomeAssistantError):
        await task
    assert list(www.iterdir()) == []


@pytest.mark.parametrize(
    ("filename", "key"),
    [
        ("a.jpg.", "invalid_file_extension"),  # a trailing dot (Windows drops it)
        ("a.jpg\u200b", "invalid_file_extension"),  # a zero-width space after the extension
        ("a.\uff4a\uff50\uff47", "invalid_file_extension"),  # fullwidth "jpg" (NFKC: jpg)
        ("a.JPG.html", "invalid_file_extension"),
        ("a.jpg/", "invalid_filename"),
        ("a\x00.jpg", "path_not_allowed"),  # NUL: no file system takes it
        ("x" * 300 + ".jpg", "snapshot_write_failed"),  # too long for the file system
    ],
    ids=["dot", "zero-width", "fullwidth", "html", "slash", "nul", "long"],
)
async def test_names_that_look_like_a_jpeg_are_refused_cleanly(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    tmp_path: Path,
    household_user: User,
    filename: str,
    key: str,
) -> None:
    """A translated refusal, no traceback, nothing written anywhere."""
    await with_frame(hass, hub_entry, connect_camera)
    (tmp_path / "saved").mkdir(exist_ok=True)  # the save directory itself may be made
    before = sorted(tmp_path.rglob("*"))
    error = await refused_action(hass, "snapshot", household_user, filename=filename)
    assert error.translation_key == key
    assert str(tmp_path) not in str(error)
    assert sorted(tmp_path.rglob("*")) == before
