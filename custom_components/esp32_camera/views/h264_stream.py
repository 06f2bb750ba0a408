"""`/h264/<camera_id>.ts` on a hub's control port: the camera as H.264 in MPEG-TS over HTTP.

What the camera entity's `stream_source()` returns, for Home Assistant's `stream` integration
(HLS, `camera.record`), go2rtc (WebRTC) and HomeKit's ffmpeg. Always on the control port (no
`expose_http` needed), for the cameras whose H.264 switch is on. The credential is the URL's
password (`http://esp32_camera:<credential>@127.0.0.1:<control port>/h264/<camera>.ts`, sent as
HTTP Basic authentication), because Home Assistant's stream integration redacts a URL's user
information in its logs but not an arbitrary query parameter; a Bearer header is taken too.
Without it: 401 (compared in constant time).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import socket
from typing import TYPE_CHECKING, Final

from aiohttp import hdrs, web

from ..hub.h264_streams import H264Unavailable
from .control_port import protected

if TYPE_CHECKING:
    from ..hub.hub import Esp32CameraHub

PATH: Final = "/h264/{camera_id}.ts"
URL_USER: Final = "esp32_camera"
# A reader whose connection takes nothing for this long is dropped (its slot is freed).
WRITE_TIMEOUT: Final = 30.0
# The kernel's send buffer of a reader's connection (it doubles it): seconds of a stream, not
# the megabytes autotuning grants a client that does not read.
SEND_BUFFER_BYTES: Final = 256 << 10


def stream_url(hub: Esp32CameraHub, camera_id: str, host: str, port: int) -> str:
    """Return the camera's stream URL on the control port (bound to `host`, port `port`)."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - every interface: the loopback is one
        host = "127.0.0.1"
    elif ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{URL_USER}:{hub.h264.credential}@{host}:{port}/h264/{camera_id}.ts"


def _password(request: web.Request) -> str | None:
    """Return the password of Basic authentication, or a Bearer token."""
    scheme, _, credentials = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    match scheme.lower():
        case "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except binascii.Error, UnicodeDecodeError:
                return None
            return decoded.partition(":")[2]
        case "bearer":
            return credentials.strip() or None
    return None


_REFUSALS: Final = {
    "disabled": (web.HTTPNotFound, "the camera's H.264 stream is switched off"),
    "no_ffmpeg": (web.HTTPServiceUnavailable, "Home Assistant's ffmpeg integration is not loaded"),
    "busy": (web.HTTPServiceUnavailable, "too many readers or streams"),
    "stopped": (web.HTTPServiceUnavailable, "the hub is stopping"),
}


def async_add_h264_route(hub: Esp32CameraHub) -> None:
    """Add `/h264/<camera_id>.ts` to the hub's control port (before the listener starts)."""

    async def stream(request: web.Request, camera_id: str) -> web.StreamResponse:
        try:
            reader = hub.h264.async_open_reader(camera_id)
        except H264Unavailable as err:
            error, text = _REFUSALS[err.reason]
            raise error(text=f"{error.status_code}: {text}") from err
        response = web.StreamResponse(
            headers={hdrs.CONTENT_TYPE: "video/mp2t", hdrs.CACHE_CONTROL: "no-store"}
        )
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        try:
            await response.prepare(request)
            while (data := await reader.async_read()) is not None:
                async with asyncio.timeout(WRITE_TIMEOUT):
                    await response.write(data)
        except ConnectionError, TimeoutError:
            pass  # the reader left, or stopped reading
        finally:
            reader.async_close()
        return response

    hub.listener.add_control_route(
        hdrs.METH_GET,
        PATH,
        protected(
            hub,
            stream,
            authorized=lambda request: hub.h264.check_credential(_password(request)),
            scheme="Basic",
            credential="the stream's password",
        ),
    )
