"""Refused connections: counted by reason, logged at most once per source per period."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
import ipaddress
import logging
import time

_LOGGER = logging.getLogger(__name__)

LOG_PERIOD = 300.0
"""A source is logged at most once in this many seconds, whatever it tries."""
_LOG_LINES_PER_PERIOD = 20  # across all sources: a flood from many addresses logs a few lines
_REMEMBERED_SOURCES = 1024


def source_of(address: str) -> str:
    """Return what limits count by: an IPv4 address, or the /64 prefix of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return address


class Refusals:
    """What the listener refused, by reason, for diagnostics; a rate-limited log of it."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with nothing refused."""
        self._clock = clock
        self._counts: Counter[str] = Counter()
        self._logged: OrderedDict[str, float] = OrderedDict()  # source -> last logged
        self._period_start = -LOG_PERIOD
        self._lines_in_period = 0

    @property
    def counts(self) -> Mapping[str, int]:
        """Refusals since start, by reason."""
        return dict(self._counts)

    def refuse(self, address: str, reason: str) -> None:
        """Count a refusal; log it unless this source or the period's log budget was used."""
        self._counts[reason] += 1
        now = self._clock()
        source = source_of(address)
        last = self._logged.get(source)
        if last is not None and now - last < LOG_PERIOD:
            return
        if now - self._period_start >= LOG_PERIOD:
            self._period_start, self._lines_in_period = now, 0
        if self._lines_in_period >= _LOG_LINES_PER_PERIOD:
            return
        self._lines_in_period += 1
        self._logged[source] = now
        self._logged.move_to_end(source)
        while len(self._logged) > _REMEMBERED_SOURCES:
            self._logged.popitem(last=False)
        _LOGGER.warning(
            "Refused a connection from %s: %s (not logged again for this source for %d min)",
            address,
            reason.replace("_", " "),
            LOG_PERIOD // 60,
        )
