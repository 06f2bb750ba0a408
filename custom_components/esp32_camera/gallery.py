"""Saved images for the panel's gallery: the newest files of a camera, served to signed-in users.

The save directory is never under `www/` (served without authentication), so saved images are
served by `SavedImageView`, which requires authentication; the gallery hands out signed URLs
(valid for `URL_LIFETIME`) so that `<img>` elements can show them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from . import storage
from .const import DOMAIN

if TYPE_CHECKING:
    from .hub import Esp32CameraHub

URL_LIFETIME = timedelta(hours=1)
SAVED_IMAGE_PREFIX = f"/api/{DOMAIN}/saved"


def newest_images(directory: Path, limit: int) -> list[tuple[float, int, Path]]:
    """Return `(modified, size, path)` of the newest `.jpg` files below `directory` (executor).

    Walks the continuous-saving layout newest day and hour first and stops once `limit` files of
    older hours are found; snapshots (one flat directory) are all considered.
    """
    found: list[tuple[float, int, Path]] = []

    def add(folder: Path) -> None:
        for entry in os.scandir(folder):
            if entry.is_file() and entry.name.endswith(".jpg"):
                stat = entry.stat()
                found.append((stat.st_mtime, stat.st_size, Path(entry.path)))

    if not directory.is_dir():
        return found
    if (snapshots := directory / storage.SNAPSHOTS_DIRECTORY).is_dir():
        add(snapshots)
    continuous = len(found)
    days = sorted(
        (day for day in directory.iterdir() if storage.DAY_DIRECTORY.match(day.name)),
        reverse=True,
    )
    for day in days:
        hours = sorted(
            (hour for hour in day.iterdir() if storage.HOUR_DIRECTORY.match(hour.name)),
            reverse=True,
        )
        for hour in hours:
            add(hour)
            if len(found) - continuous >= limit:
                break
        if len(found) - continuous >= limit:
            break
    found.sort(key=lambda item: item[0], reverse=True)
    return found[:limit]


async def async_list_saved_images(
    hass: HomeAssistant, hub: Esp32CameraHub, camera_id: str, limit: int
) -> list[dict[str, Any]]:
    """Return the newest saved images of a camera with signed URLs, newest first."""
    root = Path(hub.save_directory)
    found = await hass.async_add_executor_job(
        newest_images, storage.camera_directory(root, camera_id), limit
    )
    images = []
    for modified, size, path in found:
        relative = path.relative_to(root).as_posix()
        url = f"{SAVED_IMAGE_PREFIX}/{hub.entry.entry_id}/{quote(relative)}"
        images.append(
            {
                "name": relative,
                "size": size,
                "saved_at": datetime.fromtimestamp(modified, UTC).isoformat(),
                "url": async_sign_path(hass, url, URL_LIFETIME),
            }
        )
    return images


def _saved_file(root: Path, relative: str) -> Path | None:
    """Return the file if it is a `.jpg` inside `root` (no `..` or links out of it), else None."""
    path = root / relative
    if path.suffix != ".jpg" or not storage.is_inside(path, root) or not path.is_file():
        return None
    return path


class SavedImageView(HomeAssistantView):
    """A saved image of a loaded hub, for signed-in users (or a signed URL)."""

    url = SAVED_IMAGE_PREFIX + "/{entry_id}/{path:.+}"
    name = f"api:{DOMAIN}:saved"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, path: str) -> web.StreamResponse:
        """Send the file."""
        hass = request.app[KEY_HASS]
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        hub: Esp32CameraHub = entry.runtime_data
        file = await hass.async_add_executor_job(_saved_file, Path(hub.save_directory), path)
        if file is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(file, headers={"Cache-Control": "private, max-age=3600"})
