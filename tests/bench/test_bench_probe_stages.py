"""The probe's stage switch on a real hub: what it switches off, that it counts, that it restores.

The budget workload (bench/budget.py) reaches into the hub's parts through it: should those parts
change shape (the broker's listeners, the statistics, the detectors), this fails here first.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bench.probe.bench_probe import _StageSwitch
from tests.helpers import jpeg_bytes, wait_for


async def test_the_switch_turns_each_stage_off_counts_frames_and_restores(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    camera = await connect_camera()
    await wait_for(lambda: "cam1" in hub.cameras)
    every_camera = hub.frames._listeners[None]  # what the switch edits, in place
    shipped = list(every_camera)
    seen: list[int] = []
    hub.frames.async_add_listener(lambda _camera, _frame: seen.append(1), "cam1")
    record = hub.cameras["cam1"]
    switch = _StageSwitch(hub)

    state = switch.apply(statistics=False, broker=False, consumers=set(), motion_analysis=False)
    assert state == {"consumers": [], "motion_enabled": {"cam1": True}}
    await camera.send_frame(jpeg_bytes())
    await wait_for(lambda: switch.frames == 1)
    assert record.stats.frames_received == 0  # statistics off
    assert seen == []  # broker off: no listener called
    assert record.latest_frame is not None  # received and assembled all the same

    state = switch.apply(statistics=True, broker=True, consumers={"ring"}, motion_analysis=False)
    assert state["consumers"] == ["ring"]
    assert every_camera == [c for c in shipped if getattr(c, "__self__", None) is hub.clips]
    assert "analyse" in vars(hub.motion.detector("cam1"))  # analysis stubbed on the detector
    await camera.send_frame(jpeg_bytes())
    await wait_for(lambda: switch.frames == 2 and seen == [1])
    assert record.stats.frames_received == 1

    assert switch.analysed == 0  # analysis was off (stubbed)
    switch.restore_parts()
    assert every_camera == shipped
    assert "analyse" not in vars(hub.motion.detector("cam1"))
    assert "record_frame" not in vars(record.stats)
    await camera.send_frame(jpeg_bytes())
    await wait_for(lambda: switch.frames == 3 and seen == [1, 1])
    assert record.stats.frames_received == 2
