"""MP4 conversion: the command, and failures that keep the AVI and leave no MP4 behind.

The real ffmpeg's conversion is checked by tests/hub/test_clip_recording.py (when ffmpeg is
installed) and by `scripts/bench --only motion` (ffprobe on the AVI and the MP4), see
docs/performance.md.
"""

from __future__ import annotations

from pathlib import Path
import shutil
import threading

import pytest

from custom_components.esp32_camera.clips import AviWriter, Mp4Error, convert_to_mp4, mp4_command
from custom_components.esp32_camera.clips.mp4 import NICENESS
from tests.helpers import scene_jpegs


def clip(folder: Path) -> Path:
    path = folder / "clip.avi"
    with AviWriter(path) as writer:
        for number, jpeg in enumerate(scene_jpegs("crossing")[:3]):
            writer.add_frame(jpeg, number / 20)
        writer.commit()
    return path


def test_command_is_low_priority_h264_for_browsers() -> None:
    command = mp4_command("/usr/bin/ffmpeg", Path("/a/clip.avi"), Path("/a/clip.mp4"))
    assert command[:3] == [shutil.which("nice"), "-n", str(NICENESS)]
    ffmpeg = command[3:]
    assert ffmpeg[0] == "/usr/bin/ffmpeg"
    assert ffmpeg[ffmpeg.index("-i") + 1] == "/a/clip.avi"
    assert ffmpeg[ffmpeg.index("-c:v") + 1] == "libx264"
    assert ffmpeg[ffmpeg.index("-pix_fmt") + 1] == "yuv420p"
    assert ffmpeg[ffmpeg.index("-threads") + 1] == "1"
    assert ffmpeg[-3:] == ["-f", "mp4", "/a/clip.mp4"]


def test_missing_ffmpeg_keeps_the_avi(tmp_path: Path) -> None:
    avi = clip(tmp_path)
    before = avi.read_bytes()
    with pytest.raises(Mp4Error, match="no-ffmpeg"):
        convert_to_mp4(avi, tmp_path / "clip.mp4", ffmpeg=str(tmp_path / "no-ffmpeg"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.avi"]
    assert avi.read_bytes() == before


def test_a_target_folder_that_is_gone_is_a_clear_error(tmp_path: Path) -> None:
    avi = clip(tmp_path)
    with pytest.raises(Mp4Error, match="cannot write next to"):
        convert_to_mp4(avi, tmp_path / "gone" / "clip.mp4", ffmpeg="ffmpeg")
    assert avi.exists()


def test_failing_ffmpeg_leaves_no_partial_mp4(tmp_path: Path) -> None:
    avi = clip(tmp_path)
    # A stand-in that writes half a file and fails, like ffmpeg running out of disk.
    fake = tmp_path / "ffmpeg"
    fake.write_text('#!/bin/sh\nfor last; do :; done\nprintf partial > "$last"\nexit 1\n')
    fake.chmod(0o755)
    with pytest.raises(Mp4Error, match="exited with 1"):
        convert_to_mp4(avi, tmp_path / "clip.mp4", ffmpeg=str(fake))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.avi", "ffmpeg"]
    # Killed by the timeout: the same.
    slow = tmp_path / "slow"
    slow.write_text("#!/bin/sh\nexec sleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(Mp4Error, match=r"longer than 0\.2 s"):
        convert_to_mp4(avi, tmp_path / "clip.mp4", ffmpeg=str(slow), timeout=0.2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.avi", "ffmpeg", "slow"]


def test_stopping_kills_a_running_conversion(tmp_path: Path) -> None:
    """Home Assistant's stop waits for the executor's threads: a conversion must end with it."""
    avi = clip(tmp_path)
    slow = tmp_path / "slow"
    slow.write_text("#!/bin/sh\nexec sleep 60\n")  # would exit 0, and the MP4 be "made"
    slow.chmod(0o755)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(Mp4Error, match="stopped"):
        convert_to_mp4(avi, tmp_path / "clip.mp4", ffmpeg=str(slow), stop=stop)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.avi", "slow"]


def test_a_successful_run_is_renamed_onto_the_target(tmp_path: Path) -> None:
    avi = clip(tmp_path)
    # A stand-in that writes its output and succeeds: the rename is what is checked here.
    fake = tmp_path / "ffmpeg"
    fake.write_text('#!/bin/sh\nfor last; do :; done\nprintf done > "$last"\n')
    fake.chmod(0o755)
    target = tmp_path / "clip.mp4"
    assert convert_to_mp4(avi, target, ffmpeg=str(fake)) == target
    assert target.read_text() == "done"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.avi", "clip.mp4", "ffmpeg"]
