"""Where and how the integration writes JPEG files: shared by the snapshot action and the saver.

Everything here except `default_save_directory` does blocking I/O: call it in the executor.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
import os
from pathlib import Path
import re
import secrets

from homeassistant.core import HomeAssistant

from .const import DOMAIN

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
# `<camera>/clips/YYYY-MM-DD/HH-MM-SS_<reason>.avi`, a clip (local time of its first frame); an
# `.mp4` (H.264) and a `.jpg` thumbnail may sit beside it with the same stem.
CLIP_FILE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})_([a-z]+)\.avi$")


def default_save_directory(hass: HomeAssistant) -> str:
    """Return the default save directory: inside the local media folder, so the Media browser shows it."""
    media = hass.config.media_dirs.get("local") or hass.config.path("media")
    return str(Path(media) / DOMAIN)


def camera_directory(root: str | Path, camera_id: str) -> Path:
    """Return a camera's directory under the save directory (`:` of IPv6 ids made portable)."""
    return Path(root) / camera_id.replace(":", "_")


def snapshot_path(root: str | Path, camera_id: str, when: datetime) -> Path:
    """Return the default file of a snapshot: `<root>/<camera>/snapshots/<timestamp>.jpg`."""
    name = when.strftime("%Y-%m-%d_%H-%M-%S.%f") + ".jpg"
    return camera_directory(root, camera_id) / SNAPSHOTS_DIRECTORY / name


def saved_frame_path(root: str | Path, camera_id: str, when: datetime, seq: int) -> Path:
    """Return the file of a continuously saved frame: `<root>/<camera>/<day>/<hour>/<time>_<seq>.jpg`."""
    return (
        camera_directory(root, camera_id)
        / when.strftime("%Y-%m-%d")
        / when.strftime("%H")
        / f"{when.strftime('%H-%M-%S.%f')}_{seq}.jpg"
    )


def clip_path(root: str | Path, camera_id: str, when: datetime, reason: str) -> Path:
    """Return a clip's AVI file: `<root>/<camera>/clips/<day>/<time>_<reason>.avi`."""
    return (
        camera_directory(root, camera_id)
        / CLIPS_DIRECTORY
        / when.strftime("%Y-%m-%d")
        / f"{when.strftime('%H-%M-%S')}_{reason}.avi"
    )


def is_inside(path: str | Path, directory: str | Path) -> bool:
    """Return whether `path` is `directory` or below it, after resolving links and `..`."""
    try:
        Path(path).resolve().relative_to(Path(directory).resolve())
    except ValueError:
        return False
    return True


def write_file_atomic(
    path: str | Path,
    data: bytes | bytearray,
    *,
    fsync: bool = True,
    root: str | Path | None = None,
) -> None:
    """Write `data` to `path` so that `path` is either absent/old or complete, never partial.

    Creates missing directories, writes a temporary file in the target directory, optionally fsyncs
    it, and renames it over `path`. The temporary file is removed when anything fails.

    With `root`, `path` must lie below it and nothing below `root` is followed if it is a symbolic
    link: every directory is opened relative to its parent without following links, so a link
    planted inside the save directory cannot send the file elsewhere (`OSError` instead).
    """
    target = Path(path)
    if root is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        directory_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    else:
        directory_fd = _open_directory_below(Path(root), target.parent)
    temp = f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
    try:
        # O_EXCL: never share a temporary file with a concurrent writer; 0o666 minus the umask, like open().
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        file_fd = os.open(temp, flags, 0o666, dir_fd=directory_fd)
        try:
            with os.fdopen(file_fd, "wb") as file:
                file.write(data)
                if fsync:
                    file.flush()
                    os.fsync(file.fileno())
            # Renaming over a link replaces the link itself: nothing outside is written.
            os.rename(temp, target.name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=directory_fd)
            raise
    finally:
        os.close(directory_fd)


def _open_directory_below(root: Path, directory: Path) -> int:
    """Open `directory` (created if missing) below `root` without following links below `root`.

    `root` itself may be a link the user chose (e.g. to a USB disk). Raises `OSError` (ELOOP or
    ENOTDIR) for a link below it and `ValueError` for a path outside it.
    """
    relative = directory.relative_to(root)  # lexical: `..` is refused below
    if ".." in relative.parts:
        raise ValueError(f"{directory} is not inside {root}")
    root.mkdir(parents=True, exist_ok=True)
    current = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in relative.parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=current)
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=current)
            os.close(current)
            current = child
    except BaseException:
        os.close(current)
        raise
    return current
