"""A bare page: ways to show pushed JPEGs in Chromium, their CPU and display latency side by side.

    .venv/bin/python -m bench.browser_decode                      # CPU, 4 pictures at 20 fps
    .venv/bin/python -m bench.browser_decode --latency --fps 1    # display latency of one picture

A local server pushes the simulator's stamped VGA JPEGs at a fixed rate, over a WebSocket with the
frame socket's header and acknowledgements (at most four unacknowledged per picture, the rest
skipped), or as an MJPEG stream (the hub's browser layout: each part ends at once). Chromium
(headless, driven without any DevTools domain: bench/quiet_browser.py) opens one page per way in
turn; for each, after a warm-up, the CPU of every Chromium process by kind over a window and the
frames painted (the page counts them), or the delay from a frame's sending to its first sight in
the picture (a sampler reads the stamp every 4 ms). Ways (`--ways`):

- `socket`: the WebSocket alone, nothing shown (what receiving costs);
- `blob-canvas`: a Blob, `createImageBitmap`, a `bitmaprenderer` canvas (the live picture before);
- `blob-2d`: the same onto a 2D canvas;
- `data-img`: a `data:` URL (`Uint8Array.toBase64`) of an <img> (the live picture now);
- `text-data-img`: the server sends each frame as base64 text (its picture's number, a comma, the
  text), which the page puts after `data:image/jpeg;base64,` of an <img>;
- `worker-data-img`: the socket in a Worker, which sends the main thread the base64 text;
- `worker-bitmap`: the socket in a Worker, which decodes (Blob, `createImageBitmap`) and transfers
  the bitmap to the main thread's `bitmaprenderer` canvas;
- `mjpeg`: an MJPEG <img> (HA's picture-entity card).

`--heap-mb 0,80` measures each way in a bare page and in one that first builds, and keeps reachable,
about 80 MB of small objects and strings (the shape of Home Assistant's states and its frontend's
objects; HA's dashboard page holds 16-19 MB, so 80 is a margin): what a page's own heap changes
in the cost of the ways, through V8's garbage collections (`js_heap_mb`: the heap measured).

Figures are for comparing the ways within one run; docs/performance.md quotes them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections import defaultdict
import itertools
import json
import os
from pathlib import Path
import struct
import time
from typing import Any

from aiohttp import web

from bench.browser import CHROMIUM_ARGS, HOST, STAMP_OF
from bench.browser_cpu import (
    descendants,
    load_average,
    percent_of_core,
    read_command_line,
    read_processes,
)
from bench.measure import summarize
from bench.quiet_browser import DevToolsError, QuietChromium
from bench.wire import with_sequence
from esp32_simulator.jpeg import STAMP_BLOCKS, PatternRenderer, stamp_block_size
from harness.hass_process import free_port

WAYS = (
    "socket",
    "blob-canvas",
    "blob-2d",
    "data-img",
    "text-data-img",
    "worker-data-img",
    "worker-bitmap",
    "mjpeg",
)
VGA = (640, 480)
LOOP_FRAMES = 64
HEADER = struct.Struct("<BBHIdHH")  # views/frame_socket.py HEADER
FRAMES_IN_FLIGHT = 4
WARMUP = 4.0
PAGE = """<!doctype html><html><head><style>
body { margin: 0; display: flex; flex-wrap: wrap; gap: 4px; }
.picture { width: %%WIDTH%%px; height: %%HEIGHT%%px; }
.picture canvas, .picture img { display: block; width: 100%; height: 100%; object-fit: contain; }
</style></head><body><script type="module">
const way = "%%WAY%%", count = %%COUNT%%, fps = %%FPS%%, heapMb = %%HEAP_MB%%;
// A heap like a big app's, kept reachable: objects of a few fields, strings, arrays, nested
// (about 360 bytes a state as V8 lays it out), so that a full collection has as much to mark.
window.retained = [];
for (let index = 0; index < heapMb * 2900; index += 1) {
  window.retained.push({
    entity_id: `sensor.retained_${index}`,
    state: String(index * 7),
    attributes: { friendly_name: `Retained ${index}`, unit: "°C", values: [index, index + 1, index + 2] },
    context: { id: `01J${index.toString(36).padStart(23, "0")}`, parent: null },
    last_changed: new Date(1.7e12 + index).toISOString(),
  });
}
window.painted = new Array(count).fill(0);
const pictures = [], shows = [];
for (let index = 0; index < count; index += 1) {
  const box = document.createElement("div");
  box.className = "picture";
  document.body.append(box);
  const painted = () => { window.painted[index] += 1; };
  if (way === "worker-data-img") {
    // The worker sent the base64 text: the main thread never holds the frame's bytes.
    const img = document.createElement("img");
    box.append(img);
    pictures.push(img);
    img.onload = () => { painted(); worker.postMessage(index); };
    img.onerror = () => worker.postMessage(index);
    shows.push((text) => { img.src = `data:image/jpeg;base64,${text}`; });
    continue;
  }
  if (way === "text-data-img") {
    const img = document.createElement("img");
    box.append(img);
    pictures.push(img);
    shows.push((text) => new Promise((done) => {
      img.onload = () => { painted(); done(); };
      img.onerror = done;
      img.src = "data:image/jpeg;base64," + text;
    }));
    continue;
  }
  if (way === "mjpeg" || way === "data-img" || way === "socket") {
    const img = document.createElement("img");
    if (way === "mjpeg") img.src = `/mjpeg?channel=${index}&fps=${fps}`;
    box.append(img);
    pictures.push(img);
    shows.push(way === "socket" ? async () => painted() : (bytes) => new Promise((done) => {
      img.onload = () => { painted(); done(); };
      img.onerror = done;
      img.src = `data:image/jpeg;base64,${bytes.toBase64()}`;
    }));
    continue;
  }
  const canvas = document.createElement("canvas");
  box.append(canvas);
  pictures.push(canvas);
  const context = canvas.getContext(way === "blob-2d" ? "2d" : "bitmaprenderer");
  if (way === "worker-bitmap") {
    // The worker decoded the frame: the main thread only hands the bitmap to the canvas.
    shows.push((bitmap) => { context.transferFromImageBitmap(bitmap); painted(); worker.postMessage(index); });
    continue;
  }
  shows.push(async (bytes) => {
    const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
    if (canvas.width !== bitmap.width) [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
    if (way === "blob-2d") { context.drawImage(bitmap, 0, 0); bitmap.close(); }
    else context.transferFromImageBitmap(bitmap);
    painted();
  });
}
// The socket in a worker (its own V8 heap): it hands the main thread a decoded bitmap or the
// base64 text, and acknowledges a frame once the main thread showed it.
const WORKER = `
  const socket = new WebSocket("ws://${location.host}/frames?count=${count}&fps=${fps}");
  socket.binaryType = "arraybuffer";
  onmessage = ({ data }) => socket.send(String(data));
  socket.onmessage = async ({ data }) => {
    const channel = new DataView(data).getUint16(2, true), jpeg = new Uint8Array(data, 20);
    if ("${way}" === "worker-bitmap") {
      try {
        const bitmap = await createImageBitmap(new Blob([jpeg], { type: "image/jpeg" }));
        postMessage({ channel, frame: bitmap }, [bitmap]);
      } catch { socket.send(String(channel)); }
    } else postMessage({ channel, frame: jpeg.toBase64() });
  };`;
const worker = way.startsWith("worker-")
  ? new Worker(URL.createObjectURL(new Blob([WORKER], { type: "text/javascript" }))) : null;
if (worker) worker.onmessage = ({ data }) => shows[data.channel](data.frame);
if (way !== "mjpeg" && !worker) {
  const text = way === "text-data-img";
  const socket = new WebSocket(`ws://${location.host}/frames?count=${count}&fps=${fps}&text=${text ? 1 : 0}`);
  socket.binaryType = "arraybuffer";
  socket.onmessage = async ({ data }) => {
    if (text) {
      const comma = data.indexOf(","), channel = Number(data.slice(0, comma));
      try { await shows[channel](data.slice(comma + 1)); } finally { socket.send(String(channel)); }
      return;
    }
    const channel = new DataView(data).getUint16(2, true);
    try { await shows[channel](new Uint8Array(data, 20)); } finally { socket.send(String(channel)); }
  };
}
%%STAMP_OF%%
window.startSampler = ([side, blocks]) => {
  const canvas = Object.assign(document.createElement("canvas"), { width: blocks * side, height: side });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const picture = pictures[0], seen = [], gaps = [];
  let last = null, tick = performance.now();
  window.sampler = { seen, gaps, timer: setInterval(() => {
    const now = performance.now();
    gaps.push(now - tick);
    tick = now;
    const width = picture.naturalWidth ?? picture.width;
    if (!width) return;
    const scale = width / %%VGA_WIDTH%%;
    context.drawImage(picture, 0, (%%VGA_HEIGHT%% - side) * scale, blocks * side * scale, side * scale,
      0, 0, blocks * side, side);
    const number = stampOf(context.getImageData(0, 0, blocks * side, side).data, side, blocks);
    if (number !== null && number !== last) seen.push([number, performance.timeOrigin + now]);
    last = number;
  }, 4) };
};
window.stopSampler = () => {
  clearInterval(window.sampler.timer);
  const gaps = window.sampler.gaps.slice(1).sort((a, b) => a - b);
  return { seen: window.sampler.seen, gap_p99: gaps[Math.floor(gaps.length * 0.99)] ?? 0 };
};
</script></body></html>
"""


class FrameServer:
    """Serves the page, the frames over a WebSocket and as MJPEG; keeps when each was sent."""

    def __init__(self, frames: list[bytes]) -> None:
        """Serve `frames` in a loop."""
        self.frames = frames
        # (picture, frame number in the loop) -> send times (s, epoch)
        self.sent: dict[tuple[int, int], list[float]] = defaultdict(list)
        self.page = ""
        # One sequence for all pictures: no two frames sent carry the same bytes (a picture's
        # number alone repeats another's a few frames later, and Chromium then reuses the
        # decoded `data:` URL: traced, 118 decodes for 400 frames).
        self._sequence = itertools.count(1)

    def app(self) -> web.Application:
        """The server's routes."""
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/frames", self._socket)
        app.router.add_get("/mjpeg", self._mjpeg)
        return app

    async def _page(self, _request: web.Request) -> web.Response:
        return web.Response(text=self.page, content_type="text/html")

    async def _paced(self, channel: int, fps: float, send: Any, closed: Any) -> None:
        number = channel * 7  # the pictures show different frames
        next_at = time.monotonic()
        while not closed():
            next_at += 1 / fps
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            number += 1
            handed = time.time()  # before the write: the page may show it before it returns
            jpeg = self.frames[number % len(self.frames)]
            # Every frame's bytes differ, as a camera's do (its number in a comment segment).
            unique = with_sequence(jpeg, next(self._sequence))
            if await send(channel, number, unique):
                self.sent[channel, number % len(self.frames)].append(handed)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        count, fps = int(request.query["count"]), float(request.query["fps"])
        as_text = request.query.get("text") == "1"
        # Uncompressed, as the hub's frame socket (JPEG does not shrink; inflating costs Chromium).
        socket = web.WebSocketResponse(compress=False)
        await socket.prepare(request)
        in_flight = [0] * count

        async def send(channel: int, number: int, jpeg: bytes) -> bool:
            if socket.closed or in_flight[channel] >= FRAMES_IN_FLIGHT:
                return False  # skipped, as the hub skips for a page that is behind
            in_flight[channel] += 1
            header = HEADER.pack(1, HEADER.size, channel, number, time.time() * 1000, *VGA)
            try:
                if as_text:
                    await socket.send_str(f"{channel}," + base64.b64encode(jpeg).decode("ascii"))
                else:
                    await socket.send_bytes(header + jpeg)
            except ConnectionError:  # the page went
                return False
            return True

        senders = [
            asyncio.create_task(self._paced(channel, fps, send, lambda: socket.closed))
            for channel in range(count)
        ]
        async for message in socket:
            if message.type == web.WSMsgType.TEXT:
                in_flight[int(message.data)] -= 1
        for sender in senders:
            sender.cancel()
        return socket

    async def _mjpeg(self, request: web.Request) -> web.StreamResponse:
        channel, fps = int(request.query["channel"]), float(request.query["fps"])
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace;boundary=frame"}
        )
        await response.prepare(request)
        part = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n"
        await response.write(part)
        closed = False

        async def send(_channel: int, _number: int, jpeg: bytes) -> bool:
            nonlocal closed
            try:
                await response.write(jpeg + b"\r\n" + part)
            except ConnectionError:
                closed = True
                return False
            return True

        await self._paced(channel, fps, send, lambda: closed)
        return response


def chromium_ticks() -> dict[tuple[int, int], tuple[str, int]]:
    """CPU ticks of each Chromium process below this one, by (pid, started): (kind, ticks)."""
    processes = read_processes()
    found = {}
    for pid in descendants(processes, os.getpid()):
        words = read_command_line(pid).replace("\0", " ").split()
        if not words or not Path(words[0]).name.startswith("chrom"):
            continue
        kind = next((w.split("=", 1)[1] for w in words if w.startswith("--type=")), "browser")
        if kind == "utility":  # the network service is one
            kind = next(
                (w.rsplit(".", 1)[-1] for w in words if w.startswith("--utility-sub-type=")),
                kind,
            )
        found[pid, processes[pid].started] = (kind, processes[pid].cpu_ticks)
    return found


def sent_count(server: FrameServer) -> int:
    """Frames sent so far, every picture."""
    return sum(len(times) for times in server.sent.values())


async def measure_cpu(
    page: Any, server: FrameServer, seconds: float, count: int, way: str
) -> dict[str, Any]:
    """CPU by kind of Chromium process (% of one core) and frames painted per picture per s
    (for MJPEG, which the page cannot count, the frames sent: an <img> shows each part)."""
    before, painted_before = chromium_ticks(), await page.evaluate("() => window.painted")
    sent_before = sent_count(server)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    after, painted_after = chromium_ticks(), await page.evaluate("() => window.painted")
    sent = sent_count(server) - sent_before
    elapsed = time.monotonic() - started
    used: dict[str, int] = defaultdict(int)
    for key, (kind, ticks) in after.items():
        used[kind] += ticks - before.get(key, (kind, 0))[1]
    by_kind = {kind: round(percent_of_core(ticks, elapsed), 1) for kind, ticks in used.items()}
    painted = sent if way == "mjpeg" else sum(painted_after) - sum(painted_before)
    total = percent_of_core(sum(used.values()), elapsed)
    return {
        "all": round(total, 1),
        "by_kind": {kind: value for kind, value in by_kind.items() if value},
        # V8's heap of the page once the window is over (the retained objects and the way's own)
        "js_heap_mb": round((await page.send("Runtime.getHeapUsage"))["usedSize"] / 2**20, 1),
        "painted_fps": round(painted / elapsed / count, 1),
        "sent_fps": round(sent / elapsed / count, 1),
        # ms of CPU per painted frame (the socket way paints nothing: per received frame)
        "ms_per_frame": round(total * 10 * elapsed / painted, 2) if painted else None,
    }


async def measure_latency(page: Any, server: FrameServer, seconds: float) -> dict[str, Any]:
    """The delay from a frame's sending to its first sight in the first picture (ms)."""
    since = time.time()
    await page.evaluate(
        "(args) => window.startSampler(args)", [stamp_block_size(*VGA), STAMP_BLOCKS]
    )
    await asyncio.sleep(seconds)
    sample = await page.evaluate("() => window.stopSampler()")
    delays = []
    for number, seen_at in sample["seen"]:
        sends = [at for at in server.sent[0, number] if at * 1000 <= seen_at]
        if sends and sends[-1] >= since:
            delays.append(seen_at - sends[-1] * 1000)
    figures = {key: round(value, 1) for key, value in summarize(delays).items()}
    return {**figures, "sampling_gap_p99": round(sample["gap_p99"], 1)}


async def run(arguments: argparse.Namespace) -> None:
    """Each way in turn, `arguments.rounds` times; a line of JSON per measurement."""
    renderer = PatternRenderer("bare")
    frames = [renderer.render(*VGA, frame_number=n, stamp=True) for n in range(LOOP_FRAMES)]
    server = FrameServer(frames)
    runner = web.AppRunner(server.app())
    await runner.setup()
    port = free_port(host="127.0.0.1")
    await web.TCPSite(runner, "127.0.0.1", port).start()
    count = 1 if arguments.latency else arguments.pictures
    width, height = arguments.size.split("x")
    try:
        async with QuietChromium(arguments.chromium, CHROMIUM_ARGS) as browser:
            for round_ in range(1, arguments.rounds + 1):
                for heap_mb, way in itertools.product(
                    arguments.heap_mb.split(","), arguments.ways.split(",")
                ):
                    values = {
                        "WAY": way,
                        "HEAP_MB": str(int(heap_mb)),
                        "COUNT": str(count),
                        "FPS": str(arguments.fps),
                        "WIDTH": width,
                        "HEIGHT": height,
                        "VGA_WIDTH": str(VGA[0]),
                        "VGA_HEIGHT": str(VGA[1]),
                        "STAMP_OF": STAMP_OF,
                    }
                    server.sent.clear()
                    server.page = PAGE
                    for name, value in values.items():
                        server.page = server.page.replace(f"%%{name}%%", value)
                    page = await browser.new_page(
                        f"http://{HOST}:{port}/", viewport={"width": 1920, "height": 1200}
                    )
                    # The heap is built before the page's pictures start: more for a big one.
                    await asyncio.sleep(WARMUP + int(heap_mb) / 20)
                    try:
                        if arguments.latency:
                            figures = await measure_latency(page, server, arguments.seconds)
                        else:
                            figures = await measure_cpu(page, server, arguments.seconds, count, way)
                    except DevToolsError as error:
                        figures = {"error": str(error)[:300]}
                    await page.close()
                    line = {
                        "way": way,
                        "heap_mb": int(heap_mb),
                        "round": round_,
                        **figures,
                        "load": load_average(),
                    }
                    print(json.dumps(line), flush=True)
    finally:
        await runner.cleanup()


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ways", default=",".join(WAYS), help=f"comma-separated: {WAYS}")
    parser.add_argument("--pictures", type=int, default=4, help="pictures of the CPU page")
    parser.add_argument("--fps", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=8.0, help="each measuring window")
    parser.add_argument("--size", default="480x360", help="each picture's CSS size")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--heap-mb",
        default="0",
        help="comma-separated: MB of objects each page keeps reachable before it shows frames",
    )
    parser.add_argument("--latency", action="store_true", help="display latency of one picture")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
