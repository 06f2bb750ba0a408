"""Retention of the save directory: what it holds (counted) and what goes (oldest first).

Continuous saving's images and the clips (a clip's files together) are counted and removed in one
order, oldest first, while older than the age limit or above the size target; snapshots are counted
and never removed (they were taken on purpose). Leftover temporary files of a crash are removed
while counting. Everything here does blocking I/O (executor).
"""

from __future__ import annotations

from collections import Counter
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
import time

from ..clips.recovery import remove_part
from . import layout

# Hidden temporary files in a clips folder older than this (seconds) are left over from a crash:
# a clip or an MP4 being written is younger.
CLIP_TEMP_AGE = 3600.0


@dataclass(slots=True)
class DirectoryUsage:
    """Saved images counted in one camera directory (found, written or removed)."""

    files: int = 0
    bytes: int = 0
    today: int = 0
    """Of the files, those of today (local time)."""
    hours: Counter[str] = field(default_factory=Counter)
    """Images per local hour, keyed `YYYY-MM-DD HH` (what `files` adds up)."""

    def add(self, day: str, hour: str, size: int, today: str) -> None:
        """Count one image of `day` (`YYYY-MM-DD`) and `hour` (`HH`)."""
        self.files += 1
        self.bytes += size
        self.today += day == today
        self.hours[f"{day} {hour}"] += 1

    def add_usage(self, other: DirectoryUsage) -> None:
        """Count the images of `other` too."""
        self.files += other.files
        self.bytes += other.bytes
        self.today += other.today
        self.hours.update(other.hours)

    def remove_usage(self, other: DirectoryUsage) -> None:
        """Count the images of `other` no more (removed); counts never go below zero."""
        self.files = max(self.files - other.files, 0)
        self.bytes = max(self.bytes - other.bytes, 0)
        self.today = max(self.today - other.today, 0)
        self.hours -= other.hours  # keeps positive counts only


def scan_directory(root: Path, today: str) -> dict[str, DirectoryUsage]:
    """Count the saved images per camera directory; remove leftover temporary files (executor)."""
    usage: dict[str, DirectoryUsage] = {}
    for hour in layout.hour_folders(root):
        counts = usage.setdefault(hour.camera, DirectoryUsage())
        for entry in layout.entries(hour.path):
            if layout.SAVED_FILE.match(entry.name):
                counts.add(hour.day, hour.hour, entry.stat().st_size, today)
            elif entry.name.startswith(layout.TEMP_PREFIX):
                Path(entry.path).unlink(missing_ok=True)
    return usage


def scan_clips(root: Path, now: float) -> int:
    """Return the bytes of the clips' files; remove temporary files left by a crash (executor)."""
    total = 0
    for day in layout.clip_days(root):
        for entry in layout.entries(day.path):
            if layout.CLIP_FILE.match(entry.name):
                total += entry.stat().st_size
            elif (
                entry.name.startswith(".")
                and (entry.name.endswith(".part") or entry.name.startswith(layout.TEMP_PREFIX))
                and now - entry.stat().st_mtime > CLIP_TEMP_AGE
            ):
                # Never a file a live writer holds (another hub writing to the same folder);
                # the hub's start recovers its own interrupted clips before this runs.
                remove_part(Path(entry.path))
    return total


def scan_snapshots(root: Path, today: str) -> dict[str, DirectoryUsage]:
    """Count the default-named snapshots per camera directory (executor)."""
    usage: dict[str, DirectoryUsage] = {}
    for camera in layout.subfolders(root):
        folder = root / camera / layout.SNAPSHOTS_DIRECTORY
        if not folder.is_dir():
            continue
        counts = usage.setdefault(camera, DirectoryUsage())
        for entry in layout.files(folder, layout.SNAPSHOT_FILE.match):
            if match := layout.SNAPSHOT_FILE.match(entry.name):
                counts.add(match[1], match[2], entry.stat().st_size, today)
    return usage


def scan_all(
    root: Path, today: str
) -> tuple[dict[str, DirectoryUsage], dict[str, DirectoryUsage], int]:
    """Count the continuously saved images, the snapshots and the clips' bytes (executor)."""
    return scan_directory(root, today), scan_snapshots(root, today), scan_clips(root, time.time())


@dataclass(slots=True)
class Pruned:
    """What retention removed: images per camera directory, and the clips' bytes."""

    images: dict[str, DirectoryUsage] = field(default_factory=dict)
    clips: int = 0
    clip_bytes: int = 0


@dataclass(frozen=True, slots=True)
class _Removable:
    """A saved image, or a clip's files, that retention may remove."""

    stamp: str  # "HH-MM-SS.ffffff", local time: the order of removal within a day
    name: str
    camera: str
    paths: list[Path]
    image: bool  # a saved image, else a clip


def _clips_by_hour(
    root: Path,
) -> tuple[dict[tuple[str, str], list[_Removable]], list[layout.ClipDay]]:
    """Return the clips by `(day, hour)`, and the clips' day folders."""
    clips: dict[tuple[str, str], list[_Removable]] = {}
    days = list(layout.clip_days(root))
    for day in days:
        stems: dict[str, list[Path]] = {}
        for entry in layout.files(day.path, layout.CLIP_FILE.match):
            stems.setdefault(entry.name.rsplit(".", 1)[0], []).append(Path(entry.path))
        for stem, paths in stems.items():
            clip = _Removable(f"{stem[:8]}.000000", stem, day.camera, paths, image=False)
            clips.setdefault((day.day, stem[:2]), []).append(clip)
    return clips, days


def prune_directory(
    root: Path,
    *,
    older_than: datetime | None,
    total_bytes: int,
    target_bytes: int | None,
    today: str,
) -> Pruned:
    """Remove saved images and clips, oldest first, while older than `older_than` or above `target_bytes`.

    `older_than` is a naive local time (file names are local time); `total_bytes` counts both. Only
    files of the saving and clips layouts are touched, a clip's files together; hour and day
    directories left empty are removed (not today's clips folder: a clip may be starting there).
    Returns what was removed (executor).
    """
    removed = Pruned()
    images: dict[tuple[str, str], list[layout.HourFolder]] = {}
    for folder in layout.hour_folders(root):
        images.setdefault((folder.day, folder.hour), []).append(folder)
    clips, clip_days = _clips_by_hour(root)

    def over_limits(day: str, stamp: str) -> bool:
        if target_bytes is not None and total_bytes > target_bytes:
            return True
        if older_than is None:
            return False
        return f"{day} {stamp}" < older_than.strftime("%Y-%m-%d %H-%M-%S.%f")

    done = False
    for day, hour in sorted(images.keys() | clips.keys()):
        folders = images.get((day, hour), [])
        items = [
            _Removable(entry.name[:15], entry.name, folder.camera, [Path(entry.path)], image=True)
            for folder in folders
            for entry in layout.files(folder.path, layout.SAVED_FILE.match)
        ]
        items += clips.get((day, hour), [])
        for item in sorted(items, key=lambda item: (item.stamp, item.name, item.camera)):
            if not over_limits(day, item.stamp):
                done = True
                break
            size = 0
            for path in item.paths:
                try:
                    size += path.stat().st_size
                    path.unlink()
                except FileNotFoundError:
                    continue
            total_bytes -= size
            if item.image:
                removed.images.setdefault(item.camera, DirectoryUsage()).add(day, hour, size, today)
            else:
                removed.clips += 1
                removed.clip_bytes += size
        for folder in folders:
            _remove_if_empty(folder.path)
            _remove_if_empty(folder.path.parent)
        if done:
            break
    for clip_day in clip_days:
        if clip_day.day != today:
            _remove_if_empty(clip_day.path)
    return removed


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (or gone)
        directory.rmdir()
