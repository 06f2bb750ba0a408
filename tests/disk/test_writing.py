"""Files are written only below the save directory, never through a link planted in it."""

from __future__ import annotations

import errno
from pathlib import Path
import threading

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.disk import writing
from custom_components.esp32_camera.hub.image_saver import WRITE_ERROR_AFTER_FRAMES
from tests.helpers import SAVER_JPEG, FrameBus, make_saver, written


def test_write_below_root_creates_directories(tmp_path: Path) -> None:
    root = tmp_path / "saved"
    target = root / "cam1" / "2026-11-30" / "20" / "a.jpg"
    writing.write_file_atomic(target, b"jpeg", root=root)
    assert target.read_bytes() == b"jpeg"
    assert [p.name for p in target.parent.iterdir()] == ["a.jpg"]


@pytest.mark.parametrize("link_at", ["cam1", "cam1/2026-11-30"])
def test_link_below_root_is_never_followed(tmp_path: Path, link_at: str) -> None:
    root, outside = tmp_path / "saved", tmp_path / "outside"
    outside.mkdir()
    (root / link_at).parent.mkdir(parents=True, exist_ok=True)
    (root / link_at).symlink_to(outside, target_is_directory=True)
    target = root / "cam1" / "2026-11-30" / "20" / "a.jpg"
    # ENOTDIR or ELOOP: opened without following, the link is no directory.
    with pytest.raises(OSError, match=r"Not a directory|Too many levels of symbolic links"):
        writing.write_file_atomic(target, b"jpeg", root=root)
    assert list(outside.rglob("*")) == []


def test_link_as_target_file_is_replaced_not_followed(tmp_path: Path) -> None:
    root, outside = tmp_path / "saved", tmp_path / "outside.jpg"
    outside.write_bytes(b"precious")
    (root / "cam1").mkdir(parents=True)
    (root / "cam1" / "a.jpg").symlink_to(outside)
    writing.write_file_atomic(root / "cam1" / "a.jpg", b"jpeg", root=root)
    assert outside.read_bytes() == b"precious"
    assert not (root / "cam1" / "a.jpg").is_symlink()
    assert (root / "cam1" / "a.jpg").read_bytes() == b"jpeg"


def test_root_itself_may_be_a_link(tmp_path: Path) -> None:
    """The save directory the user chose may be a link (e.g. to a USB disk)."""
    disk = tmp_path / "usb"
    disk.mkdir()
    (tmp_path / "saved").symlink_to(disk, target_is_directory=True)
    writing.write_file_atomic(
        tmp_path / "saved" / "cam1" / "a.jpg", b"jpeg", root=tmp_path / "saved"
    )
    assert (disk / "cam1" / "a.jpg").read_bytes() == b"jpeg"


def test_path_outside_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not inside"):
        writing.write_file_atomic(tmp_path / "a" / ".." / ".." / "b.jpg", b"x", root=tmp_path / "a")
    with pytest.raises(ValueError, match="subpath"):
        writing.write_file_atomic(tmp_path / "elsewhere" / "b.jpg", b"x", root=tmp_path / "a")


async def test_saver_never_writes_through_a_planted_link(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A link planted at `<save directory>/<camera>` gets no frame: each write fails, counted."""
    root, outside = tmp_path / "saved", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "cam1").symlink_to(outside, target_is_directory=True)
    bus = FrameBus()
    saver = make_saver(hass, root, bus)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    for moment in range(1, 4):
        bus.publish("cam1", SAVER_JPEG, float(moment))
    await written(hass, saver)
    await saver.async_stop()
    assert list(outside.rglob("*")) == []
    assert saver.counters("cam1").errors == 3
    assert [path.name for path in root.iterdir()] == ["cam1"]
    assert (root / "cam1").is_symlink()


async def test_saver_error_state_while_writes_keep_failing(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Writes that keep failing put the saver in `error` with a repair issue; a success clears both."""
    root = tmp_path / "saved"
    root.mkdir()
    (root / "cam1").write_bytes(b"a file where the camera's folder goes")  # every write: ENOTDIR
    bus = FrameBus()
    saver = make_saver(hass, root, bus)
    await saver.async_start()
    saver.async_set_enabled("cam1", True)
    issues = ir.async_get(hass)
    issue_id = f"saving_failed_{saver.entry_id}"
    for moment in range(1, WRITE_ERROR_AFTER_FRAMES):
        bus.publish("cam1", SAVER_JPEG, float(moment))
    await written(hass, saver)
    assert saver.state == "running"  # a few failures are not yet an error
    bus.publish("cam1", SAVER_JPEG, float(WRITE_ERROR_AFTER_FRAMES))
    await written(hass, saver)
    assert saver.state == "error"
    assert saver.as_dict()["error"] == "Not a directory"
    assert issues.async_get_issue(DOMAIN, issue_id) is not None

    (root / "cam1").unlink()  # space freed, folder fixed
    bus.publish("cam1", SAVER_JPEG, 100.0)
    await written(hass, saver)
    assert saver.state == "running"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert saver.counters("cam1").errors == WRITE_ERROR_AFTER_FRAMES
    await saver.async_stop()


def test_a_write_that_must_not_replace_never_does(tmp_path: Path) -> None:
    """`overwrite=False` publishes the file with a hard link: an existing name is never replaced."""
    root = tmp_path / "saved"
    target = root / "cam1" / "a.jpg"
    writing.write_file_atomic(target, b"first", root=root, overwrite=False)
    with pytest.raises(FileExistsError):
        writing.write_file_atomic(target, b"second", root=root, overwrite=False)
    assert target.read_bytes() == b"first"
    (root / "cam1" / "link.jpg").symlink_to(tmp_path / "nowhere.jpg")  # a dangling link is taken
    with pytest.raises(FileExistsError):
        writing.write_file_atomic(root / "cam1" / "link.jpg", b"x", root=root, overwrite=False)
    assert not (tmp_path / "nowhere.jpg").exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.jpg", "link.jpg"]


def test_concurrent_exclusive_writes_leave_exactly_one_winner(tmp_path: Path) -> None:
    """No check-then-write window: of 16 threads writing one new name, exactly one succeeds."""
    target = tmp_path / "race.jpg"
    barrier = threading.Barrier(16)
    outcomes: list[str] = []

    def write(number: int) -> None:
        barrier.wait()
        try:
            writing.write_file_atomic(target, b"%d" % number, overwrite=False)
        except FileExistsError:
            outcomes.append("exists")
        else:
            outcomes.append(str(number))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [outcome for outcome in outcomes if outcome != "exists"]
    assert len(winners) == 1
    assert target.read_bytes() == winners[0].encode()
    assert [p.name for p in tmp_path.iterdir()] == ["race.jpg"]


def test_exclusive_write_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system without hard links (FAT, exFAT on a USB disk): the name is created exclusively."""

    def no_links(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(writing.os, "link", no_links)
    target = tmp_path / "a.jpg"
    writing.write_file_atomic(target, b"first", overwrite=False)
    with pytest.raises(FileExistsError):
        writing.write_file_atomic(target, b"second", overwrite=False)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["a.jpg"]


def test_a_reserved_name_is_released_only_while_it_is_ours(tmp_path: Path) -> None:
    root = tmp_path / "saved"
    target = root / "cam1" / "clips" / "door.avi"
    reservation = writing.reserve_file(target, root=root)
    assert target.read_bytes() == b""
    with pytest.raises(FileExistsError):
        writing.reserve_file(target, root=root)
    writing.release_file(reservation)
    assert not target.exists()
    # Replaced by the finished file meanwhile: kept.
    reservation = writing.reserve_file(target, root=root)
    writing.write_file_atomic(target, b"the clip", root=root)
    writing.release_file(reservation)
    assert target.read_bytes() == b"the clip"
    # A link planted below the root is not followed.
    (root / "cam2").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(OSError, match=r"Not a directory|Too many levels of symbolic links"):
        writing.reserve_file(root / "cam2" / "x.avi", root=root)
    assert not (tmp_path / "x.avi").exists()
