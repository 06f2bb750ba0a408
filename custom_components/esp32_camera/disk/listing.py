"""What the save directory holds per camera, listed newest first (executor).

Listing is bounded: a folder is read once, by name, and files are stat'ed only where the order
needs it (snapshots); continuous saving can hold tens of thousands of files an hour, so it is read
one day or one hour at a time. Symbolic links are never listed.

A clips folder can hold any file: a clip `read_avi` refuses is left out of `readable_clips`, with
why. What a clip's headers say is cached by path, size and modification time (clips are written
once, by rename), so a list reads each clip once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path, PurePosixPath
import threading

from ..clips import ClipError, read_avi
from .layout import (
    CLIP_FILE,
    CLIPS_DIRECTORY,
    DAY_DIRECTORY,
    HOUR_DIRECTORY,
    SAVED_FILE,
    SNAPSHOTS_DIRECTORY,
    files,
    is_clip_video,
    is_inside,
    subfolders,
)

# What may be served from the save directory: pictures and converted clips (an AVI is replayed).
SERVED_SUFFIXES = frozenset({".jpg", ".mp4"})
_DETAILS_CACHED = 4096  # clips whose details (or why they are unreadable) are remembered
MAX_FRAME_GAP = 3.0  # seconds the replay waits between two frames at most


@dataclass(frozen=True, slots=True)
class SavedImage:
    """A saved picture: its file, when it was written (epoch seconds) and its size."""

    path: Path
    modified: float
    size: int


@dataclass(frozen=True, slots=True)
class Newest[T]:
    """The newest items of a folder (at most the limit asked for), and how many it holds."""

    items: list[T]
    total: int
    skipped: int = 0  # items found unusable while the newest were picked (not in items, total)


@dataclass(frozen=True, slots=True)
class ClipFiles:
    """A clip's files: its AVI, and the MP4 and the thumbnail beside it when they exist."""

    avi: Path
    day: str  # YYYY-MM-DD, local time
    time: str  # HH-MM-SS, local time of its first frame
    reason: str  # motion, action
    mp4: Path | None
    thumbnail: Path | None

    def started_at(self, zone: tzinfo) -> datetime:
        """Return when the clip's first frame was recorded (its name's time, local to `zone`)."""
        year, month, day = (int(part) for part in self.day.split("-"))
        hour, minute, second = (int(part) for part in self.time.split("-"))
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)


def clip_days(camera_dir: Path) -> list[str]:
    """Return the days (YYYY-MM-DD) of a camera's clips folders, newest first (executor)."""
    return subfolders(camera_dir / CLIPS_DIRECTORY, DAY_DIRECTORY)


def newest_clips(
    camera_dir: Path,
    limit: int,
    accept: Callable[[ClipFiles], bool] | None = None,
    *,
    day: str | None = None,
) -> Newest[ClipFiles]:
    """Return the newest clips of a camera, newest first, and how many it has (executor).

    With `accept`, only the clips it takes are listed (and counted); those it refuses while the
    newest are picked are counted as skipped. Older clips are counted, not opened. With `day`,
    only that day's clips (the Media panel's day folders).
    """
    clips = camera_dir / CLIPS_DIRECTORY
    found: list[ClipFiles] = []
    total = skipped = 0
    days = subfolders(clips, DAY_DIRECTORY)
    if day is not None:
        days = [day] if day in days else []
    for folder in days:
        names = {entry.name for entry in files(clips / folder, lambda _name: True)}
        avis = sorted(filter(is_clip_video, names), reverse=True)
        total += len(avis)
        for name in avis:
            if len(found) >= limit:
                break
            clip = _clip(clips / folder, name, names)
            if accept is None or accept(clip):
                found.append(clip)
            else:
                skipped += 1
    return Newest(found, total - skipped, skipped)


def clip_files(camera_dir: Path, day: str, name: str) -> ClipFiles | None:
    """Return the clip `clips/<day>/<name>` of a camera if it is one, else None (executor).

    `day` and `name` must be of the layout (no `..`, no separator) and the AVI a regular file
    inside the camera's folder, reached through no link that leaves it.
    """
    if not DAY_DIRECTORY.match(day) or not is_clip_video(name):
        return None
    folder = camera_dir / CLIPS_DIRECTORY / day
    avi = folder / name
    if avi.is_symlink() or not avi.is_file() or not is_inside(avi, camera_dir):
        return None
    return _clip(folder, name, {entry.name for entry in files(folder, lambda _name: True)})


def _clip(folder: Path, name: str, names: set[str]) -> ClipFiles:
    """Describe the clip `name` of `folder`, whose regular files are `names`."""
    stem = name.removesuffix(".avi")
    match = CLIP_FILE.match(name)
    assert match is not None
    return ClipFiles(
        avi=folder / name,
        day=folder.name,
        time=stem.split("_", 1)[0],
        reason=match.group(4),
        mp4=folder / f"{stem}.mp4" if f"{stem}.mp4" in names else None,
        thumbnail=folder / f"{stem}.jpg" if f"{stem}.jpg" in names else None,
    )


def newest_snapshots(camera_dir: Path, limit: int) -> Newest[Path]:
    """Return the newest snapshots (`.jpg` in `snapshots/`, by time written), newest first."""
    entries = files(camera_dir / SNAPSHOTS_DIRECTORY, _is_picture)
    entries.sort(key=lambda entry: (entry.stat().st_mtime, entry.name), reverse=True)
    return Newest([Path(entry.path) for entry in entries[:limit]], len(entries))


def saved_days(camera_dir: Path) -> list[str]:
    """Return the days continuous saving has images of, newest first (executor)."""
    return subfolders(camera_dir, DAY_DIRECTORY)


def saved_hours(camera_dir: Path, day: str) -> list[str] | None:
    """Return the hours of `day` continuous saving has images of, newest first (executor).

    None when `day` is not a day of the layout.
    """
    if not DAY_DIRECTORY.match(day):
        return None
    return subfolders(camera_dir / day, HOUR_DIRECTORY)


def newest_saved(camera_dir: Path, day: str, hour: str, limit: int) -> Newest[Path] | None:
    """Return the newest continuously saved images of one hour, newest first (executor).

    Their names sort as their times: nothing is stat'ed, however many the hour holds. None when
    `day` and `hour` are not of the layout.
    """
    if not DAY_DIRECTORY.match(day) or not HOUR_DIRECTORY.match(hour):
        return None
    folder = camera_dir / day / hour
    names = sorted((entry.name for entry in files(folder, SAVED_FILE.match)), reverse=True)
    return Newest([folder / name for name in names[:limit]], len(names))


def _is_picture(name: str) -> bool:
    """Return whether `name` is a JPEG's that is neither hidden nor a temporary file."""
    return name.endswith(".jpg") and not name.startswith(".")


def newest_images(directory: Path, limit: int) -> list[SavedImage]:
    """Return the the newest `.jpg` files below `directory` (executor).

    Walks the continuous-saving layout newest day and hour first and stops once `limit` files of
    older hours are found; snapshots (one flat directory) are all considered.
    """
    found: list[SavedImage] = []

    def add(folder: Path) -> None:
        for entry in files(folder, _is_picture):
            stat = entry.stat()
            found.append(SavedImage(Path(entry.path), stat.st_mtime, stat.st_size))

    add(directory / SNAPSHOTS_DIRECTORY)
    continuous = len(found)
    for day in subfolders(directory, DAY_DIRECTORY):
        for hour in subfolders(directory / day, HOUR_DIRECTORY):
            add(directory / day / hour)
            if len(found) - continuous >= limit:
                break
        if len(found) - continuous >= limit:
            break
    found.sort(key=lambda image: image.modified, reverse=True)
    return found[:limit]


def served_file(root: Path, relative: str) -> Path | None:
    """Return the file if it is a JPEG or MP4 inside `root` (no `..`, no link out), else None."""
    path = root / relative
    if (
        path.suffix not in SERVED_SUFFIXES
        or ".." in PurePosixPath(relative).parts
        or not is_inside(path, root)
        or not path.is_file()
    ):
        return None
    return path


@dataclass(frozen=True, slots=True)
class ClipDetails:
    """What a clip's AVI headers say of it."""

    frames: int
    duration: float  # seconds: frames at the declared (average) rate
    replay: float  # seconds the replay takes (recorded times, gaps cut to MAX_FRAME_GAP)
    width: int
    height: int
    size: int  # bytes of the AVI


_details_cache: OrderedDict[tuple[str, int, int], ClipDetails | str] = OrderedDict()
_details_lock = threading.Lock()  # lists run in executor threads, several at a time


def replay_times(times: tuple[float, ...] | None, fps: float, count: int) -> list[float]:
    """Return when the replay shows each frame, seconds from the first (`tims`, else the rate).

    Every gap between two frames is shortened to MAX_FRAME_GAP: a clip cannot hold its viewer on
    one frame for as long as its times say.
    """
    recorded = times if times is not None else tuple(number / fps for number in range(count))
    shown: list[float] = []
    at = 0.0
    previous = recorded[0] if recorded else 0.0
    for current in recorded:
        at += min(max(0.0, current - previous), MAX_FRAME_GAP)
        previous = current
        shown.append(at)
    return shown


def clip_details(path: Path) -> ClipDetails | None:
    """Read a clip's headers and index (not its frames); None when it is unreadable (executor)."""
    details = read_clip_details(path)
    return details if isinstance(details, ClipDetails) else None


def read_clip_details(path: Path) -> ClipDetails | str:
    """Return a clip's details, or why it cannot be played (executor; cached, see above)."""
    try:
        stat = path.stat()
    except OSError as error:
        return f"cannot read the file: {error.strerror}"
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _details_lock:
        if (cached := _details_cache.get(key)) is not None:
            _details_cache.move_to_end(key)
            return cached
    try:
        clip = read_avi(path)
    except ClipError as error:
        details: ClipDetails | str = str(error)
    else:
        details = ClipDetails(
            frames=len(clip.frames),
            duration=round(len(clip.frames) / clip.fps, 2),
            replay=round(replay_times(clip.times, clip.fps, len(clip.frames))[-1], 3),
            width=clip.width,
            height=clip.height,
            size=stat.st_size,
        )
    with _details_lock:
        _details_cache[key] = details
        while len(_details_cache) > _DETAILS_CACHED:
            _details_cache.popitem(last=False)
    return details


@dataclass(frozen=True, slots=True)
class ReadableClips:
    """The newest clips `read_avi` accepts, with what it read of each, and those it refused."""

    newest: Newest[ClipFiles]
    details: dict[Path, ClipDetails]  # by AVI: each listed clip's, read while it was checked
    refused: list[tuple[Path, str]]  # an AVI, and why it cannot be played


def readable_clips(camera_dir: Path, limit: int, *, day: str | None = None) -> ReadableClips:
    """Return the newest clips `read_avi` accepts, and the refused ones with why (executor).

    With `day`, that day's only.
    """
    details: dict[Path, ClipDetails] = {}
    refused: list[tuple[Path, str]] = []

    def readable(clip: ClipFiles) -> bool:
        read = read_clip_details(clip.avi)
        if isinstance(read, str):
            refused.append((clip.avi, read))
            return False
        details[clip.avi] = read
        return True

    newest = newest_clips(camera_dir, limit, readable, day=day)
    return ReadableClips(newest, details, refused)
