"""The baseline server: the floor of what Python, aiohttp and the sockets cost.

    python -m bench.floor --port P            # read the cameras' messages, count, discard
    python -m bench.floor --port P --relay    # also join each frame and push it to MJPEG viewers

Same aiohttp WebSocket stack as the hub, none of its work: no protocol parsing beyond
recognising a frame's end, no validation, no Home Assistant. With `--relay`, each completed frame
goes to every `/mjpeg` viewer by the hub's rule (the newest frame when the previous write is
done). `GET /stats` answers the counters.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from aiohttp import WSMsgType, web


class Floor:
    """Counters, and with `relay` the latest frame for the viewers."""

    def __init__(self, relay: bool) -> None:
        self.relay = relay
        self.frames = 0
        self.bytes = 0
        self.delivered = 0
        self.latest: bytes = b""
        self.published = 0
        self.new_frame = asyncio.Event()

    def publish(self, frame: bytes) -> None:
        self.latest = frame
        self.published += 1
        self.new_frame.set()
        self.new_frame = asyncio.Event()

    async def camera(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=9 * 1024 * 1024)
        await socket.prepare(request)
        in_transfer = False
        chunks: list[bytes] = []
        async for message in socket:
            if message.type is WSMsgType.BINARY:
                self.bytes += len(message.data)
                if not in_transfer:
                    self.frames += 1
                    if self.relay:
                        self.publish(message.data)
                elif self.relay:
                    chunks.append(message.data)
            elif message.type is WSMsgType.TEXT:
                text = message.data
                if '"img_start"' in text or '"frame_start"' in text:
                    in_transfer = True
                elif '"img_end"' in text or '"frame_end"' in text:
                    in_transfer = False
                    self.frames += 1
                    if self.relay:
                        self.publish(b"".join(chunks))
                        chunks.clear()
        return socket

    async def mjpeg(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace;boundary=frame"}
        )
        await response.prepare(request)
        sent = self.published
        while request.transport is not None and not request.transport.is_closing():
            if self.published == sent:
                # Wake up now and then to notice a viewer that left while no frame came.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self.new_frame.wait()
                continue
            frame, sent = self.latest, self.published
            try:
                await response.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                    % len(frame)
                )
                await response.write(frame)
                await response.write(b"\r\n")
            except ConnectionError:
                break
            self.delivered += 1
        return response

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"frames": self.frames, "bytes": self.bytes, "delivered": self.delivered}
        )


async def serve(port: int, relay: bool) -> None:
    floor = Floor(relay)
    app = web.Application()
    app.router.add_get("/", floor.camera)
    app.router.add_get("/mjpeg", floor.mjpeg)
    app.router.add_get("/stats", floor.stats)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--relay", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.port, arguments.relay))


if __name__ == "__main__":
    main()
