"""How the integration writes files: atomically, never through a link, never over a file unless asked.

Everything here does blocking I/O: call it in the executor.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
import errno
import os
from pathlib import Path
import secrets

from .layout import TEMP_PREFIX, TEMP_SUFFIX


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
