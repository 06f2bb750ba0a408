"""Clips interrupted by a crash: a writer's `.part` file becomes a playable AVI, or goes.

The `.part` files are made by a real AviWriter, copied as the disk holds them while the writer
is still open (what `kill -9` leaves: the frames the OS has, the header never patched, no index).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
import shutil
import subprocess

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.esp32_camera.clips import AviWriter, ClipError, read_avi
from custom_components.esp32_camera.clips.recovery import (
    DEFAULT_FPS,
    part_files,
    recover_clips,
    recover_part,
)
from esp32_simulator.scenes import FPS
from tests.helpers import crashed_part, scene_clip_frames


def unused(path: Path) -> Path:
    number = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
        number += 1
    return candidate


def test_a_crashed_clip_keeps_its_complete_frames_as_a_playable_avi(tmp_path: Path) -> None:
    part = crashed_part(tmp_path, "12-00-00_action.avi", 60)  # 3 s at 20 fps
    recovered = recover_part(part, unused)
    assert recovered is not None
    info, thumbnail = recovered
    assert info.path == tmp_path / "12-00-00_action.avi"
    assert not part.exists()
    stored = list(read_avi(info.path).iter_frames())
    sent = [frame.data for frame in scene_clip_frames(60)]
    # Every frame written: the writer hands each one to the OS at once.
    assert stored == sent
    assert thumbnail == sent[0]
    # The rate is the writer's last checkpoint (every 2 s of clip): the cameras' 20 fps.
    assert info.fps == pytest.approx(FPS, rel=0.05)
    assert info.size == info.path.stat().st_size
    ffprobe = shutil.which("ffprobe")
    assert ffprobe is not None, "this test needs ffmpeg (scripts/setup installs it)"
    output = subprocess.run(
        [
            ffprobe,
            *("-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames"),
            *("-of", "csv=p=0", str(info.path)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(output.stdout.strip()) == len(stored)


def test_a_frame_cut_in_the_middle_is_left_out(tmp_path: Path) -> None:
    whole = crashed_part(tmp_path / "whole", "clip.avi", 10)
    size = whole.stat().st_size
    part = crashed_part(tmp_path, "clip.avi", 10, keep=size - 100)
    recovered = recover_part(part, unused)
    assert recovered is not None
    stored = list(read_avi(recovered[0].path).iter_frames())
    assert stored == [frame.data for frame in scene_clip_frames(10)][: len(stored)]
    assert 1 <= len(stored) <= 9


def test_a_part_without_a_complete_frame_is_removed(tmp_path: Path) -> None:
    part = crashed_part(tmp_path, "clip.avi", 1, keep=300)  # the header and part of one frame
    assert recover_part(part, unused) is None
    assert list(tmp_path.iterdir()) == []
    empty = tmp_path / ".clip.avi.x.part"
    empty.write_bytes(b"")
    assert recover_part(empty, unused) is None
    assert not empty.exists()


def test_a_crash_during_the_commit_is_recovered(tmp_path: Path) -> None:
    """The index was written but the file never renamed: the frames are all there."""
    writer = AviWriter(tmp_path / "clip.avi")
    for frame in scene_clip_frames(5):
        writer.add_frame(frame.data, frame.timestamp)
    live = writer._temporary
    info = writer.commit()
    info.path.rename(live)  # as if the rename had not happened
    (tmp_path / "clip.avi").write_bytes(b"taken")  # and the name is taken since
    recovered = recover_part(live, unused)
    assert recovered is not None
    assert recovered[0].path == tmp_path / "clip_2.avi"
    assert list(read_avi(recovered[0].path).iter_frames()) == [f.data for f in scene_clip_frames(5)]


def test_a_recovery_never_replaces_a_file(tmp_path: Path) -> None:
    """A name of the user's (no numbering of its own) taken since: the clip goes beside it."""
    part = crashed_part(tmp_path, "porch.avi", 3)
    (tmp_path / "porch.avi").write_bytes(b"mine")
    recovered = recover_part(part, lambda path: path)
    assert recovered is not None
    assert recovered[0].path == tmp_path / "porch.recovered1.avi"
    assert (tmp_path / "porch.avi").read_bytes() == b"mine"


def test_a_part_being_written_is_left_alone(tmp_path: Path) -> None:
    """Another live writer holds its `.part` locked (a second hub on the same folder)."""
    writer = AviWriter(tmp_path / "clip.avi")
    writer.add_frame(scene_clip_frames(1)[0].data, 0.0)
    live = writer._temporary
    assert recover_part(live, unused) is False
    assert live.exists()
    writer.add_frame(scene_clip_frames(2)[1].data, 0.05)
    assert writer.commit().frames == 2
    # The lock is the process's: once it is gone (a crash), the file can be recovered.
    with live.with_name(".other.avi.y.part").open("wb") as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        assert recover_part(Path(file.name), unused) is False


def test_recovery_walks_the_clips_folders_and_is_bounded(tmp_path: Path) -> None:
    day = tmp_path / "cam1" / "clips" / "2026-01-02"
    for number in range(5):
        crashed_part(day, f"10-00-0{number}_motion.avi", 3)
    nested = crashed_part(tmp_path / "cam2" / "clips" / "door", "mine.avi", 3)
    empty = day / ".10-00-09_motion.avi.z.part"
    empty.write_bytes(bytes(10))
    elsewhere = crashed_part(tmp_path / "cam1" / "2026-01-02" / "10", "not-a-clip.avi", 3)
    result = recover_clips(tmp_path, unused, limit=4)
    assert len(result.recovered) == 4
    assert result.removed == 3  # the one without frames, and two past the limit
    assert list(tmp_path.rglob("*.part")) == [elsewhere]  # only the clips folders are walked
    assert not nested.exists()
    for clip in result.recovered:
        assert read_avi(clip[0].path).frames


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=40_000), junk=st.binary(max_size=64))
def test_any_damaged_part_is_recovered_or_removed(tmp_path: Path, cut: int, junk: bytes) -> None:
    """Cut anywhere, garbage after: a clip of a prefix of the frames, or no file; never an error."""
    folder = tmp_path / f"case-{cut}-{junk.hex()}"
    part = crashed_part(folder, "clip.avi", 8)
    os.truncate(part, min(cut, part.stat().st_size))
    with part.open("ab") as file:
        file.write(junk)
    recovered = recover_part(part, unused)
    assert not part.exists()
    if recovered is None:
        assert list(folder.iterdir()) == []
        return
    try:
        stored = list(read_avi(recovered[0].path).iter_frames())
    except ClipError as err:  # pragma: no cover - the failure this test is for
        pytest.fail(f"unreadable recovered clip: {err}")
    assert stored == [frame.data for frame in scene_clip_frames(8)][: len(stored)]
    assert stored


def test_what_is_not_a_clip_is_removed_and_a_live_writer_past_the_limit_is_kept(
    tmp_path: Path,
) -> None:
    day = tmp_path / "cam1" / "clips" / "2026-01-02"
    crashed_part(day, "10-00-00_motion.avi", 3)
    # Past the limit but held by a live writer: left, counted as busy.
    writer = AviWriter(day / "10-00-01_motion.avi")
    writer.add_frame(scene_clip_frames(1)[0].data, 0.0)
    # A chunk whose JPEG has no end, and one whose JPEG has no readable size: no clip.
    jpeg = scene_clip_frames(1)[0].data
    no_end = day / ".10-00-02_motion.avi.a.part"
    no_end.write_bytes(bytes(224) + b"00dc" + len(jpeg).to_bytes(4, "little") + jpeg[:-2] + b"xx")
    sizeless = day / ".10-00-03_motion.avi.b.part"
    sizeless.write_bytes(bytes(224) + b"00dc" + (4).to_bytes(4, "little") + b"\xff\xd8\xff\xd9")
    crashed_part(day, "10-00-04_motion.avi", 3)
    late = AviWriter(day / "10-00-05_motion.avi")  # past the limit, but live: kept
    late.add_frame(scene_clip_frames(1)[0].data, 0.0)
    # A link instead of a camera's clips folder is not followed.
    outside = crashed_part(tmp_path / "outside", "x.avi", 2)
    (tmp_path / "cam2").mkdir()
    (tmp_path / "cam2" / "clips").symlink_to(outside.parent, target_is_directory=True)
    result = recover_clips(tmp_path, unused, limit=2)
    assert len(result.recovered) == 2
    assert result.busy == 2
    assert result.removed == 2
    assert sorted(path.name for path in day.iterdir()) == sorted(
        [
            "10-00-00_motion.avi",
            "10-00-04_motion.avi",
            writer._temporary.name,
            late._temporary.name,
        ]
    )
    assert outside.exists()
    writer.abort()
    late.abort()
    assert recover_clips(tmp_path / "missing", unused).recovered == []
    # A folder walk stops at its bound.
    deep = tmp_path / "cam3" / "clips"
    for number in range(5):
        crashed_part(deep / f"d{number}", "clip.avi", 1)
    assert len(part_files(tmp_path, max_directories=3)) < 5


def test_a_checkpoint_with_a_rate_out_of_range_falls_back(tmp_path: Path) -> None:
    part = crashed_part(tmp_path, "clip.avi", 50)  # a checkpoint was written at 2 s
    with part.open("r+b") as file:  # its rate: strh dwRate = 0
        file.seek(12 + 12 + 8 + 56 + 12 + 8 + 24)
        file.write((0).to_bytes(4, "little"))
    recovered = recover_part(part, unused)
    assert recovered is not None
    assert recovered[0].fps == DEFAULT_FPS
    assert recover_part(tmp_path / ".gone.avi.x.part", unused) is None
