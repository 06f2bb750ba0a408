"""Display latency in the real browser: from a frame's completion to its first display.

The simulator stamps each frame's number into the picture as black and white blocks
(`esp32_simulator.draw_frame_stamp`) and keeps the wall-clock time it sent each numbered frame.
The page samples the displayed images every few milliseconds (each image drawn into a canvas, the
blocks read back) and keeps, per image, when each number was first seen. The delay of a frame is
that first sighting minus the time the simulator sent its last byte: the hub completes the frame
when that byte arrives over loopback (a fraction of a millisecond later), so the figure slightly
over-states the delay from the hub's completion. Both clocks are the machine's wall clock.

The page is opened over plain http on a host name mapped to loopback, as most people open Home
Assistant (`http://homeassistant.local:8123`): not a secure context, so Chromium sends no
`Sec-Fetch-*` headers.

Used by `scripts/e2e` (targets checked) and `scripts/bench --only browser` (figures reported).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import json
import time
from typing import TYPE_CHECKING, Any

from playwright.async_api import Browser, Locator, Page, async_playwright

from bench.measure import summarize

if TYPE_CHECKING:
    from bench.testbed import Bench
    from esp32_simulator import SimulatedCamera
    from harness.hass_process import HomeAssistant

HOST = "esp32-test.local"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
]
CARD_DASHBOARD = "e2e-cams"
type OpenPage = Callable[[str], Awaitable[Page]]

# A frame stamp's number from the pixels of a strip of `blocks` squares of `side` px (RGBA, the
# strip's width a row): null without its two marker blocks. Same block layout and threshold as
# esp32_simulator.read_frame_stamp; both samplers of the benchmarks use it.
STAMP_OF = """
  const stampOf = (pixels, side, blocks) => {
    const rowWidth = blocks * side;
    let number = 0;
    for (let index = 0; index < blocks; index += 1) {
      let sum = 0, count = 0;
      for (let y = side / 4; y < (3 * side) / 4; y += 1) {
        for (let x = index * side + side / 4; x < index * side + (3 * side) / 4; x += 1) {
          const at = (y * rowWidth + x) * 4;
          sum += (pixels[at] + pixels[at + 1] + pixels[at + 2]) / 3;
          count += 1;
        }
      }
      const bit = sum / count >= 128 ? 1 : 0;
      if (index === 0 && bit !== 1) return null;
      if (index === 1 && bit !== 0) return null;
      if (index >= 2) number = number * 2 + bit;
    }
    return number;
  };
"""
# The page's sampler: one interval timer reads every watched image's stamp.
SAMPLER = (
    """
([images, bits]) => {
  const blocks = 2 + bits;"""
    + STAMP_OF
    + """
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const seen = images.map(() => ({}));
  const gaps = [];
  let last = performance.now();
  const read = (image) => {
    // An <img>, or a live picture (<esp32-camera-live>: the <img> it shows, `picture`; a canvas
    // may hold the frame decoded smaller than the frame, which naturalWidth gives).
    const source = image.picture ?? image.canvas ?? image;
    const width = image.naturalWidth, height = image.naturalHeight;
    if (!width || !image.isConnected || !(source.naturalWidth ?? source.width)) return null;
    const side = [16, 8].find((size) => blocks * size <= width && size <= height);
    if (!side) return null;
    const scale = source instanceof HTMLCanvasElement ? source.width / width : 1;
    canvas.width = blocks * side;
    canvas.height = side;
    context.drawImage(
      source, 0, (height - side) * scale, blocks * side * scale, side * scale,
      0, 0, blocks * side, side,
    );
    return stampOf(context.getImageData(0, 0, blocks * side, side).data, side, blocks);
  };
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
    const at = performance.timeOrigin + now;
    images.forEach((image, index) => {
      const number = read(image);
      if (number !== null && !(number in seen[index])) seen[index][number] = at;
    });
  }, 4);
  window.__esp32StampSampler = { timer, seen, gaps };
}
"""
)
STOP = """
() => {
  const sampler = window.__esp32StampSampler;
  clearInterval(sampler.timer);
  const gaps = sampler.gaps.slice(1).sort((a, b) => a - b);
  return { seen: sampler.seen, gap_p99: gaps[Math.floor(gaps.length * 0.99)] ?? null,
           gap_max: gaps[gaps.length - 1] ?? null };
}
"""
STAMP_BITS = 16


async def start_sampling(page: Page, images: list[Locator]) -> None:
    """Start sampling the stamps of `images` (each an <img> or an <esp32-camera-live>)."""
    handles = [await image.element_handle() for image in images]
    await page.evaluate(SAMPLER, [handles, STAMP_BITS])


async def stop_sampling(page: Page) -> dict[str, Any]:
    """Stop sampling; return, per image, {number: first seen (ms since the epoch)} and gaps."""
    result: dict[str, Any] = await page.evaluate(STOP)
    return result


def display_delays_ms(
    seen: Mapping[str, float], sent_at: Mapping[int, float], since: float
) -> list[float]:
    """Return, per frame sent after `since` (s) and seen, its delay to its first display (ms).

    Frames sent before sampling began are left out: they may have been on screen already.
    """
    delays = []
    for number, seen_ms in seen.items():
        sent = sent_at.get(int(number))
        if sent is not None and sent >= since:
            delays.append(seen_ms - sent * 1000)
    return delays


def latency_summary(
    seen: Mapping[str, float], sent_at: Mapping[int, float], since: float
) -> dict[str, float]:
    """Return count, p50, p99 and max of the display delays (ms)."""
    delays = display_delays_ms(seen, sent_at, since)
    return {key: round(value, 1) for key, value in summarize(delays).items()}


def page_url(hass: HomeAssistant) -> str:
    """Return Home Assistant's URL as the browser opens it (a host name, plain http)."""
    return f"http://{HOST}:{hass.port}"


def login_storage(hass: HomeAssistant, tokens: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The localStorage that signs a page in as the owner or as the user of `tokens` (HA keeps
    its tokens there)."""
    given = hass.tokens if tokens is None else tokens
    stored = {
        **given,
        "hassUrl": page_url(hass),
        "clientId": f"{hass.url}/",
        "expires": int(time.time() * 1000) + given["expires_in"] * 1000,
    }
    return {"hassTokens": json.dumps(stored)}


async def open_logged_in(
    browser: Browser,
    hass: HomeAssistant,
    path: str,
    *,
    tokens: Mapping[str, Any] | None = None,
    on_page: Callable[[Page], None] | None = None,
    **context: Any,
) -> Page:
    """Open `path` as the owner or as the user of `tokens` (kept in localStorage, as HA does).

    `on_page` gets the page before it loads (to watch its WebSocket from the first message).
    """
    browser_context = await browser.new_context(**context)
    await browser_context.add_init_script(
        "".join(
            f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)});"
            for key, value in login_storage(hass, tokens).items()
        )
    )
    page = await browser_context.new_page()
    if on_page is not None:
        on_page(page)
    await page.goto(f"{page_url(hass)}{path}")
    return page


async def create_card_dashboard(hass: HomeAssistant, entity_id: str) -> str:
    """Add a dashboard with the card of `entity_id`; return its path."""
    async with hass.websocket() as call:
        await call(
            "lovelace/dashboards/create", url_path=CARD_DASHBOARD, title="Cameras", mode="storage"
        )
        await call(
            "lovelace/config/save",
            url_path=CARD_DASHBOARD,
            config={
                "views": [
                    {
                        "title": "Cameras",
                        "cards": [{"type": "custom:esp32-camera-card", "entity": entity_id}],
                    }
                ]
            },
        )
    return f"/{CARD_DASHBOARD}/0"


async def measure_display_latency(
    open_page: OpenPage,
    hass: HomeAssistant,
    camera: SimulatedCamera,
    card_path: str,
    seconds: Mapping[int, float],
) -> dict[str, dict[str, dict[str, float]]]:
    """Return, per frame rate in `seconds`, the display delays of the panel, a tile and the card.

    The three are open at once (the panel's video and the camera's grid tile in one page, the
    card in another); the camera's rate is set with the send_command action.
    """
    panel = await open_page("/esp32-cameras")
    card = await open_page(card_path)
    tile_selector = f'esp32-camera-panel .tile[data-camera="{camera.camera_id}"] esp32-camera-live'
    images = {
        "panel video": (
            panel,
            panel.locator("esp32-camera-panel esp32-camera-viewer .video esp32-camera-live"),
        ),
        "grid tile": (panel, panel.locator(tile_selector)),
        "card": (
            card,
            card.locator("esp32-camera-card esp32-camera-viewer .video esp32-camera-live"),
        ),
    }
    for _page, image in images.values():
        await image.first.wait_for(timeout=30000)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for fps, duration in seconds.items():
        await hass.post(
            "/api/services/esp32_camera/send_command",
            {"camera_id": camera.camera_id, "command": "fps", "value": fps},
        )

        def at_rate(shown: SimulatedCamera, fps: int = fps) -> bool:
            return shown.fps == fps

        await camera.wait_for(at_rate, timeout=15)
        await asyncio.sleep(2.5)  # frames at the new rate on every screen
        since = time.time()
        for page in (panel, card):
            await start_sampling(
                page, [image.first for shown, image in images.values() if shown is page]
            )
        await asyncio.sleep(duration)
        samples = {page: await stop_sampling(page) for page in (panel, card)}
        sent_at = dict(camera.stamp_sent_at)
        position = dict.fromkeys((panel, card), 0)
        rate: dict[str, dict[str, float]] = {}
        for name, (page, _image) in images.items():
            sample = samples[page]
            rate[name] = latency_summary(sample["seen"][position[page]], sent_at, since)
            rate[name]["sampling_gap_p99"] = round(sample["gap_p99"], 1)
            position[page] += 1
        figures[f"{fps} fps"] = rate
    for page in (panel, card):
        await page.context.close()
    return figures


def table_lines(figures: Mapping[str, Any]) -> list[str]:
    """Return the workload's lines of the bench table."""
    lines = ["", "Browser display latency (frame sent -> first display in Chromium, ms)"]
    for rate, shown in figures.items():
        if not rate.endswith("fps"):
            continue
        for name, summary in shown.items():
            lines.append(
                f"{rate:>7} {name:<12} p50 {summary['p50']:>7.1f}  p99 {summary['p99']:>7.1f}  "
                f"frames {summary['count']:>4g}  sampling gap p99 {summary['sampling_gap_p99']} ms"
            )
    return lines


async def run_workload(hass: HomeAssistant, stream_port: int, hub_token: str) -> dict[str, Any]:
    """The bench's `browser` workload: one stamped VGA camera, headless Chromium."""
    from esp32_simulator import SimulatedCamera

    camera = SimulatedCamera(
        "127.0.0.1",
        stream_port,
        camera_id="browser-1",
        name="Browser 1",
        token=hub_token,
        resolution=5,
        mode="speed",
        pacing=False,
        stamp_frames=True,
    )
    camera.start()
    try:
        await camera.wait_frames(3, timeout=30)

        async def entity_id() -> str:
            async with hass.websocket() as call:
                listing = await call("esp32_camera/cameras")
            found = [c["entity_id"] for c in listing["cameras"] if c["camera_id"] == "browser-1"]
            return str(found[0]) if found and found[0] else ""

        deadline = time.monotonic() + 60
        while not (entity := await entity_id()) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        card_path = await create_card_dashboard(hass, entity)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            figures = await measure_display_latency(
                lambda path: open_logged_in(
                    browser, hass, path, viewport={"width": 1440, "height": 1000}
                ),
                hass,
                camera,
                card_path,
                {20: 20.0, 1: 30.0},
            )
            await browser.close()
    finally:
        await camera.stop()
    return {"camera": "VGA, stamped", **figures}


async def run(bench: Bench) -> None:
    """The bench's `browser` workload: its figures in bench.results["browser"]."""
    bench.results["browser"] = await run_workload(bench.hass, bench.stream_port, bench.hub_token)


def table(results: dict[str, Any]) -> list[str]:
    """The bench's table section for the browser workload, when it ran."""
    return table_lines(figures) if (figures := results.get("browser")) else []
