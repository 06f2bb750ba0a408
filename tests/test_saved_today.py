"""The saver's "saved today": a total_increasing count, so it only goes up until midnight."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
import time
from types import SimpleNamespace
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.esp32_camera.disk import layout
from custom_components.esp32_camera.hub.image_saver import ImageSaver

KIB = 1024


async def _idle(hass: HomeAssistant, saver: ImageSaver) -> None:
    """Wait until the saver wrote what is queued and applied retention (the clock is frozen)."""
    await hass.async_block_till_done()
    for _ in range(2000):
        if not saver.busy:
            return
        await hass.async_add_executor_job(time.sleep, 0.002)
    raise AssertionError("the saver did not become idle")


async def test_pruning_todays_images_does_not_lower_saved_today(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    """The size limit removes two of today's images: "saved today" stays, midnight resets it."""
    noon = datetime(2026, 3, 4, 12, 0, tzinfo=dt_util.get_default_time_zone())
    freezer.move_to(dt_util.as_utc(noon))
    # Four images of this morning, 100 KiB each, on disk before the start.
    for minute in range(4):
        path = layout.saved_frame_path(
            tmp_path, "cam1", noon - timedelta(minutes=50 - minute), minute
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100 * KIB)
    listeners: list[Callable[[Any, Any], None]] = []

    def add_frame_listener(
        listener: Callable[[Any, Any], None], _camera_id: str
    ) -> Callable[[], None]:
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    saver = ImageSaver(
        hass,
        "entry",
        directory=str(tmp_path),
        retention_days=0,
        retention_size_mb=0.5,  # 512 KiB: pruned down to 90 % of it
        add_frame_listener=add_frame_listener,
    )
    await saver.async_start()
    await _idle(hass, saver)
    counters = saver.counters("cam1")
    assert (counters.saved_total, counters.saved_today) == (4, 4)

    saver.async_set_enabled("cam1", True)
    frame = SimpleNamespace(
        data=b"\xff\xd8" + b"\0" * 200 * KIB + b"\xff\xd9", started_at=1.0, completed_at=1.0
    )
    for listener in listeners:
        listener(SimpleNamespace(camera_id="cam1"), frame)
    await _idle(hass, saver)
    # 600 KiB > 512 KiB: the two oldest of this morning's images are removed.
    assert counters.saved_total == 3
    assert counters.saved_today == 5  # four found and one written today, whatever was removed since
    assert saver.as_dict()["cameras"]["cam1"]["saved_today"] == 5

    freezer.move_to(
        dt_util.as_utc(noon.replace(hour=23, minute=59, second=59)) + timedelta(seconds=1)
    )
    async_fire_time_changed(hass)
    await _idle(hass, saver)
    assert (counters.saved_total, counters.saved_today) == (3, 0)
    await saver.async_stop()
