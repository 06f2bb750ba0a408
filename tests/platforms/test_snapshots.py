"""Per-platform snapshots of the entity registry entries and states (as HA core's snapshot_platform).

One token camera, connected, registered with a name and firmware, before any frame: what a user
sees right after a camera joins. Values that depend on the clock or on a random token are checked
and then written as a marker, so the snapshots are the same on every run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from unittest.mock import patch

from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_ENTITY_PICTURE, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.esp32_camera import PLATFORMS
from tests.helpers import HUB_TOKEN, add_hub_entry, wait_for

CLOCK, TOKEN = "<depends on the clock>", "<random token>"


def _stable(state: State) -> State:
    """Return the state with clock- and token-dependent values replaced by markers (checked)."""
    value, attributes = state.state, dict(state.attributes)
    if attributes.get(ATTR_DEVICE_CLASS) == "timestamp" and value not in ("unknown", "unavailable"):
        datetime.fromisoformat(value)
        value = CLOCK
    if "access_token" in attributes:
        assert len(attributes["access_token"]) >= 32
        attributes["access_token"] = TOKEN
        assert attributes[ATTR_ENTITY_PICTURE].startswith("/api/camera_proxy/")
        attributes[ATTR_ENTITY_PICTURE] = TOKEN
    return State(state.entity_id, value, attributes)


@pytest.fixture
def hub_entry(hass: HomeAssistant, tmp_path: Any, socket_allowed: None) -> MockConfigEntry:
    """The hub entry with a fixed entry id: the hub device's unique ids contain it."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    return add_hub_entry(hass, "Test hub", str(tmp_path / "saved"), entry_id="01JSNAPSHOTHUB")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_platform_snapshot(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    with patch("custom_components.esp32_camera.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(hub_entry.entry_id)
        camera = await connect_camera(f"?token={HUB_TOKEN}&id=cam1", register=False)
        await camera.register(name="Garden", firmware="2.0")
        hub = hub_entry.runtime_data
        await wait_for(lambda: "cam1" in hub.cameras and hub.cameras["cam1"].connected)
        await hass.async_block_till_done()
    entries = er.async_entries_for_config_entry(entity_registry, hub_entry.entry_id)
    assert entries
    assert {entry.domain for entry in entries} == {platform}
    for entry in sorted(entries, key=lambda entry: entry.entity_id):
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        assert entry.disabled_by is None
        state = hass.states.get(entry.entity_id)
        assert state is not None
        assert _stable(state) == snapshot(name=f"{entry.entity_id}-state")
