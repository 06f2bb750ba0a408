"""The hub's store as real files in `.storage`: damaged files, the last-good copy, written at once.

These tests read and write the store through Home Assistant's own Store on a temporary
configuration directory (no in-memory storage): what Home Assistant does with a truncated file
(renames it `.corrupt.<time>`) is what the hub meets.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.hub.store import copy_key, storage_key

ZONE = {"name": "door", "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]}
STOCK = "192.0.2.7"
REFUSED = "192.0.2.9"


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A configuration directory of this test's own: `.storage` holds real files."""
    return hass_tmp_config_dir


@pytest.fixture
def hass_storage() -> dict[str, Any]:
    """Home Assistant's Store as it is: reading and writing `.storage` (no in-memory mock)."""
    return {}


def store_file(hass: HomeAssistant, entry: MockConfigEntry) -> Path:
    return Path(hass.config.path(".storage", storage_key(entry.entry_id)))


def copy_file(hass: HomeAssistant, entry: MockConfigEntry) -> Path:
    return Path(hass.config.path(".storage", copy_key(entry.entry_id)))


def on_disk(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["data"]
    return data


def issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"store_repaired_{entry.entry_id}")


async def choose_everything(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Make a choice of every kind (no camera needs to be connected); return the store."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    hub = entry.runtime_data
    await hub.async_refuse(REFUSED)
    await hub.store.async_approve(STOCK, STOCK)
    await hub.store.async_choose_setting("cam1", "quality", "23")
    await hub.async_set_saving_rate("cam1", 2.0)
    await hub.motion.async_set_areas("cam1", [ZONE], [])
    await hub.motion.async_set("cam1", sensitivity=70)
    await hub.clips.async_set("cam1", record=True, pre_roll=3)
    assert await hass.config_entries.async_unload(entry.entry_id)
    chosen = on_disk(store_file(hass, entry))
    assert chosen["cameras"]["cam1"]["motion"]["zones"] == [ZONE]
    assert on_disk(copy_file(hass, entry)) == chosen  # the hub stopped: the copy is current
    return chosen


async def test_a_truncated_store_is_restored_from_its_last_good_copy(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    chosen = await choose_everything(hass, hub_entry)
    path = store_file(hass, hub_entry)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")  # a crash in the middle of a write

    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    assert hub.store.as_dict() == chosen
    assert hub.store.refused == {REFUSED}
    assert hub.listener.settings.rejected_addresses == {REFUSED}
    assert hub.motion.areas("cam1")["zones"] == [ZONE]
    assert hub.clips.settings("cam1").pre_roll == 3
    assert on_disk(path) == chosen  # written back whole
    (kept,) = path.parent.glob(f"{path.name}.corrupt.*")  # Home Assistant kept the damaged one
    assert kept.read_text(encoding="utf-8") == text[: len(text) // 2]
    found = issue(hass, hub_entry)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["lost"] == "-"
    assert found.translation_placeholders["taken"] == "everything"
    assert found.translation_placeholders["saved_as"] == str(kept)


async def test_a_truncated_store_without_a_copy_still_starts_the_hub_and_says_so(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    await choose_everything(hass, hub_entry)
    copy_file(hass, hub_entry).unlink()
    store_file(hass, hub_entry).write_text('{"version": 1, "data": {"came', encoding="utf-8")

    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    assert hub.store.approved == {}
    found = issue(hass, hub_entry)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["lost"] == "everything"


@pytest.mark.parametrize(
    "content",
    ["[]", "null", '{"data": {}}', '{"version": "1", "data": {}}', '{"version": 0, "data": 3}'],
)
async def test_valid_json_that_is_no_store_is_kept_aside_and_replaced_by_the_copy(
    hass: HomeAssistant, hub_entry: MockConfigEntry, content: str
) -> None:
    chosen = await choose_everything(hass, hub_entry)
    path = store_file(hass, hub_entry)
    path.write_text(content, encoding="utf-8")

    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    assert hub_entry.runtime_data.store.as_dict() == chosen
    (kept,) = path.parent.glob(f"{path.name}.corrupt.*")
    assert kept.read_text(encoding="utf-8") == content
    found = issue(hass, hub_entry)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["saved_as"] == str(kept)


async def test_wrong_types_are_taken_from_the_copy_and_the_rest_is_kept(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    chosen = await choose_everything(hass, hub_entry)
    path = store_file(hass, hub_entry)
    envelope = json.loads(path.read_text(encoding="utf-8"))
    data = envelope["data"]
    data["cameras"]["cam1"]["saving_rate"] = "fast"  # the copy has it: taken from there
    data["cameras"]["cam1"]["motion"]["sensitivity"] = 80  # newer than the copy: kept
    data["cameras"]["cam2"] = {"settings": {"quality": 23}}  # the copy has no cam2: lost
    data["approved"]["not an address"] = None
    path.write_text(json.dumps(envelope), encoding="utf-8")

    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    stored = hub_entry.runtime_data.store.as_dict()
    assert stored["cameras"]["cam1"]["saving_rate"] == chosen["cameras"]["cam1"]["saving_rate"]
    assert stored["cameras"]["cam1"]["motion"]["sensitivity"] == 80
    assert stored["cameras"]["cam2"]["settings"] == {}
    assert stored["approved"] == chosen["approved"]
    found = issue(hass, hub_entry)
    assert found is not None
    assert found.translation_placeholders == {
        "title": hub_entry.title,
        "taken": "cameras/cam1/saving_rate",
        "lost": "cameras/cam2/settings/quality, approved/not an address",
        "saved_as": found.translation_placeholders["saved_as"],  # type: ignore[index]
    }
    kept = Path(found.translation_placeholders["saved_as"])  # type: ignore[index]
    assert json.loads(kept.read_text(encoding="utf-8")) == envelope  # the damaged file, as it was


async def test_a_slider_dragged_fast_is_two_writes_and_the_last_value_is_on_disk(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    await hub.clips.async_set("cam1", pre_roll=1)
    writes: list[str] = []
    write = Store._async_write_data

    async def counted(store: Store[Any], data: dict[str, Any]) -> None:
        # The slider's saves carry their data. A delayed save carries a function: the note of a
        # camera that registered meanwhile (CI once counted a third write), not the slider's.
        if "data_func" not in data:
            writes.append(store.key)
        await write(store, data)

    with patch.object(Store, "_async_write_data", counted):
        await asyncio.gather(*(hub.clips.async_set("cam1", pre_roll=n % 10) for n in range(50)))
        # One write in flight, one pending that holds every change made meanwhile.
        assert writes.count(storage_key(hub_entry.entry_id)) == 2
        assert on_disk(store_file(hass, hub_entry))["cameras"]["cam1"]["recording"] == {
            "pre_roll": 49 % 10
        }


async def test_a_deleted_store_comes_back_from_its_copy(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    chosen = await choose_everything(hass, hub_entry)
    store_file(hass, hub_entry).unlink()

    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    assert hub_entry.runtime_data.store.as_dict() == chosen
    assert on_disk(store_file(hass, hub_entry)) == chosen
    found = issue(hass, hub_entry)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["taken"] == "everything"


async def test_an_unreadable_copy_leaves_what_home_assistant_still_knows(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    await choose_everything(hass, hub_entry)
    store_file(hass, hub_entry).write_text("[]", encoding="utf-8")
    copy_file(hass, hub_entry).write_text("[]", encoding="utf-8")

    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    assert hub.store.approved == {}
    assert hub.store.chosen_settings("cam1") == {}
    found = issue(hass, hub_entry)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["lost"] == "everything"


async def test_a_newer_release_store_is_never_overwritten(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    """A downgrade: the hub does not start rather than replace what a newer release wrote."""
    path = store_file(hass, hub_entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    newer = json.dumps({"version": 2, "minor_version": 1, "key": path.name, "data": {"x": 1}})
    path.write_text(newer, encoding="utf-8")

    assert not await hass.config_entries.async_setup(hub_entry.entry_id)
    assert path.read_text(encoding="utf-8") == newer
    assert not copy_file(hass, hub_entry).exists()
