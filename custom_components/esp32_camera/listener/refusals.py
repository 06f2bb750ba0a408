"""Refused connections and every log line a device can cause: counted, logged rate-limited.

Refusals are logged at most once per source per period; any line a device causes (refusals and
unexpected errors included) at most `DeviceLog.LINES_PER_SOURCE` per source per period, with one
traceback per source per period; what is not logged is counted (diagnostics).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


@dataclass(slots=True)
class _SourceBudget:
    """What one source logged in its current period."""

    period_start: float
    lines: int = 0
    traceback: bool = False


class DeviceLog:
    """The log lines devices cause: a budget per source and one in all, per period.

    A device must not be able to fill Home Assistant's log, whatever it sends and whatever bug it
    finds: per source (IPv4 address, IPv6 /64) at most LINES_PER_SOURCE lines and one traceback
    per period; LINES_IN_ALL lines per period in all, so many addresses log a bounded amount too.
    Lines below the logger's level cost nothing. What is not logged is counted.
    """

    LINES_PER_SOURCE = 20
    LINES_IN_ALL = 100

    def __init__(
        self, logger: logging.Logger, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Log to `logger`, periods measured on `clock`."""
        self._logger = logger
        self._clock = clock
        self._sources: OrderedDict[str, _SourceBudget] = OrderedDict()
        self._period_start = -LOG_PERIOD
        self._lines_in_period = 0
        self._counts: Counter[str] = Counter()

    @property
    def counts(self) -> Mapping[str, int]:
        """`unexpected_errors` (handled, traceback logged or not) and `lines_not_logged`."""
        return {"unexpected_errors": 0, "lines_not_logged": 0, **self._counts}

    def line(
        self,
        level: int,
        address: str,
        message: str,
        *args: object,
        logger: logging.Logger | None = None,
    ) -> None:
        """Log a line a device at `address` caused, if its budget allows."""
        logger = logger or self._logger
        if logger.isEnabledFor(level) and self._spend(address, traceback=False):
            logger.log(level, message, *args)

    def unexpected(
        self, address: str, message: str, *args: object, logger: logging.Logger | None = None
    ) -> None:
        """Log the exception being handled: its traceback once per source per period, then count.

        Call from an `except` block.
        """
        self._counts["unexpected_errors"] += 1
        if not self._spend(address, traceback=True):
            return
        (logger or self._logger).error(
            "%s (no traceback again for this source for %d min)",
            message % args,
            LOG_PERIOD // 60,
            exc_info=True,  # called from an except block (see above)
        )

    def _spend(self, address: str, *, traceback: bool) -> bool:
        """Charge a line (with a traceback or not) to its source; False (counted) past a budget."""
        budget = self._budget(address)
        if (
            budget is None
            or budget.lines >= self.LINES_PER_SOURCE
            or (traceback and budget.traceback)
        ):
            self._counts["lines_not_logged"] += 1
            return False
        budget.traceback |= traceback
        budget.lines += 1
        self._lines_in_period += 1
        return True

    def _budget(self, address: str) -> _SourceBudget | None:
        """Return the source's budget for this period; None when the period's lines are spent."""
        now = self._clock()
        if now - self._period_start >= LOG_PERIOD:
            self._period_start, self._lines_in_period = now, 0
        if self._lines_in_period >= self.LINES_IN_ALL:
            return None
        source = source_of(address)
        budget = self._sources.get(source)
        if budget is None or now - budget.period_start >= LOG_PERIOD:
            budget = self._sources[source] = _SourceBudget(now)
        self._sources.move_to_end(source)
        while len(self._sources) > _REMEMBERED_SOURCES:
            self._sources.popitem(last=False)
        return budget


class Refusals:
    """What the listener refused, by reason, for diagnostics; a rate-limited log of it."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, log: DeviceLog | None = None
    ) -> None:
        """Start with nothing refused; lines are charged to `log`'s budget of their source."""
        self._clock = clock
        self._log = log
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
        message = "Refused a connection from %s: %s (not logged again for this source for %d min)"
        args = (address, reason.replace("_", " "), LOG_PERIOD // 60)
        if self._log is None:
            _LOGGER.warning(message, *args)
        else:  # one budget of lines per source, whatever caused them
            self._log.line(logging.WARNING, address, message, *args, logger=_LOGGER)
