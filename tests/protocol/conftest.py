"""Fixtures for the protocol tests: real JPEGs made with Pillow."""

from __future__ import annotations

import pytest

from tests.helpers import FakeClock, jpeg_bytes


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def small_jpeg() -> bytes:
    data = jpeg_bytes(160, 120)
    assert len(data) <= 10_000
    return data


@pytest.fixture(scope="session")
def large_jpeg() -> bytes:
    data = jpeg_bytes(320, 240, quality=95, noise_seed=0)
    assert len(data) > 30_000
    return data
