"""The listener's door: connections counted per source and in total, refused at accept.

A refused connection is aborted before aiohttp sees it (no request parsed, its file descriptor
freed at once), so a flood of sockets cannot exhaust Home Assistant's descriptors.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
import math
import time
from typing import Any, cast, override

from aiohttp import web

from .refusals import Refusals, source_of


class ConnectionGate:
    """Counts open connections of both ports by source (IPv4 address, IPv6 /64) and in total."""

    def __init__(
        self,
        *,
        limits: Callable[[], tuple[int, int, float]],
        exempt: Callable[[str], bool],
        canonical: Callable[[str | None], str],
        refusals: Refusals,
        clock: Callable[[], float] = time.monotonic,
        own_share: Callable[[str], bool] | None = None,
    ) -> None:
        """`limits` gives (per source, total, new per second from unknown sources).

        `exempt` addresses (known cameras) skip the total and the rate; `own_share` ones (an
        approved address, a camera's; default: `exempt`) have a per-source share of their own,
        not their IPv6 /64's.
        """
        self._limits = limits
        self._clock = clock
        self._allowance = math.inf  # token bucket of new connections from unknown addresses
        self._allowance_at = clock()
        self._exempt = exempt
        self._own_share = own_share or exempt
        self._canonical = canonical
        self._refusals = refusals
        self._by_source: Counter[str] = Counter()
        self.open_connections = 0

    def enter(self, transport: asyncio.BaseTransport) -> str | None:
        """Count a new connection; None (not counted) when it must be refused."""
        peer = transport.get_extra_info("peername")
        address = self._canonical(peer[0] if isinstance(peer, tuple) and peer else None)
        exempt = self._exempt(address)
        # A known camera is counted by its own address: every host of an IPv6 LAN shares its
        # /64, and a neighbour holding the /64's share must not lock the camera out.
        source = address if exempt and self._own_share(address) else source_of(address)
        per_source, total, rate = self._limits()
        if self._by_source[source] >= per_source:
            self._refusals.refuse(address, "too_many_connections_from_source")
            return None
        if not self._rate_allows(rate) and not exempt:
            # Each accepted connection costs an HTTP parse and a WebSocket handshake: a flood
            # of attempts from new addresses is refused here, where it costs nothing.
            self._refusals.refuse(address, "connection_rate")
            return None
        if self.open_connections >= total and not exempt:
            self._refusals.refuse(address, "too_many_connections")
            return None
        self._by_source[source] += 1
        self.open_connections += 1
        return source

    def _rate_allows(self, rate: float) -> bool:
        """Take one new connection from the bucket (burst: one second's worth)."""
        now = self._clock()
        self._allowance = min(rate, self._allowance + (now - self._allowance_at) * rate)
        self._allowance_at = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    def leave(self, source: str) -> None:
        """Forget a closed connection."""
        self.open_connections -= 1
        self._by_source[source] -= 1
        if not self._by_source[source]:
            del self._by_source[source]


class SourceRate:
    """A token bucket per source (burst: one second's worth); the sources remembered are capped.

    Per source, not per connection: reconnecting does not refill it.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sources: int = 1024) -> None:
        """Remember the buckets of at most `sources` sources (the least recently used go)."""
        self._clock = clock
        self._sources = sources
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # allowance, at

    def take(self, source: str, rate: float) -> bool:
        """Take one from the source's bucket; False (nothing taken) when it is empty."""
        now = self._clock()
        allowance, at = self._buckets.pop(source, (rate, now))
        allowance = min(rate, allowance + (now - at) * rate)
        allowed = allowance >= 1
        self._buckets[source] = (allowance - 1 if allowed else allowance, now)
        if len(self._buckets) > self._sources:
            self._buckets.popitem(last=False)
        return allowed


class _GatedProtocol(asyncio.Protocol):
    """Admits a connection through the gate, then hands every event to aiohttp's handler."""

    def __init__(self, gate: ConnectionGate, make_handler: Callable[[], asyncio.Protocol]) -> None:
        self._gate = gate
        self._make_handler = make_handler
        self._handler: asyncio.Protocol | None = None
        self._source: str | None = None

    @override
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._source = self._gate.enter(transport)
        if self._source is None:
            cast("asyncio.Transport", transport).abort()
            return
        handler = self._handler = self._make_handler()
        # The hot paths go straight to aiohttp's handler, without a call through this one.
        self.data_received = handler.data_received  # type: ignore[method-assign]
        self.eof_received = handler.eof_received  # type: ignore[method-assign]
        self.pause_writing = handler.pause_writing  # type: ignore[method-assign]
        self.resume_writing = handler.resume_writing  # type: ignore[method-assign]
        handler.connection_made(transport)

    @override
    def data_received(self, data: bytes) -> None:
        """Ignore what a refused connection sent before its abort took effect."""

    @override
    def connection_lost(self, exc: Exception | None) -> None:
        if self._source is not None:
            self._gate.leave(self._source)
            self._source = None
        if self._handler is not None:
            self._handler.connection_lost(exc)


class GatedSite(web.TCPSite):
    """A TCP site whose connections pass the gate first, on one or more addresses."""

    def __init__(
        self, runner: web.BaseRunner, hosts: Sequence[str], port: int, gate: ConnectionGate
    ) -> None:
        """Serve `runner` on port of every address of `hosts` through `gate`."""
        super().__init__(runner, hosts[0], port)
        self._hosts = list(hosts)
        self._gate = gate

    @override
    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server: Any = self._runner.server
        assert server is not None
        gate = self._gate
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _GatedProtocol(gate, server),
            self._hosts,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
