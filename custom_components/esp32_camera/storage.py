"""Where and how the integration writes files (snapshots, continuous saving, clips).

Everything here except `default_save_directory` does blocking I/O: call it in the executor.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
import errno
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
# `<camera>/clips/YYYY-MM-DD/HH-MM-SS_<reason>.avi` (local time of the trigger), with the same stem
# `.jpg` (the frame at the trigger) and, when ffmpeg made it, `.mp4`. Two clips of one reason in
# the same second (a clock set back) get `_2`, `_3`, ... before the extension.
CLIP_FILE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})_([a-z]+)(?:_(\d+))?\.(avi|mp4|jpg)$")
CLIP_EXTENSIONS = (".avi", ".mp4", ".jpg")


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


def write_file_atomic(
    path: str | Path,
    data: bytes | bytearray,
    *,
    fsync: bool = True,
    root: str | Path | None = None,
    overwrite: bool = True,
) -> None:
    """Write `data` to `path` so that `path` is either absent/old or complete, never partial.

    Creates missing directories, writes a temporary file in the target directory, optionally fsyncs
    it, and renames it over `path`. The temporary file is removed when anything fails.

    With `root`, `path` must lie below it and nothing below `root` is followed if it is a symbolic
    link: every directory is opened relative to its parent without following links, so a link
    planted inside the save directory cannot send the file elsewhere (`OSError` instead).

    With `overwrite=False` an existing `path` (a link too) is never replaced: `FileExistsError`.
    """
    target = Path(path)
    directory_fd = _open_parent(target, root)
    temp = f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
    try:
        # Exclusive: never share a temporary file with a concurrent writer.
        file_fd = _create_exclusively(temp, directory_fd)
        try:
            with os.fdopen(file_fd, "wb") as file:
                file.write(data)
                if fsync:
                    file.flush()
                    os.fsync(file.fileno())
            if overwrite:
                # Renaming over a link replaces the link itself: nothing outside is written.
                os.rename(temp, target.name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
            else:
                _publish_exclusively(temp, target.name, directory_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=directory_fd)
            raise
    finally:
        os.close(directory_fd)


def _create_exclusively(name: str, directory_fd: int) -> int:
    """Create `name` in the folder and open it for writing; `FileExistsError` if it exists.

    A link of that name counts as existing (never followed); 0o666 minus the umask, like open().
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    return os.open(name, flags, 0o666, dir_fd=directory_fd)


def _open_parent(target: Path, root: str | Path | None) -> int:
    """Open `target`'s folder (created if missing); with `root`, never through a link below it."""
    if root is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        return os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    return _open_directory_below(Path(root), target.parent)


def _publish_exclusively(temp: str, name: str, directory_fd: int) -> None:
    """Give the complete file `temp` the name `name` unless that name exists (`FileExistsError`).

    A hard link never replaces, so whoever takes the name first keeps it: no check-then-write
    window. File systems without hard links (FAT, exFAT) get the name created exclusively, then
    the file renamed onto it.
    """
    try:
        os.link(temp, name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
        os.close(_create_exclusively(name, directory_fd))
        os.rename(temp, name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
    else:
        os.unlink(temp, dir_fd=directory_fd)


@dataclass(frozen=True, slots=True)
class Reservation:
    """An empty file created exclusively to hold a name until the real file is renamed onto it."""

    path: Path
    device: int
    inode: int


def reserve_file(path: str | Path, *, root: str | Path | None = None) -> Reservation:
    """Create `path` empty and exclusively (`FileExistsError` if it exists, a link included).

    For a file written later by renaming onto it (a clip): the name is taken at once, so nothing
    else is overwritten. With `root`, as `write_file_atomic`.
    """
    target = Path(path)
    directory_fd = _open_parent(target, root)
    try:
        file_fd = _create_exclusively(target.name, directory_fd)
        try:
            status = os.fstat(file_fd)
        finally:
            os.close(file_fd)
    finally:
        os.close(directory_fd)
    return Reservation(target, status.st_dev, status.st_ino)


def release_file(reservation: Reservation) -> None:
    """Remove a reserved name that still holds the empty reservation (not what replaced it)."""
    with contextlib.suppress(FileNotFoundError):
        status = reservation.path.lstat()
        if (status.st_dev, status.st_ino, status.st_size) == (
            reservation.device,
            reservation.inode,
            0,
        ):
            reservation.path.unlink()


def make_directory(directory: str | Path, *, root: str | Path | None = None) -> None:
    """Create `directory` and its parents; with `root`, never through a link below `root`.

    Raises `OSError` for a link below `root` and `ValueError` for a directory outside it.
    """
    if root is None:
        Path(directory).mkdir(parents=True, exist_ok=True)
    else:
        os.close(_open_directory_below(Path(root), Path(directory)))


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
