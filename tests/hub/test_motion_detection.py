"""Each camera is a motion sensor: the simulator's scenes streamed over real sockets to a real hub.

A crossing turns the motion binary sensor on and fires `motion_started` on the event entity; a
lamp switched on does neither. The settings are the hub's, kept in its store (an earlier store
without them still loads), changed from the switch and numbers.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any
from unittest.mock import patch

from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    EVENT_HOMEASSISTANT_STOP,
    EVENT_STATE_CHANGED,
    SERVICE_TURN_OFF,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import DOMAIN, EVENT_CLIP_SAVED
from custom_components.esp32_camera.diagnostics import async_get_config_entry_diagnostics
from custom_components.esp32_camera.hub.motion_detection import (
    DEFAULT_COOLDOWN,
    MAX_MOTION_ISSUES,
    MOTION_FAILURES_FOR_ISSUE,
)
from custom_components.esp32_camera.hub.store import STORAGE_VERSION, storage_key
from custom_components.esp32_camera.motion import MotionResult, MotionSettings
from tests.helpers import HUB_TOKEN, jpeg_bytes, scene_jpegs, wait_for

MOTION = "binary_sensor.esp32_camera_cam1_motion"
EVENT = "event.esp32_camera_cam1_motion"
SWITCH = "switch.esp32_camera_cam1_motion_detection"
SENSITIVITY = "number.esp32_camera_cam1_motion_sensitivity"
SCORE = "sensor.esp32_camera_cam1_motion_score"
COOLDOWN = "number.esp32_camera_cam1_motion_cool_down"


class Recorder:
    """Every state the motion sensor and the event entity took (nothing is missed between polls)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.motion: list[str] = []
        self.events: list[tuple[str, Any]] = []
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed)

    @callback
    def _changed(self, event: Event[Any]) -> None:
        state = event.data["new_state"]
        if state is None:
            return
        if state.entity_id == MOTION:
            self.motion.append(state.state)
        elif state.entity_id == EVENT and state.attributes.get("event_type") is not None:
            self.events.append((state.attributes["event_type"], state.attributes.get("zone")))


async def play(hass: HomeAssistant, simulate: Any, scene: str) -> tuple[Recorder, Any]:
    recorder = Recorder(hass)
    frames = list(scene_jpegs(scene))
    camera = await simulate(frames=frames, fps=20, mode="speed")
    await wait_for(lambda: camera.frames_sent >= len(frames), timeout=60)
    await hass.async_block_till_done()
    return recorder, camera


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_crossing_turns_the_motion_sensor_on_and_fires_motion_started(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await hub_entry.runtime_data.motion.async_set("cam1", cooldown=5.0)
    recorder, _ = await play(hass, simulate, "crossing")
    await wait_for(lambda: STATE_ON in recorder.motion)
    await wait_for(lambda: ("motion_started", None) in recorder.events)
    # A cool-down after the last crossing, the motion ends (with its event).
    await wait_for(lambda: hass.states.get(MOTION).state == STATE_OFF, timeout=15)  # type: ignore[union-attr]
    assert ("motion_ended", None) in recorder.events
    # Starts and ends alternate, from a start: events, not per-frame writes.
    kinds = [kind for kind, _ in recorder.events]
    assert kinds[0] == "motion_started"
    assert all(a != b for a, b in itertools.pairwise(kinds))
    assert recorder.motion.count(STATE_ON) == kinds.count("motion_started")
    diagnostics = await async_get_config_entry_diagnostics(hass, hub_entry)
    motion = diagnostics["cameras"]["cam1"]["motion"]
    assert motion["analysed"] > 0
    assert motion["events"] == kinds.count("motion_started")
    assert motion["skipped"] > 0  # 20 fps against 10 analyses/s at most
    assert motion["mean_ms"] is not None
    assert motion["settings"]["enabled"] is True
    # The score comes with the camera's throttled statistics: a number once frames were analysed.
    await wait_for(lambda: hass.states.get(SCORE).state not in ("unknown", "unavailable"), 10)  # type: ignore[union-attr]
    assert 0.0 <= float(hass.states.get(SCORE).state) <= 100.0  # type: ignore[union-attr]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_busy_scene_is_one_motion_episode_by_default(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    """Two people cross 7.4 s apart: one episode with the hub's default cool-down, where the
    detector's 5 s made the sensor, the event entity and the clips flap (issue 20)."""
    await hass.config_entries.async_setup(hub_entry.entry_id)
    assert hub_entry.runtime_data.motion.settings("cam1").cooldown == DEFAULT_COOLDOWN
    recorder, _ = await play(hass, simulate, "crossing")
    assert [kind for kind, _ in recorder.events] == ["motion_started"]
    assert recorder.motion.count(STATE_ON) == 1  # from off (or unknown) to on, once
    assert hass.states.get(MOTION).state == STATE_ON  # type: ignore[union-attr]


async def test_a_lamp_switched_on_is_not_motion(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    recorder, _ = await play(hass, simulate, "lamp")
    hub = hub_entry.runtime_data
    await wait_for(lambda: hub.motion.detector("cam1").stats.analysed > 10)
    assert STATE_ON not in recorder.motion
    assert recorder.events == []
    assert hass.states.get(MOTION).state == STATE_OFF  # type: ignore[union-attr]


async def test_settings_are_kept_in_the_store_and_disabling_stops_the_analysis(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_storage: dict[str, Any],
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await simulate(frames=list(scene_jpegs("lamp")[:5]), fps=20, mode="speed")
    await wait_for(lambda: hass.states.get(SWITCH) is not None)
    assert hass.states.get(SWITCH).state == STATE_ON  # type: ignore[union-attr]
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: SENSITIVITY, ATTR_VALUE: 80},
        blocking=True,
    )
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: COOLDOWN, ATTR_VALUE: 2}, blocking=True
    )
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: SWITCH}, blocking=True
    )
    assert hass.states.get(SWITCH).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(SENSITIVITY).state == "80"  # type: ignore[union-attr]
    hub = hub_entry.runtime_data
    assert hub.motion.settings("cam1") == MotionSettings(
        enabled=False, sensitivity=80, cooldown=2.0
    )
    # Frames go on arriving, counted as skipped (diagnostics' figures), and none is analysed.
    analysed = hub.motion.stats("cam1")["analysed"]
    skipped = hub.motion.stats("cam1")["skipped"]
    await wait_for(lambda: hub.motion.stats("cam1")["skipped"] > skipped + 5)
    assert hub.motion.stats("cam1")["analysed"] == analysed
    # Kept across a restart (a new hub reads the store).
    await hass.config_entries.async_reload(hub_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[storage_key(hub_entry.entry_id)]["data"]["cameras"]["cam1"]["motion"]
    assert stored == {"enabled": False, "sensitivity": 80, "cooldown": 2.0}
    assert hub_entry.runtime_data.motion.settings("cam1") == MotionSettings(
        enabled=False, sensitivity=80, cooldown=2.0
    )
    with pytest.raises(ServiceValidationError):
        await hub_entry.runtime_data.motion.async_set("cam1", min_area=0.0)


@pytest.mark.parametrize(
    ("stored_motion", "expected"),
    [
        # An earlier release's record: no motion settings; the hub's episode default.
        (None, MotionSettings(cooldown=DEFAULT_COOLDOWN)),
        # Damaged: the bad value is dropped (a repair issue says so), the others kept.
        (
            {"sensitivity": 120, "enabled": False},
            MotionSettings(enabled=False, cooldown=DEFAULT_COOLDOWN),
        ),
        ({"min_area": 2.5}, MotionSettings(min_area=2.5, cooldown=DEFAULT_COOLDOWN)),
        ({"cooldown": 2.0}, MotionSettings(cooldown=2.0)),  # the user's choice stays
    ],
)
async def test_earlier_and_damaged_stores_still_load(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    stored_motion: dict[str, Any] | None,
    expected: MotionSettings,
) -> None:
    camera: dict[str, Any] = {
        "name": "Garden",
        "firmware": "2.0",
        "settings": {"quality": "20"},
        "saving": False,
        "saving_rate": 0.0,
    }
    if stored_motion is not None:
        camera["motion"] = stored_motion
    hass_storage[storage_key(hub_entry.entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": storage_key(hub_entry.entry_id),
        "data": {"cameras": {"cam1": camera}, "approved": {}, "refused": []},
    }
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    assert hub.motion.settings("cam1") == expected
    assert hub.store.chosen_settings("cam1") == {"quality": "20"}


async def test_turning_detection_off_during_motion_ends_it_at_once(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    recorder = Recorder(hass)
    await simulate(frames=list(scene_jpegs("crossing")), fps=20, mode="speed")
    await wait_for(lambda: STATE_ON in recorder.motion, timeout=30)
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: SWITCH}, blocking=True
    )
    await hass.async_block_till_done()
    # No cool-down: the motion ends with the switch, and no new one starts.
    assert hass.states.get(MOTION).state == STATE_OFF  # type: ignore[union-attr]
    assert recorder.events[-1] == ("motion_ended", None)
    starts = recorder.motion.count(STATE_ON)
    motion = hub_entry.runtime_data.motion
    analysed, skipped = motion.stats("cam1")["analysed"], motion.stats("cam1")["skipped"]
    await wait_for(lambda: motion.stats("cam1")["skipped"] > skipped + 10)  # the crossing goes on
    assert motion.stats("cam1")["analysed"] == analysed
    assert recorder.motion.count(STATE_ON) == starts


async def test_the_worker_thread_stops_with_home_assistant(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    """Home Assistant does not unload entries when it stops: the thread must stop anyway."""
    await hass.config_entries.async_setup(hub_entry.entry_id)
    name = f"esp32_camera_motion_{hub_entry.entry_id}"
    assert name in {thread.name for thread in threading.enumerate()}
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert name not in {thread.name for thread in threading.enumerate()}
    # Unloading afterwards stops nothing twice.
    assert await hass.config_entries.async_unload(hub_entry.entry_id)


async def test_a_two_pixel_jpeg_leaves_every_cameras_motion_working(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    simulate: Any,
) -> None:
    """Issue 18: one admitted camera's 2x2 JPEG killed the hub's motion worker thread."""
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    glitching = await connect_camera(f"?token={HUB_TOKEN}&id=cam2")
    for number, (width, height) in enumerate(((2, 2), (1, 1), (16, 2), (1, 200)), 1):
        await glitching.send_frame(jpeg_bytes(width, height))
        await wait_for(lambda n=number: hub.cameras["cam2"].stats.frames_received == n)
        await asyncio.sleep(0.15)  # past the rate cap: each one is analysed
    # Motion still works: the crossing's first person turns it on (no need to play all 16 s).
    recorder = Recorder(hass)
    await simulate(frames=list(scene_jpegs("crossing")), fps=20, mode="speed")
    await wait_for(lambda: STATE_ON in recorder.motion, timeout=30)
    name = f"esp32_camera_motion_{hub_entry.entry_id}"
    assert name in {thread.name for thread in threading.enumerate()}
    diagnostics = await async_get_config_entry_diagnostics(hass, hub_entry)
    assert diagnostics["cameras"]["cam2"]["motion"]["failures"] == 0
    assert diagnostics["cameras"]["cam2"]["motion"]["analysed"] == 0
    assert diagnostics["cameras"]["cam2"]["motion"]["unsupported"] == 4


async def test_a_camera_whose_analysis_keeps_failing_ends_its_motion_and_raises_a_repair(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any exception of one analysis: motion ended cleanly (sensor, event, clip), counted, a repair.

    The exception is injected (a bug nobody foresaw); the picture itself is the real crossing.
    """
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    await hub.clips.async_set("cam1", record=True, pre_roll=0.0, post_roll=0.0)
    clips: list[Event[Any]] = []
    hass.bus.async_listen(EVENT_CLIP_SAVED, clips.append)
    recorder = Recorder(hass)
    await simulate(frames=list(scene_jpegs("crossing")), fps=20, mode="speed")
    await wait_for(lambda: STATE_ON in recorder.motion, timeout=30)
    detector = hub.motion.detector("cam1")
    issue_id = f"motion_failing_{hub_entry.entry_id}_cam1"
    with patch.object(detector, "_compare", side_effect=RuntimeError("a bug nobody foresaw")):
        await wait_for(lambda: hass.states.get(MOTION).state == STATE_OFF, timeout=10)  # type: ignore[union-attr]
        assert recorder.events[-1] == ("motion_ended", None)
        await wait_for(lambda: clips, timeout=15)  # the open motion clip is finished
        assert clips[0].data["reason"] == "motion"
        await wait_for(lambda: issue_registry.async_get_issue(DOMAIN, issue_id), timeout=15)
        diagnostics = await async_get_config_entry_diagnostics(hass, hub_entry)
        assert diagnostics["cameras"]["cam1"]["motion"]["failures"] >= MOTION_FAILURES_FOR_ISSUE
        assert recorder.motion[-1] == STATE_OFF  # no motion while every analysis fails
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "motion_failing"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["camera"] == "cam1"
    # Analysed again: the issue goes, and motion works again.
    await wait_for(lambda: issue_registry.async_get_issue(DOMAIN, issue_id) is None, timeout=10)
    await wait_for(lambda: recorder.motion[-1] == STATE_ON, timeout=30)
    tracebacks = [r for r in caplog.records if "Motion analysis failed for cam1" in r.message]
    assert len(tracebacks) == 1  # many failures, one traceback


async def test_repair_issues_for_failing_analyses_are_capped(
    hass: HomeAssistant, hub_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    motion = hub_entry.runtime_data.motion
    failed = MotionResult.without_picture(0.0, None, "E: x")
    for number in range(MAX_MOTION_ISSUES + 5):
        motion.detector(f"cam{number}")  # known cameras (results of unknown ones are dropped)
        for _ in range(MOTION_FAILURES_FOR_ISSUE):
            motion._async_result(f"cam{number}", failed)
    ours = [key for key in issue_registry.issues if key[1].startswith("motion_failing_")]
    assert len(ours) == MAX_MOTION_ISSUES
    # A removed camera's issue goes; the next failure of a camera past the cap takes its place.
    motion.async_forget("cam0")
    assert (DOMAIN, f"motion_failing_{hub_entry.entry_id}_cam0") not in issue_registry.issues
    motion._async_result("cam9", failed)
    assert (DOMAIN, f"motion_failing_{hub_entry.entry_id}_cam9") in issue_registry.issues
    # Unloading deletes them (counted per run).
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    assert not [key for key in issue_registry.issues if key[1].startswith("motion_failing_")]
