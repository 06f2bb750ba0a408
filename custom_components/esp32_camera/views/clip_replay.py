"""Recorded clips for browsers: the panel's list of clips, and their replay as MJPEG.

A clip is an MJPEG AVI (clips/avi.py), which no browser plays. `ClipReplayView` sends its JPEGs as
`multipart/x-mixed-replace`, each when its recorded time comes (the AVI's `tims` chunk, else the
declared rate), in the layouts of the live stream (`mjpeg.MjpegWriter`), so an `<img>` plays it:
the panel's player and Home Assistant's Media panel use it. The clip is read one frame at a time
(executor): a long UXGA clip costs one frame of memory, not its size. A gap between two frames is
shortened to MAX_FRAME_GAP: a clip cannot hold its viewer on one frame for as long as it claims.

The panel's player seeks and pauses with two query parameters (issue 20: a finished clip looked
frozen, nothing could be paused or sought): `start` (seconds of the replay, 0 to its length: the
replay begins at the frame shown then) and `still=1` (only that frame, as `image/jpeg`: what a
paused player shows). The list gives each clip's `replay` length, so the player knows its end.

A clips folder can hold any file: a clip `read_avi` refuses is left out of the lists (the panel's
here, the Media panel's in media_source.py; disk/listing.py reads them), counted as skipped, and
logged at most once per camera per LOG_PERIOD; its replay is not found.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from http import HTTPStatus
from math import isfinite
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util import dt as dt_util

from ..clips import AviClip, ClipError, read_avi
from ..const import DOMAIN, LOGGER
from ..disk.layout import camera_directory
from ..disk.listing import MAX_FRAME_GAP, ClipFiles, clip_files, readable_clips, replay_times
from ..hub.hub import loaded_hub
from ..hub.log_limit import OncePerPeriod
from .mjpeg import MjpegWriter
from .saved_images import URL_LIFETIME, saved_file_url

if TYPE_CHECKING:
    from ..hub.hub import Esp32CameraHub

CLIP_REPLAY_PREFIX = f"/api/{DOMAIN}/clip"
__all__ = ["MAX_FRAME_GAP", "ClipReplayView", "async_list_clips", "replay_url"]
LOG_PERIOD = 300.0  # seconds between two log lines about one camera's unreadable clips
_REPORTED_CAMERAS = 256  # camera folders whose last log line time is remembered


_reported = OncePerPeriod(LOG_PERIOD, keys=_REPORTED_CAMERAS)  # camera folders (event loop)


def report_unreadable(camera_dir: Path, refused: list[tuple[Path, str]]) -> None:
    """Log the clips a list left out, once per camera folder per LOG_PERIOD (event loop)."""
    if not refused:
        return
    if not _reported.allow(str(camera_dir)):
        return
    path, reason = refused[0]
    LOGGER.warning(
        "Left %d unreadable clip(s) of %s out of the list, e.g. %s: %s "
        "(not logged again for this camera for %d min)",
        len(refused),
        camera_dir.name,
        path.name,
        reason,
        LOG_PERIOD // 60,
    )


def replay_url(hub: Esp32CameraHub, camera_id: str, clip: ClipFiles) -> str:
    """Return the (unsigned, authenticated) URL that replays `clip` as MJPEG."""
    return (
        f"{CLIP_REPLAY_PREFIX}/{hub.entry.entry_id}/{quote(camera_id)}/{clip.day}/{clip.avi.name}"
    )


async def async_list_clips(
    hass: HomeAssistant, hub: Esp32CameraHub, camera_id: str, limit: int
) -> dict[str, Any]:
    """Return a camera's newest clips, newest first, with their details and signed URLs."""

    camera_dir = camera_directory(hub.save_directory, camera_id)

    readable = await hass.async_add_executor_job(readable_clips, camera_dir, limit)
    report_unreadable(camera_dir, readable.refused)
    newest = readable.newest
    found = [(clip, readable.details.get(clip.avi)) for clip in newest.items]

    def signed(url: str) -> str:
        return async_sign_path(hass, url, URL_LIFETIME)

    return {
        "total": newest.total,
        "skipped": newest.skipped,
        "clips": [
            {
                "name": clip.avi.relative_to(hub.save_directory).as_posix(),
                "started_at": clip.started_at(dt_util.get_default_time_zone()).isoformat(),
                "reason": clip.reason,
                "frames": details.frames if details else None,
                "duration": details.duration if details else None,
                "replay": details.replay if details else None,
                "width": details.width if details else None,
                "height": details.height if details else None,
                "size": details.size if details else None,
                "replay_url": signed(replay_url(hub, camera_id, clip)) if details else None,
                "video_url": signed(saved_file_url(hub, clip.mp4)) if clip.mp4 else None,
                "thumbnail_url": signed(saved_file_url(hub, clip.thumbnail))
                if clip.thumbnail
                else None,
            }
            for clip, details in found
        ],
    }


def _open_clip(camera_dir: Path, day: str, name: str) -> tuple[AviClip, BinaryIO] | None:
    """Find, parse and open a clip for reading; None unless it is a readable clip (executor)."""
    clip = clip_files(camera_dir, day, name)
    if clip is None:
        return None
    try:
        parsed = read_avi(clip.avi)
    except ClipError, OSError:
        return None
    # Unbuffered: each frame is one read of its own bytes, nothing read ahead or kept.
    return parsed, clip.avi.open("rb", buffering=0)


class ClipReplayView(HomeAssistantView):
    """A clip of a loaded hub's camera as MJPEG at its recorded pace, for signed-in users."""

    url = CLIP_REPLAY_PREFIX + "/{entry_id}/{camera_id}/{day}/{name}"
    name = f"api:{DOMAIN}:clip"
    requires_auth = True  # reading: any signed-in user, or a signed URL for an <img>

    async def get(
        self, request: web.Request, entry_id: str, camera_id: str, day: str, name: str
    ) -> web.StreamResponse:
        """Send the clip's frames, each at its recorded time after the first."""
        hass = request.app[KEY_HASS]
        hub = loaded_hub(hass, entry_id)
        camera = hub.cameras.get(camera_id) if hub is not None else None
        if hub is None or camera is None or not camera.admitted:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        camera_dir = camera_directory(hub.save_directory, camera_id)
        start = _start(request)
        if start is None:
            return web.Response(
                status=HTTPStatus.BAD_REQUEST,
                text="start must be a number of seconds, 0 or more; still must be 1 if given",
            )
        opened = await hass.async_add_executor_job(_open_clip, camera_dir, day, name)
        if opened is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        clip, file = opened
        try:
            shown = replay_times(clip.times, clip.fps, len(clip.frames))
            # The frame on screen at `start`: the last one shown at or before it.
            first = max(0, bisect_right(shown, start) - 1)
            if request.query.get("still") == "1":
                try:
                    data = await hass.async_add_executor_job(clip.read_frame, file, first)
                except ClipError, OSError:
                    return web.Response(status=HTTPStatus.NOT_FOUND)
                return web.Response(
                    body=data, content_type="image/jpeg", headers={"Cache-Control": "no-store"}
                )
            return await _async_replay(hass, request, hub, clip, file, shown=shown, first=first)
        finally:
            await hass.async_add_executor_job(file.close)


def _start(request: web.Request) -> float | None:
    """Return the `start` query parameter (0 without it); None when it or `still` is invalid."""
    if request.query.get("still", "1") != "1":
        return None
    text = request.query.get("start", "0")
    try:
        start = float(text)
    except ValueError:
        return None
    return start if isfinite(start) and start >= 0 else None


async def _async_replay(
    hass: HomeAssistant,
    request: web.Request,
    hub: Esp32CameraHub,
    clip: AviClip,
    file: BinaryIO,
    *,
    shown: list[float],
    first: int,
) -> web.StreamResponse:
    """Write the clip's frames from `first` as MJPEG parts at their times (`shown`).

    Stops when the viewer leaves.
    """
    count = len(clip.frames)
    writer = MjpegWriter(request)
    await writer.async_prepare(request)
    loop = asyncio.get_running_loop()
    started = loop.time() - shown[first]
    for number in range(first, count):
        at = shown[number]
        try:
            data = await hass.async_add_executor_job(clip.read_frame, file, number)
        except ClipError, OSError:
            break  # the file was cut or removed meanwhile: end the replay here
        if (delay := started + at - loop.time()) > 0:
            await asyncio.sleep(delay)
        if hub.frames.stopped:
            break  # the hub unloads
        try:
            await writer.async_write(data, last=number == count - 1)
        except ConnectionError:
            break  # the viewer left
    return writer.response
