"""Red team, round two: what a device, a clip file or a user can make the hub hold (issue 18).

Each test is an attack; the ones kept here either found a hole (fixed) or add coverage that did
not exist.
"""

from __future__ import annotations

import io
import time

from PIL import Image
import pytest

from custom_components.esp32_camera.motion import MotionDetector, MotionSettings
from custom_components.esp32_camera.motion.detector import MAX_SCANS, decode_small


def _progressive(width: int, height: int, repeats: int) -> bytes:
    """A progressive JPEG whose last (refinement) scan is repeated: each copy is 14 bytes.

    libjpeg only warns about a repeated scan, and walks the whole picture for each, even at
    1/8 scale.
    """
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, "JPEG", progressive=True, quality=90)
    jpeg = buffer.getvalue()
    last = jpeg.rindex(b"\xff\xda")
    return jpeg[:last] + jpeg[last:-2] * repeats + jpeg[-2:]


def test_a_progressive_jpeg_of_many_scans_is_not_decoded() -> None:
    """1,000 repeated scans in 26 kB held the hub's one motion thread 1.7 s at QXGA.

    Every camera's motion waits for that thread; a 1 MB frame of such scans held it minutes.
    """
    bomb = _progressive(2048, 1536, 1000)
    assert len(bomb) < 32 * 1024
    detector = MotionDetector(MotionSettings(max_rate=0))
    started = time.perf_counter()
    assert detector.analyse(bomb, 0.0) is None
    assert time.perf_counter() - started < 1.0  # generous: refused before decoding
    assert detector.stats_snapshot()["unsupported"] == 1


@pytest.mark.parametrize("repeats", [1, MAX_SCANS - 6])
def test_ordinary_progressive_jpegs_are_still_analysed(repeats: int) -> None:
    """Pillow's progressive grey JPEG has 6 scans: it and up to MAX_SCANS scans are decoded."""
    size, grey = decode_small(_progressive(640, 480, repeats))
    assert size == (640, 480)
    assert grey.size == (80, 60)
