"""MJPEG (`multipart/x-mixed-replace`) streaming of a camera's pushed frames.

Each frame is written to the viewer when it arrives. A viewer slower than the camera gets the
newest frame each time its previous write completes: frames in between are skipped, nothing
queues up. Frames are told apart by their completion time, never by comparing bytes. The stream
outlives a camera reboot or reconnect (it waits and resumes) and ends when the viewer leaves or
the hub stops.

Two part layouts, chosen by the client:

- A browser painting the stream into an `<img>` shows a part only once the next part's boundary
  has arrived. It gets each JPEG followed at once by the next part's boundary and headers, without
  `Content-Length`, so every frame (the first one too) is painted when it arrives, not one frame
  later. Chromium's image requests list image types first in `Accept` on every origin;
  `Sec-Fetch-Dest: image` is only sent to secure origins.
- Every other client (go2rtc and through it Frigate, ffmpeg, VLC) gets self-contained parts with
  `Content-Length`: go2rtc's reader refuses a part without it.

Each part goes out in one write: one send on the socket, where its boundary, JPEG and ending
written apart cost three. A live frame's part is joined once for every viewer of the same layout
and lives as long as the frame: a viewer still writing it, or the camera's newest.

`MjpegWriter` writes both layouts; the replay of recorded clips (clip_replay.py) uses it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from aiohttp import hdrs, web

from ..protocol import Frame

if TYPE_CHECKING:
    from ..hub.hub import Esp32CameraHub

BOUNDARY = "frame"
# How long one wait for a frame lasts before checking again whether the hub still runs.
WAIT_SLICE = 10.0
_PART_START = b"--%s\r\nContent-Type: image/jpeg\r\n" % BOUNDARY.encode()
_CLOSE = b"--%s--\r\n" % BOUNDARY.encode()  # the end of a finite stream (a replayed clip)
_NEXT_PART = b"\r\n" + _PART_START + b"\r\n"
_LAST_PART = b"\r\n" + _CLOSE
# The live frames' parts by layout (for an image or not), while the frame is in use: every viewer
# of a camera writes the same bytes, so they are joined once per frame and layout.
_live_parts: WeakKeyDictionary[Frame, dict[bool, bytes]] = WeakKeyDictionary()


def paints_into_image(request: web.Request) -> bool:
    """Return whether the request is a browser's image load (it wants each part ended at once)."""
    if request.headers.get("Sec-Fetch-Dest") == "image":
        return True
    accept = request.headers.get(hdrs.ACCEPT, "")
    return accept.split(",", 1)[0].strip().startswith("image/")


class MjpegWriter:
    """The parts of one `multipart/x-mixed-replace` response, in the layout its client wants.

    Shared by the live stream (below) and the replay of recorded clips (clip_replay.py).
    """

    def __init__(self, request: web.Request) -> None:
        """Choose the layout from the request; `async_prepare` starts the response."""
        self.response = web.StreamResponse(
            headers={
                "Cache-Control": "no-store",
                "Content-Type": f"multipart/x-mixed-replace;boundary={BOUNDARY}",
            }
        )
        self.for_image = paints_into_image(request)

    async def async_prepare(self, request: web.Request) -> None:
        """Send the headers (and, for an image, the first part's headers)."""
        await self.response.prepare(request)
        if self.for_image:  # each frame is then followed by the next part's headers
            await self.response.write(_PART_START + b"\r\n")

    def _part(self, data: bytes | bytearray, *, last: bool = False) -> bytes:
        """Return one JPEG as a part of this layout; `last` closes the multipart body after it."""
        if self.for_image:
            return b"".join((data, _LAST_PART if last else _NEXT_PART))
        header = _PART_START + b"Content-Length: %d\r\n\r\n" % len(data)
        return b"".join((header, data, _LAST_PART if last else b"\r\n"))

    async def async_write(self, data: bytes | bytearray, *, last: bool = False) -> None:
        """Write one JPEG as a part; `last` closes the multipart body after it.

        Raises ConnectionError when the client has left.
        """
        await self.response.write(self._part(data, last=last))

    async def async_write_frame(self, frame: Frame) -> None:
        """Write a live frame as a part, joined once for every viewer of this layout.

        Raises ConnectionError when the client has left.
        """
        parts = _live_parts.get(frame)
        if parts is None:
            parts = _live_parts[frame] = {}
        part = parts.get(self.for_image)
        if part is None:
            part = parts[self.for_image] = self._part(frame.data)
        await self.response.write(part)


async def async_stream_camera(
    request: web.Request, hub: Esp32CameraHub, camera_id: str
) -> web.StreamResponse:
    """Answer `request` with the camera's frames as they arrive."""
    writer = MjpegWriter(request)
    await writer.async_prepare(request)
    last_completed: float | None = None
    while not hub.frames.stopped:
        camera = hub.cameras.get(camera_id)
        frame = camera.latest_frame if camera is not None and camera.admitted else None
        if frame is None or (last_completed is not None and frame.completed_at <= last_completed):
            frame = await hub.frames.async_wait_for_frame(
                camera_id, newer_than=last_completed, timeout=WAIT_SLICE
            )
            if frame is None:
                continue  # camera away (rebooting?) or hub stopping: the loop condition decides
        last_completed = frame.completed_at
        try:
            await writer.async_write_frame(frame)
        except ConnectionError:
            break  # the viewer left
    return writer.response
