"""The live pictures in Chromium: display latency, each camera at its rate, one socket per page.

Display latency, a frame's completion to its display at 20 and 1 fps, on the panel's video, the
camera's grid tile and the card (bench/browser.py measures; the figures of each attempt are
written to e2e-output/display-latency-<attempt>.json); eight cards on one dashboard, four MJPEG
streams and the page's one frame socket, across a token change; the grid at a 20 fps camera's rate and nothing
sent for tiles out of view; and the bench's un-instrumented Chromium (bench/quiet_browser.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
import json
from pathlib import Path
import time

from aiohttp import web
from playwright.async_api import Page, WebSocket
import pytest

from bench.browser import CHROMIUM_ARGS, measure_display_latency
from bench.quiet_browser import DevToolsError, QuietChromium
from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, free_port, wait_until
from tests.e2e.browser_helpers import (
    CAMERA_COUNT,
    OUTPUT,
    WatchedBrowser,
    at_least,
    log,
    open_page,
    pictures_moving,
    send_command,
    translated,
)

# Display latency targets (ms) on this machine: p50 and p99 at 20 fps, p50 at 1 fps. Each frame is
# an <img>'s data: URL (live.js), decoded at paint as HA's MJPEG <img> (p50 3.9 / p99 17 ms at
# 20 fps, 6.7 ms at 1 fps on a quiet machine); the Blob + createImageBitmap path it replaced needed
# 30 / 120 and 80 ms (docs/performance.md).
LATENCY_TARGETS = {20: (20.0, 60.0), 1: (30.0, None)}
LATENCY_SECONDS = {20: 20.0, 1: 12.0}
GRID_FPS = 8  # the cameras' rate in the other tests


async def set_fps(hass: HomeAssistant, camera: SimulatedCamera, fps: int) -> None:
    """Set a camera's frame rate with the send_command action; wait until it applies."""
    await send_command(hass, camera.display_id, "fps", fps)
    await camera.wait_for(lambda camera: camera.fps == fps, timeout=15)


def latency_failures(figures: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Log the figures; return the targets they miss."""
    failures = []
    for fps, (p50_target, p99_target) in LATENCY_TARGETS.items():
        for name, summary in figures[f"{fps} fps"].items():
            log(
                f"display latency at {fps} fps, {name}: p50 {summary['p50']} ms, p99 "
                f"{summary['p99']} ms over {summary['count']:g} frames (sampled every "
                f"{summary['sampling_gap_p99']} ms at p99)"
            )
            if summary["count"] < (2 if fps == 1 else 20):
                failures.append(f"{name} at {fps} fps: only {summary['count']:g} frames seen")
            elif summary["p50"] > p50_target or (
                p99_target is not None and summary["p99"] > p99_target
            ):
                failures.append(f"{name} at {fps} fps: {summary}")
    return failures


async def test_display_latency_meets_its_targets(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    card_path: str,
) -> None:
    """The first camera's frames are displayed within the targets at 20 and 1 fps.

    This machine is shared: a measurement that misses a target is repeated once, and fails only
    when the second misses too (both are logged).
    """
    # The other cameras idle at 1 fps meanwhile: on this shared 2-core machine eight busy grid
    # tiles starve the page's sampler (scripts/bench measures one camera alone).
    try:
        for other in cameras[1:]:
            await set_fps(home_assistant, other, 1)
        for attempt in (1, 2):
            figures = await measure_display_latency(
                lambda path: open_page(browser, home_assistant, path, dark=False, phone=False),
                home_assistant,
                cameras[0],
                card_path,
                LATENCY_SECONDS,
            )
            failures = latency_failures(figures)
            OUTPUT.mkdir(exist_ok=True)
            (OUTPUT / f"display-latency-{attempt}.json").write_text(
                json.dumps(figures, indent=2) + "\n", encoding="utf-8"
            )
            if not failures:
                break
            log(f"display latency above target (attempt {attempt}): {failures}")
    finally:  # the tests after this one see every camera at the usual rate
        for camera in cameras:
            await set_fps(home_assistant, camera, GRID_FPS)
    assert not failures, f"display latency above target twice: {failures}"


EIGHT_CARDS = "e2e-eight"
FRAME_SOCKET = "/api/esp32_camera/frames"
MJPEG_STREAM = "/api/camera_proxy_stream/"


class FrameSocketWatch:
    """The page's frame sockets as the browser sees them: watches sent, frames received per camera."""

    def __init__(self, page: Page) -> None:
        """Watch `page`'s WebSockets from now on (open the page after)."""
        self.opened = 0
        self.cameras: dict[int, str] = {}
        self.frames: Counter[str] = Counter()
        page.on("websocket", self._socket)

    def _socket(self, socket: WebSocket) -> None:
        if FRAME_SOCKET not in socket.url:
            return
        self.opened += 1
        socket.on("framesent", self._sent)
        socket.on("framereceived", self._received)

    def _sent(self, payload: str | bytes) -> None:
        message = json.loads(payload)
        if message["type"] == "watch":
            self.cameras[message["channel"]] = message["camera_id"]

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):  # a frame: its channel is in its header (stream.js)
            self.frames[self.cameras.get(int.from_bytes(payload[2:4], "little"), "?")] += 1


# The page's own store.js (the module Home Assistant loaded), driven by a connection whose answers
# come back late by a given delay while the hub's clock was read at once (a queue on the way
# back, as under load): the first round trip (the load's) is long, the later ones short.
# What a loaded machine's timers add to a mocked round trip, against the 150 ms and more by which
# the first (long) round trip's estimate is off.
CLOCK_JITTER_MS = 15
CLOCK_SAMPLING = """
async ([offset, delays]) => {
  const url = performance.getEntriesByType("resource").map((entry) => entry.name)
    .find((name) => name.includes("/esp32_camera") && name.endsWith("/store.js"));
  const { CameraStore, CLOCK_SAMPLES } = await import(url);
  let calls = 0;
  const connection = {
    sendMessagePromise: async () => {
      const delay = delays[Math.min(calls, delays.length - 1)];
      calls += 1;
      const now = Date.now() + offset;
      await new Promise((resolve) => setTimeout(resolve, delay));
      const resolution = { index: 0, key: "VGA", name: "VGA", width: 640, height: 480, risk: "" };
      return { now, cameras: [], hubs: [], resolutions: [resolution], default_resolution: 0,
        commands: {}, zone_limits: {} };
    },
    subscribeMessage: async () => async () => {},
    addEventListener() {},
    removeEventListener() {},
  };
  const store = new CameraStore(connection);
  const shown = [];
  const stop = store.listen(() => shown.push([store.clockOffset, store.clockUncertainty]));
  while (calls < CLOCK_SAMPLES || store.clockSampling) await new Promise((r) => setTimeout(r, 50));
  stop();
  return { samples: CLOCK_SAMPLES, calls, first: shown[0],
    offset: store.clockOffset, uncertainty: store.clockUncertainty };
}
"""


async def test_the_clock_offset_is_the_shortest_round_trips_of_a_few(
    browser: WatchedBrowser, home_assistant: HomeAssistant, card_path: str
) -> None:
    """The latency chip's clock offset: a long first round trip (a busy moment) is not believed
    once shorter ones came; the offset is the shortest's, known to within half of it."""
    page = await open_page(browser, home_assistant, card_path, dark=False, phone=False)
    try:
        await page.locator("esp32-camera-card esp32-camera-live").first.wait_for(timeout=30000)
        offset = 5000
        found = await page.evaluate(CLOCK_SAMPLING, [offset, [300, 40, 4, 80, 20]])
    finally:
        await page.context.close()
    log(f"clock samples: {found}")
    assert found["calls"] == found["samples"] >= 3
    first_offset, first_uncertainty = found["first"]
    # The hub read its clock at the start of each trip, so each estimate is early by its
    # uncertainty, give or take the few ms a loaded machine's timers and awaits add between the
    # store's clock and the mock's (CI: 4 ms, once on the shortest trip, once on the first).
    # The load's estimate alone: off by half its long round trip, and said so.
    assert first_uncertainty >= 150
    assert abs(first_offset - (offset - first_uncertainty)) <= CLOCK_JITTER_MS
    # Then the shortest round trip's, its uncertainty far smaller.
    assert found["uncertainty"] < min(20, first_uncertainty / 4)
    assert abs(found["offset"] - (offset - found["uncertainty"])) <= CLOCK_JITTER_MS


async def test_eight_cards_on_one_dashboard_paint_within_six_connections_across_token_changes(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """Eight cards (one per camera) all paint: four as MJPEG streams, four over one frame socket.

    With MJPEG <img>s only, the browser's six connections per host left two cards blank, and a
    new camera access token (every 5 minutes) made every card open a new stream, none of which
    loaded. The cards hold at most four streams (signed paths, opened once) and go on when the
    tokens change.
    """
    async with home_assistant.websocket() as call:
        listing = await call("esp32_camera/cameras")
        entities = [camera["entity_id"] for camera in listing["cameras"]][:CAMERA_COUNT]
        await call(
            "lovelace/dashboards/create", url_path=EIGHT_CARDS, title="Eight", mode="storage"
        )
        card = {"type": "custom:esp32-camera-card", "show_controls": False, "show_stats": False}
        await call(
            "lovelace/config/save",
            url_path=EIGHT_CARDS,
            config={
                "views": [
                    {
                        "title": "Eight",
                        "type": "sections",
                        "max_columns": 4,
                        "sections": [
                            {
                                "type": "grid",
                                "cards": [
                                    {**card, "entity": entity, "grid_options": {"columns": 12}}
                                    for entity in entities[half : half + 2]
                                ],
                            }
                            for half in range(0, CAMERA_COUNT, 2)
                        ],
                    }
                ]
            },
        )
    assert len(entities) == CAMERA_COUNT
    page = await open_page(browser, home_assistant, f"/{EIGHT_CARDS}/0", dark=False, phone=False)
    sockets = FrameSocketWatch(page)
    streams: list[str] = []
    page.on(
        "request",
        lambda request: streams.append(request.url) if MJPEG_STREAM in request.url else None,
    )
    # Four columns of two cards: every card on screen at once (a card out of view paints nothing).
    await page.set_viewport_size({"width": 1920, "height": 1080})
    await page.reload()  # watched from the first message
    pictures = "esp32-camera-card esp32-camera-viewer .video esp32-camera-live"

    async def ways() -> list[str]:
        found: list[str] = await page.locator(pictures).evaluate_all(
            "pictures => pictures.map((live) => live.dataset.way || '')"
        )
        return found

    async def all_moving() -> bool:
        moving = await pictures_moving(page, pictures)
        return len(moving) == CAMERA_COUNT and all(moving)

    await wait_until("eight cards painting", all_moving, timeout=60)
    await page.screenshot(path=shots / "cards-8.png")
    shown = await ways()
    assert sorted(shown) == ["mjpeg"] * 4 + ["socket"] * 4, shown
    opened = len(streams)
    assert opened == 4, f"{opened} MJPEG streams for one page: {streams}"
    assert all("authSig=" in url and "token=" not in url for url in streams), streams
    assert sockets.opened == 1, f"{sockets.opened} frame sockets for one page"
    on_socket = {entity for entity, way in zip(entities, shown, strict=True) if way == "socket"}
    by_entity = {camera["entity_id"]: camera["camera_id"] for camera in listing["cameras"]}
    assert set(sockets.frames) == {by_entity[entity] for entity in on_socket}, sockets.frames
    # A token change, as the frontend sees it every 5 minutes: each camera entity's state comes
    # with a new access_token. The cards do not depend on it: every one goes on painting, and no
    # stream is opened again.
    async with home_assistant.websocket() as call:
        states = {state["entity_id"]: state for state in await call("get_states")}
    for entity in entities:
        state = states[entity]
        await home_assistant.post(
            f"/api/states/{entity}",
            {
                "state": state["state"],
                "attributes": {**state["attributes"], "access_token": f"changed-{time.time()}"},
            },
        )
    await wait_until("eight cards painting after the token change", all_moving)
    assert len(streams) == opened, f"the token change opened streams again: {streams[opened:]}"
    assert sockets.opened == 1, "the token change opened another frame socket"
    # A stream given back (its card frozen) goes to a card that was on the socket.
    first = shown.index("mjpeg")
    frozen = page.locator("esp32-camera-card esp32-camera-viewer").nth(first)
    await frozen.locator(f'button[aria-label="{translated("viewer.freeze")}"]').click()

    async def promoted() -> bool:
        now = await ways()
        return len(streams) == opened + 1 and now.count("mjpeg") == 5

    await wait_until("a card on the socket taking the stream given back", promoted, timeout=10)
    log(
        f"eight cards: four MJPEG streams and one frame socket, all painting, also after a token "
        f"change (frames received over the socket per camera: {dict(sockets.frames)}); a frozen "
        "card's stream went to a card on the socket"
    )
    await page.context.close()


async def test_the_grid_paints_each_camera_at_its_rate_and_nothing_out_of_view(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
) -> None:
    """A 20 fps camera's tile paints what the camera sends (no 1/15 s cap), and tiles scrolled
    out of the strip receive nothing until they scroll in."""
    fast = cameras[0]
    try:
        await set_fps(home_assistant, fast, 20)
        page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=False)
        tile = page.locator(f'esp32-camera-panel .tile[data-camera="{fast.camera_id}"]')
        await wait_until("the fast camera's tile", lambda: at_least(tile, 1), timeout=60)
        # Another camera in the video: the fast one's tile is its only picture on the page.
        await page.locator(
            f'esp32-camera-panel .tile[data-camera="{cameras[1].camera_id}"]'
        ).click()
        await asyncio.sleep(3)  # past the first frames
        sent, shown = fast.frames_sent, int(await tile.get_attribute("data-frames") or 0)
        await asyncio.sleep(5)
        sent = fast.frames_sent - sent
        shown = int(await tile.get_attribute("data-frames") or 0) - shown
        log(f"grid: the 20 fps camera sent {sent / 5:.1f}/s, its tile painted {shown / 5:.1f}/s")
        assert sent >= 5 * 16, f"the camera sent only {sent} frames in 5 s"
        # The old fixed 1/15 s gap painted one frame in two of a 20 fps camera. On a loaded
        # machine the page's main thread stalls and paints fewer than the camera sends (newest
        # wins: nothing queues), so the bound is above one in two, not every frame.
        assert shown > 0.6 * sent, f"the tile painted {shown} of {sent} frames"
        await page.context.close()
        page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=True)
        sockets = FrameSocketWatch(page)
        await page.reload()
        await wait_until(
            "the tiles", lambda: at_least(page.locator(".tile"), CAMERA_COUNT), timeout=60
        )
        await asyncio.sleep(3)
        # On a phone the strip shows three tiles: the last ones (not the selected camera, whose
        # video shares its channel) get no frame while out of view.
        strip = page.locator("esp32-camera-panel .grid")
        hidden = [camera.display_id for camera in cameras[-3:]]  # the e2e cameras have ids
        for camera_id in hidden:
            box = await page.locator(f'.tile[data-camera="{camera_id}"]').bounding_box()
            assert box is not None, f"{camera_id} has no tile"
            assert box["x"] > 390 + 64, f"{camera_id}'s tile is in view: {box}"
        received = {camera_id: sockets.frames[camera_id] for camera_id in hidden}
        await asyncio.sleep(3)
        assert {c: sockets.frames[c] for c in hidden} == received, (
            f"tiles out of view received frames: {received} then {dict(sockets.frames)}"
        )
        assert received == dict.fromkeys(hidden, 0), f"out of view from the start: {received}"
        await strip.evaluate("strip => strip.scrollTo({ left: strip.scrollWidth })")

        async def scrolled_in() -> bool:
            return all(sockets.frames[camera_id] > 0 for camera_id in hidden)

        await wait_until("the tiles scrolled in to receive frames", scrolled_in)
        log(f"grid on a phone: {hidden} received nothing out of view, frames once scrolled in")
        await page.context.close()
    finally:
        await set_fps(home_assistant, fast, GRID_FPS)


QUIET_MESSAGES = 20
QUIET_PAGE = """<!doctype html><script>
window.received = 0;
window.signedIn = localStorage.getItem("signedIn");
const socket = new WebSocket(`ws://${location.host}/frames`);
socket.binaryType = "arraybuffer";
socket.onmessage = (event) => { window.received += event.data.byteLength; };
</script><p>quiet</p>"""


async def test_the_benchs_quiet_chromium_drives_a_page_without_reporting_its_websocket(
    pytestconfig: pytest.Config, tmp_path: Path
) -> None:
    """bench/quiet_browser.py: the page finds the storage given, evaluate returns values and
    raises a script's error, a screenshot is written, and a page receiving WebSocket messages
    makes Chromium send no DevTools event (Playwright's Network domain copies every message)."""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=QUIET_PAGE, content_type="text/html")

    async def frames(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        for _ in range(QUIET_MESSAGES):
            await socket.send_bytes(bytes(50_000))
        await socket.receive()  # until the page goes
        return socket

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/frames", frames)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port(host="127.0.0.1")
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        chromium = str(pytestconfig.getoption("chromium"))
        async with QuietChromium(chromium, CHROMIUM_ARGS) as browser:
            quiet = await browser.new_page(
                f"http://127.0.0.1:{port}/",
                viewport={"width": 800, "height": 600},
                storage={"signedIn": "yes"},
            )

            async def all_received() -> bool:
                try:
                    received = await quiet.evaluate("() => window.received")
                except DevToolsError:  # still loading
                    return False
                return bool(received == QUIET_MESSAGES * 50_000)

            await wait_until("the page's WebSocket messages", all_received)
            assert await quiet.evaluate("() => window.signedIn") == "yes"
            assert await quiet.evaluate("([a, b]) => a + b", [2, 3]) == 5
            assert await quiet.evaluate("() => innerWidth") == 800
            with pytest.raises(DevToolsError, match="broken"):
                await quiet.evaluate("() => { throw new Error('broken'); }")
            await quiet.screenshot(tmp_path / "page.png")
            assert (tmp_path / "page.png").read_bytes().startswith(b"\x89PNG")
            assert quiet.events == 0
            await quiet.close()
    finally:
        await runner.cleanup()
