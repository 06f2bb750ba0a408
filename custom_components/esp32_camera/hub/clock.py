"""Instants of the monotonic clock (frames, uptime) as wall-clock time, for people and browsers.

None (no frame yet, not started) stays None.
"""

from __future__ import annotations

from datetime import UTC, datetime
import time
from typing import overload


def _epoch_seconds(moment: float) -> float:
    return time.time() - (time.monotonic() - moment)


@overload
def monotonic_to_datetime(moment: float) -> datetime: ...
@overload
def monotonic_to_datetime(moment: None) -> None: ...
def monotonic_to_datetime(moment: float | None) -> datetime | None:
    """Return an instant of the monotonic clock as an aware UTC datetime."""
    return None if moment is None else datetime.fromtimestamp(_epoch_seconds(moment), UTC)


@overload
def wall_clock_ms(moment: float) -> int: ...
@overload
def wall_clock_ms(moment: None) -> None: ...
def wall_clock_ms(moment: float | None) -> int | None:
    """Return an instant of the monotonic clock as milliseconds since the epoch (the browser's unit)."""
    return None if moment is None else round(_epoch_seconds(moment) * 1000)
