"""The save directory's layout: where each file goes, what each name means, and how it is walked.

```
<save dir>/<camera>/YYYY-MM-DD/HH/HH-MM-SS.ffffff_<seq>.jpg    continuous saving (local time)
<save dir>/<camera>/snapshots/YYYY-MM-DD_HH-MM-SS.ffffff.jpg  a snapshot's default file
<save dir>/<camera>/clips/YYYY-MM-DD/HH-MM-SS_<reason>.avi    a clip (+ .mp4, + .jpg thumbnail)
```

The one owner of these names: the saver, the clip recorder, retention, the gallery, the media
source and the replay all build and read paths here. Walking never follows a symbolic link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
import os
from pathlib import Path
import re

SNAPSHOTS_DIRECTORY = "snapshots"
CLIPS_DIRECTORY = "clips"
TEMP_PREFIX = ".esp32cam-"
TEMP_SUFFIX = ".tmp"

# `<camera>/YYYY-MM-DD/HH/HH-MM-SS.ffffff_<seq>.jpg`, the continuous-saving layout (local time).
DAY_DIRECTORY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HOUR_DIRECTORY = re.compile(r"^\d{2}$")
SAVED_FILE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})\.(\d{6})_\d+\.jpg$")
# `<camera>/snapshots/YYYY-MM-DD_HH-MM-SS.ffffff.jpg`, a snapshot's default file (local time).
SNAPSHOT_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{2})-\d{2}-\d{2}\.\d{6}\.jpg$")
# `<camera>/clips/YYYY-MM-DD/HH-MM-SS_<reason>.avi` (local time of the trigger), with the same stem
# `.jpg` (the frame at the trigger) and, when ffmpeg made it, `.mp4`. Two clips of one reason in
# the same second (a clock set back) get `_2`, `_3`, ... before the extension.
CLIP_FILE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})_([a-z]+)(?:_(\d+))?\.(avi|mp4|jpg)$")
CLIP_EXTENSIONS = (".avi", ".mp4", ".jpg")


def camera_directory(root: str | Path, camera_id: str) -> Path:
    """Return a camera's directory under the save directory (`:` of IPv6 ids made portable)."""
    return Path(root) / camera_id.replace(":", "_")


def snapshot_path(root: str | Path, camera_id: str, when: datetime) -> Path:
    """Return the default file of a snapshot: `<root>/<camera>/snapshots/<timestamp>.jpg`."""
    name = when.strftime("%Y-%m-%d_%H-%M-%S.%f") + ".jpg"
    return camera_directory(root, camera_id) / SNAPSHOTS_DIRECTORY / name


def clips_directory(root: str | Path, camera_id: str) -> Path:
    """Return a camera's clips folder: `<root>/<camera>/clips` (relative clip names go there)."""
    return camera_directory(root, camera_id) / CLIPS_DIRECTORY


def clip_path(
    root: str | Path, camera_id: str, when: datetime, reason: str, number: int = 1
) -> Path:
    """Return the default file of a clip: `<root>/<camera>/clips/<day>/<time>_<reason>.avi`.

    `number` above 1 tells apart clips of one reason triggered in the same second.
    """
    suffix = f"_{number}" if number > 1 else ""
    name = f"{when.strftime('%H-%M-%S')}_{reason}{suffix}.avi"
    return clips_directory(root, camera_id) / when.strftime("%Y-%m-%d") / name


def is_clip_video(name: str) -> bool:
    """Return whether `name` is a clip's AVI (the file that makes a clip) by the layout."""
    match = CLIP_FILE.match(name)
    return match is not None and match[6] == "avi"


def clip_companions(path: Path) -> tuple[Path, ...]:
    """Return a clip's files: the AVI and, with the same stem, its MP4 and its thumbnail."""
    return tuple(path.with_suffix(extension) for extension in CLIP_EXTENSIONS)


def unused_clip_path(path: Path) -> Path:
    """Return `path` (a clip's default file), or the next number whose files do not exist (executor)."""
    match = CLIP_FILE.match(path.name)
    if match is None:
        return path
    number = int(match[5] or 1)
    candidate = path
    while any(file.exists() for file in clip_companions(candidate)):
        number += 1
        candidate = path.with_name(
            f"{match[1]}-{match[2]}-{match[3]}_{match[4]}_{number}{path.suffix}"
        )
    return candidate


def saved_frame_path(root: str | Path, camera_id: str, when: datetime, seq: int) -> Path:
    """Return the file of a continuously saved frame: `<root>/<camera>/<day>/<hour>/<time>_<seq>.jpg`."""
    return (
        camera_directory(root, camera_id)
        / when.strftime("%Y-%m-%d")
        / when.strftime("%H")
        / f"{when.strftime('%H-%M-%S.%f')}_{seq}.jpg"
    )


def is_inside(path: str | Path, directory: str | Path) -> bool:
    """Return whether `path` is `directory` or below it, after resolving links and `..`."""
    try:
        Path(path).resolve().relative_to(Path(directory).resolve())
    except ValueError:
        return False
    return True


def folder_holding(path: str | Path, folders: Iterable[str | Path]) -> str | Path | None:
    """Return the first of `folders` that `path` is inside (as `is_inside` says), else None."""
    return next((folder for folder in folders if is_inside(path, folder)), None)


def entries(folder: Path) -> list[os.DirEntry[str]]:
    """Return the entries of `folder`; none when it is missing or not a folder (executor)."""
    try:
        with os.scandir(folder) as found:
            return list(found)
    except FileNotFoundError, NotADirectoryError:
        return []


def subfolders(folder: Path, pattern: re.Pattern[str] | None = None) -> list[str]:
    """Return the names of the subfolders (not links) matching `pattern`, newest (last) first."""
    return sorted(
        (
            entry.name
            for entry in entries(folder)
            if (pattern is None or pattern.match(entry.name))
            and entry.is_dir(follow_symlinks=False)
        ),
        reverse=True,
    )


def files(folder: Path, accept: Callable[[str], object]) -> list[os.DirEntry[str]]:
    """Return the regular files (not links) of `folder` whose names `accept` takes (executor)."""
    return [
        entry
        for entry in entries(folder)
        if accept(entry.name) and entry.is_file(follow_symlinks=False)
    ]


@dataclass(frozen=True, slots=True)
class HourFolder:
    """One hour of a camera's continuous saving: `<camera>/<day>/<hour>/`."""

    camera: str  # the camera folder's name
    day: str  # YYYY-MM-DD
    hour: str  # HH
    path: Path


@dataclass(frozen=True, slots=True)
class ClipDay:
    """One day of a camera's clips: `<camera>/clips/<day>/`."""

    camera: str  # the camera folder's name
    day: str  # YYYY-MM-DD
    path: Path


def hour_folders(root: Path) -> Iterator[HourFolder]:
    """Yield every hour folder of continuous saving below the save directory (executor)."""
    for camera in subfolders(root):
        for day in subfolders(root / camera, DAY_DIRECTORY):
            for hour in subfolders(root / camera / day, HOUR_DIRECTORY):
                yield HourFolder(camera, day, hour, root / camera / day / hour)


def clip_days(root: Path) -> Iterator[ClipDay]:
    """Yield every day folder of clips below the save directory (executor)."""
    for camera in subfolders(root):
        clips = root / camera / CLIPS_DIRECTORY
        for day in subfolders(clips, DAY_DIRECTORY):
            yield ClipDay(camera, day, clips / day)
