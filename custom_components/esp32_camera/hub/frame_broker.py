"""The frame broker: the latest frame of each camera, frame waiters and live frame listeners.

Frames are not state: the latest frame stays on the camera record; waiters and listeners are
woken per frame, in the event loop, without copying it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from ..const import LOGGER
from ..listener import CameraRecord
from ..listener.refusals import DeviceLog
from ..protocol import Frame

type FrameListener = Callable[[CameraRecord, Frame], None]


@dataclass(slots=True)
class _Waiter:
    """Someone waiting for a frame completed after `newer_than`; None means "stopping"."""

    newer_than: float | None
    future: asyncio.Future[Frame | None]


class FrameBroker:
    """Hands each admitted camera's frames to those waiting for one and to frame listeners."""

    def __init__(
        self,
        hass: HomeAssistant,
        cameras: Mapping[str, CameraRecord],
        *,
        log: DeviceLog | None = None,
    ) -> None:
        """Serve the frames of `cameras` (the listener's records, by id).

        A frame listener's errors go to `log` (the listener's: one budget per source).
        """
        self._hass = hass
        self._cameras = cameras
        self._log = log or DeviceLog(LOGGER)
        self._listeners: dict[str | None, list[FrameListener]] = {}
        self._waiters: dict[str, list[_Waiter]] = {}
        self.stopped = False

    async def async_latest_frame(
        self,
        camera_id: str,
        *,
        timeout: float,  # noqa: ASYNC109 - a wait bounded by the caller is this method's purpose
    ) -> Frame | None:
        """Return the camera's latest frame, or wait for its first one; None on timeout."""
        camera = self._cameras.get(camera_id)
        if camera is not None and camera.admitted and camera.latest_frame is not None:
            return camera.latest_frame
        return await self.async_wait_for_frame(camera_id, timeout=timeout)

    async def async_wait_for_frame(
        self,
        camera_id: str,
        *,
        newer_than: float | None = None,
        timeout: float,  # noqa: ASYNC109 - a wait bounded by the caller is this method's purpose
    ) -> Frame | None:
        """Return the first frame completed after `newer_than` (None: the next), or None."""
        if self.stopped:
            return None
        camera = self._cameras.get(camera_id)
        latest = camera.latest_frame if camera is not None else None
        if (
            latest is not None
            and newer_than is not None
            and latest.completed_at > newer_than
            and camera is not None
            and camera.admitted
        ):
            return latest
        waiter = _Waiter(newer_than, self._hass.loop.create_future())
        waiters = self._waiters.setdefault(camera_id, [])
        waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter.future
        except TimeoutError:
            return None
        finally:
            if waiter in waiters:
                waiters.remove(waiter)

    @callback
    def async_add_listener(
        self, listener: FrameListener, camera_id: str | None = None
    ) -> CALLBACK_TYPE:
        """Call `listener` for every frame (of one camera, or of all); returns unsubscribe."""
        listeners = self._listeners.setdefault(camera_id, [])
        listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return remove

    @callback
    def async_publish(self, camera: CameraRecord, frame: Frame) -> None:
        """Wake the camera's waiters and call its and everyone's frame listeners."""
        camera_id = camera.camera_id
        if waiters := self._waiters.get(camera_id):
            for waiter in waiters:
                if not waiter.future.done() and (
                    waiter.newer_than is None or frame.completed_at > waiter.newer_than
                ):
                    waiter.future.set_result(frame)
        for key in (camera_id, None):
            for listener in self._listeners.get(key, ()):
                try:
                    listener(camera, frame)
                except Exception:  # noqa: BLE001 - one bad listener must not stop the others
                    # Every frame may reach the same bug: one traceback per source per period.
                    self._log.unexpected(
                        camera.address, "Frame listener failed for %s", camera_id, logger=LOGGER
                    )

    @callback
    def async_stop(self) -> None:
        """Wake every waiter with nothing (the hub stops)."""
        self.stopped = True
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_result(None)
        self._waiters.clear()
