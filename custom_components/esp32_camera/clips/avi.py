"""MJPEG in an AVI (RIFF) container: the camera's own JPEGs, stored without re-encoding.

Layout (Microsoft's AVI RIFF reference, "AVI 1.0" with an ``idx1`` index)::

    RIFF 'AVI '
      LIST 'hdrl'
        'avih'  MainAVIHeader (56 bytes)
        LIST 'strl'
          'strh'  AVIStreamHeader (56 bytes): 'vids', 'MJPG', dwScale/dwRate, dwLength
          'strf'  BITMAPINFOHEADER (40 bytes): width, height, 'MJPG'
      LIST 'movi'
        '00dc' <JPEG> (padded to an even size), one chunk per frame
      'idx1'  one 16-byte entry per frame: '00dc', AVIIF_KEYFRAME, offset from 'movi', size
      'tims'  our own chunk: each frame's time from the first, uint32 milliseconds (players skip
              unknown chunks; the hub's replay reads it to show frames at their recorded times)

Frame rate: the cameras' frame rate varies (network, exposure). AVI 1.0 has one rate per stream,
so the clip declares the average rate, (frames - 1) / (last - first timestamp), every frame stored
once (no duplicates to fill gaps): the clip lasts as long as it was recorded and each frame shows
for the average interval; the exact times are in 'tims'. A frame whose size differs from the first
(the camera changed resolution mid-clip) is stored as it is: the header declares the first size and
MJPEG decoders take each JPEG's own.

Reading (``read_avi``) trusts nothing in the file: a clips folder can hold any file. Chunk sizes
are checked against their containers, the index against the frame cap and the size of the movi
list (each entry needs a chunk of at least 8 bytes), the rate and scale (not 0, at least MIN_FPS;
no upper bound: a burst of frames declares thousands per second, which only shortens waits), the
declared duration and the 'tims' times (non-decreasing) against MAX_DURATION; the only
exception that leaves is ClipError (a file that vanished or cannot be read included).

Writes are atomic: frames stream into a hidden temporary file next to the target, the headers are
patched and the file renamed onto the target at ``commit``; any failure deletes the temporary file,
so a clip is either complete or absent. Blocking file I/O: call it off the event loop.

A crash (kill -9, power) leaves the temporary ``.part`` file: its frames are complete chunks, in
order, and every 2 s of clip the header is patched with the figures so far (the frame rate above
all), so that ``recovery.recover_part`` can make it a playable clip. The writer holds an exclusive
``flock`` on it: a file still locked belongs to a live writer and is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import contextlib
from dataclasses import dataclass
import fcntl
import itertools
import mmap
import os
from pathlib import Path
import struct
import tempfile
from types import TracebackType
from typing import BinaryIO, Self

from ..protocol.frames import is_jpeg, jpeg_dimensions

AVIF_HASINDEX = 0x10
AVIIF_KEYFRAME = 0x10
# AVI 1.0 offsets are 32-bit, and many players stop at 1 GiB: clips stay below.
MAX_AVI_BYTES = 1024 * 1024 * 1024 - 16 * 1024 * 1024
_FRAME_CHUNK = b"00dc"
_TIMES_CHUNK = b"tims"
# What read_avi accepts. The writer declares at least 0.001 fps (rate 1 at scale 1000: two frames
# 1,000 s apart), and as many as a burst makes (frames completed 0.1 ms apart: 10,000); clips last at most 5 minutes (hub/clip_recording.MAX_CLIP_SECONDS) plus a 60 s post-roll,
# so 50,000 frames is over 2 minutes of 60 fps beyond that, and its index costs the reader ~6 MB.
MIN_FPS = 0.001
MAX_FRAMES = 50_000
MAX_DURATION = 24 * 3600.0  # seconds, declared (frames / fps) or recorded ('tims')
# The header block up to and including the 'movi' LIST's type field (fixed size: patched in place).
_HEADER_SIZE = 12 + (12 + (8 + 56) + (12 + (8 + 56) + (8 + 40))) + 12
# Seconds of clip between two checkpoints of the header (what a crash recovery finds).
CHECKPOINT_SECONDS = 2.0


class ClipError(Exception):
    """A clip could not be written or read."""


class ClipTooLargeError(ClipError):
    """Adding the frame would take the AVI past its size limit."""


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """A written clip."""

    path: Path
    frames: int
    duration: float  # seconds: frames / fps (the first to the last frame, plus one interval)
    fps: float  # the declared (average) frame rate
    width: int
    height: int
    size: int  # bytes of the file


def _chunk_header(fourcc: bytes, size: int) -> bytes:
    return fourcc + struct.pack("<I", size)


def _index_chunk(frames: Iterable[tuple[int, int]]) -> bytes:
    """Return the `idx1` chunk of frames given as (offset from 'movi', JPEG size)."""
    entries = b"".join(
        _FRAME_CHUNK + struct.pack("<III", AVIIF_KEYFRAME, offset, size) for offset, size in frames
    )
    return _chunk_header(b"idx1", len(entries)) + entries


def _average_fps(timestamps: list[float]) -> float:
    if len(timestamps) < 2 or timestamps[-1] <= timestamps[0]:
        return 1.0
    return (len(timestamps) - 1) / (timestamps[-1] - timestamps[0])


def _header(
    *, frames: int, fps: float, width: int, height: int, largest: int, file_size: int, movi: int
) -> bytes:
    """Build the header block for the final figures; ``movi`` is the movi LIST's data size."""
    scale = 1000
    rate = max(1, round(fps * scale))
    microseconds = round(1_000_000 / fps)
    buffer_size = largest + 8
    avih = struct.pack(
        "<14I",
        microseconds,
        round(buffer_size * fps),  # dwMaxBytesPerSec
        0,  # dwPaddingGranularity
        AVIF_HASINDEX,
        frames,  # dwTotalFrames
        0,  # dwInitialFrames
        1,  # dwStreams
        buffer_size,  # dwSuggestedBufferSize
        width,
        height,
        0,
        0,
        0,
        0,  # dwReserved[4]
    )
    strh = (
        b"vidsMJPG"
        + struct.pack(
            "<IHHIIIIIIII",
            0,  # dwFlags
            0,  # wPriority
            0,  # wLanguage
            0,  # dwInitialFrames
            scale,
            rate,  # rate / scale = frames per second
            0,  # dwStart
            frames,  # dwLength
            buffer_size,
            0xFFFFFFFF,  # dwQuality: default
            0,  # dwSampleSize: varies
        )
        + struct.pack("<4h", 0, 0, min(width, 0x7FFF), min(height, 0x7FFF))  # rcFrame
    )
    strf = struct.pack(
        "<IiiHH4sIiiII",
        40,  # biSize
        width,
        height,
        1,  # biPlanes
        24,  # biBitCount
        b"MJPG",
        width * height * 3,  # biSizeImage
        0,
        0,
        0,
        0,
    )
    strl = (
        b"strl"
        + _chunk_header(b"strh", len(strh))
        + strh
        + _chunk_header(b"strf", len(strf))
        + strf
    )
    hdrl = b"hdrl" + _chunk_header(b"avih", len(avih)) + avih + _chunk_header(b"LIST", len(strl))
    hdrl += strl
    header = (
        _chunk_header(b"RIFF", file_size - 8)
        + b"AVI "
        + _chunk_header(b"LIST", len(hdrl))
        + hdrl
        + _chunk_header(b"LIST", movi)
        + b"movi"
    )
    assert len(header) == _HEADER_SIZE
    return header


class AviWriter:
    """Write one clip, frame by frame, into ``path`` (atomically at ``commit``).

    One thread at a time. As a context manager, an exception aborts (no file is left).
    """

    def __init__(self, path: Path, *, max_bytes: int = MAX_AVI_BYTES) -> None:
        """Open a temporary file next to ``path`` (the directory must exist)."""
        self.path = path
        self._max_bytes = max_bytes
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part"
        )
        self._temporary = Path(temporary)
        self._file: BinaryIO | None = os.fdopen(descriptor, "wb")
        # Released with the file (or the process): tells a recovery that this writer is alive.
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._file.write(bytes(_HEADER_SIZE))  # patched at checkpoints and at commit
        self._position = _HEADER_SIZE
        self._index: list[tuple[int, int]] = []  # (offset from 'movi', size)
        self._timestamps: list[float] = []
        self._largest = 0
        self._size: tuple[int, int] | None = None
        self._checkpoint: float | None = None  # the timestamp of the last checkpoint

    @property
    def frames(self) -> int:
        """Frames written so far."""
        return len(self._index)

    def add_frame(self, data: bytes | bytearray, timestamp: float) -> None:
        """Append one JPEG; raises ClipError for a non-JPEG, ClipTooLargeError past the limits.

        The limits: ``max_bytes``, and MAX_FRAMES frames (what ``read_avi`` takes).
        """
        if self._file is None:
            raise ClipError("the clip is already committed or aborted")
        if not is_jpeg(data):
            raise ClipError("not a JPEG frame")
        if self._size is None:
            self._size = jpeg_dimensions(data)
            if self._size is None:
                raise ClipError("the JPEG has no readable size")
        # What read_avi takes: a camera sending small frames fast (200 a second fill 5 minutes
        # past it) had its clip written, then refused by every list and replay.
        if len(self._index) >= MAX_FRAMES:
            raise ClipTooLargeError(f"the clip would exceed {MAX_FRAMES} frames")
        padded = len(data) + (len(data) & 1)
        index_and_times = 16 * (len(self._index) + 1) + 8 + 4 * (len(self._index) + 1) + 8
        if self._position + 8 + padded + index_and_times > self._max_bytes:
            raise ClipTooLargeError(f"the clip would exceed {self._max_bytes} bytes")
        self._file.write(_chunk_header(_FRAME_CHUNK, len(data)))
        self._file.write(data)
        if len(data) & 1:
            self._file.write(b"\x00")
        # Each frame to the OS at once: a crash of the process (kill -9) loses none of them.
        self._file.flush()
        # idx1 offsets count from the 'movi' fourcc, which sits 4 bytes before the first chunk.
        self._index.append((self._position - (_HEADER_SIZE - 4), len(data)))
        self._timestamps.append(timestamp)
        self._position += 8 + padded
        self._largest = max(self._largest, len(data))
        if self._checkpoint is None:
            self._checkpoint = timestamp
        elif timestamp - self._checkpoint >= CHECKPOINT_SECONDS:
            self._checkpoint = timestamp
            self._write_checkpoint()

    def _write_checkpoint(self) -> None:
        """Patch the header with the figures so far (a crash recovery reads the frame rate)."""
        assert self._file is not None
        self._file.seek(0)
        self._file.write(self._header_so_far(file_size=self._position))
        self._file.seek(self._position)

    def _header_so_far(self, *, file_size: int) -> bytes:
        """Return the header block of the frames written so far, in a file of `file_size`."""
        assert self._size is not None
        width, height = self._size
        return _header(
            frames=len(self._index),
            fps=_average_fps(self._timestamps),
            width=width,
            height=height,
            largest=self._largest,
            file_size=file_size,
            movi=self._position - (_HEADER_SIZE - 4),
        )

    def commit(self) -> ClipInfo:
        """Write the index and the headers, sync, and move the file onto ``path``.

        Raises ClipError for a clip without frames; on any error no file is left behind.
        """
        if self._file is None:
            raise ClipError("the clip is already committed or aborted")
        if not self._index or self._size is None:
            self.abort()
            raise ClipError("a clip needs at least one frame")
        try:
            file = self._file
            fps = _average_fps(self._timestamps)
            width, height = self._size
            index = _index_chunk(self._index)
            first = self._timestamps[0]
            times = struct.pack(
                f"<{len(self._timestamps)}I",
                *(round((timestamp - first) * 1000) for timestamp in self._timestamps),
            )
            file.write(index)
            file.write(_chunk_header(_TIMES_CHUNK, len(times)) + times)
            file_size = self._position + len(index) + 8 + len(times)
            file.seek(0)
            file.write(self._header_so_far(file_size=file_size))
            file.flush()
            os.fsync(file.fileno())
            file.close()
            self._file = None
            self._temporary.replace(self.path)
        except BaseException:
            self.abort()
            raise
        return ClipInfo(
            path=self.path,
            frames=len(self._index),
            duration=len(self._index) / fps,
            fps=fps,
            width=width,
            height=height,
            size=file_size,
        )

    def abort(self) -> None:
        """Close and delete the temporary file (nothing is written to ``path``)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        """Use as a context manager: abort on an exception."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Abort when the block raised (a committed clip is kept)."""
        if exc_type is not None:
            self.abort()


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AviClip:
    """What ``read_avi`` finds in a clip: the declared stream and where each frame is."""

    path: Path
    width: int
    height: int
    fps: float  # dwRate / dwScale of the video stream
    total_frames: int  # avih.dwTotalFrames
    frames: tuple[tuple[int, int], ...]  # (file offset of the JPEG, size), from idx1
    times: tuple[float, ...] | None  # seconds from the first frame ('tims'), when present

    def read_frame(self, file: BinaryIO, number: int) -> bytes:
        """Return the JPEG of frame ``number`` from the open clip file."""
        offset, size = self.frames[number]
        file.seek(offset)
        data = file.read(size)
        if len(data) != size:
            raise ClipError(f"frame {number} is truncated")
        return data

    def iter_frames(self) -> Iterator[bytes]:
        """Every frame's JPEG, in order (opens the file; blocking)."""
        with self.path.open("rb") as file:
            for number in range(len(self.frames)):
                yield self.read_frame(file, number)


def _chunks(data: bytes | mmap.mmap, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, data offset, size) of the chunks in data[start:end]; raises ClipError if cut."""
    position = start
    while position + 8 <= end:
        fourcc = data[position : position + 4]
        (size,) = struct.unpack_from("<I", data, position + 4)
        if position + 8 + size > end:
            raise ClipError(f"chunk {fourcc!r} at {position} runs past its container")
        yield fourcc, position + 8, size
        position += 8 + size + (size & 1)
    if position != end and position != end + 1:
        raise ClipError(f"stray bytes at {position}")


def read_avi(path: Path) -> AviClip:
    """Parse an MJPEG AVI written by AviWriter (or any AVI 1.0 with idx1); raises ClipError.

    Maps the file and reads the headers and the index, not the frames (``AviClip.read_frame``).
    Blocking. Raises ClipError for anything it cannot use, an unreadable file included.
    """
    try:
        with path.open("rb") as file:
            if os.fstat(file.fileno()).st_size < 12:
                raise ClipError("not a RIFF AVI file")
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _parse(path, data)
    except (OSError, ValueError) as error:  # gone, a folder, emptied while being mapped
        raise ClipError(f"cannot read the file: {error}") from error


def _parse(path: Path, data: mmap.mmap) -> AviClip:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"AVI ":
        raise ClipError("not a RIFF AVI file")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 != len(data):
        raise ClipError(f"RIFF size {riff_size + 8} differs from the file size {len(data)}")
    header: dict[bytes, bytes] = {}
    movi: tuple[int, int] | None = None
    # (data offset, size) of the index and the times: read in place, never copied (a hostile
    # index can be as large as the file).
    index: tuple[int, int] | None = None
    times: tuple[int, int] | None = None
    for fourcc, offset, size in _chunks(data, 12, len(data)):
        if fourcc == b"LIST" and data[offset : offset + 4] == b"hdrl":
            for inner, inner_offset, inner_size in _chunks(data, offset + 4, offset + size):
                if inner == b"LIST" and data[inner_offset : inner_offset + 4] == b"strl":
                    for stream, stream_offset, stream_size in _chunks(
                        data, inner_offset + 4, inner_offset + inner_size
                    ):
                        header.setdefault(stream, data[stream_offset : stream_offset + stream_size])
                else:
                    header[inner] = data[inner_offset : inner_offset + inner_size]
        elif fourcc == b"LIST" and data[offset : offset + 4] == b"movi":
            movi = (offset, size)
        elif fourcc == b"idx1":
            index = (offset, size)
        elif fourcc == _TIMES_CHUNK:
            times = (offset, size)
    for required in (b"avih", b"strh", b"strf"):
        if len(header.get(required, b"")) < (40 if required == b"strf" else 56):
            raise ClipError(f"missing or short {required.decode()} header")
    if movi is None or index is None:
        raise ClipError("missing movi list or idx1 index")
    avih, strh, strf = header[b"avih"], header[b"strh"], header[b"strf"]
    (total_frames,) = struct.unpack_from("<I", avih, 16)
    width, height = struct.unpack_from("<II", avih, 32)
    if strh[:4] != b"vids" or strf[16:20] != b"MJPG":
        raise ClipError("not an MJPEG video stream")
    scale, rate = struct.unpack_from("<II", strh, 20)
    if scale == 0:
        raise ClipError("dwScale is 0")
    if rate == 0:
        raise ClipError("dwRate is 0")
    fps = rate / scale
    if fps < MIN_FPS:
        raise ClipError(f"frame rate {fps:g} is below {MIN_FPS:g}")
    movi_offset, movi_size = movi
    index_offset, index_size = index
    entries = index_size // 16
    # Before anything is read from it: an index costs memory per entry.
    if entries > MAX_FRAMES:
        raise ClipError(f"the index has {entries} entries, more than {MAX_FRAMES}")
    if entries * 8 > movi_size:
        raise ClipError(f"the index has {entries} entries, more than the movi list can hold")
    frames = []
    for entry in range(entries):
        fourcc, _flags, offset, size = struct.unpack_from("<4sIII", data, index_offset + entry * 16)
        if fourcc != _FRAME_CHUNK:
            continue
        chunk = movi_offset + offset  # offsets count from the 'movi' fourcc
        if data[chunk : chunk + 4] != fourcc or chunk + 8 + size > movi_offset + movi_size:
            raise ClipError(f"index entry {entry} does not point at its chunk")
        frames.append((chunk + 8, size))
    if not frames:
        raise ClipError("the index has no frame")
    if len(frames) / fps > MAX_DURATION:
        raise ClipError(f"{len(frames)} frames at {fps:g} fps last more than {MAX_DURATION:g} s")
    frame_times = None
    if times is not None and times[1] == 4 * len(frames):
        milliseconds = struct.unpack_from(f"<{len(frames)}I", data, times[0])
        if any(later < earlier for earlier, later in itertools.pairwise(milliseconds)):
            raise ClipError("the tims times go backwards")
        if milliseconds[-1] > MAX_DURATION * 1000:
            raise ClipError(f"the tims times last more than {MAX_DURATION:g} s")
        frame_times = tuple(value / 1000 for value in milliseconds)
    return AviClip(
        path=path,
        width=width,
        height=height,
        fps=fps,
        total_frames=total_frames,
        frames=tuple(frames),
        times=frame_times,
    )
