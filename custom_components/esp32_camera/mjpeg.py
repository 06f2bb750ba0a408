"""MJPEG (`multipart/x-mixed-replace`) streaming of a camera's pushed frames.

Each frame is written to the viewer when it arrives. A viewer slower than the camera gets the
newest frame each time its previous write completes: frames in between are skipped, nothing
queues up. Frames are told apart by their completion time, never by comparing bytes. The stream
outlives a camera reboot or reconnect (it waits and resumes) and ends when the viewer leaves or
the hub stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .hub import Esp32CameraHub

BOUNDARY = "frame"
# How long one wait for a frame lasts before checking again whether the hub still runs.
WAIT_SLICE = 10.0


async def async_stream_camera(
    request: web.Request, hub: Esp32CameraHub, camera_id: str
) -> web.StreamResponse:
    """Answer `request` with the camera's frames as they arrive."""
    response = web.StreamResponse(
        headers={
            "Cache-Control": "no-store",
            "Content-Type": f"multipart/x-mixed-replace;boundary={BOUNDARY}",
        }
    )
    await response.prepare(request)
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
            await response.write(
                b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                % (BOUNDARY.encode(), len(frame.data))
            )
            await response.write(frame.data)
            await response.write(b"\r\n")
        except ConnectionError:
            break  # the viewer left
    return response
