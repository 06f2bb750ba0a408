"""Recorded clips for browsers: the panel's list of clips, and their replay as MJPEG.

A clip is an MJPEG AVI (clips/avi.py), which no browser plays. `ClipReplayView` sends its JPEGs as
`multipart/x-mixed-replace`, each when its recorded time comes (the AVI's `tims` chunk, else the
declared rate), in the layouts of the live stream (`mjpeg.MjpegWriter`), so an `<img>` plays it:
the panel's player and Home Assistant's Media panel use it. The clip is read one frame at a time
(executor): a long UXGA clip costs one frame of memory, not its size. A gap between two frames is
shortened to MAX_FRAME_GAP: a clip cannot hold its viewer on one frame for as long as it claims.

A clips folder can hold any file: a clip `read_avi` refuses is left out of the lists (the panel's
here, the Media panel's in media_source.py; disk/listing.py reads them), counted as skipped, and
logged at most once per camera per LOG_PERIOD; its replay is not found.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from http import HTTPStatus
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
from ..disk.listing import ClipFiles, clip_files, readable_clips
from ..hub.hub import loaded_hub
from ..hub.log_limit import OncePerPeriod
from .mjpeg import MjpegWriter
from .saved_images import URL_LIFETIME, saved_file_url

if TYPE_CHECKING:
    from ..hub.hub import Esp32CameraHub

CLIP_REPLAY_PREFIX = f"/api/{DOMAIN}/clip"
MAX_FRAME_GAP = 3.0  # seconds the replay waits between two frames at most
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
        opened = await hass.async_add_executor_job(_open_clip, camera_dir, day, name)
        if opened is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        clip, file = opened
        try:
            return await _async_replay(hass, request, hub, clip, file)
        finally:
            await hass.async_add_executor_job(file.close)


def _capped(times: Sequence[float]) -> Iterator[float]:
    """Each frame's time from the first, with every gap shortened to MAX_FRAME_GAP at most."""
    at = 0.0
    previous = times[0] if times else 0.0
    for current in times:
        at += min(max(0.0, current - previous), MAX_FRAME_GAP)
        previous = current
        yield at


async def _async_replay(
    hass: HomeAssistant,
    request: web.Request,
    hub: Esp32CameraHub,
    clip: AviClip,
    file: BinaryIO,
) -> web.StreamResponse:
    """Write the clip's frames as MJPEG parts at their times; stop when the viewer leaves."""
    count = len(clip.frames)
    times = clip.times or tuple(number / clip.fps for number in range(count))
    writer = MjpegWriter(request)
    await writer.async_prepare(request)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for number, at in enumerate(_capped(times)):
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
