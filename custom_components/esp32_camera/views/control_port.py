"""Token-protected HTTP routes on a hub's control port, for third-party apps.

`/mjpeg/<camera_id>` (the pushed MJPEG stream) and `/snapshot/<camera_id>.jpg` (the latest frame),
for VLC, ffmpeg, go2rtc or Frigate, which cannot log in to Home Assistant. They are added only when
the `expose_http` option is on, and need the hub token as `?token=` or `Authorization: Bearer`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import hmac
from typing import TYPE_CHECKING

from aiohttp import hdrs, web

from ..const import STILL_WAIT
from ..listener import request_token
from .mjpeg import async_stream_camera

if TYPE_CHECKING:
    from ..hub.hub import Esp32CameraHub

type _CameraHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]
type _Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def has_hub_token(hub: Esp32CameraHub, request: web.Request) -> bool:
    """Return whether the request carries the hub token (`?token=` or Bearer; constant time)."""
    token = request_token(request)
    return token is not None and hmac.compare_digest(token.encode(), hub.token.encode())


def protected(
    hub: Esp32CameraHub,
    handler: _CameraHandler,
    *,
    authorized: Callable[[web.Request], bool] | None = None,
    scheme: str = "Bearer",
    credential: str = "the hub token",
) -> _Handler:
    """Wrap a handler: 401 unless `authorized` (default: the hub token), 404 for no such camera.

    `scheme` and `credential` name what a 401 asks for; a camera not admitted is no camera.
    """

    async def checked(request: web.Request) -> web.StreamResponse:
        if not (authorized(request) if authorized else has_hub_token(hub, request)):
            raise web.HTTPUnauthorized(
                headers={hdrs.WWW_AUTHENTICATE: f'{scheme} realm="esp32_camera"'},
                text=f"401: Unauthorized: {credential} is required",
            )
        camera_id = request.match_info["camera_id"].lower()
        camera = hub.cameras.get(camera_id)
        if camera is None or not camera.admitted:
            raise web.HTTPNotFound(text=f"404: Not Found: no camera {camera_id}")
        return await handler(request, camera_id)

    return checked


def async_add_control_routes(hub: Esp32CameraHub) -> None:
    """Add `/mjpeg/<camera_id>` and `/snapshot/<camera_id>.jpg` to the hub's control port."""

    async def mjpeg(request: web.Request, camera_id: str) -> web.StreamResponse:
        return await async_stream_camera(request, hub, camera_id)

    async def snapshot(request: web.Request, camera_id: str) -> web.StreamResponse:
        frame = await hub.frames.async_latest_frame(camera_id, timeout=STILL_WAIT)
        if frame is None:
            raise web.HTTPServiceUnavailable(text="503: Service Unavailable: no frame yet")
        return web.Response(
            body=bytes(frame.data),
            content_type="image/jpeg",
            headers={hdrs.CACHE_CONTROL: "no-store"},
        )

    hub.listener.add_control_route(hdrs.METH_GET, "/mjpeg/{camera_id}", protected(hub, mjpeg))
    hub.listener.add_control_route(
        hdrs.METH_GET, "/snapshot/{camera_id}.jpg", protected(hub, snapshot)
    )
