"""The simulator's JPEG side and its pure helpers."""

from __future__ import annotations

from datetime import datetime
import io

from PIL import Image, ImageChops, ImageStat
import pytest

from esp32_simulator import (
    CHUNK_SIZES,
    RESOLUTIONS,
    STAMP_MODULUS,
    Mode,
    PatternRenderer,
    arduino_to_bool,
    arduino_to_int,
    chunk_size_for,
    format_uptime,
    framing_for,
    is_firmware_sendable,
    jpeg_dimensions,
    make_test_jpeg,
    pad_jpeg,
    pillow_quality,
    read_frame_stamp,
    resolutions_text,
)

CLOCK = datetime(2026, 1, 2, 3, 4, 5, 678_000).astimezone()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(first, second)).mean) / 3


def test_resolution_table_matches_the_firmware() -> None:
    assert len(RESOLUTIONS) == 13
    assert [resolution.index for resolution in RESOLUTIONS] == list(range(13))
    assert RESOLUTIONS[7].label == "XGA (1024x768)"
    assert RESOLUTIONS[11].table_entry == "11:FHD(1920x1080)"
    assert resolutions_text().startswith("0:QQVGA(160x120),1:QCIF(176x144),2:HQVGA(240x176),")
    assert resolutions_text().endswith(",12:QXGA(2048x1536)")


@pytest.mark.parametrize("index", [0, 3, 5, 7])
def test_rendered_frames_have_the_table_dimensions(index: int) -> None:
    resolution = RESOLUTIONS[index]
    data = PatternRenderer("cam").render(resolution.width, resolution.height)
    assert is_firmware_sendable(data)
    assert decode(data).size == (resolution.width, resolution.height)
    assert jpeg_dimensions(data) == (resolution.width, resolution.height)


def test_frame_size_grows_with_resolution_and_falls_with_quality() -> None:
    renderer = PatternRenderer("cam")
    sizes = [
        len(renderer.render(resolution.width, resolution.height, clock=CLOCK))
        for resolution in RESOLUTIONS[:8]
    ]
    assert sizes == sorted(sizes)
    assert sizes[0] <= 10_000  # QQVGA: one binary message
    assert 10_000 < sizes[3] <= 30_000  # QVGA: frame_start framing
    assert sizes[5] > 30_000  # VGA: chunked
    fine = renderer.render(640, 480, quality=5, clock=CLOCK)
    coarse = renderer.render(640, 480, quality=63, clock=CLOCK)
    assert len(fine) > 2 * len(coarse)


def test_quality_mapping() -> None:
    assert pillow_quality(12) == 82
    assert pillow_quality(5) == 92
    assert pillow_quality(63) == 6
    assert pillow_quality(0) == 95


def test_frames_differ_and_mirror_flip_the_picture() -> None:
    renderer = PatternRenderer("cam")
    plain = decode(renderer.render(320, 240, frame_number=10, clock=CLOCK))
    later = decode(renderer.render(320, 240, frame_number=11, clock=CLOCK))
    assert mean_difference(plain, later) > 1

    mirrored = decode(renderer.render(320, 240, frame_number=10, hmirror=True, clock=CLOCK))
    flipped = decode(renderer.render(320, 240, frame_number=10, vflip=True, clock=CLOCK))
    both = decode(renderer.render(320, 240, frame_number=10, hmirror=True, vflip=True, clock=CLOCK))
    left_right = plain.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    top_bottom = plain.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    assert mean_difference(mirrored, left_right) < 3 < mean_difference(mirrored, plain)
    assert mean_difference(flipped, top_bottom) < 3 < mean_difference(flipped, plain)
    assert mean_difference(both, plain.transpose(Image.Transpose.ROTATE_180)) < 3


def test_brightness_changes_the_picture() -> None:
    renderer = PatternRenderer("cam")
    normal = decode(renderer.render(160, 120, clock=CLOCK)).convert("L")
    bright = decode(renderer.render(160, 120, brightness=2, clock=CLOCK)).convert("L")
    assert ImageStat.Stat(bright).mean[0] > ImageStat.Stat(normal).mean[0] + 10


@pytest.mark.parametrize("size", [700, 10_000, 10_001, 30_000, 30_001, 65_600, 200_000])
def test_make_test_jpeg_exact_sizes(size: int) -> None:
    data = make_test_jpeg(size=size)
    assert len(data) == size
    assert is_firmware_sendable(data)
    decode(data)  # the padding is a comment: still a valid JPEG


def test_pad_jpeg_rejects_impossible_sizes() -> None:
    data = make_test_jpeg(160, 120)
    assert pad_jpeg(data, len(data)) == data
    with pytest.raises(ValueError, match="at least 4"):
        pad_jpeg(data, len(data) + 2)
    with pytest.raises(ValueError, match="SOI"):
        pad_jpeg(b"not a jpeg", 100)
    with pytest.raises(ValueError, match="cannot make"):
        make_test_jpeg(size=200)


def test_firmware_sendable_check() -> None:
    data = make_test_jpeg(160, 120)
    assert is_firmware_sendable(data)
    assert not is_firmware_sendable(data[:99])
    assert not is_firmware_sendable(b"\x00" + data[1:])
    assert not is_firmware_sendable(data[:-2] + b"\x00" * 200)
    assert jpeg_dimensions(b"garbage") is None


def test_framing_thresholds() -> None:
    assert framing_for(10_000) == "binary"
    assert framing_for(10_001) == "frame"
    assert framing_for(30_000) == "frame"
    assert framing_for(30_001) == "chunked"


def test_chunk_size_grows_with_size_and_mode() -> None:
    sizes = [30_001, 40_000, 90_000, 200_000, 400_000, 700_000, 3_000_000]
    for mode in Mode:
        chosen = [chunk_size_for(size, mode) for size in sizes]
        assert chosen == sorted(chosen)
    for size in sizes:
        assert chunk_size_for(size, Mode.SPEED) >= chunk_size_for(size, Mode.STABILITY)
    used = {chunk_size_for(size, mode) for size in sizes for mode in Mode}
    assert used == set(CHUNK_SIZES)
    assert chunk_size_for(30_001, Mode.STABILITY) == 1024
    assert chunk_size_for(500_000, Mode.SPEED) == 24_576


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), (" 7", 7), ("-2", -2), ("+3", 3), ("12abc", 12), ("3.9", 3), ("abc", 0), ("", 0)],
)
def test_arduino_to_int(text: str, value: int) -> None:
    assert arduino_to_int(text) == value


def test_arduino_to_bool() -> None:
    assert all(arduino_to_bool(text) for text in ("1", "true", "on", "TRUE", " on "))
    assert not any(arduino_to_bool(text) for text in ("0", "false", "off", "yes", ""))


def test_format_uptime() -> None:
    assert format_uptime(0) == "0h 0m 0s"
    assert format_uptime(3723.9) == "1h 2m 3s"
    assert format_uptime(90_061) == "25h 1m 1s"


@pytest.mark.parametrize(
    ("index", "quality", "number"),
    [(1, 63, 0), (3, 63, 1), (3, 12, 0xA5A5), (5, 40, 65_535), (7, 12, 65_536 + 77)],
)
def test_frame_stamp_survives_jpeg(index: int, quality: int, number: int) -> None:
    """The stamped number reads back from the decoded JPEG, at the worst quality too."""
    resolution = RESOLUTIONS[index]
    for hmirror in (False, True):
        data = PatternRenderer("cam").render(
            resolution.width,
            resolution.height,
            quality=quality,
            frame_number=number,
            hmirror=hmirror,
            stamp=True,
        )
        assert read_frame_stamp(decode(data)) == number % STAMP_MODULUS


def test_unstamped_frames_read_as_none() -> None:
    assert read_frame_stamp(decode(PatternRenderer("cam").render(320, 240))) is None
    assert read_frame_stamp(Image.new("RGB", (96, 96), (255, 255, 255))) is None  # too small
