"""The benchmark tools' tests use real sockets on 127.0.0.1."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def allow_loopback_sockets(socket_enabled: None) -> None:
    """Let these tests open real TCP sockets (the test plugin blocks them by default)."""
