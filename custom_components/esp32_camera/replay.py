"""Recorded clips for browsers: the panel's list of clips, and their replay as MJPEG.

A clip is an MJPEG AVI (clips/avi.py), which no browser plays. `ClipReplayView` sends its JPEGs as
`multipart/x-mixed-replace`, each when its recorded time comes (the AVI's `tims` chunk, else the
declared rate), in the layouts of the live stream (`mjpeg.MjpegWriter`), so an `<img>` plays it:
the panel's player and Home Assistant's Media panel use it. The clip is read one frame at a time
(executor): a long UXGA clip costs one frame of memory, not its size.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from . import storage
from .clips import AviClip, ClipError, read_avi
from .const import DOMAIN
from .gallery import URL_LIFETIME, ClipFiles, clip_files, loaded_hub, newest_clips, saved_file_url
from .mjpeg import MjpegWriter

if TYPE_CHECKING:
    from .hub import Esp32CameraHub

CLIP_REPLAY_PREFIX = f"/api/{DOMAIN}/clip"


@dataclass(frozen=True, slots=True)
class ClipDetails:
    """What a clip's AVI headers say of it."""

    frames: int
    duration: float  # seconds: frames at the declared (average) rate
    width: int
    height: int
    size: int  # bytes of the AVI


def clip_details(path: Path) -> ClipDetails | None:
    """Read a clip's headers and index (not its frames); None when it is unreadable (executor)."""
    try:
        clip = read_avi(path)
        size = path.stat().st_size
    except ClipError, OSError:
        return None
    return ClipDetails(
        frames=len(clip.frames),
        duration=round(len(clip.frames) / clip.fps, 2),
        width=clip.width,
        height=clip.height,
        size=size,
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

    def newest_with_details() -> tuple[int, list[tuple[ClipFiles, ClipDetails | None]]]:
        newest = newest_clips(storage.camera_directory(hub.save_directory, camera_id), limit)
        return newest.total, [(clip, clip_details(clip.avi)) for clip in newest.items]

    total, found = await hass.async_add_executor_job(newest_with_details)

    def signed(url: str) -> str:
        return async_sign_path(hass, url, URL_LIFETIME)

    return {
        "total": total,
        "clips": [
            {
                "name": clip.avi.relative_to(hub.save_directory).as_posix(),
                "started_at": clip.started_at.isoformat(),
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
        camera_dir = storage.camera_directory(hub.save_directory, camera_id)
        opened = await hass.async_add_executor_job(_open_clip, camera_dir, day, name)
        if opened is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        clip, file = opened
        try:
            return await _async_replay(hass, request, hub, clip, file)
        finally:
            await hass.async_add_executor_job(file.close)


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
    for number, at in enumerate(times):
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
