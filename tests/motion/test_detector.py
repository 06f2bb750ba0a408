"""Motion detection on the simulator's labelled scenes, and the detector's settings and state."""

from __future__ import annotations

import io
import random
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image
import pytest

from custom_components.esp32_camera.motion import (
    MotionDetector,
    MotionEventType,
    MotionSettings,
    Zone,
    decode_small,
)
from esp32_simulator.scenes import FPS, build_scenes
from tests.helpers import UXGA, VGA, jpeg_bytes, play, scene_jpegs, scene_labels

DISTURBANCES = ("lamp", "exposure", "noise", "shake", "quality", "resolution")
MAX_ON_DELAY = 2  # frames from the first labelled frame to the motion turning on


@pytest.mark.parametrize("max_rate", [0.0, 10.0], ids=["every frame", "every other frame"])
def test_every_crossing_is_detected_within_two_frames(max_rate: float) -> None:
    playback, detector = play("crossing", MotionSettings(max_rate=max_rate))
    labels = scene_labels("crossing")
    assert len(labels) == 2
    for first, end in labels:
        starts = [start for start in playback.starts if first <= start < end]
        assert starts, f"no detection in {first}..{end}"
        assert starts[0] - first <= MAX_ON_DELAY
        # Motion stays on while the object is in view.
        assert set(range(starts[0], end)) <= playback.active_frames
    assert len(playback.starts) == len(labels)  # nothing outside the labels
    if max_rate:
        assert detector.stats.skipped == detector.stats.analysed  # every other frame


@pytest.mark.parametrize("scene", DISTURBANCES)
def test_disturbances_are_not_motion(scene: str) -> None:
    playback, detector = play(scene, MotionSettings(max_rate=0, sensitivity=70))
    assert scene_labels(scene) == ()
    assert playback.events == []
    assert detector.stats.analysed == len(scene_jpegs(scene))


@pytest.mark.parametrize("scene", ["crossing", "lamp", "shake"])
def test_uxga(scene: str) -> None:
    playback, _detector = play(scene, MotionSettings(max_rate=10), UXGA)
    labels = scene_labels(scene, UXGA)
    assert len(playback.starts) == len(labels)
    for (first, _end), start in zip(labels, playback.starts, strict=True):
        assert 0 <= start - first <= MAX_ON_DELAY


def test_resolution_change_restarts_the_background() -> None:
    _playback, detector = play("resolution", MotionSettings(max_rate=0))
    assert detector.stats.resets == 3  # the first frame, and each of the two changes


def test_motion_ends_after_the_cooldown() -> None:
    playback, _detector = play("crossing", MotionSettings(max_rate=0, cooldown=2.0))
    ends = [frame for frame, event in playback.events if event.type is MotionEventType.ENDED]
    # Each crossing ends 2 s (40 frames) after its last moving frame, give or take the object
    # leaving the picture.
    labels = scene_labels("crossing")
    assert len(ends) == len(labels)
    for (_first, end), ended in zip(labels, ends, strict=True):
        assert end + 2 * FPS - 4 <= ended <= end + 2 * FPS + 2
        assert ended not in playback.active_frames


def test_zones_name_the_event_and_the_mask_hides_motion() -> None:
    left = Zone.rectangle("door", 0.0, 0.0, 0.3, 1.0)
    right = Zone.rectangle("garden", 0.7, 0.0, 1.0, 1.0)
    playback, detector = play("crossing", MotionSettings(max_rate=0, zones=(left, right)))
    zones = [
        event.zone for _frame, event in playback.events if event.type is MotionEventType.STARTED
    ]
    assert zones == ["door", "door"]  # both walk in from the left
    assert detector.last_result is not None
    assert set(detector.last_result.zone_scores) == {"door", "garden"}

    # A zone nobody walks through: no motion.
    sky = Zone.rectangle("sky", 0.0, 0.0, 1.0, 0.2)
    playback, _detector = play("crossing", MotionSettings(max_rate=0, zones=(sky,)))
    assert playback.events == []

    # The walkway masked out: no motion either.
    walkway = Zone.rectangle("walkway", 0.0, 0.3, 1.0, 1.0)
    playback, _detector = play("crossing", MotionSettings(max_rate=0, mask=(walkway,)))
    assert playback.events == []


def test_min_area_and_sensitivity_decide() -> None:
    # The object covers about 5 % of the picture: a 20 % minimum area never fires.
    playback, _detector = play("crossing", MotionSettings(max_rate=0, min_area=20.0))
    assert playback.events == []
    # At sensitivity 0 the slow walker (low contrast against the dark left of the wall) is seen
    # only once it reaches the brighter middle; the fast dark one at once.
    default, _detector = play("crossing", MotionSettings(max_rate=0))
    insensitive, _detector = play("crossing", MotionSettings(max_rate=0, sensitivity=0))
    assert insensitive.starts[0] == default.starts[0]
    assert insensitive.starts[1] > default.starts[1] + 20


def test_rate_cap_and_disabled() -> None:
    detector = MotionDetector(MotionSettings(max_rate=5))
    jpeg = scene_jpegs("crossing")[0]
    assert detector.due(0.0)
    detector.analyse(jpeg, 0.0)
    assert not detector.due(0.1)
    assert detector.due(0.18)  # 10 % slack for jitter
    detector.update_settings(MotionSettings(enabled=False))
    assert not detector.due(10.0)


def test_disabling_ends_an_active_motion_and_tick_ends_a_silent_one() -> None:
    jpegs = scene_jpegs("crossing")
    detector = MotionDetector(MotionSettings(max_rate=0, cooldown=1.0))
    for number in range(40):
        detector.analyse(jpegs[number], number / FPS)
    assert detector.active
    event = detector.update_settings(MotionSettings(enabled=False))
    assert event is not None
    assert event.type is MotionEventType.ENDED
    assert not detector.active
    assert detector.update_settings(MotionSettings(enabled=False)) is None

    detector = MotionDetector(MotionSettings(max_rate=0, cooldown=1.0))
    for number in range(40):
        detector.analyse(jpegs[number], number / FPS)
    last = 39 / FPS
    assert detector.tick(last + 0.5) is None  # still cooling down
    ended = detector.tick(last + 1.0)
    assert ended is not None
    assert ended.type is MotionEventType.ENDED
    assert detector.tick(last + 5.0) is None


def test_new_settings_keep_the_background() -> None:
    jpegs = scene_jpegs("crossing")
    detector = MotionDetector(MotionSettings(max_rate=0))
    for number in range(36):
        detector.analyse(jpegs[number], number / FPS)
    assert detector.active
    door = Zone.rectangle("door", 0.0, 0.0, 0.5, 1.0)
    assert detector.update_settings(MotionSettings(max_rate=0, zones=(door,))) is None
    result = detector.analyse(jpegs[36], 36 / FPS)
    assert result is not None
    assert not result.reset
    assert result.moving
    assert set(result.zone_scores) == {"door"}
    assert detector.stats.resets == 1


def test_a_whole_new_picture_restarts_the_background() -> None:
    # The camera now sees something else entirely (a blotchy pattern): most of the picture
    # changes at once.
    jpegs = scene_jpegs("crossing")
    detector = MotionDetector(MotionSettings(max_rate=0))
    for number in range(5):
        detector.analyse(jpegs[number], number / FPS)
    blotches = Image.frombytes("L", (80, 60), random.Random(5).randbytes(80 * 60))
    turned = jpeg_bytes(picture=blotches.resize((640, 480), Image.Resampling.NEAREST))
    result = detector.analyse(turned, 5 / FPS)
    assert result is not None
    assert result.reset
    assert not result.moving
    assert result.score >= 60
    assert not detector.active
    assert detector.stats.resets == 2
    assert detector.settings == MotionSettings(max_rate=0)


def test_reset_restarts_the_background() -> None:
    jpegs = scene_jpegs("crossing")
    detector = MotionDetector(MotionSettings(max_rate=0))
    detector.analyse(jpegs[0], 0.0)
    detector.reset()
    result = detector.analyse(jpegs[40], 0.05)  # the object: the new background, not motion
    assert result is not None
    assert result.reset
    assert not result.moving


def test_a_bad_frame_is_counted_and_dropped() -> None:
    detector = MotionDetector(MotionSettings(max_rate=0))
    jpeg = scene_jpegs("crossing")[0]
    assert detector.analyse(b"not a jpeg", 0.0) is None
    assert detector.analyse(jpeg[: len(jpeg) // 3], 0.05) is None  # truncated
    png = io.BytesIO()
    Image.new("RGB", (64, 48)).save(png, "PNG")
    assert detector.analyse(png.getvalue(), 0.1) is None
    assert detector.analyse(jpeg, 0.15) is not None
    stats = detector.stats_snapshot()
    assert stats["errors"] == 3
    assert stats["analysed"] == 1
    assert stats["mean_ms"] is not None
    assert stats["p99_ms"] is not None


def test_stats_start_empty() -> None:
    stats = MotionDetector().stats_snapshot()
    assert stats == {
        "analysed": 0,
        "skipped": 0,
        "errors": 0,
        "unsupported": 0,
        "failures": 0,
        "resets": 0,
        "events": 0,
        "mean_ms": None,
        "p99_ms": None,
    }


def test_analysis_size() -> None:
    size, grey = decode_small(scene_jpegs("crossing", VGA)[0])
    assert size == (640, 480)
    assert grey.size == (80, 60)  # 1/8
    # The first frame alone: the whole UXGA scene is 8 s of rendering (test_uxga renders it).
    size, grey = decode_small(build_scenes(UXGA)["crossing"].render(0))
    assert size == (1600, 1200)
    assert grey.size == (100, 75)  # 1/8, halved
    small = jpeg_bytes(320, 240, (90, 90, 90))
    assert decode_small(small)[1].size == (80, 60)  # 1/4


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"sensitivity": 101}, "sensitivity"),
        ({"min_area": 0}, "min_area"),
        ({"min_area": 101}, "min_area"),
        ({"cooldown": -1}, "cooldown"),
        ({"max_rate": -1}, "max_rate"),
    ],
)
def test_settings_are_validated(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MotionSettings(**settings)  # type: ignore[arg-type]


def test_zones_are_validated() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        Zone(name="line", points=((0.0, 0.0), (1.0, 1.0)))
    with pytest.raises(ValueError, match="outside"):
        Zone.rectangle("big", 0.0, 0.0, 1.5, 1.0)
    assert MotionSettings(sensitivity=100).threshold < MotionSettings(sensitivity=0).threshold


def _with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its SOF header claiming another size (what a hostile camera can send)."""
    data = bytearray(jpeg)
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (1, 1),
        (2, 2),
        (7, 7),
        (16, 2),
        (2, 16),
        (1, 200),
        (200, 1),
        (800, 6),
        (65500, 1),
        (1, 65500),
    ],
)
def test_tiny_and_degenerate_pictures_are_skipped_never_raise(width: int, height: int) -> None:
    """Issue 18: a 2-pixel JPEG raised ValueError in the masks' drawing and killed the worker."""
    detector = MotionDetector(MotionSettings(max_rate=0))
    jpeg = (
        jpeg_bytes(width, height, noise_seed=0)
        if width * height <= 70_000
        else jpeg_bytes(width, height, (90, 120, 150))
    )
    for number in range(3):
        assert detector.analyse(jpeg, number * 0.1) is None
    stats = detector.stats_snapshot()
    assert stats["unsupported"] == 3
    assert stats["analysed"] == 0
    # The detector still works for the camera's next good frame.
    assert detector.analyse(scene_jpegs("crossing")[0], 1.0) is not None


@pytest.mark.parametrize(("width", "height"), [(8, 8), (9, 9), (64, 8), (8, 64), (100, 3000)])
def test_small_but_usable_pictures_are_analysed(width: int, height: int) -> None:
    detector = MotionDetector(MotionSettings(max_rate=0))
    for number in range(3):
        result = detector.analyse(jpeg_bytes(width, height, noise_seed=number), number * 0.1)
        assert result is not None
    assert detector.stats_snapshot()["analysed"] == 3


@pytest.mark.parametrize(("width", "height"), [(65500, 65500), (20000, 20000), (4097, 4097)])
def test_a_huge_declared_size_is_skipped_before_decoding(width: int, height: int) -> None:
    """The header's size is checked first: no decompression bomb, no 8000x8000 draft decoded."""
    detector = MotionDetector(MotionSettings(max_rate=0))
    with patch.object(Image, "open", wraps=Image.open) as opened:
        assert (
            detector.analyse(_with_size(jpeg_bytes(64, 48, noise_seed=0), width, height), 0.0)
            is None
        )
    assert opened.call_count == 0  # refused from the header, before Pillow reads it
    assert detector.stats_snapshot()["unsupported"] == 1
    assert detector.stats_snapshot()["errors"] == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(
        st.tuples(
            st.integers(1, 96),
            st.integers(1, 96),
            st.sampled_from(["L", "RGB", "CMYK"]),
            st.integers(0, 2**16),
            st.integers(1, 95),
        ),
        min_size=1,
        max_size=4,
    ),
    zones=st.booleans(),
)
def test_any_small_picture_is_analysed_or_skipped(
    frames: list[tuple[int, int, str, int, int]], zones: bool
) -> None:
    """Hypothesis: pictures of any small size and mode, in any order, never raise."""
    area = (Zone.rectangle("door", 0.5, 0.0, 1.0, 1.0),) if zones else ()
    detector = MotionDetector(MotionSettings(max_rate=0, zones=area, mask=area))
    for number, (width, height, mode, seed, quality) in enumerate(frames):
        result = detector.analyse(
            jpeg_bytes(width, height, mode=mode, noise_seed=seed, quality=quality), number * 0.1
        )
        assert result is None or 0.0 <= result.score <= 100.0
    stats = detector.stats_snapshot()
    assert stats["analysed"] + stats["unsupported"] + stats["errors"] == len(frames)


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.tuples(st.integers(0, 600), st.binary(min_size=1, max_size=8)).map(
            lambda cut: _MUTABLE[: cut[0]] + cut[1] + _MUTABLE[cut[0] + len(cut[1]) :]
        ),
        st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)).map(
            lambda size: _with_size(_MUTABLE, *size)
        ),
    )
)
def test_any_bytes_never_raise(data: bytes) -> None:
    detector = MotionDetector(MotionSettings(max_rate=0))
    detector.analyse(_MUTABLE, 0.0)
    result = detector.analyse(data, 0.1)
    assert result is None or 0.0 <= result.score <= 100.0


_MUTABLE = jpeg_bytes(80, 60, noise_seed=7)


def test_a_size_hidden_from_the_header_scan_is_checked_after_opening() -> None:
    """Comments push the SOF past the header scan: Pillow's size is checked before decoding."""
    tiny = jpeg_bytes(2, 2, noise_seed=0)
    comment = b"\xff\xfe\xff\xff" + bytes(65533)  # a COM segment of the largest size, twice
    hidden = tiny[:2] + comment + comment + tiny[2:]
    detector = MotionDetector(MotionSettings(max_rate=0))
    assert detector.analyse(hidden, 0.0) is None
    assert detector.stats_snapshot()["unsupported"] == 1
