"""One throttle for every entity update that frames drive (the recorder stores each state write).

The first call runs at once; calls within the interval after it are gathered into one trailing
call at the interval's end, so the last change is always shown.
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later


class Throttle:
    """Run `action` at most once per `interval` seconds, with a trailing run."""

    def __init__(self, hass: HomeAssistant, interval: float, action: Callable[[], None]) -> None:
        """Prepare the throttle; nothing is scheduled until it is called."""
        self._hass = hass
        self._interval = interval
        self._action = action
        self._last_run = 0.0
        self._trailing: CALLBACK_TYPE | None = None

    @callback
    def async_call(self) -> None:
        """Run the action now if the interval passed, else once when it has."""
        if self._trailing is not None:
            return
        wait = self._interval - (time.monotonic() - self._last_run)
        if wait <= 0:
            self.async_call_now()
            return

        @callback
        def trailing(_now: Any) -> None:
            self._trailing = None
            self.async_call_now()

        self._trailing = async_call_later(self._hass, wait, trailing)

    @callback
    def async_call_now(self) -> None:
        """Run the action now (a change the user must see at once); the interval restarts."""
        self._last_run = time.monotonic()
        self._action()

    @callback
    def async_cancel(self) -> None:
        """Drop a scheduled trailing run (stopping)."""
        if self._trailing is not None:
            self._trailing()
            self._trailing = None
