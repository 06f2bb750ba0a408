"""One gate for log lines that something outside can repeat at will: once per key per period."""

from __future__ import annotations

from collections import OrderedDict
import time


class OncePerPeriod:
    """Let each key (a camera, a folder) through at most once per `period` seconds.

    A camera can send the same bad picture 20 times a second, a list can meet the same bad clip
    at every refresh: one line per period says it, the rest would only fill the log. The keys
    remembered are capped (the least recently let through are forgotten first), so a flood of
    keys costs bounded memory. Not thread-safe: one owner (a thread, or the event loop).
    """

    def __init__(self, period: float, *, keys: int) -> None:
        """Remember when each of at most `keys` keys was last let through."""
        self._period = period
        self._keys = keys
        self._last: OrderedDict[str, float] = OrderedDict()  # key -> last let through

    def allow(self, key: str) -> bool:
        """Return whether `key` may be logged now (then it is not for `period` seconds)."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._period:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self._keys:
            self._last.popitem(last=False)
        return True
