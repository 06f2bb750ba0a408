"""Saved pictures and converted clips, served to signed-in users (listing is disk/listing.py's).

The save directory is never under `www/` (served without authentication), so its JPEGs and MP4s
are served by `SavedImageView`, which requires authentication; the panel gets signed URLs (valid
for `URL_LIFETIME`) so that `<img>` and `<video>` elements can load them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from ..const import DOMAIN
from ..disk.layout import camera_directory
from ..disk.listing import newest_images, served_file
from ..hub.hub import loaded_hub

if TYPE_CHECKING:
    from ..hub.hub import Esp32CameraHub

URL_LIFETIME = timedelta(hours=1)
SAVED_IMAGE_PREFIX = f"/api/{DOMAIN}/saved"


async def async_list_saved_images(
    hass: HomeAssistant, hub: Esp32CameraHub, camera_id: str, limit: int
) -> list[dict[str, Any]]:
    """Return the newest saved images of a camera with signed URLs, newest first."""
    root = Path(hub.save_directory)
    found = await hass.async_add_executor_job(
        newest_images, camera_directory(root, camera_id), limit
    )
    return [
        {
            "name": image.path.relative_to(root).as_posix(),
            "size": image.size,
            "saved_at": datetime.fromtimestamp(image.modified, UTC).isoformat(),
            "url": async_sign_path(hass, saved_file_url(hub, image.path), URL_LIFETIME),
        }
        for image in found
    ]


def saved_file_url(hub: Esp32CameraHub, path: Path) -> str:
    """Return the (unsigned, authenticated) URL of a JPEG or MP4 below the hub's save directory."""
    relative = path.relative_to(Path(hub.save_directory)).as_posix()
    return f"{SAVED_IMAGE_PREFIX}/{hub.entry.entry_id}/{quote(relative)}"


class SavedImageView(HomeAssistantView):
    """A saved image or converted clip of a loaded hub, for signed-in users (or a signed URL)."""

    url = SAVED_IMAGE_PREFIX + "/{entry_id}/{path:.+}"
    name = f"api:{DOMAIN}:saved"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, path: str) -> web.StreamResponse:
        """Send the file."""
        hass = request.app[KEY_HASS]
        if (hub := loaded_hub(hass, entry_id)) is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        file = await hass.async_add_executor_job(served_file, Path(hub.save_directory), path)
        if file is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(file, headers={"Cache-Control": "private, max-age=3600"})
