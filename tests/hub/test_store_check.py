"""Loading a store whose JSON has wrong types at any level: the hub keeps every valid value.

`clean_hub` is fuzzed with any JSON value, whole and in place of any one value of a valid
store; a real Home Assistant then sets the hub up on such stores.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.hub.motion_detection import (
    areas_from_json,
    check_stored_motion,
)
from custom_components.esp32_camera.hub.recording_settings import (
    RecordingSettings,
    check_stored_recording,
)
from custom_components.esp32_camera.hub.store import storage_key
from custom_components.esp32_camera.hub.store_check import (
    StorePath,
    clean_hub,
    setting_is_valid,
)
from custom_components.esp32_camera.motion import MotionSettings

SECTIONS = {"motion": check_stored_motion, "recording": check_stored_recording}
ZONE = {"name": "door", "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]}
VALID: dict[str, Any] = {
    "cameras": {
        "cam1": {
            "name": "Garden",
            "firmware": "2.0",
            "settings": {"quality": "23", "hmirror": "1", "resolution": "5"},
            "saving": True,
            "saving_rate": 2.0,
            "motion": {"enabled": False, "sensitivity": 70, "zones": [ZONE], "mask": []},
            "recording": {"record": True, "pre_roll": 3.0, "post_roll": 4.0},
        },
        "127.0.0.2": {
            "name": None,
            "firmware": None,
            "settings": {},
            "saving": False,
            "saving_rate": 0.0,
            "motion": {},
            "recording": {},
        },
    },
    "approved": {"127.0.0.2": "127.0.0.2", "192.0.2.1": None},
    "refused": ["192.0.2.9", "2001:db8::1"],
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities too: Python's json reads them
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def paths(value: Any, prefix: StorePath = ()) -> list[StorePath]:
    """Every path to a value inside a JSON object (list items are not addressed by path)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(paths(child, (*prefix, key)))
    return found


def assert_a_valid_hub(hub: dict[str, Any]) -> None:
    """The shape and types the hub relies on; every value usable as it is."""
    assert set(hub) == {"cameras", "approved", "refused"}
    for camera in hub["cameras"].values():
        assert set(camera) == set(VALID["cameras"]["cam1"])
        assert camera["name"] is None or isinstance(camera["name"], str)
        assert camera["firmware"] is None or isinstance(camera["firmware"], str)
        assert isinstance(camera["saving"], bool)
        assert isinstance(camera["saving_rate"], float)
        assert camera["saving_rate"] >= 0
        assert all(setting_is_valid(name, wire) for name, wire in camera["settings"].items())
        motion = camera["motion"]
        areas_from_json(motion.get("zones", []), motion.get("mask", []))
        MotionSettings(**{k: v for k, v in motion.items() if k not in ("zones", "mask")})
        RecordingSettings(**camera["recording"])
    assert all(isinstance(address, str) for address in hub["approved"])
    assert all(isinstance(address, str) for address in hub["refused"])
    # Clean already: checked again, nothing is dropped.
    assert clean_hub(hub, SECTIONS) == (hub, [])


def test_a_valid_store_is_kept_whole() -> None:
    assert clean_hub(copy.deepcopy(VALID), SECTIONS) == (VALID, [])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(json_values)
def test_any_json_value_gives_a_valid_hub(raw: Any) -> None:
    hub, _dropped = clean_hub(raw, SECTIONS)
    assert_a_valid_hub(hub)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data(), json_values)
def test_one_bad_value_costs_that_value_only(data: st.DataObject, value: Any) -> None:
    """Any one value of a valid store replaced: the hub is valid, and what was not touched stays."""
    path = data.draw(st.sampled_from(paths(VALID)[1:]))
    raw = copy.deepcopy(VALID)
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    hub, dropped = clean_hub(json.loads(json.dumps(raw)), SECTIONS)
    assert_a_valid_hub(hub)
    # Every value outside the replaced one is kept as it was.
    for other in paths(VALID):
        if other[: len(path)] == path or path[: len(other)] == other:
            continue
        kept: Any = hub
        for key in other:
            kept = kept[key]
        original: Any = VALID
        for key in other:
            original = original[key]
        assert kept == original, other
    # What was dropped lies under the replaced value (nothing else is reported).
    assert all(lost[: len(path)] == path for lost in dropped)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["enabled", "sensitivity", "min_area", "cooldown", "zones", "mask", "x"]),
        json_values,
    )
)
def test_any_motion_section_keeps_only_usable_values(stored: dict[str, Any]) -> None:
    kept, bad = check_stored_motion(stored)
    assert set(kept) | set(bad) == set(stored)
    areas_from_json(kept.get("zones", []), kept.get("mask", []))
    MotionSettings(**{k: v for k, v in kept.items() if k not in ("zones", "mask")})


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["record", "pre_roll", "post_roll", "x"]), json_values))
def test_any_recording_section_keeps_only_usable_values(stored: dict[str, Any]) -> None:
    kept, bad = check_stored_recording(stored)
    assert set(kept) | set(bad) == set(stored)
    RecordingSettings(**kept)


# A real Home Assistant, on stores with a wrong type at each level ---------------------------


def _replaced(path: StorePath, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(VALID)
    if not path:
        return value  # type: ignore[no-any-return]
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


WRONG = [
    ((), []),
    ((), "store"),
    (("cameras",), ["cam1"]),
    (("cameras", "cam1"), None),
    (("cameras", "cam1", "name"), 5),
    (("cameras", "cam1", "settings"), "quality=23"),
    (("cameras", "cam1", "settings", "quality"), 23),
    (("cameras", "cam1", "saving"), "yes"),
    (("cameras", "cam1", "saving_rate"), float("nan")),
    (("cameras", "cam1", "motion"), [1, 2]),
    (("cameras", "cam1", "motion", "sensitivity"), "high"),
    (("cameras", "cam1", "motion", "zones"), {"door": ZONE}),
    (("cameras", "cam1", "recording"), 3),
    (("cameras", "cam1", "recording", "pre_roll"), -1),
    (("approved",), ["127.0.0.2"]),
    (("approved", "192.0.2.1"), 7),
    (("refused",), "192.0.2.9"),
]


@pytest.mark.parametrize(
    ("path", "value"), WRONG, ids=[f"{'/'.join(p) or 'data'}={v!r}" for p, v in WRONG]
)
async def test_the_hub_starts_on_a_store_with_a_wrong_type_and_keeps_the_rest(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    path: StorePath,
    value: Any,
) -> None:
    key = storage_key(hub_entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": _replaced(path, value),
    }
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    stored = dict(hub_entry.runtime_data.store.as_dict())
    assert_a_valid_hub(stored)  # type: ignore[arg-type]
    if path:
        # Everything beside the wrong value is kept (what it replaced goes back to its default).
        for other in paths(VALID)[1:]:
            if other[: len(path)] != path and path[: len(other)] != other:
                kept: Any = stored
                original: Any = VALID
                for part in other:
                    kept, original = kept[part], original[part]
                assert kept == original, other
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"store_repaired_{hub_entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["lost"].startswith("/".join(path) or "everything")
    # Written back repaired: the next start is clean.
    assert hass_storage[key]["data"] == stored
