"""The saver's "saved today": a total_increasing count, so it only goes up until midnight."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.esp32_camera.disk import layout
from tests.helpers import FrameBus, make_saver, written

KIB = 1024


async def test_pruning_todays_images_does_not_lower_saved_today(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    """The size limit removes two of today's images: "saved today" stays, midnight resets it."""
    noon = datetime(2026, 3, 4, 12, 0, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(dt_util.as_utc(noon))
    # Four images of this morning, 100 KiB each, on disk before the start.
    for minute in range(4):
        when = noon - timedelta(minutes=50 - minute)
        path = layout.saved_frame_path(tmp_path, "cam1", when, minute)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100 * KIB)
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus, retention_size_mb=0.5)  # pruned to 90 % of 512 KiB
    await saver.async_start()
    await written(hass, saver)
    counters = saver.counters("cam1")
    assert (counters.saved_total, counters.saved_today) == (4, 4)

    saver.async_set_enabled("cam1", True)
    bus.publish("cam1", b"\xff\xd8" + b"\0" * 200 * KIB + b"\xff\xd9", 1.0)
    await written(hass, saver)
    # 600 KiB > 512 KiB: the two oldest of this morning's images are removed.
    assert counters.saved_total == 3
    assert counters.saved_today == 5  # four found and one written today, whatever went since
    assert saver.as_dict()["cameras"]["cam1"]["saved_today"] == 5

    freezer.move_to(dt_util.as_utc(noon.replace(hour=23, minute=59, second=59)))
    freezer.tick(timedelta(seconds=1))
    async_fire_time_changed(hass)
    await written(hass, saver)
    assert (counters.saved_total, counters.saved_today) == (3, 0)
    await saver.async_stop()
