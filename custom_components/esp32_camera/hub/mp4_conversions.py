"""The hub's MP4 conversions: a clip's AVI made into an MP4 beside it, one clip at a time.

Each conversion runs ffmpeg (Home Assistant's `ffmpeg` integration's binary) in the executor at the
lowest CPU priority; a failure keeps the AVI (logged once, then at debug level until one succeeds).
The queue is bounded: past it a clip is kept as its AVI and finished at once (issue 18, red team:
record calls queued every clip without end, each holding its first frame).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
import threading
from typing import Any

from homeassistant.core import HomeAssistant, callback

from ..clips import ClipInfo, Mp4Error, convert_to_mp4
from ..const import DOMAIN, LOGGER


def _convert(source: Path, ffmpeg: str, stop: threading.Event) -> tuple[Path, int]:
    """Make the MP4 beside the AVI; return it and its size (executor; raises Mp4Error)."""
    target = convert_to_mp4(source, source.with_suffix(".mp4"), ffmpeg=ffmpeg, stop=stop)
    return target, target.stat().st_size


@dataclass(slots=True)
class _Queued[ClipT]:
    clip: ClipT
    info: ClipInfo
    ffmpeg: str


class Mp4Conversions[ClipT]:
    """Make MP4s of committed clips, one at a time, in the order they were written.

    `finished(clip, info, mp4)` is called once for every clip handed in, on the loop: with the MP4,
    or with None (no ffmpeg, the queue full, the conversion failed, or stopped first).
    `converted(clip, mp4, size)` is called before it for each MP4 made.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        max_queued: int,
        converted: Callable[[ClipT, Path, int], None],
        finished: Callable[[ClipT, ClipInfo, Path | None], None],
    ) -> None:
        """Prepare an empty queue."""
        self._hass = hass
        self._entry_id = entry_id
        self._max_queued = max_queued
        self._converted = converted
        self._finished = finished
        self._queue: deque[_Queued[ClipT]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        # Set at stop: the running ffmpeg is killed (Home Assistant's stop waits for its thread).
        self._stop = threading.Event()
        self.done = 0
        self.failed = 0
        self.skipped = 0  # clips kept as AVIs: the queue was full
        self._failing = False  # the last one failed: later failures are logged at debug level

    def ffmpeg(self) -> str | None:
        """Return the ffmpeg binary of Home Assistant's `ffmpeg` integration, None without it."""
        if "ffmpeg" not in self._hass.config.components:
            return None
        # Imported only once the integration is loaded (its requirement is installed then).
        from homeassistant.components.ffmpeg import get_ffmpeg_manager

        return get_ffmpeg_manager(self._hass).binary

    @callback
    def async_add(self, clip: ClipT, info: ClipInfo) -> bool:
        """Queue a committed clip for its MP4 (True), or finish it at once as its AVI (False)."""
        if len(self._queue) >= self._max_queued:
            self.skipped += 1
            self._finished(clip, info, None)
            return False
        if not self._stopped and (ffmpeg := self.ffmpeg()) is not None:
            self._queue.append(_Queued(clip, info, ffmpeg))
            if self._task is None or self._task.done():
                self._task = self._hass.async_create_background_task(
                    self._async_run(), f"{DOMAIN} clip conversion {self._entry_id}"
                )
            return True
        self._finished(clip, info, None)
        return False

    @callback
    def async_stop(self) -> None:
        """Stop converting: the clips still queued are finished as their AVIs."""
        self._stopped = True
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
        while self._queue:
            queued = self._queue.popleft()
            self._finished(queued.clip, queued.info, None)

    async def _async_run(self) -> None:
        """Make the queued clips' MP4s, one at a time (the executor; ffmpeg at nice 19)."""
        while self._queue:
            queued = self._queue.popleft()
            mp4: Path | None = None
            try:
                try:
                    made, size = await self._hass.async_add_executor_job(
                        _convert, queued.info.path, queued.ffmpeg, self._stop
                    )
                except (Mp4Error, OSError) as err:  # OSError: removed at once (retention)
                    self.failed += 1
                    if self._failing:
                        LOGGER.debug("Cannot make an MP4 of %s: %s", queued.info.path, err)
                    else:
                        LOGGER.warning(
                            "Cannot make an MP4 of %s (the AVI is kept; further failures are "
                            "logged at debug level until one succeeds): %s",
                            queued.info.path,
                            err,
                        )
                    self._failing = True
                else:
                    self.done += 1
                    self._failing = False
                    self._converted(queued.clip, made, size)
                    mp4 = made
            finally:
                self._finished(queued.clip, queued.info, mp4)

    def as_dict(self) -> dict[str, Any]:
        """Return the conversions' figures (diagnostics)."""
        return {
            "ffmpeg": self.ffmpeg(),
            "done": self.done,
            "failed": self.failed,
            "queued": len(self._queue),
            "skipped": self.skipped,
            "running": self._task is not None and not self._task.done(),
        }
