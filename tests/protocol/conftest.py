"""Fixtures for the protocol tests: real JPEGs made with Pillow."""

from __future__ import annotations

import io

from PIL import Image
import pytest


def make_jpeg(width: int, height: int, quality: int = 80, noise: bool = False) -> bytes:
    """Encode a real baseline JPEG; noise makes it large."""
    if noise:
        image = Image.frombytes(
            "RGB", (width, height), bytes((i * 7919) % 251 for i in range(width * height * 3))
        )
    else:
        image = Image.new("RGB", (width, height), (200, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


class FakeClock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def small_jpeg() -> bytes:
    data = make_jpeg(160, 120)
    assert len(data) <= 10_000
    return data


@pytest.fixture(scope="session")
def large_jpeg() -> bytes:
    data = make_jpeg(320, 240, quality=95, noise=True)
    assert len(data) > 30_000
    return data
