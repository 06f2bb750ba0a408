"""What the save directory holds per camera, listed newest first, and served to signed-in users.

The layout is storage.py's: `snapshots/`, continuously saved images in `<day>/<hour>/`, and clips
in `clips/<day>/` (an AVI, and beside it an MP4 and a thumbnail when they exist). Listing is
blocking (executor) and bounded: a folder is read once, by name, and files are stat'ed only where
the order needs it (snapshots); continuous saving can hold tens of thousands of files an hour, so
it is read one day or one hour at a time. Symbolic links are never listed.

The save directory is never under `www/` (served without authentication), so its JPEGs and MP4s
are served by `SavedImageView`, which requires authentication; the panel gets signed URLs (valid
for `URL_LIFETIME`) so that `<img>` and `<video>` elements can load them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
import os
from pathlib import Path, PurePosixPath
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util import dt as dt_util

from . import storage
from .const import DOMAIN

if TYPE_CHECKING:
    from .hub import Esp32CameraHub

URL_LIFETIME = timedelta(hours=1)
SAVED_IMAGE_PREFIX = f"/api/{DOMAIN}/saved"
# What SavedImageView serves: pictures and converted clips (an AVI is replayed, replay.py).
SERVED_SUFFIXES = frozenset({".jpg", ".mp4"})


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

    @property
    def started_at(self) -> datetime:
        """Return when the clip's first frame was recorded (its name's local time)."""
        year, month, day = (int(part) for part in self.day.split("-"))
        hour, minute, second = (int(part) for part in self.time.split("-"))
        return datetime(
            year, month, day, hour, minute, second, tzinfo=dt_util.get_default_time_zone()
        )


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    """Return the entries of `folder`; none when it is missing or not a folder."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except FileNotFoundError, NotADirectoryError:
        return []


def _folders(folder: Path, pattern: re.Pattern[str]) -> list[str]:
    """Return the names of the subfolders matching `pattern` (not links), newest (last) first."""
    return sorted(
        (
            entry.name
            for entry in _entries(folder)
            if pattern.match(entry.name) and entry.is_dir(follow_symlinks=False)
        ),
        reverse=True,
    )


def _files(folder: Path, accept: Callable[[str], object]) -> list[os.DirEntry[str]]:
    """Return the regular files (not links) of `folder` whose names `accept` takes."""
    return [
        entry
        for entry in _entries(folder)
        if accept(entry.name) and entry.is_file(follow_symlinks=False)
    ]


def newest_clips(
    camera_dir: Path, limit: int, accept: Callable[[ClipFiles], bool] | None = None
) -> Newest[ClipFiles]:
    """Return the newest clips of a camera, newest first, and how many it has (executor).

    With `accept`, only the clips it takes are listed (and counted); those it refuses while the
    newest are picked are counted as skipped. Older clips are counted, not opened.
    """
    clips = camera_dir / storage.CLIPS_DIRECTORY
    found: list[ClipFiles] = []
    total = skipped = 0
    for day in _folders(clips, storage.DAY_DIRECTORY):
        names = {entry.name for entry in _files(clips / day, lambda _name: True)}
        avis = sorted(filter(storage.is_clip_video, names), reverse=True)
        total += len(avis)
        for name in avis:
            if len(found) >= limit:
                break
            clip = _clip(clips / day, name, names)
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
    if not storage.DAY_DIRECTORY.match(day) or not storage.is_clip_video(name):
        return None
    folder = camera_dir / storage.CLIPS_DIRECTORY / day
    avi = folder / name
    if avi.is_symlink() or not avi.is_file() or not storage.is_inside(avi, camera_dir):
        return None
    return _clip(folder, name, {entry.name for entry in _files(folder, lambda _name: True)})


def _clip(folder: Path, name: str, names: set[str]) -> ClipFiles:
    """Describe the clip `name` of `folder`, whose regular files are `names`."""
    stem = name.removesuffix(".avi")
    match = storage.CLIP_FILE.match(name)
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
    entries = _files(camera_dir / storage.SNAPSHOTS_DIRECTORY, _is_picture)
    entries.sort(key=lambda entry: (entry.stat().st_mtime, entry.name), reverse=True)
    return Newest([Path(entry.path) for entry in entries[:limit]], len(entries))


def saved_days(camera_dir: Path) -> list[str]:
    """Return the days continuous saving has images of, newest first (executor)."""
    return _folders(camera_dir, storage.DAY_DIRECTORY)


def saved_hours(camera_dir: Path, day: str) -> list[str] | None:
    """Return the hours of `day` continuous saving has images of, newest first (executor).

    None when `day` is not a day of the layout.
    """
    if not storage.DAY_DIRECTORY.match(day):
        return None
    return _folders(camera_dir / day, storage.HOUR_DIRECTORY)


def newest_saved(camera_dir: Path, day: str, hour: str, limit: int) -> Newest[Path] | None:
    """Return the newest continuously saved images of one hour, newest first (executor).

    Their names sort as their times: nothing is stat'ed, however many the hour holds. None when
    `day` and `hour` are not of the layout.
    """
    if not storage.DAY_DIRECTORY.match(day) or not storage.HOUR_DIRECTORY.match(hour):
        return None
    folder = camera_dir / day / hour
    names = sorted((entry.name for entry in _files(folder, storage.SAVED_FILE.match)), reverse=True)
    return Newest([folder / name for name in names[:limit]], len(names))


def _is_picture(name: str) -> bool:
    """Return whether `name` is a JPEG's that is neither hidden nor a temporary file."""
    return name.endswith(".jpg") and not name.startswith(".")


def newest_images(directory: Path, limit: int) -> list[tuple[float, int, Path]]:
    """Return `(modified, size, path)` of the newest `.jpg` files below `directory` (executor).

    Walks the continuous-saving layout newest day and hour first and stops once `limit` files of
    older hours are found; snapshots (one flat directory) are all considered.
    """
    found: list[tuple[float, int, Path]] = []

    def add(folder: Path) -> None:
        for entry in _files(folder, _is_picture):
            stat = entry.stat()
            found.append((stat.st_mtime, stat.st_size, Path(entry.path)))

    add(directory / storage.SNAPSHOTS_DIRECTORY)
    continuous = len(found)
    for day in _folders(directory, storage.DAY_DIRECTORY):
        for hour in _folders(directory / day, storage.HOUR_DIRECTORY):
            add(directory / day / hour)
            if len(found) - continuous >= limit:
                break
        if len(found) - continuous >= limit:
            break
    found.sort(key=lambda item: item[0], reverse=True)
    return found[:limit]


async def async_list_saved_images(
    hass: HomeAssistant, hub: Esp32CameraHub, camera_id: str, limit: int
) -> list[dict[str, Any]]:
    """Return the newest saved images of a camera with signed URLs, newest first."""
    root = Path(hub.save_directory)
    found = await hass.async_add_executor_job(
        newest_images, storage.camera_directory(root, camera_id), limit
    )
    return [
        {
            "name": path.relative_to(root).as_posix(),
            "size": size,
            "saved_at": datetime.fromtimestamp(modified, UTC).isoformat(),
            "url": async_sign_path(hass, saved_file_url(hub, path), URL_LIFETIME),
        }
        for modified, size, path in found
    ]


def saved_file_url(hub: Esp32CameraHub, path: Path) -> str:
    """Return the (unsigned, authenticated) URL of a JPEG or MP4 below the hub's save directory."""
    relative = path.relative_to(Path(hub.save_directory)).as_posix()
    return f"{SAVED_IMAGE_PREFIX}/{hub.entry.entry_id}/{quote(relative)}"


def served_file(root: Path, relative: str) -> Path | None:
    """Return the file if it is a JPEG or MP4 inside `root` (no `..`, no link out), else None."""
    path = root / relative
    if (
        path.suffix not in SERVED_SUFFIXES
        or ".." in PurePosixPath(relative).parts
        or not storage.is_inside(path, root)
        or not path.is_file()
    ):
        return None
    return path


def loaded_hub(hass: HomeAssistant, entry_id: str) -> Esp32CameraHub | None:
    """Return the hub of a loaded entry of this integration, else None."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    hub: Esp32CameraHub = entry.runtime_data
    return hub


class SavedImageView(HomeAssistantView):
    """A saved image or converted clip of a loaded hub, for signed-in users (or a signed URL)."""

    url = SAVED_IMAGE_PREFIX + "/{entry_id}/{path:.+}"
    name = f"api:{DOMAIN}:saved"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, path: str) -> web.StreamResponse:
        """Send the file."""
        hass = request.app[KEY_HASS]
        if (hub := loaded_hub(hass, entry_id)) is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        file = await hass.async_add_executor_job(served_file, Path(hub.save_directory), path)
        if file is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(file, headers={"Cache-Control": "private, max-age=3600"})
