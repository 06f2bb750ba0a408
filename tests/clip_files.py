"""Clips as the hub writes them, for tests: an MJPEG AVI by the real writer, and its sidecars.

The layout is storage.clip_path's: `<save directory>/<camera>/clips/<day>/<time>_<reason>.avi`,
with an `.mp4` and a `.jpg` thumbnail of the same stem beside it when they were made.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from homeassistant.util import dt as dt_util

from custom_components.esp32_camera.clips import AviWriter, read_avi
from custom_components.esp32_camera.disk.layout import clip_path

from .conftest import jpeg_bytes

# The start of an ISO Base Media (MP4) file: what SavedImageView must pass through unchanged.
MP4_BYTES = bytes.fromhex("0000001c667479706d703432000000006d7034326973366d69736f6d") + bytes(64)


def local(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    """Return a time in Home Assistant's time zone (the layout's names are local time)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=dt_util.get_default_time_zone())


def clip_frames(count: int, width: int = 160, height: int = 120) -> list[bytes]:
    """Return `count` real JPEGs, each of its own colour."""
    return [
        jpeg_bytes(width, height, color=(40 * index % 256, 255 - 30 * index % 256, 90))
        for index in range(count)
    ]


def write_clip(
    root: Path,
    camera_id: str,
    when: datetime,
    *,
    reason: str = "motion",
    times: list[float] | None = None,
    mp4: bool = False,
    thumbnail: bool = True,
) -> Path:
    """Write a clip (frames at `times`, seconds from its start) with its sidecars; return the AVI."""
    times = times if times is not None else [0.0, 0.1, 0.2]
    path = clip_path(root, camera_id, when, reason)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = clip_frames(len(times))
    with AviWriter(path) as writer:
        for frame, at in zip(frames, times, strict=True):
            writer.add_frame(frame, 1000.0 + at)
        writer.commit()
    if mp4:
        path.with_suffix(".mp4").write_bytes(MP4_BYTES)
    if thumbnail:
        path.with_suffix(".jpg").write_bytes(frames[0])
    return path


def avi_frames(path: Path) -> list[bytes]:
    """Return the JPEGs of a clip, as the AVI holds them."""
    return list(read_avi(path).iter_frames())
