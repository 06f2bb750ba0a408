"""Clips interrupted by a crash: a writer's ``.part`` file becomes a playable AVI, or goes.

``AviWriter`` streams frames into ``.<name>.<random>.part`` and only writes the index and renames
the file at its commit; a crash (kill -9, power) leaves the ``.part``. What it holds is a header
block (zeros, or the writer's last checkpoint: the frame rate so far), then complete ``00dc``
chunks in order, the last one possibly cut. ``recover_part`` keeps every complete JPEG chunk,
drops what follows, writes the index and the final header, and renames the file to its clip's
name; a file without one complete frame is removed. A file another writer holds locked (a live
writer: a second hub on the same folder) is left alone.

Blocking file I/O, bounded: the files are walked below each camera's clips folder only, at most
``limit`` are recovered per call (the rest removed), and each frame is checked by its chunk
header and its first bytes (no frame is read whole but the first, the thumbnail).
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import errno
import fcntl
import os
from pathlib import Path
import re
import struct
from typing import Literal

from ..protocol.frames import jpeg_dimensions
from .avi import _FRAME_CHUNK, _HEADER_SIZE, MAX_FRAMES, ClipInfo, _header, _index_chunk

# A writer's temporary file: "." + the clip's file name + "." + random + ".part".
PART_FILE = re.compile(r"^\.(?P<name>.+\.avi)\.[^./]+\.part$", re.IGNORECASE)
# Clips recovered per hub start; more are removed (a flood of interrupted clips must not hold the
# start-up). The clip caps keep a crash from leaving more than about 16 + one per camera.
MAX_RECOVERED = 32
# Directories walked below the clips folders (a day folder per camera and day: years of them).
MAX_DIRECTORIES = 10_000
# The rate of a clip whose writer never reached a checkpoint (under 2 s of frames).
DEFAULT_FPS = 10.0
CLIPS_DIRECTORY = "clips"

type Unused = Callable[[Path], Path]
"""Return the path itself, or the next free name for a clip (the default layout's numbering)."""


@dataclass(slots=True)
class Recovery:
    """What ``recover_clips`` did: the clips made (with their first frame), files removed."""

    recovered: list[tuple[ClipInfo, bytes]] = field(default_factory=list)
    removed: int = 0
    busy: int = 0  # locked by a live writer: left alone


def _checkpoint_fps(header: bytes) -> float | None:
    """Return the frame rate of a checkpointed header, None if it was never written."""
    if len(header) < _HEADER_SIZE or header[:4] != b"RIFF" or header[8:12] != b"AVI ":
        return None
    # strh follows: RIFF(12) LIST hdrl(12) avih(8+56) LIST strl(12) 'strh'(8) 'vidsMJPG'(8)...
    strh = 12 + 12 + 8 + 56 + 12 + 8
    if header[strh - 8 : strh - 4] != b"strh":
        return None
    scale, rate = struct.unpack_from("<II", header, strh + 20)
    if scale == 0 or rate == 0:
        return None
    fps = rate / scale
    return fps if 0.01 <= fps <= 1000 else None


def _frames(descriptor: int, size: int) -> tuple[list[tuple[int, int]], int]:
    """Return the complete JPEG chunks as (offset of the chunk, JPEG size) and where they end.

    At most MAX_FRAMES (what ``read_avi`` takes): the rest is cut off.
    """
    index: list[tuple[int, int]] = []
    position = _HEADER_SIZE
    with open(descriptor, "rb", closefd=False) as reader:
        while position + 8 <= size and len(index) < MAX_FRAMES:
            reader.seek(position)
            chunk = reader.read(10)
            fourcc, length = chunk[:4], int.from_bytes(chunk[4:8], "little")
            padded = length + (length & 1)
            if (
                fourcc != _FRAME_CHUNK
                or length < 4
                or position + 8 + padded > size
                or chunk[8:10] != b"\xff\xd8"
            ):
                break  # the cut, or the index of a commit that never renamed the file
            reader.seek(position + 8 + length - 2)
            if reader.read(2) != b"\xff\xd9":
                break
            index.append((position, length))
            position += 8 + padded
    return index, position


def _free(path: Path) -> Path:
    """Return ``path``, or a name beside it that is free: a recovery never replaces a file."""
    number = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.recovered{number}{path.suffix}")
        number += 1
    return candidate


def _locked(part: Path) -> tuple[int, bool] | None:
    """Open ``part`` and take its lock: (descriptor, whether a live writer holds it); None: gone."""
    try:
        descriptor = os.open(part, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno not in (errno.EAGAIN, errno.EACCES):
            os.close(descriptor)
            raise
        return descriptor, True
    return descriptor, False


def remove_part(part: Path) -> bool:
    """Remove ``part`` unless a live writer holds it; True if it is gone."""
    if (opened := _locked(part)) is None:
        return True
    descriptor, busy = opened
    try:
        if not busy:
            part.unlink(missing_ok=True)
    finally:
        os.close(descriptor)
    return not busy


def recover_part(part: Path, unused: Unused) -> tuple[ClipInfo, bytes] | Literal[False] | None:
    """Make a crashed writer's ``.part`` its clip; return the clip and its first frame.

    None: it held no complete frame and is removed. False: a live writer holds it (untouched).
    Any other failure removes it (``OSError`` of the file system is raised).
    """
    match = PART_FILE.match(part.name)
    target = part.with_name(match["name"] if match else part.name.removesuffix(".part"))
    if (opened := _locked(part)) is None:
        return None
    descriptor, busy = opened
    try:
        if busy:
            return False
        size = os.fstat(descriptor).st_size
        header = os.pread(descriptor, _HEADER_SIZE, 0)
        index, end = _frames(descriptor, size)
        first = os.pread(descriptor, index[0][1], index[0][0] + 8) if index else b""
        dimensions = jpeg_dimensions(first) if first else None
        if dimensions is None:
            part.unlink(missing_ok=True)
            return None
        fps = _checkpoint_fps(header) or DEFAULT_FPS
        largest = max(length for _, length in index)
        index_chunk = _index_chunk(
            (offset - (_HEADER_SIZE - 4), length) for offset, length in index
        )
        file_size = end + len(index_chunk)
        os.ftruncate(descriptor, end)
        os.pwrite(descriptor, index_chunk, end)
        width, height = dimensions
        os.pwrite(
            descriptor,
            _header(
                frames=len(index),
                fps=fps,
                width=width,
                height=height,
                largest=largest,
                file_size=file_size,
                movi=end - (_HEADER_SIZE - 4),
            ),
            0,
        )
        os.fsync(descriptor)
        path = _free(unused(target))
        part.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    finally:
        os.close(descriptor)
    info = ClipInfo(
        path=path,
        frames=len(index),
        duration=len(index) / fps,
        fps=fps,
        width=width,
        height=height,
        size=file_size,
    )
    return info, first


def part_files(root: Path, *, max_directories: int = MAX_DIRECTORIES) -> list[Path]:
    """List the writers' ``.part`` files below ``<root>/<camera>/clips/`` (links not followed)."""
    found: list[Path] = []
    directories = 0
    if not root.is_dir():
        return found
    for camera in os.scandir(root):
        clips = Path(camera.path) / CLIPS_DIRECTORY
        if not camera.is_dir(follow_symlinks=False) or clips.is_symlink() or not clips.is_dir():
            continue
        for folder, subfolders, files in os.walk(clips):  # links to folders are not followed
            directories += 1
            if directories > max_directories:
                return found
            subfolders.sort()
            found.extend(Path(folder) / name for name in sorted(files) if PART_FILE.match(name))
    return found


def recover_clips(root: Path, unused: Unused, *, limit: int = MAX_RECOVERED) -> Recovery:
    """Recover up to ``limit`` interrupted clips below ``root`` (the save directory); remove the rest.

    A file that cannot be read or written is removed if it can be, else left (and logged by the
    caller through the count of what was done).
    """
    result = Recovery()
    for part in part_files(root):
        if len(result.recovered) >= limit:
            try:
                gone = remove_part(part)
            except OSError:
                continue
            result.removed += gone
            result.busy += not gone
            continue
        try:
            recovered = recover_part(part, unused)
        except OSError:
            result.removed += not part.exists()
            continue
        if recovered is False:
            result.busy += 1
        elif recovered is None:
            result.removed += 1
        else:
            result.recovered.append(recovered)
    return result
