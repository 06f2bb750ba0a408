"""Free ports for tests: distinct within a run, and free on every interface when handed out.

`aiohttp.test_utils.unused_port` binds 127.0.0.1 only and may hand out the same port twice in a row
(two calls for a hub's stream and control ports then collide), and a port free on loopback may be
taken on another interface (the config flow checks 0.0.0.0). This binds 0.0.0.0 and never hands out
a port twice in one test run.
"""

from __future__ import annotations

import socket

_handed_out: set[int] = set()


def free_port() -> int:
    """Return a port free on every interface now, never returned before in this run."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("0.0.0.0", 0))
            port: int = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
