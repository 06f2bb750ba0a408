"""The MJPEG AVI writer, checked with a RIFF walker written here from the AVI reference."""

from __future__ import annotations

from collections.abc import Callable
import functools
import io
from pathlib import Path
import struct
import tempfile
import tracemalloc
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image, ImageChops, ImageStat
import pytest

from custom_components.esp32_camera.clips import (
    AviClip,
    AviWriter,
    ClipError,
    ClipTooLargeError,
    read_avi,
)
from custom_components.esp32_camera.clips.avi import MAX_DURATION, MAX_FRAMES, MIN_FPS
from tests.helpers import jpeg_bytes, scene_jpegs


def walk(data: bytes, start: int, end: int) -> list[tuple[str, int, int]]:
    """(fourcc, data offset, size) of the chunks in a RIFF container, checking padding."""
    chunks = []
    position = start
    while position < end:
        fourcc = data[position : position + 4].decode("ascii")
        (size,) = struct.unpack_from("<I", data, position + 4)
        chunks.append((fourcc, position + 8, size))
        position += 8 + size + (size & 1)
        assert position <= end
    assert position == end
    return chunks


def list_type(data: bytes, chunk: tuple[str, int, int]) -> str:
    return data[chunk[1] : chunk[1] + 4].decode("ascii")


def huge_chunk(data: bytes, fourcc: bytes) -> bytes:
    position = data.index(fourcc)
    return data[: position + 4] + struct.pack("<I", 0x7FFFFFFF) + data[position + 8 :]


def patch_strh(data: bytes, offset: int, value: int) -> bytes:
    position = data.index(b"strh") + 8 + offset
    return data[:position] + struct.pack("<I", value) + data[position + 4 :]


def patch_index(data: bytes, entry: int, field: int, value: int) -> bytes:
    position = data.index(b"idx1") + 8 + 16 * entry + field
    return data[:position] + struct.pack("<I", value) + data[position + 4 :]


def write(path: Path, frames: list[tuple[bytes, float]]) -> None:
    with AviWriter(path) as writer:
        for jpeg, timestamp in frames:
            writer.add_frame(jpeg, timestamp)
        writer.commit()


def test_structure_follows_the_avi_reference(tmp_path: Path) -> None:
    jpegs = scene_jpegs("crossing")[30:70]
    timestamps = [10.0 + number * 0.05 + (0.02 if number % 3 == 0 else 0) for number in range(40)]
    path = tmp_path / "clip.avi"
    with AviWriter(path) as writer:
        for jpeg, timestamp in zip(jpegs, timestamps, strict=True):
            writer.add_frame(jpeg, timestamp)
        info = writer.commit()
    data = path.read_bytes()
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"AVI "
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    top = walk(data, 12, len(data))
    assert [
        (fourcc, list_type(data, c) if fourcc == "LIST" else "") for c in top for fourcc in [c[0]]
    ] == [
        ("LIST", "hdrl"),
        ("LIST", "movi"),
        ("idx1", ""),
        ("tims", ""),
    ]
    hdrl, movi, idx1, tims = top
    avih, strl = walk(data, hdrl[1] + 4, hdrl[1] + hdrl[2])
    assert avih[0] == "avih"
    assert avih[2] == 56
    (
        microseconds,
        _max_bytes,
        _padding,
        flags,
        total_frames,
        _initial,
        streams,
        suggested,
        width,
        height,
    ) = struct.unpack_from("<10I", data, avih[1])
    fps = 39 / (timestamps[-1] - timestamps[0])  # the average rate
    assert microseconds == round(1e6 / fps)
    assert flags & 0x10  # AVIF_HASINDEX
    assert (total_frames, streams, width, height) == (40, 1, 640, 480)
    assert suggested >= max(map(len, jpegs))
    assert list_type(data, strl) == "strl"
    strh, strf = walk(data, strl[1] + 4, strl[1] + strl[2])
    assert data[strh[1] : strh[1] + 8] == b"vidsMJPG"
    scale, rate, start, length = struct.unpack_from("<4I", data, strh[1] + 20)
    assert rate / scale == pytest.approx(fps, rel=1e-3)
    assert (start, length) == (0, 40)
    bi_size, bi_width, bi_height, _planes, _bits, compression = struct.unpack_from(
        "<IiiHH4s", data, strf[1]
    )
    assert (bi_size, bi_width, bi_height, compression) == (40, 640, 480, b"MJPG")

    # movi: one '00dc' chunk per frame, the JPEG bytes unchanged; idx1 points at each one.
    frames = walk(data, movi[1] + 4, movi[1] + movi[2])
    assert [fourcc for fourcc, _offset, _size in frames] == ["00dc"] * 40
    assert [data[offset : offset + size] for _f, offset, size in frames] == list(jpegs)
    assert idx1[2] == 16 * 40
    for entry, (_fourcc, offset, size) in enumerate(frames):
        ckid, entry_flags, entry_offset, entry_size = struct.unpack_from(
            "<4sIII", data, idx1[1] + 16 * entry
        )
        assert (ckid, entry_size) == (b"00dc", size)
        assert entry_flags & 0x10  # AVIIF_KEYFRAME
        assert movi[1] + entry_offset == offset - 8  # relative to the 'movi' fourcc
    milliseconds = struct.unpack_from("<40I", data, tims[1])
    assert list(milliseconds) == [round((t - timestamps[0]) * 1000) for t in timestamps]

    assert info.frames == 40
    assert info.size == len(data)
    assert info.duration == pytest.approx(40 / fps)
    assert (info.width, info.height) == (640, 480)


def test_frames_round_trip_through_the_reader_and_pillow(tmp_path: Path) -> None:
    jpegs = scene_jpegs("crossing")[:10]
    odd = jpegs[1] + b"\x00" * (1 - len(jpegs[1]) % 2)  # padded chunk, frame unchanged
    assert len(odd) % 2 == 1
    frames = [jpegs[0], odd, *jpegs[2:]]
    path = tmp_path / "clip.avi"
    write(path, [(jpeg, number * 0.05) for number, jpeg in enumerate(frames)])
    clip = read_avi(path)
    assert (clip.width, clip.height, clip.total_frames) == (640, 480, 10)
    assert clip.fps == pytest.approx(20.0)
    assert clip.times == tuple(round(number * 0.05, 3) for number in range(10))
    read_back = list(clip.iter_frames())
    assert read_back == frames
    for original, stored in zip(frames, read_back, strict=True):
        picture = Image.open(io.BytesIO(stored))
        assert picture.size == (640, 480)
        difference = ImageChops.difference(
            picture.convert("RGB"), Image.open(io.BytesIO(original)).convert("RGB")
        )
        assert max(ImageStat.Stat(difference).extrema[0]) == 0


def test_foreign_index_entries_are_skipped(tmp_path: Path) -> None:
    # Another stream's entry (an audio chunk '01wb') in idx1 is not a frame.
    path = tmp_path / "clip.avi"
    write(path, [(jpeg, number * 0.05) for number, jpeg in enumerate(scene_jpegs("crossing")[:2])])
    data = path.read_bytes()
    position = data.index(b"idx1") + 8
    path.write_bytes(data[:position] + b"01wb" + data[position + 4 :])
    clip = read_avi(path)
    assert len(clip.frames) == 1
    assert clip.times is None  # 'tims' counts two frames: not used for one


def test_one_frame_and_a_resolution_change(tmp_path: Path) -> None:
    path = tmp_path / "one.avi"
    write(path, [(scene_jpegs("crossing")[0], 5.0)])
    clip = read_avi(path)
    assert clip.fps == 1.0  # one frame: no rate to measure
    assert len(clip.frames) == 1
    # A frame of another size is stored as it is; the header keeps the first size.
    small = jpeg_bytes(320, 240, (10, 20, 30))
    path = tmp_path / "mixed.avi"
    write(path, [(scene_jpegs("crossing")[0], 0.0), (small, 0.05)])
    clip = read_avi(path)
    assert (clip.width, clip.height) == (640, 480)
    with path.open("rb") as file:
        assert Image.open(io.BytesIO(clip.read_frame(file, 1))).size == (320, 240)


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    jpeg = scene_jpegs("crossing")[0]
    target = tmp_path / "clip.avi"

    def interrupted() -> None:
        with AviWriter(target) as writer:
            writer.add_frame(jpeg, 0.0)
            raise RuntimeError("the recorder stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        interrupted()
    assert list(tmp_path.iterdir()) == []

    # The rename fails (a directory is in the way): nothing but that directory remains.
    blocked = tmp_path / "blocked.avi"
    blocked.mkdir()
    writer = AviWriter(blocked)
    writer.add_frame(jpeg, 0.0)
    with pytest.raises(IsADirectoryError):
        writer.commit()
    assert list(tmp_path.iterdir()) == [blocked]
    assert list(blocked.iterdir()) == []

    # No frames: an error, no file.
    writer = AviWriter(target)
    with pytest.raises(ClipError, match="at least one frame"):
        writer.commit()
    assert list(tmp_path.iterdir()) == [blocked]
    with pytest.raises(ClipError, match="already"):
        writer.add_frame(jpeg, 0.0)
    with pytest.raises(ClipError, match="already"):
        writer.commit()


def test_bad_frames_and_the_size_limit(tmp_path: Path) -> None:
    jpeg = scene_jpegs("crossing")[0]
    with AviWriter(tmp_path / "clip.avi", max_bytes=3 * len(jpeg)) as writer:
        with pytest.raises(ClipError, match="not a JPEG"):
            writer.add_frame(b"\x00" * 200, 0.0)
        with pytest.raises(ClipError, match="no readable size"):
            writer.add_frame(b"\xff\xd8" + b"\x00" * 200 + b"\xff\xd9", 0.0)
        writer.add_frame(jpeg, 0.0)
        writer.add_frame(jpeg, 0.05)
        assert writer.frames == 2
        with pytest.raises(ClipTooLargeError):
            writer.add_frame(jpeg, 0.1)
        info = writer.commit()
    assert info.frames == 2
    assert info.size <= 3 * len(jpeg)
    assert len(read_avi(info.path).frames) == 2


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:8], "not a RIFF AVI"),
        (lambda data: b"RIFX" + data[4:], "not a RIFF AVI"),
        (lambda data: data[:-10], "RIFF size"),
        (lambda data: huge_chunk(data, b"idx1"), "runs past"),
        (lambda data: data.replace(b"idx1", b"junk", 1), "idx1"),
        (lambda data: data.replace(b"avih", b"xxxx", 1), "avih"),
        (lambda data: data.replace(b"vidsMJPG", b"audsMJPG", 1), "MJPEG"),
        (lambda data: data + b"\x00\x00\x00", "stray bytes"),
        (lambda data: patch_strh(data, 20, 0), "dwScale"),
        (lambda data: patch_index(data, 0, 8, 12345), "does not point"),
    ],
)
def test_the_reader_rejects_damaged_files(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "clip.avi"
    write(path, [(jpeg, number * 0.05) for number, jpeg in enumerate(scene_jpegs("crossing")[:3])])
    data = damage(path.read_bytes())
    if message != "RIFF size" and data[:4] == b"RIFF" and len(data) >= 12:
        data = data[:4] + struct.pack("<I", len(data) - 8) + data[8:]
    path.write_bytes(data)
    with pytest.raises(ClipError, match=message):
        read_avi(path)


# -- hostile files (issue 18) ---------------------------------------------------------------------


def _valid(tmp_path: Path, frames: int = 3) -> bytes:
    path = tmp_path / "valid.avi"
    write(path, [(jpeg, n * 0.05) for n, jpeg in enumerate(scene_jpegs("crossing")[:frames])])
    return path.read_bytes()


def _riff_sized(data: bytes) -> bytes:
    """The RIFF header's size fixed to the data's: the damage, not the size, is what is read."""
    return (
        data[:4] + struct.pack("<I", max(0, len(data) - 8)) + data[8:] if len(data) >= 8 else data
    )


def _with_tims(data: bytes, milliseconds: list[int]) -> bytes:
    position = data.index(b"tims") + 8
    times = struct.pack(f"<{len(milliseconds)}I", *milliseconds)
    return data[:position] + times + data[position + len(times) :]


def _checked(clip: AviClip) -> None:
    """What a clip read_avi returns promises its callers (the replay, the lists)."""
    assert clip.fps >= MIN_FPS
    assert 0 < len(clip.frames) <= MAX_FRAMES
    assert len(clip.frames) / clip.fps <= MAX_DURATION
    if clip.times is not None:
        assert len(clip.times) == len(clip.frames)
        assert list(clip.times) == sorted(clip.times)
        assert clip.times[-1] <= MAX_DURATION


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: patch_strh(data, 24, 0), "dwRate"),  # the issue's: ZeroDivisionError
        (lambda data: patch_strh(patch_strh(data, 24, 1), 20, 10**9), "frame rate"),  # 1e-9 fps
        (lambda data: _with_tims(data, [0, 49 * 86_400_000, 49 * 86_400_001]), "tims"),
        (lambda data: _with_tims(data, [0, 100, 50]), "tims"),
    ],
)
def test_the_reader_rejects_hostile_rates_and_times(
    tmp_path: Path, damage: Callable[[bytes], bytes], message: str
) -> None:
    path = tmp_path / "clip.avi"
    path.write_bytes(_riff_sized(damage(_valid(tmp_path))))
    with pytest.raises(ClipError, match=message):
        read_avi(path)


def test_a_slow_declared_rate_is_read_within_the_duration_limit(tmp_path: Path) -> None:
    """No tims: 3 frames at 0.001 fps last 50 minutes, within the limit (the replay caps gaps)."""
    data = _valid(tmp_path)
    position = data.index(b"tims")
    data = data[:position] + b"junk" + data[position + 4 :]  # an unknown chunk: no times
    path = tmp_path / "clip.avi"
    path.write_bytes(patch_strh(patch_strh(data, 20, 1000), 24, 1))
    clip = read_avi(path)  # 0.001 fps is a rate the writer itself declares for a long gap
    assert clip.times is None
    assert len(clip.frames) / clip.fps <= MAX_DURATION


def _index_of(data: bytes, entries: bytes) -> bytes:
    """The clip with its idx1 chunk replaced (the file ends with idx1 and tims)."""
    position = data.index(b"idx1")
    times = data.index(b"tims")
    return data[:position] + b"idx1" + struct.pack("<I", len(entries)) + entries + data[times:]


def _first_entry(data: bytes) -> bytes:
    position = data.index(b"idx1") + 8
    return data[position : position + 16]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        # 1,000 entries, each a valid pointer, where the movi list holds room for ~150 chunks.
        (lambda data: _index_of(data, _first_entry(data) * 1000), "movi list can hold"),
        (lambda data: _index_of(data, b""), "no frame"),
        (lambda data: _index_of(data, b"01wb" + bytes(12)), "no frame"),  # audio only
    ],
)
def test_the_reader_rejects_hostile_indexes(
    damage: Callable[[bytes], bytes], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "clip.avi"
    path.write_bytes(_riff_sized(damage(_small_valid())))
    with pytest.raises(ClipError, match=message):
        read_avi(path)


def test_a_declared_duration_past_the_limit_is_refused(tmp_path: Path) -> None:
    """87 frames at 0.001 fps and no tims: 87,000 s declared, more than a day."""
    jpeg = scene_jpegs("crossing")[0]
    path = tmp_path / "clip.avi"
    write(path, [(jpeg, n) for n in range(87)])
    data = path.read_bytes().replace(b"tims", b"JUNK", 1)
    path.write_bytes(patch_strh(patch_strh(data, 20, 1000), 24, 1))
    with pytest.raises(ClipError, match="last more than"):
        read_avi(path)


def test_what_cannot_be_read_is_a_clip_error(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match="cannot read"):
        read_avi(tmp_path)  # a folder
    with pytest.raises(ClipError, match="cannot read"):
        read_avi(tmp_path / "missing.avi")


def test_a_burst_of_frames_is_read_back(tmp_path: Path) -> None:
    """Frames completed 0.1 ms apart: the writer declares 10,000 fps, which the reader takes."""
    path = tmp_path / "clip.avi"
    jpegs = scene_jpegs("crossing")[:3]
    write(path, [(jpeg, 5.0 + n * 0.0001) for n, jpeg in enumerate(jpegs)])
    clip = read_avi(path)
    _checked(clip)
    assert clip.fps == pytest.approx(10_000)
    assert list(clip.iter_frames()) == list(jpegs)


def test_a_huge_index_is_refused_before_it_costs_memory(tmp_path: Path) -> None:
    """Issue 18: a 1M-entry index in a 16 MB file grew the reader's memory by 80 MB."""
    data = _valid(tmp_path, frames=1)
    position = data.index(b"idx1")
    entry = data[position + 8 : position + 24]  # one valid entry, pointing at the frame
    entries = 1_000_000
    data = data[:position] + b"idx1" + struct.pack("<I", 16 * entries) + entry * entries
    path = tmp_path / "clip.avi"
    path.write_bytes(_riff_sized(data))
    tracemalloc.start()
    try:
        with pytest.raises(ClipError, match="index"):
            read_avi(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


def test_a_long_clip_within_the_limits_is_read(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    jpeg = scene_jpegs("crossing")[0]
    write(path, [(jpeg, n / 20) for n in range(600)])  # 30 s at 20 fps
    clip = read_avi(path)
    _checked(clip)
    assert len(clip.frames) == 600
    assert clip.times is not None
    assert clip.times[-1] == pytest.approx(29.95)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048))
def test_any_bytes_raise_only_clip_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "clip.avi"
    for candidate in (data, b"RIFF" + data[4:8] + b"AVI " + data[12:], _riff_sized(data)):
        path.write_bytes(candidate)
        try:
            clip = read_avi(path)
        except ClipError:
            continue
        _checked(clip)


_MUTATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 5000), st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("uint"), st.integers(0, 5000), st.integers(0, 2**32 - 1)),
        st.tuples(st.just("cut"), st.integers(0, 5000), st.integers(1, 64)),
        st.tuples(st.just("insert"), st.integers(0, 5000), st.binary(min_size=1, max_size=16)),
    ),
    min_size=1,
    max_size=4,
)


def _mutate(data: bytes, mutations: list[tuple[str, int, Any]]) -> bytes:
    for kind, where, value in mutations:
        at = where % (len(data) or 1)
        if kind == "write":
            data = data[:at] + value + data[at + len(value) :]
        elif kind == "uint":  # a header field, a chunk size, an index entry, a time
            aligned = at - at % 4
            data = data[:aligned] + struct.pack("<I", value) + data[aligned + 4 :]
        elif kind == "cut":
            data = data[:at] + data[at + value :]
        else:
            data = data[:at] + value + data[at:]
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=_MUTATIONS, fix_size=st.booleans())
def test_mutations_of_a_valid_clip_raise_only_clip_error(
    tmp_path_factory: pytest.TempPathFactory,
    mutations: list[tuple[str, int, Any]],
    fix_size: bool,
) -> None:
    folder = tmp_path_factory.mktemp("mutated")
    data = _mutate(_small_valid(), mutations)
    path = folder / "clip.avi"
    path.write_bytes(_riff_sized(data) if fix_size else data)
    try:
        clip = read_avi(path)
    except ClipError:
        return
    _checked(clip)
    for frame in clip.iter_frames():  # every indexed frame is inside the file
        assert isinstance(frame, bytes)


@functools.cache
def _small_valid() -> bytes:
    """A valid 4-frame clip of tiny JPEGs (small: mutations hit every part of it)."""
    tiny = jpeg_bytes(16, 16, (9, 9, 9))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "small.avi"
        write(path, [(tiny, n * 0.05) for n in range(4)])
        return path.read_bytes()
