"""Continuous saving (hub/image_saver.py): layout, rate limit, retention, drops, counters."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from custom_components.esp32_camera.disk import layout, writing
from custom_components.esp32_camera.hub import image_saver as saver_module
from custom_components.esp32_camera.hub.image_saver import MIB
from custom_components.esp32_camera.hub.options import default_save_directory
from tests.helpers import SAVER_JPEG, FrameBus, make_saver, written


def saved_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def make_image(root: Path, camera: str, when: datetime, seq: int, size: int) -> Path:
    path = layout.saved_frame_path(root, camera, when, seq)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


async def test_saves_frames_in_dated_layout(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    """Every frame of an enabled camera lands in <camera>/<day>/<hour>/<time>_<seq>.jpg."""
    freezer.move_to(
        dt_util.as_utc(
            datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt_util.get_default_time_zone())
        )
    )
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    bus.publish("cam1", SAVER_JPEG, 1.0)
    bus.publish("cam1", SAVER_JPEG + b"2", 1.05)
    bus.publish("other", SAVER_JPEG, 1.1)  # not enabled
    await written(hass, saver)
    await saver.async_stop()

    files = saved_files(tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "cam1/2026-03-04/05/05-06-07.890123_1.jpg",
        "cam1/2026-03-04/05/05-06-07.890123_2.jpg",
    ]
    assert files[0].read_bytes() == SAVER_JPEG
    assert files[1].read_bytes() == SAVER_JPEG + b"2"
    counters = saver.counters("cam1")
    assert counters.saved_total == 2
    assert counters.saved_today == 2
    assert counters.saved_bytes == 2 * len(SAVER_JPEG) + 1
    assert counters.dropped == 0
    assert counters.last_saved_path == str(files[1])
    assert counters.last_saved_at == dt_util.now()
    assert saver.as_dict()["cameras"]["cam1"]["saved_total"] == 2


async def test_disable_stops_saving(hass: HomeAssistant, tmp_path: Path) -> None:
    """Turning saving off unsubscribes from the camera's frames."""
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    assert saver.is_enabled("cam1")
    bus.publish("cam1", SAVER_JPEG, 1.0)
    await written(hass, saver)
    saver.async_set_enabled("cam1", False)
    assert not saver.is_enabled("cam1")
    assert bus.listeners["cam1"] == []
    bus.publish("cam1", SAVER_JPEG, 2.0)
    await written(hass, saver)
    await saver.async_stop()
    assert len(saved_files(tmp_path)) == 1


async def test_rate_limit(hass: HomeAssistant, tmp_path: Path) -> None:
    """At most N frames per second are saved, judged by the frames' own times."""
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    saver.async_set_max_rate("cam1", 2)
    assert saver.max_rate("cam1") == 2
    for i in range(21):  # 20 fps for one second
        bus.publish("cam1", SAVER_JPEG, 100.0 + i * 0.05)
    await written(hass, saver)
    assert saver.counters("cam1").saved_total == 3  # t = 0, 0.5, 1.0
    saver.async_set_max_rate("cam1", 0)
    assert saver.max_rate("cam1") == 0
    for i in range(5):
        bus.publish("cam1", SAVER_JPEG, 200.0 + i * 0.05)
    await written(hass, saver)
    await saver.async_stop()
    assert saver.counters("cam1").saved_total == 8
    assert len(saved_files(tmp_path)) == 8


async def test_drops_newest_when_writer_lags(hass: HomeAssistant, tmp_path: Path) -> None:
    """A blocked writer fills the bounded queue; later frames are dropped and counted."""
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus, queue_frames=4)
    release = threading.Event()
    started = threading.Event()
    real_write = saver_module._write_batch

    def slow_write(root: Path, items: list[Any]) -> Any:
        started.set()
        assert release.wait(10)
        return real_write(root, items)

    with patch.object(saver_module, "_write_batch", slow_write):
        await saver.async_start()
        saver.async_set_enabled("cam1", True)
        bus.publish("cam1", b"first" + SAVER_JPEG, 1.0)
        await hass.async_add_executor_job(started.wait, 10)
        # The writer holds the first frame; four more fill the queue, the rest are dropped.
        for i in range(10):
            bus.publish("cam1", SAVER_JPEG + bytes([i]), 2.0 + i)
        assert saver.as_dict()["queued_frames"] == 4
        assert saver.counters("cam1").dropped == 6
        release.set()
        await saver.async_stop()

    contents = sorted(f.read_bytes() for f in saved_files(tmp_path))
    assert contents == sorted([b"first" + SAVER_JPEG] + [SAVER_JPEG + bytes([i]) for i in range(4)])
    assert saver.counters("cam1").saved_total == 5
    assert saver.as_dict()["queued_frames"] == 0
    assert saver.as_dict()["queued_bytes"] == 0


async def test_queue_bounded_by_bytes(hass: HomeAssistant, tmp_path: Path) -> None:
    """Large frames hit the byte bound of the queue before its frame bound."""
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus, queue_bytes=2 * len(SAVER_JPEG))
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    for i in range(3):  # in one loop iteration: the writer has not run yet
        bus.publish("cam1", SAVER_JPEG, float(i))
    assert saver.counters("cam1").dropped == 1
    await saver.async_stop()
    assert saver.counters("cam1").saved_total == 2


async def test_write_failure_leaves_no_partial_file(hass: HomeAssistant, tmp_path: Path) -> None:
    """A camera directory that is a file: frames are counted as errors, nothing half-written."""
    (tmp_path / "cam1").write_bytes(b"not a directory")
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    bus.publish("cam1", SAVER_JPEG, 1.0)
    bus.publish("cam1", SAVER_JPEG, 2.0)
    await written(hass, saver)
    await saver.async_stop()
    assert saver.counters("cam1").errors == 2
    assert saver.counters("cam1").saved_total == 0
    assert saved_files(tmp_path) == [tmp_path / "cam1"]


async def test_temporary_file_removed_when_write_fails(tmp_path: Path) -> None:
    """`write_file_atomic` removes its temporary file and keeps the old target on failure."""
    target = tmp_path / "a" / "b.jpg"
    writing.write_file_atomic(target, b"old")
    with (
        patch.object(writing.os, "rename", side_effect=OSError("disk full")),
        pytest.raises(OSError, match="disk full"),
    ):
        writing.write_file_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["b.jpg"]


async def test_counters_from_disk_and_leftovers(hass: HomeAssistant, tmp_path: Path) -> None:
    """At start the saver counts what is on disk and removes temporary files of a crash."""
    now = dt_util.now()
    make_image(tmp_path, "cam1", now, 1, 100)
    make_image(tmp_path, "cam1", now - timedelta(days=2), 2, 50)
    leftover = layout.saved_frame_path(tmp_path, "cam1", now, 3).with_name(".esp32cam-123.tmp")
    leftover.write_bytes(b"partial")
    snapshot = layout.snapshot_path(tmp_path, "cam1", now)
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"snap")  # counted, as the original counted its "save now" images
    (snapshot.parent / "door.jpg").write_bytes(b"mine")  # not a snapshot's default name
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus)
    await saver.async_start()
    await written(hass, saver)
    counters = saver.counters("cam1")
    assert (counters.saved_total, counters.saved_today, counters.saved_bytes) == (3, 2, 154)
    assert saver.as_dict()["total_bytes"] == 150  # what retention works on: no snapshots
    assert not leftover.exists()
    assert snapshot.exists()
    await saver.async_stop()


async def test_retention_by_age(hass: HomeAssistant, tmp_path: Path) -> None:
    """Images older than the age limit are removed with their emptied directories."""
    now = dt_util.now()
    old = make_image(tmp_path, "cam1", now - timedelta(days=3, hours=1), 1, 10)
    boundary_old = make_image(tmp_path, "cam2", now - timedelta(days=2, minutes=1), 2, 10)
    boundary_new = make_image(
        tmp_path, "cam2", now - timedelta(days=2) + timedelta(minutes=1), 3, 10
    )
    recent = make_image(tmp_path, "cam1", now - timedelta(hours=1), 4, 10)
    foreign_old = make_image(tmp_path, "cam3", now - timedelta(days=5), 5, 10)
    foreign_old.with_name("notes.txt").write_text("mine")
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus, retention_days=2)
    saver.counters("cam1")  # known camera: its counters follow the removal
    await saver.async_start()
    await written(hass, saver)
    assert not old.exists()
    assert not old.parent.parent.exists()  # the day directory went with it
    assert not boundary_old.exists()
    assert boundary_new.exists()
    assert recent.exists()
    assert not foreign_old.exists()
    assert foreign_old.with_name("notes.txt").exists()  # files of others are never removed
    assert saver.counters("cam1").saved_total == 1
    assert saver.as_dict()["total_bytes"] == 20
    await saver.async_stop()


async def test_retention_by_size_after_writes(hass: HomeAssistant, tmp_path: Path) -> None:
    """Crossing the size limit removes the oldest images (all cameras) down to 90 % of it."""
    now = dt_util.now()
    old = [
        make_image(tmp_path, camera, now - timedelta(minutes=30 - i), i, 100 * 1024)
        for i, camera in enumerate(["cam1", "cam2"] * 4)
    ]
    bus = FrameBus()
    # 1 MiB limit; 800 KiB on disk.
    saver = make_saver(hass, tmp_path, bus, retention_size_mb=1)
    await saver.async_start()
    await written(hass, saver)
    assert all(path.exists() for path in old)
    saver.async_set_enabled("cam1", True)
    big = b"\xff\xd8" + b"\0" * (300 * 1024) + b"\xff\xd9"
    bus.publish("cam1", big, 1.0)  # 1100 KiB > 1 MiB: down to 921.6 KiB
    await written(hass, saver)
    assert [path.exists() for path in old] == [False, False] + [True] * 6
    assert saver.as_dict()["total_bytes"] == 600 * 1024 + len(big)
    assert saver.as_dict()["total_bytes"] <= 0.9 * MIB
    assert saver.counters("cam1").saved_total == 4
    await saver.async_stop()


async def test_periodic_retention_and_midnight(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    """Retention also runs every hour; "saved today" starts again at local midnight."""
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    freezer.move_to(
        dt_util.as_utc(datetime(2026, 3, 4, 23, 30, tzinfo=dt_util.get_default_time_zone()))
    )
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus, retention_days=1)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    bus.publish("cam1", SAVER_JPEG, 1.0)
    await written(hass, saver)
    assert saver.counters("cam1").saved_today == 1
    freezer.tick(timedelta(minutes=31))
    async_fire_time_changed(hass)
    await written(hass, saver)
    assert saver.counters("cam1").saved_today == 0
    assert saver.counters("cam1").saved_total == 1
    freezer.tick(timedelta(days=1))
    async_fire_time_changed(hass)
    await written(hass, saver)
    assert saver.counters("cam1").saved_total == 0
    assert saved_files(tmp_path) == []
    await saver.async_stop()


async def test_refuses_www(hass: HomeAssistant, tmp_path: Path) -> None:
    """A save directory under www/ (served without authentication) is refused."""
    hass.config.config_dir = str(tmp_path)
    bus = FrameBus()
    saver = make_saver(hass, tmp_path / "www" / "cams", bus)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    bus.publish("cam1", SAVER_JPEG, 1.0)
    await written(hass, saver)
    assert saver.as_dict()["state"] == "error"
    assert "www" in saver.as_dict()["error"]
    await saver.async_stop()
    assert not (tmp_path / "www").exists()


async def test_default_directory_in_media(hass: HomeAssistant) -> None:
    """The default save directory is inside the local media folder."""
    assert default_save_directory(hass) == str(
        Path(hass.config.media_dirs["local"]) / "esp32_camera"
    )


async def test_snapshots_are_counted_and_kept(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    """Snapshots in a camera's snapshot folder count as saved images; retention keeps them."""
    freezer.move_to(
        dt_util.as_utc(datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt_util.get_default_time_zone()))
    )
    now = dt_util.now()
    old_snapshot = layout.snapshot_path(tmp_path, "cam1", now - timedelta(days=3))
    old_snapshot.parent.mkdir(parents=True)
    old_snapshot.write_bytes(b"old")
    old_image = make_image(tmp_path, "cam1", now - timedelta(days=3), 1, 10)
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus, retention_days=1)
    await saver.async_start()
    await written(hass, saver)
    assert old_snapshot.exists()  # taken on purpose: never removed by retention
    assert not old_image.exists()
    counters = saver.counters("cam1")
    assert (counters.saved_total, counters.saved_today, counters.saved_bytes) == (1, 0, 3)

    # A snapshot written now, as the snapshot action does, counts at once.
    snapshot = layout.snapshot_path(tmp_path, "cam1", now)
    saver.async_snapshot_saved("cam1", snapshot, 1000)
    assert (counters.saved_total, counters.saved_today, counters.saved_bytes) == (2, 1, 1003)
    assert counters.last_saved_path == str(snapshot)
    assert counters.last_saved_at == now
    # Elsewhere (a file name of the user's choice): not part of the save directory's images.
    saver.async_snapshot_saved("cam1", tmp_path / "cam1" / "door.jpg", 1000)
    saver.async_snapshot_saved("cam1", layout.snapshot_path(tmp_path / "other", "cam1", now), 1)
    assert counters.saved_total == 2
    await saver.async_stop()


async def test_counts_by_date_and_hour(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    """Saved images per date and per hour, as the original's image statistics, kept current."""
    freezer.move_to(
        dt_util.as_utc(datetime(2026, 3, 10, 5, 6, 7, tzinfo=dt_util.get_default_time_zone()))
    )
    now = dt_util.now()
    for days in range(9):  # one image a day at 23:00 for the nine days before today
        make_image(tmp_path, "cam1", now.replace(hour=23) - timedelta(days=days + 1), days, 10)
    make_image(tmp_path, "cam1", now - timedelta(hours=2), 20, 10)
    snapshot = layout.snapshot_path(tmp_path, "cam1", now - timedelta(hours=1))
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_bytes(b"snap")
    bus = FrameBus()
    saver = make_saver(hass, tmp_path, bus, retention_days=8)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    bus.publish("cam1", SAVER_JPEG, 1.0)
    bus.publish("cam1", SAVER_JPEG, 1.1)
    await written(hass, saver)
    saver.async_snapshot_saved("cam1", layout.snapshot_path(tmp_path, "cam1", now), 5)
    counts = saver.saved_counts("cam1")
    # Retention removed the oldest image (2026-03-01, more than 8 days old).
    assert counts["by_date"] == {
        "2026-03-10": 5,
        **{f"2026-03-{day:02}": 1 for day in range(9, 1, -1)},
    }
    assert list(counts["by_date"]) == sorted(counts["by_date"], reverse=True)
    assert counts["by_hour"]["2026-03-10"] == {"05": 3, "04": 1, "03": 1}
    assert counts["by_hour"]["2026-03-09"] == {"23": 1}
    assert len(counts["by_hour"]) == saver_module.HOURLY_DATES
    assert sum(counts["by_date"].values()) == saver.counters("cam1").saved_total
    assert saver.saved_counts("unknown") == {"by_date": {}, "by_hour": {}}
    await saver.async_stop()
