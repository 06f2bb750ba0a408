"""The one free-port helper (harness/hass_process.py), shared by the tests, the bench and the e2e.

Its ports come from below the kernel's ephemeral range: a port the kernel picked could be handed to
another process's outgoing connection before our server binds it (a hub set-up failing with
"address already in use" under pytest-xdist).
"""

from __future__ import annotations

import socket

import pytest

from harness.hass_process import ephemeral_port_start, free_port


@pytest.mark.usefixtures("socket_allowed")
def test_ports_are_below_the_ephemeral_range_and_never_repeat() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(10000 <= port < ephemeral_port_start() for port in ports)


@pytest.mark.usefixtures("socket_allowed")
def test_a_port_in_use_is_passed_over() -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", free_port()))
        busy.listen()
        taken = busy.getsockname()[1]
        assert free_port(taken) != taken
        port = free_port()
        assert port != taken
        with socket.socket() as server:  # what it returns can be bound at once
            server.bind(("0.0.0.0", port))
