"""The latest frame of a camera that waits for approval, shown in its approval dialog."""

from __future__ import annotations

from datetime import timedelta
from typing import Final
from urllib.parse import quote

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from ..const import DOMAIN
from ..hub.permissions import check_admin

# Long enough to look at the dialog; the flow signs a new path each time it is opened.
PREVIEW_LINK_LIFETIME: Final = timedelta(minutes=10)


class PendingCameraPreviewView(HomeAssistantView):
    """Serve a pending camera's latest frame to administrators (or a signed path of theirs)."""

    url = "/api/esp32_camera/preview/{entry_id}/{address}"
    name = "api:esp32_camera:preview"

    async def get(self, request: web.Request, entry_id: str, address: str) -> web.Response:
        """Return the JPEG, 401 for non-administrators (approvals are theirs), 404 for none."""
        check_admin(request[KEY_HASS_USER], "preview")
        hass = request.app[KEY_HASS]
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
            raise web.HTTPNotFound
        frame = entry.runtime_data.pending_frame(address)
        if frame is None:
            raise web.HTTPNotFound
        return web.Response(
            body=frame.data, content_type="image/jpeg", headers={"Cache-Control": "no-store"}
        )


@callback
def async_preview_markdown(hass: HomeAssistant, entry_id: str, address: str) -> str:
    """Return a Markdown image of the pending camera's latest frame, or "" before its first."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.state is not ConfigEntryState.LOADED:
        return ""
    if entry.runtime_data.pending_frame(address) is None:
        return ""
    path = PendingCameraPreviewView.url.format(entry_id=entry_id, address=quote(address, safe=""))
    return f"![{address}]({async_sign_path(hass, path, PREVIEW_LINK_LIFETIME)})"
