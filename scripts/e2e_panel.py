"""End-to-end test of the panel and the card: real `hass`, simulated cameras, headless Chromium.

Run through `scripts/e2e`. Starts Home Assistant with a fresh configuration directory on free ports,
completes onboarding and adds the hub through the REST API, streams eight simulated cameras into
it, opens the panel in Chromium (Playwright) and checks what a user sees. Screenshots (light and
dark theme, desktop and phone widths) are written to docs/screenshots/.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
import io
from itertools import pairwise
import json
import os
from pathlib import Path
import re
import shutil
import sys
import tempfile
import time
from typing import Any

from PIL import Image, ImageDraw  # Home Assistant's dependency
from playwright.async_api import Browser, Locator, Page, WebSocket, async_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.browser import (  # noqa: E402
    CHROMIUM_ARGS,
    create_card_dashboard,
    measure_display_latency,
    open_logged_in,
)
from custom_components.esp32_camera.clips import AviWriter, read_avi  # noqa: E402
from custom_components.esp32_camera.disk.layout import clip_path  # noqa: E402
from esp32_simulator import SimulatedCamera  # noqa: E402
from esp32_simulator.scenes import build_scenes  # noqa: E402
from harness.hass_process import (  # noqa: E402
    HassProcessError,
    HomeAssistant,
    camera_entities,
    free_port,
    wait_until,
)

TRANSLATIONS = REPO / "custom_components" / "esp32_camera" / "frontend" / "translations"

CAMERA_COUNT = 8
GRID_RESOLUTION = 3  # QVGA: eight cameras stay light for a CI machine
DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}
# Display latency targets (ms) on this machine: p50 and p99 at 20 fps, p50 at 1 fps.
LATENCY_TARGETS = {20: (20.0, 60.0), 1: (30.0, None)}
LATENCY_SECONDS = {20: 20.0, 1: 12.0}
# Commands the browser sent that Home Assistant answered with an error: none may fail.
FAILED_COMMANDS: list[str] = []
# Errors thrown in the page by our modules: none may happen.
PAGE_ERRORS: list[str] = []
# Camera commands the browser sent, as (command, value).
SENT_COMMANDS: list[tuple[str, Any]] = []
# The motion check's camera: a scene with labelled motion, as the demo's, and its cool-down.
MOTION_SCENE = "crossing"
MOTION_RESOLUTION = 5  # VGA
MOTION_COOLDOWN = 2  # seconds: each walker is a motion (and a clip) of its own
# A saved clip is in the Clips card within this many seconds: pushed (at most every second).
CLIP_LISTED_WITHIN = 5.0


class CheckFailedError(AssertionError):
    """An end-to-end check failed."""


def log(message: str) -> None:
    """Print a progress line."""
    print(f"[e2e] {message}", flush=True)


def watch_results(socket: WebSocket, failed: list[str]) -> None:
    """Record every command of the page's WebSocket that Home Assistant answers with an error."""
    sent: dict[int, str] = {}

    def on_sent(payload: str | bytes) -> None:
        for message in decode_messages(payload):
            kind = message.get("type", "?")
            if kind == "esp32_camera/command":
                SENT_COMMANDS.append((message["command"], message.get("value")))
            if kind == "unsubscribe_events":  # name what it ends
                kind = f"unsubscribe_events of {sent.get(message.get('subscription', -1), '?')}"
            sent[message.get("id", -1)] = kind

    def on_received(payload: str | bytes) -> None:
        for message in decode_messages(payload):
            if message.get("type") == "result" and not message.get("success", True):
                failure = f"{sent.get(message['id'], '?')}: {message.get('error')}"
                log(f"browser command failed: {failure}")
                failed.append(failure)

    socket.on("framesent", on_sent)
    socket.on("framereceived", on_received)


def decode_messages(payload: str | bytes) -> list[dict[str, Any]]:
    """Return the messages of one WebSocket frame (Home Assistant may coalesce them in a list)."""
    if not isinstance(payload, str) or not payload.startswith(("{", "[")):
        return []
    data = json.loads(payload)
    return data if isinstance(data, list) else [data]


async def open_page(
    browser: Browser,
    hass: HomeAssistant,
    path: str,
    *,
    dark: bool,
    phone: bool,
    language: str | None = None,
    tokens: dict[str, Any] | None = None,
) -> Page:
    """Open `path` logged in (the owner unless `tokens`), over plain http on a host name.

    `language` is the browser's language, which Home Assistant follows for a user who chose none.
    """
    return await open_logged_in(
        browser,
        hass,
        path,
        tokens=tokens,
        on_page=watch_page,
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        color_scheme="dark" if dark else "light",
        accept_downloads=True,
        **({"locale": language} if language else {}),
    )


def on_page_error(error: Any) -> None:
    """Log an error thrown in the page; record it when it comes from our modules."""
    log(f"browser error: {error.message} {error.stack}")
    if "esp32_camera_static" in (error.stack or ""):
        PAGE_ERRORS.append(error.message)


def watch_page(page: Page) -> None:
    """Log the page's errors and watch its WebSocket, from before it loads."""
    page.on("pageerror", on_page_error)
    page.on(
        "console",
        lambda message: (
            log(f"browser console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("websocket", lambda socket: watch_results(socket, FAILED_COMMANDS))


async def tile_frames(page: Page) -> dict[str, int]:
    """Return, per grid tile, how many frames it has displayed."""
    tiles = page.locator("esp32-camera-panel .tile")
    counts: dict[str, int] = {}
    for index in range(await tiles.count()):
        tile = tiles.nth(index)
        counts[await tile.get_attribute("data-camera") or ""] = int(
            await tile.get_attribute("data-frames") or 0
        )
    return counts


async def check_panel(page: Page, cameras: list[SimulatedCamera]) -> None:
    """Check that the video moves, all eight tiles move, and the resolution reaches the camera."""
    await page.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for(timeout=60000)
    video = page.locator("esp32-camera-viewer .video").first

    async def video_playing() -> bool:
        return bool(
            await page.locator("esp32-camera-viewer .video img").first.evaluate(
                "img => img.naturalWidth > 0"
            )
        )

    await wait_until("the selected camera's video", video_playing)
    first = await video.screenshot()
    await asyncio.sleep(1.5)
    second = await video.screenshot()
    if first == second:
        raise CheckFailedError("the video area did not change in 1.5 s")
    log("video is moving")

    async def all_tiles_showing() -> bool:
        counts = await tile_frames(page)
        return len(counts) == CAMERA_COUNT and all(count > 0 for count in counts.values())

    await wait_until("all eight grid tiles to show frames", all_tiles_showing)
    before = await tile_frames(page)
    grid_before = await page.locator("esp32-camera-panel .grid").screenshot()
    await asyncio.sleep(2)
    after = await tile_frames(page)
    grid_after = await page.locator("esp32-camera-panel .grid").screenshot()
    stalled = [camera for camera, count in after.items() if count <= before[camera]]
    if stalled or grid_before == grid_after:
        raise CheckFailedError(f"grid tiles did not move: {stalled}")
    rates = {camera: (after[camera] - before[camera]) / 2 for camera in after}
    log(f"all {CAMERA_COUNT} tiles moving; frames shown per second: {rates}")
    # Each caption shows the rate painted there (not the camera's or a cap).
    caption = await page.locator(
        'esp32-camera-panel .tile[data-camera="cam-2"] .caption > span:last-child'
    ).text_content()
    shown = float(re.findall(r"(\d+) fps", caption or "")[-1])
    if abs(shown - rates["cam-2"]) > 3:
        raise CheckFailedError(f"cam-2's caption says {caption!r}, painted {rates['cam-2']}/s")
    # Frames are scaled up to the box: a 320x240 stream fills a box wider than 320 px.
    img = page.locator("esp32-camera-viewer .video img").first
    drawn, natural = await img.evaluate(
        "img => [img.getBoundingClientRect().width, img.naturalWidth]"
    )
    if drawn <= natural:
        raise CheckFailedError(
            f"the video is drawn {drawn} px wide for {natural} px: not scaled up"
        )
    log(
        f"captions show the painted rate ({caption!r}); the {natural} px video is drawn {drawn:.0f} px wide"
    )
    selected = cameras[0]  # sorted first by name
    await choose_resolution(page, "VGA")
    try:
        await selected.wait_for(
            lambda camera: camera.last_frame is not None and camera.last_frame.width == 640,
            timeout=20,
        )
    except TimeoutError as err:
        raise CheckFailedError("the camera did not switch to VGA") from err
    log(f"resolution changed in the panel: {selected.camera_id} now sends 640x480 frames")

    badge = page.locator("esp32-camera-viewer .badge").first
    # Shortcuts only while the panel has the focus: with the focus elsewhere, space is not ours.
    await page.evaluate("() => { document.activeElement?.blur(); document.body.focus(); }")
    await page.keyboard.press(" ")
    await asyncio.sleep(0.5)
    if await badge.is_visible():
        raise CheckFailedError("space froze the video while the panel did not have the focus")
    await page.locator("esp32-camera-panel .toolbar .title").click()  # the panel has the focus
    await page.keyboard.press(" ")
    await badge.wait_for(state="visible", timeout=5000)
    await page.keyboard.press(" ")
    await badge.wait_for(state="hidden", timeout=5000)
    async with page.expect_download(timeout=10000) as download_info:
        await page.keyboard.press("c")
    download = await download_info.value
    if not download.suggested_filename.endswith(".jpg"):
        raise CheckFailedError(f"capture downloaded {download.suggested_filename}")
    log(
        "space is the panel's only while it has the focus; it froze and resumed the video; "
        f"c downloaded {download.suggested_filename}"
    )


async def choose_resolution(page: Page, name: str) -> None:
    """Choose resolution `name` ("VGA") in the controls' ha-select, as a user does."""
    select = page.locator("esp32-camera-controls ha-select").first
    await select.click()
    # An option reads the name, then the size in the locale's digits and any risk.
    option = select.locator("ha-dropdown-item").filter(has_text=re.compile(rf"^\s*{name} "))
    await option.click()


async def check_save_now(page: Page, save_directory: Path) -> None:
    """Check that 'Save now' writes a file (the esp32_camera.snapshot action)."""
    before = set(save_directory.rglob("*.jpg")) if save_directory.exists() else set()
    button = page.locator("esp32-camera-saving ha-button.save-now").first
    await wait_until("the Save now button", button.is_enabled, timeout=20)
    await button.click()

    async def saved() -> bool:
        return bool(set(save_directory.rglob("*.jpg")) - before)

    await wait_until("a saved file", saved, timeout=20)
    new = sorted(set(save_directory.rglob("*.jpg")) - before)
    log(f"save now wrote {new[0].relative_to(save_directory)} ({new[0].stat().st_size} B)")
    # The snapshot counts among the saved images: per day, and per hour of the newest day.
    counts = page.locator("esp32-camera-saving .counts")
    await wait_until("the saved-per-day counts", counts.is_visible, timeout=20)
    today = await page.locator("esp32-camera-saving button.day .count").first.text_content()
    bars = await page.locator("esp32-camera-saving .hours > div").count()
    if not today or int(today.replace(",", "")) < 1 or bars != 24:
        raise CheckFailedError(f"saved-image counts: {today!r} today, {bars} hour bars")
    log(f"the saving section counts {today} image(s) today, in 24 hour bars")


async def check_foreign_response_toast(page: Page, hass: HomeAssistant) -> None:
    """Check that a camera's answer to a command sent elsewhere (an action) shows as a toast."""
    await hass.post(
        "/api/services/esp32_camera/send_command",
        {"camera_id": "cam-2", "command": "quality", "value": 20},
    )
    toast = page.locator("ha-toast", has_text="Camera 2: quality ok")
    await toast.first.wait_for(timeout=15000)
    log("a command sent by an action showed the camera's answer as a toast")


async def set_fps(hass: HomeAssistant, camera: SimulatedCamera, fps: int) -> None:
    """Set a camera's frame rate with the send_command action; wait until it applies."""
    await hass.post(
        "/api/services/esp32_camera/send_command",
        {"camera_id": camera.camera_id, "command": "fps", "value": fps},
    )
    await camera.wait_for(lambda camera: camera.fps == fps, timeout=15)


async def check_display_latency(
    browser: Browser, hass: HomeAssistant, cameras: list[SimulatedCamera], card_path: str
) -> None:
    """Check the delay of the first camera's frames from completion to display, at 20 and 1 fps.

    On the panel's video, the camera's grid tile and the card (bench/browser.py measures). This
    machine is shared: a measurement that misses a target is repeated once, and fails only when
    the second misses too (both are logged).
    """
    # The other cameras idle at 1 fps meanwhile: on this shared 2-core machine eight busy grid
    # tiles starve the page's sampler (scripts/bench measures one camera alone).
    for other in cameras[1:]:
        await set_fps(hass, other, 1)
    for attempt in (1, 2):
        figures = await measure_display_latency(
            lambda path: open_page(browser, hass, path, dark=False, phone=False),
            hass,
            cameras[0],
            card_path,
            LATENCY_SECONDS,
        )
        failures = latency_failures(figures)
        (REPO / "e2e-output").mkdir(exist_ok=True)
        (REPO / "e2e-output" / f"display-latency-{attempt}.json").write_text(
            json.dumps(figures, indent=2) + "\n", encoding="utf-8"
        )
        if not failures:
            break
        log(f"display latency above target (attempt {attempt}): {failures}")
    for camera in cameras:
        await set_fps(hass, camera, 8)
    if failures:
        raise CheckFailedError(f"display latency above target twice: {failures}")


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


async def check_ffmpeg_reads_the_stream(hass: HomeAssistant, entity_id: str) -> None:
    """Check that ffmpeg (when installed) reads the camera entity's MJPEG stream, frame by frame."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        log("ffmpeg is not installed: its reading of the stream is not checked")
        return
    process = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-hide_banner",
        "-headers",
        f"Authorization: Bearer {hass.tokens['access_token']}\r\n",
        "-f",
        "mpjpeg",
        "-i",
        f"{hass.url}/api/camera_proxy_stream/{entity_id}",
        "-frames:v",
        "10",
        "-f",
        "null",
        "-",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, errors = await process.communicate()
    decoded = re.findall(r"frame=\s*(\d+)", errors.decode(errors="replace"))
    if process.returncode != 0 or not decoded or int(decoded[-1]) < 10:
        raise CheckFailedError(f"ffmpeg could not read the stream: {errors.decode()[-500:]}")
    log(f"ffmpeg read {decoded[-1]} frames of the stream (parts with Content-Length)")


async def check_card(browser: Browser, hass: HomeAssistant, card_path: str, shots: Path) -> None:
    """Check that the card renders on a dashboard with a live picture."""
    for dark in (False, True):
        page = await open_page(browser, hass, card_path, dark=dark, phone=False)
        image = page.locator("esp32-camera-card esp32-camera-viewer .video img").first
        try:
            await image.wait_for(timeout=30000)
        except Exception:
            await page.screenshot(path=shots.parent / "e2e-failure.png")
            log(
                await page.evaluate(r"""() => {
              const found = [];
              const walk = (root) => { for (const el of root.querySelectorAll('*')) {
                if (el.tagName.toLowerCase().includes('error')) found.push(el.tagName + ' ' + JSON.stringify(el._config || el.config || null) + ' ' + (el.shadowRoot ? el.shadowRoot.textContent : el.textContent).slice(0, 300));
                if (el.shadowRoot) walk(el.shadowRoot); } };
              walk(document);
              const scripts = [...document.scripts].map(s => s.textContent).filter(t => t.includes('import(')).join(' ').replace(/\s+/g, ' ').slice(0, 900);
              const loaded = performance.getEntriesByType('resource').map(r => r.name).filter(n => n.includes('esp32'));
              return String(!!customElements.get('esp32-camera-card')) + ' ' + found.join(' | ') + ' SCRIPTS ' + scripts + ' LOADED ' + loaded.join(',');
            }""")
            )
            raise

        async def showing(image: Any = image) -> bool:
            return bool(await image.evaluate("img => img.naturalWidth > 0"))

        await wait_until("the card's live picture", showing)
        await page.locator("esp32-camera-card ha-expansion-panel").first.evaluate(
            "panel => { panel.expanded = true; }"
        )
        await asyncio.sleep(1)
        name = f"card-{'dark' if dark else 'light'}.png"
        await page.screenshot(path=shots / name)
        await page.context.close()
    # Tapping the picture runs the tap action: more-info by default.
    page = await open_page(browser, hass, card_path, dark=False, phone=False)
    picture = page.locator("esp32-camera-card esp32-camera-viewer .frame").first
    await picture.wait_for(timeout=30000)
    await picture.click()
    dialog = page.locator("ha-more-info-dialog").first
    await dialog.wait_for(state="attached", timeout=10000)
    await wait_until(
        "the more-info dialog of the camera",
        lambda: dialog.evaluate("d => (d._entityId || '').startsWith('camera.')"),
        timeout=10,
    )
    await page.context.close()
    log("the card renders on a dashboard; tapping its picture opens the more-info dialog")


async def screenshots(browser: Browser, hass: HomeAssistant, shots: Path) -> None:
    """Panel screenshots: light and dark theme, desktop and phone widths."""
    for dark in (False, True):
        for phone in (False, True):
            page = await open_page(browser, hass, "/esp32-cameras", dark=dark, phone=phone)
            await page.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for()
            await wait_until(
                "the video",
                lambda page=page: page.locator("esp32-camera-viewer .video img").first.evaluate(
                    "img => img.naturalWidth > 0"
                ),
            )
            await asyncio.sleep(1.5)
            name = f"panel-{'dark' if dark else 'light'}-{'phone' if phone else 'desktop'}.png"
            await page.screenshot(path=shots / name, full_page=True)
            await page.context.close()
    log(f"screenshots in {shots.relative_to(REPO)}")


# --- the points, one check each ---------------------------------------------------------


async def deep_text(page: Page, host: str) -> str:
    """Return the visible text of `host` and every shadow root under it."""
    text: str = await page.evaluate(
        """(selector) => {
          const parts = [];
          const walk = (node) => {
            for (const child of node.childNodes) {
              if (child.nodeType === Node.TEXT_NODE) parts.push(child.textContent);
              else if (child.nodeType === Node.ELEMENT_NODE) {
                if (child.hidden || child.localName === "style") continue;
                if (child.shadowRoot) walk(child.shadowRoot);
                walk(child);
              }
            }
          };
          const root = document.querySelector("home-assistant");
          const find = (node) => {
            const found = node.querySelector?.(selector);
            if (found) return found;
            for (const element of node.querySelectorAll?.("*") ?? []) {
              if (element.shadowRoot) { const inner = find(element.shadowRoot); if (inner) return inner; }
            }
            return null;
          };
          const host = find(root.shadowRoot ?? root);
          if (host?.shadowRoot) walk(host.shadowRoot);
          return parts.join(" ").replace(/\\s+/g, " ");
        }""",
        host,
    )
    return text


async def box(locator: Any) -> dict[str, float]:
    """Return the bounding box of `locator` (it must be visible)."""
    found = await locator.bounding_box()
    if found is None:
        raise CheckFailedError(f"{locator} has no box")
    return dict(found)


async def check_phone_first_screen(browser: Browser, hass: HomeAssistant, shots: Path) -> None:
    """Check that on a phone the video is in the first screen and a tapped tile becomes it."""
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=True)
    video = page.locator("esp32-camera-panel esp32-camera-viewer .video").first
    await wait_until("the phone's video", video.is_visible)
    first = await box(video)
    if first["y"] < 0 or first["y"] + first["height"] > PHONE["height"]:
        raise CheckFailedError(f"the video is not in the phone's first screen: {first}")
    tile = page.locator('esp32-camera-panel .tile[data-camera="cam-6"]')
    await tile.scroll_into_view_if_needed()
    await page.mouse.wheel(0, 600)  # the user scrolled down to the tiles and beyond
    await tile.tap()
    name = page.locator("esp32-camera-panel esp32-camera-viewer .head .grow").first

    async def became_video() -> bool:
        shown = await video.bounding_box()
        return (
            await name.text_content() == "Camera 6"
            and shown is not None
            and shown["y"] + 10 >= 0
            and shown["y"] + shown["height"] <= PHONE["height"] + 1
        )

    await wait_until("the tapped tile's camera as the video, in view", became_video, timeout=10)
    log(
        f"phone: video at y={first['y']:.0f}..{first['y'] + first['height']:.0f} of 844 px; a tapped tile becomes the video in view"
    )
    await page.context.close()


async def check_sections_view(
    browser: Browser, hass: HomeAssistant, entity_id: str, shots: Path
) -> None:
    """Check the card in a sections view at 1, 2 and 4 of 4 columns: no overlap, no overflow."""
    async with hass.websocket() as call:
        await call(
            "lovelace/dashboards/create", url_path="e2e-sections", title="Sections", mode="storage"
        )
        sections = [
            {
                "type": "grid",
                "cards": [
                    {
                        "type": "custom:esp32-camera-card",
                        "entity": entity_id,
                        "show_stats": False,
                        "grid_options": {"columns": columns},
                    },
                    {"type": "markdown", "content": f"Below the {columns}-column card"},
                ],
            }
            for columns in (3, 6, 12)
        ]
        await call(
            "lovelace/config/save",
            url_path="e2e-sections",
            config={
                "views": [
                    {
                        "title": "Sections",
                        "type": "sections",
                        "max_columns": 1,
                        "sections": sections,
                    }
                ]
            },
        )
    for phone in (False, True):
        page = await open_page(browser, hass, "/e2e-sections/0", dark=False, phone=phone)
        cards = page.locator("esp32-camera-card")
        await cards.nth(2).locator("esp32-camera-viewer .video img").wait_for(timeout=30000)
        await asyncio.sleep(2)
        for index, columns in enumerate((3, 6, 12)):
            card = await box(cards.nth(index).locator("ha-card"))
            below = await box(page.locator("hui-markdown-card").nth(index))
            if below["y"] < card["y"] + card["height"] - 1:
                raise CheckFailedError(
                    f"{columns}-column card {card} overlaps the next card {below}"
                )
            controls = await box(cards.nth(index).locator("ha-expansion-panel").first)
            if controls["y"] + controls["height"] > card["y"] + card["height"] + 1:
                raise CheckFailedError(f"{columns}-column card's controls overflow it")
            name = await box(cards.nth(index).locator("esp32-camera-viewer .head .grow"))
            if name["width"] < 40:
                raise CheckFailedError(
                    f"{columns}-column card's name is crushed to {name['width']} px"
                )
        name = f"card-sections-{'phone' if phone else 'desktop'}.png"
        await page.screenshot(path=shots / name, full_page=True)
        await page.context.close()
    log(
        "sections view: the card at 3, 6 and 12 grid columns (1, 2, 4 of 4) neither overlaps nor overflows"
    )


async def check_spanish(browser: Browser, hass: HomeAssistant, shots: Path) -> None:
    """Check that in Spanish no English string of ours is left in the panel."""
    english = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    spanish = json.loads((TRANSLATIONS / "es.json").read_text(encoding="utf-8"))
    page = await open_page(browser, hass, "/esp32-cameras", dark=True, phone=False, language="es")
    title = page.locator("esp32-camera-panel .toolbar .title")
    await wait_until("the Spanish title", lambda: _is(title, spanish["panel.title"]))
    await page.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for()
    await asyncio.sleep(2)
    # The cameras' names ("Camera 1") are the user's data, not strings of ours.
    text = re.sub(r"Camera \d+", "", await deep_text(page, "esp32-camera-panel"))
    # English strings of ours (without placeholders, differing from the Spanish) must not appear
    # as words ("Contrast" is inside the Spanish "Contraste").
    leftovers = [
        value
        for key, value in english.items()
        if "{" not in value
        and value != spanish[key]
        and re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text)
    ]
    if leftovers:
        raise CheckFailedError(f"English strings in the Spanish panel: {leftovers}")
    for key in ("section.picture", "panel.controls", "saving.save_now"):
        if spanish[key] not in text:
            raise CheckFailedError(f"{spanish[key]!r} missing from the Spanish panel")
    await page.screenshot(path=shots / "panel-dark-desktop-es.png", full_page=True)
    await page.context.close()
    log("the panel in Spanish shows no English string of ours")


async def _is(locator: Any, expected: str) -> bool:
    return bool(await locator.text_content() == expected)


async def create_user(hass: HomeAssistant, username: str) -> dict[str, Any]:
    """Create a non-admin user with a password; return their tokens (the login flow's)."""
    password = "e2e-viewer-password-123"  # noqa: S105 (a throw-away test user)
    return await hass.add_member(username, password, name="E2E Viewer")


async def check_non_admin(browser: Browser, hass: HomeAssistant, shots: Path) -> None:
    """Check that a non-admin sees every control but Save now disabled, and the server refuses."""
    tokens = await create_user(hass, "viewer")
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False, tokens=tokens)
    alert = page.locator("esp32-camera-controls ha-alert").first
    await alert.wait_for(timeout=30000)
    disabled = await page.locator("esp32-camera-controls ha-form").first.evaluate(
        "form => form.disabled"
    )
    reboot = await page.locator("esp32-camera-controls ha-button.reboot").first.evaluate(
        "button => button.disabled"
    )
    if not disabled or not reboot:
        raise CheckFailedError(f"non-admin controls enabled: form {disabled}, reboot {reboot}")
    # A snapshot is theirs (permissions.py): Save now is offered; continuous saving is not.
    save_now = page.locator("esp32-camera-saving ha-button.save-now").first

    async def offered() -> bool:  # the property: Playwright's is_enabled ignores ha-button's
        return not await save_now.evaluate("button => button.disabled")

    await wait_until("a non-admin's Save now", offered, timeout=20)
    await page.screenshot(path=str(shots / "panel-non-admin.png"))
    if not await page.locator("esp32-camera-saving ha-switch").first.evaluate("s => s.disabled"):
        raise CheckFailedError("non-admin: the continuous saving switch is enabled")
    refused = await page.evaluate(
        """() => document.querySelector("home-assistant").hass.connection
            .sendMessagePromise({type: "esp32_camera/command", camera_id: "cam-1", command: "quality", value: 20})
            .then(() => "accepted", (err) => err.code)"""
    )
    if refused != "unauthorized":
        raise CheckFailedError(f"the server answered a non-admin's command with {refused!r}")
    FAILED_COMMANDS.clear()  # that refusal was the point
    await page.context.close()
    log("non-admin: controls disabled, and the server refuses their command (unauthorized)")


async def check_motion_zones(browser: Browser, hass: HomeAssistant, shots: Path) -> None:
    """Check that an administrator draws a zone and a mask area over the video and saves them.

    The hub keeps them, the overlay shows them where they were dragged, and a non-admin sees them
    but is not offered the editor.
    """
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    img = viewer.locator(".video img")
    await wait_until("the video", lambda: img.evaluate("img => img.naturalWidth > 0"))
    camera_id = await page.locator("esp32-camera-panel .tile.selected").get_attribute("data-camera")
    await viewer.locator("button.zone-tool").click()
    editor = viewer.locator(".zone-editor")
    await editor.wait_for(state="visible", timeout=5000)
    picture = await box(viewer.locator("svg.zones"))

    async def drag(left: float, top: float, right: float, bottom: float) -> None:
        """Drag across the picture, from and to fractions of its box."""
        await page.mouse.move(
            picture["x"] + left * picture["width"], picture["y"] + top * picture["height"]
        )
        await page.mouse.down()
        await page.mouse.move(
            picture["x"] + right * picture["width"],
            picture["y"] + bottom * picture["height"],
            steps=8,
        )
        await page.mouse.up()

    # A zone on the right, named in the form; an area at the top left, made a mask and named.
    name = editor.locator("ha-form input").first
    await drag(0.55, 0.3, 0.9, 0.85)
    await editor.locator('.chip[data-name="Zone 1"]').wait_for(timeout=5000)
    await name.fill("Door")
    await editor.locator('.chip[data-name="Door"]').wait_for(timeout=5000)
    await drag(0.05, 0.4, 0.35, 0.7)
    await editor.locator('.chip[data-name="Zone 1"]').wait_for(timeout=5000)
    await editor.get_by_text("Mask: never analysed").click()
    await name.fill("Road")
    await editor.locator('.chip[data-name="Road"]').wait_for(timeout=5000)
    await page.set_viewport_size({"width": DESKTOP["width"], "height": 1400})  # the whole card
    await page.mouse.wheel(0, -2000)
    await asyncio.sleep(0.5)
    await page.locator("esp32-camera-panel .card.live").screenshot(path=shots / "motion-zones.png")
    await editor.locator("ha-button.zone-save").click()
    await editor.wait_for(state="hidden", timeout=10000)

    async with hass.websocket() as call:
        listing = await call("esp32_camera/cameras")
    (camera,) = [c for c in listing["cameras"] if c["camera_id"] == camera_id]
    motion = camera["motion"]
    if [zone["name"] for zone in motion["zones"]] != ["Door"] or [
        area["name"] for area in motion["mask"]
    ] != ["Road"]:
        raise CheckFailedError(f"the hub keeps {motion} for {camera_id}")
    xs = [x for x, _ in motion["zones"][0]["points"]]
    ys = [y for _, y in motion["zones"][0]["points"]]
    drawn = (min(xs), min(ys), max(xs), max(ys))
    if any(abs(a - b) > 0.01 for a, b in zip(drawn, (0.55, 0.3, 0.9, 0.85), strict=True)):
        raise CheckFailedError(
            f"the zone was dragged over (0.55, 0.3)-(0.9, 0.85), kept as {drawn}"
        )

    # The overlay draws it where it was dragged (the picture's box, letterboxing included).
    door = viewer.locator('svg.zones g[data-name="Door"] polygon')
    picture = await box(viewer.locator("svg.zones"))  # the page may have scrolled meanwhile
    shown = await box(door)
    expected = {
        "x": picture["x"] + 0.55 * picture["width"],
        "y": picture["y"] + 0.3 * picture["height"],
        "width": 0.35 * picture["width"],
        "height": 0.55 * picture["height"],
    }
    if any(abs(shown[key] - expected[key]) > 3 for key in expected):  # the stroke's width
        raise CheckFailedError(f"the zone is drawn at {shown}, dragged at {expected}")
    # In a box of another shape (fullscreen), the picture is letterboxed and the zone with it.
    letterboxed = await door.evaluate(
        """polygon => {
          const video = polygon.closest(".video");
          const img = video.querySelector("img");
          video.style.setProperty("--ratio", "2 / 1");
          const [zone, frame] = [polygon.getBoundingClientRect(), img.getBoundingClientRect()];
          const scale = Math.min(frame.width / img.naturalWidth, frame.height / img.naturalHeight);
          const [width, height] = [img.naturalWidth * scale, img.naturalHeight * scale];
          const left = frame.x + (frame.width - width) / 2, top = frame.y + (frame.height - height) / 2;
          video.style.setProperty("--ratio", `${img.naturalWidth} / ${img.naturalHeight}`);
          return { zone: [zone.x, zone.y, zone.width, zone.height],
                   expected: [left + 0.55 * width, top + 0.3 * height, 0.35 * width, 0.55 * height] };
        }"""
    )
    if any(
        abs(a - b) > 3 for a, b in zip(letterboxed["zone"], letterboxed["expected"], strict=True)
    ):
        raise CheckFailedError(f"letterboxed: the zone is drawn at {letterboxed}")
    # Drawn once: the store's updates (every second) and the frames leave the same elements.
    await door.evaluate("polygon => { window.e2eDoor = polygon; }")
    await asyncio.sleep(2.5)
    if not await door.evaluate("polygon => polygon === window.e2eDoor && polygon.isConnected"):
        raise CheckFailedError("the overlay was drawn again while its areas did not change")
    masks = await viewer.locator('svg.zones g[data-kind="mask"]').count()
    if masks != 1:
        raise CheckFailedError(f"{masks} mask areas drawn, 1 saved")
    await page.context.close()

    # On a phone, by touch: a polygon tapped corner by corner, closed on its first corner, then
    # cancelled: the hub keeps what was saved.
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=True)
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    await page.locator(f'esp32-camera-panel .tile[data-camera="{camera_id}"]').tap()
    await viewer.locator('svg.zones g[data-name="Door"]').wait_for(timeout=30000)
    await viewer.locator("button.zone-tool").tap()
    editor = viewer.locator(".zone-editor")
    await editor.locator("button.shape-polygon").tap()
    picture = await box(viewer.locator("svg.zones"))
    for x, y in ((0.1, 0.1), (0.4, 0.1), (0.45, 0.4), (0.1, 0.35), (0.1, 0.1)):
        await page.touchscreen.tap(
            picture["x"] + x * picture["width"], picture["y"] + y * picture["height"]
        )
    polygon = viewer.locator('svg.zones g[data-name="Zone 1"] polygon')
    await polygon.wait_for(timeout=5000)
    corners = len((await polygon.get_attribute("points") or "").split())
    if corners != 4:
        raise CheckFailedError(f"a polygon of four tapped corners has {corners}")
    await editor.locator("ha-button.zone-cancel").tap()
    await editor.wait_for(state="hidden", timeout=5000)
    if await polygon.count() or not await viewer.locator('svg.zones g[data-name="Door"]').count():
        raise CheckFailedError("cancelling did not bring back the saved areas")
    await page.context.close()

    # A non-admin sees the areas, and no editing tool.
    tokens = await create_user(hass, "zones-viewer")
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False, tokens=tokens)
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    await page.locator(f'esp32-camera-panel .tile[data-camera="{camera_id}"]').click()
    await viewer.locator('svg.zones g[data-name="Door"]').wait_for(timeout=30000)
    if await viewer.locator("button.zone-tool").is_visible():
        raise CheckFailedError("a non-admin is offered the zone editor")
    await page.context.close()
    async with hass.websocket() as call:  # the other checks' screenshots show no zones
        await call("esp32_camera/motion_zones", camera_id=camera_id, zones=[], mask=[])
    log(
        f"motion zones: a zone dragged over {camera_id}'s video and a mask area saved, kept by "
        "the hub, drawn where dragged (also letterboxed); a polygon tapped on a phone, "
        "cancelled; a non-admin sees them and cannot edit"
    )


async def check_removed_camera_disappears(
    browser: Browser, hass: HomeAssistant, camera: SimulatedCamera
) -> None:
    """Check that a camera away shows its values as not current, and a removed one disappears."""
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
    tile = page.locator(f'esp32-camera-panel .tile[data-camera="{camera.camera_id}"]')
    await tile.wait_for(timeout=30000)
    await camera.stop()
    await wait_until(
        "the tile offline", lambda: tile.evaluate("t => t.classList.contains('offline')")
    )
    await tile.click()
    note = page.locator("esp32-camera-stats .muted").first
    await wait_until("the stale note", note.is_visible, timeout=10)
    stale = await page.locator("esp32-camera-stats .stats").first.evaluate(
        "grid => grid.classList.contains('stale')"
    )
    if not stale:
        raise CheckFailedError("an away camera's health is not marked as not current")
    async with hass.websocket() as call:
        devices = await call("config/device_registry/list")
        (device,) = [d for d in devices if ["esp32_camera", camera.camera_id] in d["identifiers"]]
        await call(
            "config/device_registry/remove_config_entry",
            device_id=device["id"],
            config_entry_id=hass.hub_entry_id,
        )
    await tile.wait_for(state="detached", timeout=10000)
    log(
        f"{camera.camera_id} away: marked offline, its health as last known; removed: its tile is gone"
    )
    await page.context.close()


def write_clip_fixture(save_directory: Path, camera_id: str) -> Path:
    """Write a 10 s clip (10 fps, a moving bar and its frame number) with its thumbnail; return it."""
    path = clip_path(save_directory, camera_id, datetime.now().astimezone(), "motion")
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    for number in range(100):
        image = Image.new("RGB", (320, 240), (20, 40, 60))
        draw = ImageDraw.Draw(image)
        draw.rectangle((number * 3, 80, number * 3 + 40, 160), fill=(240, 180, 40))
        draw.text((10, 10), f"clip frame {number}", fill=(255, 255, 255))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        frames.append(buffer.getvalue())
    with AviWriter(path) as writer:
        for number, frame in enumerate(frames):
            writer.add_frame(frame, number / 10)
        writer.commit()
    path.with_suffix(".jpg").write_bytes(frames[0])
    return path


async def check_clips(
    browser: Browser, hass: HomeAssistant, save_directory: Path, shots: Path
) -> None:
    """Check that a clip plays in the panel (moving frames) and in the Media panel."""
    clip = write_clip_fixture(save_directory, "cam-1")  # the camera selected first (by name)
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
    item = clip_item(page, save_directory, clip)
    await item.wait_for(timeout=30000)
    played = await play_clip(page, item, shots / "clip-playback.png")
    await page.context.close()
    log(f"clips: {clip.name} listed in the panel; {played}; back to live")
    listed = await find_in_media_panel(browser, hass, "Camera 1", clip, shots / "media-browser.png")
    log(f"Media panel: ESP32 Camera > Camera 1 > Clips {listed}")


def clip_item(page: Page, save_directory: Path, clip: Path) -> Locator:
    """Return the Clips card's button of `clip` (named by its path in the save directory)."""
    name = clip.relative_to(save_directory).as_posix()
    return page.locator(f'esp32-camera-clips button.clip[data-name="{name}"]')


async def play_clip(page: Page, item: Locator, screenshot: Path, *, shot_at: float = 0) -> str:
    """Play a clip of the Clips card in its dialog, then go back to live; return what was seen.

    The replay must paint a frame and move; the page is screenshot `shot_at` seconds after the
    replay's first frame.
    """
    clicked = time.monotonic()
    await item.click()
    replay = page.locator("esp32-camera-clips ha-dialog img.replay")
    await replay.wait_for(timeout=10000)
    await wait_until(
        "the replay's first frame", lambda: replay.evaluate("img => img.naturalWidth > 0")
    )
    painted = time.monotonic() - clicked
    first = await replay.screenshot()
    await asyncio.sleep(1)
    if first == await replay.screenshot():
        raise CheckFailedError("the clip's replay did not change in 1 s")
    await asyncio.sleep(max(0.0, clicked + painted + shot_at - time.monotonic()))
    await page.screenshot(path=screenshot)
    width = await replay.evaluate("img => img.naturalWidth")
    await page.locator("esp32-camera-clips ha-button.back-to-live").click()
    await replay.wait_for(state="detached", timeout=10000)
    return (
        f"its replay painted its first frame {painted:.1f} s after the click, then moving "
        f"{width} px frames"
    )


async def find_in_media_panel(
    browser: Browser, hass: HomeAssistant, camera_name: str, clip: Path, screenshot: Path | None
) -> str:
    """Check the Media panel: `clip` under the camera's Clips, with its thumbnail, and it plays."""
    page = await open_page(browser, hass, "/media-browser", dark=False, phone=False)
    browser_panel = page.locator("ha-media-player-browse")
    for title in ("ESP32 Camera", camera_name, "Clips"):  # the visible title, not its tooltip
        entry = browser_panel.get_by_text(title, exact=True).locator("visible=true").first
        await entry.wait_for(timeout=20000)
        await entry.click()
    reason = clip.stem.rpartition("_")[2]
    clip_title = f"{clip.parent.name} {clip.stem[:8].replace('-', ':')} · {reason}"
    listed = browser_panel.get_by_text(clip_title, exact=True).locator("visible=true").first
    await listed.wait_for(timeout=20000)
    # The Media panel fetches the thumbnail with the user's token and shows it as a data URL.
    thumbnail = (
        browser_panel.locator(".child", has_text=clip_title)
        .locator("ha-media-browser-thumbnail .image")
        .first
    )
    await wait_until(
        "the clip's thumbnail",
        lambda: thumbnail.evaluate("div => div.style.backgroundImage.includes('data:image/jpeg')"),
    )
    if screenshot is not None:
        await page.mouse.move(700, 600)  # no tooltip over the folder in the screenshot
        await page.screenshot(path=screenshot)
    # It plays in Home Assistant's own player dialog: the MP4 in a <video> where one was made,
    # else the replay in an <img>, as for MJPEG.
    await listed.click()
    played = page.locator("hui-dialog-web-browser-play-media").locator("video, img").first
    await played.wait_for(timeout=20000)
    await wait_until(
        "the Media panel's player",
        lambda: played.evaluate(
            "player => player.localName === 'video' ? player.videoWidth > 0 : player.naturalWidth > 0"
        ),
    )
    kind = "its MP4" if await played.evaluate("player => player.localName") == "video" else "it"
    await page.context.close()
    return f"lists {clip_title!r} with its thumbnail, and plays {kind}"


# The page notes, on its own connection to Home Assistant, the motion entities' state changes and
# the clip_saved events, and when the Clips card first lists a clip (browser clock, epoch ms).
WATCH_MOTION_JS = """async () => {
  const hass = document.querySelector("home-assistant").hass;
  window.e2e = { states: [], clips: [], listedAt: null };
  await hass.connection.subscribeEvents((event) => {
    const state = event.data.new_state;
    if (state && /^(binary_sensor|event)[.]/.test(event.data.entity_id)) {
      window.e2e.states.push({ at: Date.now(), entity_id: event.data.entity_id,
        state: state.state, event_type: state.attributes.event_type ?? null });
    }
  }, "state_changed");
  await hass.connection.subscribeEvents(
    (event) => window.e2e.clips.push({ at: Date.now(), ...event.data }), "esp32_camera_clip_saved");
}"""
WATCH_LIST_JS = """(clips) => {
  const list = clips.shadowRoot.querySelector(".clips");
  new MutationObserver(() => {
    if (window.e2e.listedAt === null && list.querySelector("button.clip")) window.e2e.listedAt = Date.now();
  }).observe(list, { childList: true });
}"""


def wall_clock_ms(monotonic: float) -> float:
    """Return an instant of this process's monotonic clock as epoch milliseconds."""
    return (time.time() - (time.monotonic() - monotonic)) * 1000


async def check_motion_clip(
    browser: Browser,
    hass: HomeAssistant,
    shots: Path,
    *,
    stream_port: int,
    token: str,
    save_directory: Path,
) -> None:
    """Check motion and its clip: a simulated camera plays the crossing scene, detection on.

    In the browser: the motion binary sensor turns on and the event entity reports
    `motion_started`; the Clips card shows the clip being recorded, then lists it once it is
    written (pushed, the page not reloaded), and its MP4 once made; the clip plays in the dialog
    and in the Media panel. On disk: the clip's AVI holds every frame of its window, its pre-roll
    included.
    """
    scene = build_scenes()[MOTION_SCENE]  # VGA, the scenes' default size
    frames = await asyncio.to_thread(list, scene)
    scene_index = {frame: index for index, frame in enumerate(frames)}
    camera = SimulatedCamera(
        "127.0.0.1",
        stream_port,
        camera_id=MOTION_SCENE,
        name=MOTION_SCENE.capitalize(),
        token=token,
        resolution=MOTION_RESOLUTION,
        fps=scene.fps,
        mode="speed",
        frames=frames,
    )
    camera.start()
    try:
        await camera.wait_frames(3, timeout=30)
        # Detection is on by default: off until the check is watching, so that the first motion
        # it sees starts with the walker, and the first clip with it.
        async with hass.websocket() as call:
            entities: dict[tuple[str, str], str] = {}

            async def registered() -> bool:
                entities.update(await camera_entities(call, [MOTION_SCENE]))
                return ("switch", f"{MOTION_SCENE}_motion_detection") in entities

            await wait_until("the scene camera's motion switch", registered)
            await call(
                "call_service",
                domain="switch",
                service="turn_off",
                target={"entity_id": entities["switch", f"{MOTION_SCENE}_motion_detection"]},
            )
        page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
        await page.locator(f'esp32-camera-panel .tile[data-camera="{MOTION_SCENE}"]').click()
        clips = page.locator("esp32-camera-clips")
        note = clips.locator(".muted").first
        await wait_until("the empty Clips card", lambda: _is(note, "No clips yet."))
        await page.evaluate(WATCH_MOTION_JS)
        await clips.evaluate(WATCH_LIST_JS)
        # Tall enough for the video and the Clips card in one screenshot.
        await page.set_viewport_size({"width": DESKTOP["width"], "height": 1850})
        # Switched on in the quiet second before the fast walker: the detector's background is
        # the empty room, and the walker's first frame comes after.
        (first_moving, _), *_ = scene.motion
        await camera.wait_for(
            lambda camera: (
                camera.last_frame is not None
                and camera.last_frame.frame_index is not None
                and first_moving - 2 * scene.fps
                <= camera.last_frame.frame_index
                < first_moving - 20
            ),
            timeout=scene.frames / scene.fps + 10,
        )
        entities = await hass.set_up_motion([MOTION_SCENE], cooldown=MOTION_COOLDOWN)
        switched_on = time.monotonic()
        sensor = entities["binary_sensor", f"{MOTION_SCENE}_motion"]
        event = entities["event", f"{MOTION_SCENE}_motion"]
        pre_roll = float(
            await page.evaluate(
                "(id) => document.querySelector('home-assistant').hass.states[id].state",
                entities["number", f"{MOTION_SCENE}_clip_pre_roll"],
            )
        )

        async def noted() -> dict[str, Any]:
            notes: dict[str, Any] = await page.evaluate("() => window.e2e")
            return notes

        async def sensor_on() -> bool:
            return any(
                s["entity_id"] == sensor and s["state"] == "on" for s in (await noted())["states"]
            )

        async def motion_started() -> bool:
            return any(
                s["entity_id"] == event and s["event_type"] == "motion_started"
                for s in (await noted())["states"]
            )

        await wait_until(f"{sensor} on in the browser", sensor_on, timeout=30)
        await wait_until(f"{event}'s motion_started in the browser", motion_started, timeout=10)
        on_at = next(
            s["at"]
            for s in (await noted())["states"]
            if s["entity_id"] == sensor and s["state"] == "on"
        )
        # From the last walker's first frame sent before the sensor turned on.
        starts = {first for first, _end in scene.motion}
        trigger = [
            frame
            for frame in camera.sent_frames
            if frame.frame_index in starts and wall_clock_ms(frame.completed_at) <= on_at
        ][-1]
        on_delay = (
            f"{on_at - wall_clock_ms(trigger.completed_at):.0f} ms"
            if trigger.completed_at > switched_on
            else "(not measured: switched on during a crossing)"
        )
        recording = clips.locator(".recording")
        await recording.wait_for(state="visible", timeout=10000)

        newest = clips.locator(f'button.clip[data-name^="{MOTION_SCENE}/clips/"]').first
        await newest.wait_for(timeout=60000)
        clip = save_directory / (await newest.get_attribute("data-name") or "")
        item = clip_item(page, save_directory, clip)  # the next walker's clip is listed first
        listed_after = (await noted())["listedAt"] / 1000 - clip.stat().st_mtime
        if listed_after > CLIP_LISTED_WITHIN:
            raise CheckFailedError(f"the clip was listed {listed_after:.1f} s after it was written")
        description = await item.locator(".what").text_content() or ""
        if not description.startswith("Motion ·"):
            raise CheckFailedError(f"the clip is listed as {description!r}")
        # The slow walker in the middle of the picture, recorded, the first clip listed.
        slow_first, slow_end = scene.motion[1]
        await camera.wait_for(
            lambda camera: (
                camera.last_frame is not None
                and camera.last_frame.frame_index is not None
                and (slow_first + slow_end) // 2 <= camera.last_frame.frame_index < slow_end - 10
            ),
            timeout=scene.frames / scene.fps + 10,
        )
        await recording.wait_for(state="visible", timeout=5000)
        await page.screenshot(path=shots / "motion-recording.png")
        await page.set_viewport_size(DESKTOP)
        played = await play_clip(page, item, shots / "motion-clip.png", shot_at=pre_roll + 0.4)

        # The event when its files are complete (after the MP4, where ffmpeg is); the card reads
        # its list again for the MP4.
        async def saved() -> bool:
            return any(c["path"] == str(clip) for c in (await noted())["clips"])

        await wait_until("the clip_saved event", saved, timeout=180)
        (clip_saved,) = [c for c in (await noted())["clips"] if c["path"] == str(clip)]
        if clip_saved["reason"] != "motion":
            raise CheckFailedError(f"the clip saved was {clip_saved}")
        mp4 = "no MP4 (no ffmpeg)"
        if clip_saved["mp4"]:
            await wait_until(
                "the Clips card's MP4 link",
                lambda: clips.evaluate(
                    "(c, name) => Boolean(c.clips.find((clip) => clip.name === name)?.video_url)",
                    clip.relative_to(save_directory).as_posix(),
                ),
                timeout=10,
            )
            mp4 = "its MP4 linked in the card once made"
        if not await page.evaluate("() => 'e2e' in window"):
            raise CheckFailedError("the page reloaded")
        await page.context.close()
    finally:
        await camera.stop()

    # The AVI: the scene's frames, consecutive (none missing), the pre-roll before the walker.
    indices = [scene_index.get(frame, -1) for frame in read_avi(clip).iter_frames()]
    if -1 in indices or any((b - a) % scene.frames != 1 for a, b in pairwise(indices)):
        raise CheckFailedError(f"the clip's frames are not the scene's in order: {indices}")
    if trigger.frame_index not in indices:
        raise CheckFailedError(f"the clip {indices} lacks the walker's first frame")
    before_motion = indices.index(trigger.frame_index)
    wanted = pre_roll * scene.fps * 0.9
    if before_motion < wanted:
        raise CheckFailedError(
            f"the clip holds {before_motion} frames before the motion, {wanted:g} wanted"
        )
    listed = await find_in_media_panel(browser, hass, MOTION_SCENE.capitalize(), clip, None)
    log(
        f"motion: {sensor} on in the browser {on_delay} after the walker's first frame was sent, "
        f"{event} reported motion_started; the Clips card showed the recording, then listed "
        f"{clip.name} ({description}) {listed_after:.1f} s after its AVI was written, pushed "
        f"(no reload); {played}; {mp4}"
    )
    log(
        f"the clip holds {len(indices)} consecutive scene frames, {before_motion} of them before "
        f"the walker (pre-roll {pre_roll:g} s at {scene.fps} fps: at least {wanted:g}); Media "
        f"panel: {MOTION_SCENE.capitalize()} > Clips {listed}"
    )


async def check_restart_recovery(browser: Browser, hass: HomeAssistant) -> None:
    """After a restart, video and tiles resume within 5 s; "Reconnecting" shows meanwhile."""
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
    img = page.locator("esp32-camera-panel esp32-camera-viewer .video img").first
    await page.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for()
    await wait_until("the video", lambda: img.evaluate("img => img.naturalWidth > 0"))
    old_source = await img.get_attribute("src")
    summary = page.locator("esp32-camera-panel .toolbar .summary")
    restart = asyncio.create_task(hass.restart())
    await wait_until(
        "the reconnecting state",
        lambda: _is(summary, "Reconnecting to Home Assistant…"),
        timeout=30,
    )
    await restart
    await hass.wait_running()
    back = time.monotonic()
    before = await tile_frames(page)

    async def resumed() -> bool:
        source = await img.get_attribute("src")
        painted = await img.evaluate("img => img.complete && img.naturalWidth > 0")
        counts = await tile_frames(page)
        moving = all(counts.get(camera, 0) > before.get(camera, 0) for camera in before)
        return bool(source != old_source and painted and moving)

    await wait_until("the video and tiles after the restart", resumed, timeout=5)
    first = await page.locator("esp32-camera-viewer .video").first.screenshot()
    await asyncio.sleep(1)
    if first == await page.locator("esp32-camera-viewer .video").first.screenshot():
        raise CheckFailedError("the video does not move after the restart")
    # Across a restart the frontend's unsubscriptions can name subscriptions the new Home
    # Assistant never had (ids continue over the new socket): "not found" there is harmless.
    FAILED_COMMANDS[:] = [
        failure for failure in FAILED_COMMANDS if "unsubscribe_events" not in failure
    ]
    log(
        f"restart: 'Reconnecting' shown; video (new token) and all tiles back {time.monotonic() - back:.1f} s after Home Assistant"
    )
    await page.context.close()


# --- issue 13, point 8: Home Assistant's widgets ------------------------------------------------


def translated(key: str, language: str = "en", **values: Any) -> str:
    """Return our string `key` in `language`, its `{placeholders}` filled as i18n.js fills them."""
    strings = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    return re.sub(r"\{(\w+)\}", lambda found: str(values.get(found[1], found[0])), strings[key])


# Every toast the page asks Home Assistant for (a `hass-notification` event), in order.
RECORD_TOASTS = """() => {
  if (!window.__esp32Toasts) {
    window.addEventListener("hass-notification", (event) => window.__esp32Toasts.push(event.detail.message));
  }
  window.__esp32Toasts = [];
}"""


async def recorded_toasts(page: Page) -> list[str]:
    """Return the toasts asked for since RECORD_TOASTS ran."""
    toasts: list[str] = await page.evaluate("() => window.__esp32Toasts")
    return toasts


async def open_panel(
    browser: Browser,
    hass: HomeAssistant,
    *,
    camera: SimulatedCamera | None = None,
    dark: bool = False,
    phone: bool = False,
) -> Page:
    """Open the panel with every tile, the video and the controls shown; select `camera`."""
    page = await open_page(browser, hass, "/esp32-cameras", dark=dark, phone=phone)
    await page.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for(timeout=60000)
    if camera is not None:
        await page.locator(f'esp32-camera-panel .tile[data-camera="{camera.camera_id}"]').click()
        name = page.locator("esp32-camera-panel esp32-camera-viewer .head .grow").first
        await wait_until(f"{camera.name} selected", lambda: _is(name, camera.name or ""))
    video = page.locator("esp32-camera-panel esp32-camera-viewer .video img").first
    await wait_until("the video", lambda: video.evaluate("img => img.naturalWidth > 0"))
    await page.locator("esp32-camera-controls ha-select").first.wait_for(timeout=30000)
    await asyncio.sleep(1)  # the forms finish building
    return page


# Native controls (and their home-made stand-ins' tags) in the shadow roots of our own elements.
NATIVE_CONTROLS = """() => {
  const found = [];
  const walk = (root) => {
    for (const element of root.querySelectorAll("*")) {
      if (!element.shadowRoot) continue;
      if (element.localName.startsWith("esp32-camera-")) {
        for (const native of element.shadowRoot.querySelectorAll("select, input, textarea, details, dialog, progress, meter")) {
          found.push(`${element.localName} > ${native.localName}`);
        }
      }
      walk(element.shadowRoot);
    }
  };
  walk(document);
  return found;
}"""


async def check_ha_controls(browser: Browser, hass: HomeAssistant) -> None:
    """Check that the controls are Home Assistant's (ha-select, ha-slider, ha-switch, ha-alert).

    No native select, range input, checkbox, details or dialog in any of our shadow roots, and
    no select offers to clear a value the camera must have.
    """
    page = await open_panel(browser, hass)
    controls = page.locator("esp32-camera-panel esp32-camera-controls")
    # Resolution and mode; quality, frame rate, brightness, contrast; mirror, flip and the three
    # automatics; the admin-only note and the risk warning.
    expected = {"ha-select": 2, "ha-slider": 4, "ha-switch": 5, "ha-alert": 2}
    found = {tag: await controls.locator(tag).count() for tag in expected}
    saving_switch = await page.locator("esp32-camera-saving ha-switch").count()
    if any(found[tag] < count for tag, count in expected.items()) or saving_switch != 1:
        raise CheckFailedError(f"Home Assistant's controls: {found}, saving switch {saving_switch}")
    native = await page.evaluate(NATIVE_CONTROLS)
    if native:
        raise CheckFailedError(f"native controls in our elements: {native}")
    clear_buttons = await controls.locator("ha-select ha-icon-button.clear").count()
    if clear_buttons:
        raise CheckFailedError(f"{clear_buttons} selects offer to clear the camera's value")
    await page.context.close()
    log(
        f"controls are Home Assistant's ({found}, a saving ha-switch); no native control in our elements; no select can be cleared"
    )


async def check_confirmation_dialogs(
    browser: Browser, hass: HomeAssistant, camera: SimulatedCamera, shots: Path
) -> None:
    """Check that a risky resolution and a reboot ask first in Home Assistant's ha-dialog.

    Cancel sends nothing to the camera; confirm sends the command. The risk then shows as an
    ha-alert warning.
    """
    page = await open_panel(browser, hass, camera=camera)
    controls = page.locator("esp32-camera-panel esp32-camera-controls")
    dialog = controls.locator("ha-dialog")
    resolution = camera.resolution.name
    risky = "FHD"

    async def ask(open_dialog: Any, title: str, text: str) -> None:
        await open_dialog()
        await dialog.wait_for(state="attached", timeout=10000)
        await dialog.locator("#ha-dialog-title").wait_for(timeout=10000)
        shown = (
            await dialog.locator("#ha-dialog-title").text_content(),
            await dialog.locator("p").text_content(),
        )
        if tuple(part.strip() for part in shown if part) != (title, text):
            raise CheckFailedError(f"the dialog reads {shown}, not {(title, text)}")

    async def answer(button: str) -> None:
        await dialog.locator("ha-button", has_text=button).click()
        await dialog.wait_for(state="detached", timeout=10000)

    # A risky resolution, cancelled: nothing reaches the camera, the select shows it as it was.
    received = len(camera.commands_received)
    await ask(
        lambda: choose_resolution(page, risky),
        translated("dialog.resolution_title", name=risky),
        translated("risk.high", name=risky),
    )
    await page.screenshot(path=shots / "panel-dialog-risky-resolution.png")
    await answer(translated("dialog.cancel"))
    await asyncio.sleep(1.5)
    sent = camera.commands_received[received:]
    shown_value = controls.locator('ha-select ha-picker-field span[slot="headline"]').first
    shown = (await shown_value.text_content() or "").strip()
    if sent or camera.resolution.name != resolution or not shown.startswith(f"{resolution} "):
        raise CheckFailedError(f"cancelled {risky}: camera got {sent}, the select shows {shown!r}")
    # Confirmed: the camera switches, and the risk stays in view as Home Assistant's warning.
    await ask(
        lambda: choose_resolution(page, risky),
        translated("dialog.resolution_title", name=risky),
        translated("risk.high", name=risky),
    )
    await answer(translated("dialog.switch"))
    await camera.wait_for(lambda camera: camera.resolution.name == risky, timeout=20)
    warning = controls.locator('ha-alert[alert-type="warning"]')
    await warning.wait_for(timeout=10000)
    if (await warning.text_content() or "").strip() != translated("risk.high", name=risky):
        raise CheckFailedError(f"the risk warning reads {await warning.text_content()!r}")
    await choose_resolution(page, resolution)  # no risk: no question
    await camera.wait_for(lambda camera: camera.resolution.name == resolution, timeout=20)
    # Reboot, cancelled, then confirmed.
    reboots = camera.reboots
    received = len(camera.commands_received)
    reboot = controls.locator("ha-button.reboot")
    reboot_title = translated("dialog.reboot_title", camera=camera.name or "")
    await ask(reboot.click, reboot_title, translated("dialog.reboot_text"))
    await answer(translated("dialog.cancel"))
    await asyncio.sleep(1.5)
    if camera.reboots != reboots or camera.commands_received[received:]:
        raise CheckFailedError(f"a cancelled reboot sent {camera.commands_received[received:]}")
    await ask(reboot.click, reboot_title, translated("dialog.reboot_text"))
    await answer(translated("control.reboot"))
    await camera.wait_for(lambda camera: camera.reboots == reboots + 1, timeout=20)
    await camera.wait_for(lambda camera: camera.connected, timeout=30)
    await page.context.close()
    log(
        f"ha-dialog asks before {risky} and before a reboot, in our strings; cancel sent nothing, "
        f"confirm switched {camera.camera_id} to {risky} (then an ha-alert warning) and rebooted it"
    )


async def check_card_widgets(
    browser: Browser, hass: HomeAssistant, card_path: str, entity_id: str, shots: Path
) -> None:
    """Check the card's Home Assistant parts in a dashboard being edited.

    Expansion panels for its sections, an entity picker as the editor's camera chooser, a live
    preview in the card picker (from `getStubConfig`) and an ha-alert for an unknown camera.
    """
    page = await open_page(browser, hass, f"{card_path}?edit=1", dark=False, phone=False)
    card = page.locator("hui-card-options esp32-camera-card")
    await card.locator("esp32-camera-viewer .video img").wait_for(timeout=30000)
    headers = [
        await panel.evaluate("panel => panel.header")
        for panel in await card.locator("ha-expansion-panel").all()
    ]
    if headers != [translated("panel.controls"), translated("panel.stats")]:
        raise CheckFailedError(f"the card's expansion panels: {headers}")
    # The card editor (Home Assistant's dialog loads ours): the camera is an entity picker.
    await page.locator("hui-card-options").get_by_text("Edit", exact=True).click()
    editor = page.locator("hui-dialog-edit-card esp32-camera-card-editor")
    picker = editor.locator("ha-entity-picker")
    await picker.wait_for(timeout=20000)
    chosen = await picker.evaluate("picker => picker.value")
    label = await editor.locator("ha-selector-entity").first.evaluate("selector => selector.label")
    if chosen != entity_id or label != translated("editor.entity"):
        raise CheckFailedError(f"the editor's entity picker has {chosen!r}, labelled {label!r}")
    preview = page.locator("hui-dialog-edit-card esp32-camera-card esp32-camera-viewer .video img")
    await wait_until("the editor's preview", lambda: preview.evaluate("i => i.naturalWidth > 0"))
    await page.screenshot(path=shots / "card-editor.png")
    await page.keyboard.press("Escape")
    await editor.wait_for(state="detached", timeout=10000)
    # The card picker shows a live preview of the card on the first ESP32 camera.
    entry = await page.evaluate(
        "() => (window.customCards || []).find((card) => card.type === 'esp32-camera-card')"
    )
    if not entry or entry.get("preview") is not True:
        raise CheckFailedError(f"window.customCards entry: {entry}")
    await page.get_by_text("Add card", exact=True).click()
    await page.get_by_text("By card", exact=True).click()
    await page.locator("hui-card-picker ha-input-search input").fill("ESP32")
    offered = page.locator("hui-card-picker esp32-camera-card")
    video = offered.locator("esp32-camera-viewer .video img")
    await video.wait_for(timeout=20000)
    await wait_until("the picker's preview", lambda: video.evaluate("i => i.naturalWidth > 0"))
    name = await offered.locator("esp32-camera-viewer .head .grow").text_content()
    if name != "Camera 1" or not await page.get_by_text(translated("card.picker_name")).count():
        raise CheckFailedError(f"the card picker's preview shows {name!r}")
    await page.screenshot(path=shots / "card-picker.png")
    await page.keyboard.press("Escape")
    # The picker's previews of Home Assistant's energy cards ask for energy/get_prefs, and this
    # Home Assistant has no energy integration: those refusals are not ours.
    FAILED_COMMANDS[:] = [failure for failure in FAILED_COMMANDS if "energy/" not in failure]
    # A card whose camera is unknown says so in Home Assistant's warning.
    message = await page.evaluate(
        """async () => {
          const card = document.createElement("esp32-camera-card");
          card.setConfig({ type: "custom:esp32-camera-card", entity: "camera.gone" });
          document.body.append(card);
          card.hass = document.querySelector("home-assistant").hass;
          for (let wait = 0; wait < 100; wait += 1) {
            const alert = card.shadowRoot.querySelector("ha-alert");
            if (alert && !alert.hidden && alert.textContent) return [alert.alertType, alert.textContent];
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          return null;
        }"""
    )
    if message != ["warning", translated("card.unknown", camera="camera.gone")]:
        raise CheckFailedError(f"a card of an unknown camera shows {message}")
    await page.context.close()
    log(
        "card: ha-expansion-panels; its editor's camera chooser is an ha-entity-picker; the card "
        "picker previews it live on Camera 1; an unknown camera is an ha-alert warning"
    )


async def check_video_first_on_desktop(browser: Browser, hass: HomeAssistant) -> None:
    """Check that the video comes first on a desktop and fills the screen in fullscreen.

    At 1440x900 the video and its tools are in the first screen; in fullscreen the picture is
    scaled up to the screen's width or height, its aspect ratio kept.
    """
    page = await open_panel(browser, hass)
    await page.set_viewport_size({"width": 1440, "height": 900})
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    await asyncio.sleep(0.5)  # laid out again
    video = await box(viewer.locator(".video"))
    tools = await box(viewer.locator(".tools"))
    if video["y"] > 150 or tools["y"] + tools["height"] > 900:
        raise CheckFailedError(f"at 1440x900 the video {video} or its tools {tools} are not first")
    await viewer.locator(f'button[aria-label="{translated("viewer.fullscreen")}"]').click()
    await wait_until(
        "fullscreen", lambda: page.evaluate("() => Boolean(document.fullscreenElement)")
    )
    await asyncio.sleep(0.5)
    # With object-fit: contain the picture is drawn at the smaller of the two scales.
    width, height, scale = await viewer.locator(".video img").evaluate(
        """img => { const shown = img.getBoundingClientRect();
          const scale = Math.min(shown.width / img.naturalWidth, shown.height / img.naturalHeight);
          return [img.naturalWidth * scale, img.naturalHeight * scale, scale]; }"""
    )
    await page.evaluate("() => document.exitFullscreen()")
    if scale <= 1 or (width < 1440 - 2 and height < 900 - tools["height"] - 2):
        raise CheckFailedError(
            f"fullscreen draws the video {width:.0f}x{height:.0f} (x{scale:.2f})"
        )
    await page.context.close()
    log(
        f"1440x900: video at y={video['y']:.0f}, its tools end at y={tools['y'] + tools['height']:.0f}; "
        f"fullscreen draws it {width:.0f}x{height:.0f} (scaled x{scale:.1f})"
    )


# --- issue 13, point 10: small frictions -------------------------------------------------------


async def check_one_command_one_toast(
    browser: Browser, hass: HomeAssistant, camera: SimulatedCamera
) -> None:
    """Check that each change sends one command (what the camera got) and shows one toast.

    Three arrow steps on a slider are one change; two switches flipped in quick succession are two.
    """
    page = await open_panel(browser, hass, camera=camera)
    await page.evaluate(RECORD_TOASTS)
    slider = page.locator("esp32-camera-controls ha-slider").first  # JPEG quality
    quality = int(await slider.evaluate("slider => slider.value"))
    key, step = ("ArrowRight", 1) if quality <= 60 else ("ArrowLeft", -1)
    received = len(camera.commands_received)
    SENT_COMMANDS.clear()
    await slider.locator("[role=slider]").focus()
    for _ in range(3):
        await page.keyboard.press(key)
    wanted = quality + 3 * step
    await camera.wait_for(lambda camera: camera.quality == wanted, timeout=10)
    await asyncio.sleep(1.5)  # a second command or toast would have come by now
    got = camera.commands_received[received:]
    browser_sent = list(SENT_COMMANDS)
    toasts = await recorded_toasts(page)
    if got != [("quality", str(wanted))] or browser_sent != [("quality", wanted)]:
        raise CheckFailedError(
            f"three arrow steps: the browser sent {browser_sent}, camera got {got}"
        )
    if len(toasts) != 1 or translated("control.quality") not in toasts[0]:
        raise CheckFailedError(f"three arrow steps: toasts {toasts}")
    # Two switches, one right after the other.
    await page.evaluate(RECORD_TOASTS)
    switches = page.locator("esp32-camera-controls ha-switch")
    before = camera.settings
    received = len(camera.commands_received)
    await switches.nth(0).click()  # mirror
    await switches.nth(1).click()  # flip
    await camera.wait_for(
        lambda camera: (
            camera.settings["hmirror"] != before["hmirror"]
            and camera.settings["vflip"] != before["vflip"]
        ),
        timeout=10,
    )
    await asyncio.sleep(1.5)
    flipped = camera.commands_received[received:]
    switch_toasts = await recorded_toasts(page)
    if [command for command, _ in flipped] != ["hmirror", "vflip"] or len(switch_toasts) != 2:
        raise CheckFailedError(
            f"two switches flipped: the camera got {flipped}, toasts {switch_toasts}"
        )
    await page.context.close()
    log(
        f"three arrow steps on a slider: one command (quality {wanted}), one toast; two switches "
        "flipped at once: two commands, two toasts"
    )


def overlaps(first: dict[str, float], second: dict[str, float]) -> bool:
    """Whether two boxes overlap (touching edges do not)."""
    return (
        first["x"] < second["x"] + second["width"]
        and second["x"] < first["x"] + first["width"]
        and first["y"] < second["y"] + second["height"]
        and second["y"] < first["y"] + first["height"]
    )


async def check_toasts_beside_the_video(
    browser: Browser, hass: HomeAssistant, camera: SimulatedCamera, shots: Path
) -> None:
    """Check that toasts, several at once, stay clear of the video on a desktop and a phone."""
    for phone in (False, True):
        page = await open_panel(browser, hass, camera=camera, phone=phone)
        await page.evaluate("() => window.scrollTo(0, 0)")
        await page.evaluate(RECORD_TOASTS)
        capture = page.locator(
            f'esp32-camera-panel esp32-camera-viewer button[aria-label="{translated("viewer.capture")}"]'
        )
        for _ in range(2):
            async with page.expect_download(timeout=10000):
                await capture.click()
        # The camera's answer to a command sent elsewhere: a third toast. (The panel tells answers
        # apart by their content: the same answer twice in a row is toasted once.)
        quality = camera.quality + (1 if camera.quality < 63 else -1)
        await hass.post(
            "/api/services/esp32_camera/send_command",
            {"camera_id": camera.camera_id, "command": "quality", "value": quality},
        )
        toasts = page.locator("notification-manager ha-toast")
        await wait_until("three toasts", lambda toasts=toasts: _at_least(toasts, 3), timeout=10)
        await asyncio.sleep(0.5)  # their entrance animation
        video = await box(page.locator("esp32-camera-panel esp32-camera-viewer .video").first)
        boxes = [await box(toast) for toast in await toasts.all()]
        if any(overlaps(video, toast) for toast in boxes):
            raise CheckFailedError(f"toasts {boxes} overlap the video {video}")
        name = f"panel-toasts-{'phone' if phone else 'desktop'}.png"
        await page.screenshot(path=shots / name)
        await page.context.close()
        log(
            f"{'phone' if phone else 'desktop'}: {len(boxes)} toasts at y={min(b['y'] for b in boxes):.0f}.."
            f"{max(b['y'] + b['height'] for b in boxes):.0f}, clear of the video at y={video['y']:.0f}..{video['y'] + video['height']:.0f}"
        )


async def _at_least(locator: Any, count: int) -> bool:
    return bool(await locator.count() >= count)


def luminance(color: tuple[float, float, float]) -> float:
    """Return the relative luminance of an sRGB colour (0-255 channels), as WCAG defines it."""
    linear = [
        channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
        for channel in (value / 255 for value in color)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: tuple[float, float, float], second: tuple[float, float, float]) -> float:
    """Return the WCAG contrast ratio of two colours."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def rgb(css: str) -> tuple[float, float, float]:
    """Return the channels of a computed CSS colour ("rgb(0, 154, 199)")."""
    red, green, blue = (float(value) for value in re.findall(r"[\d.]+", css)[:3])
    return red, green, blue


# The deep focus: the camera of the focused tile, or null.
FOCUSED_TILE = """() => {
  let element = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  return element?.classList.contains("tile") ? element.dataset.camera : null;
}"""


async def check_tile_focus_ring(browser: Browser, hass: HomeAssistant, shots: Path) -> None:
    """Check that a tile reached with Tab shows a focus ring, in light and dark theme.

    The ring is drawn (pixels of its colour around the tile in a screenshot) and stands out from
    the card behind it by at least 3:1 (WCAG's contrast for focus indicators).
    """
    for dark in (False, True):
        page = await open_panel(browser, hass, dark=dark)
        await page.locator("esp32-camera-panel .toolbar .title").click()  # the panel's start
        target = "cam-2"  # not the selected tile: no border of its own
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate(FOCUSED_TILE) == target:
                break
        else:
            raise CheckFailedError(f"Tab never reached the {target} tile")
        tile = page.locator(f'esp32-camera-panel .tile[data-camera="{target}"]')
        style = await tile.evaluate(
            """tile => { const style = getComputedStyle(tile);
              return { style: style.outlineStyle, width: parseFloat(style.outlineWidth),
                offset: parseFloat(style.outlineOffset), color: style.outlineColor,
                background: getComputedStyle(tile.closest(".card")).backgroundColor }; }"""
        )
        ratio = contrast(rgb(style["color"]), rgb(style["background"]))
        if style["style"] in ("none", "hidden") or style["width"] < 2 or ratio < 3:
            raise CheckFailedError(f"the focused tile's ring: {style}, contrast {ratio:.2f}")
        # In the picture: the row through the ring's middle, above the tile, has its colour.
        shown = await box(tile)
        margin = 12
        clip = {
            "x": shown["x"] - margin,
            "y": shown["y"] - margin,
            "width": shown["width"] + 2 * margin,
            "height": shown["height"] + 2 * margin,
        }
        picture = Image.open(io.BytesIO(await page.screenshot(clip=clip))).convert("RGB")
        ring_row = round(margin - style["offset"] - style["width"] / 2)
        row = [
            picture.getpixel((x, ring_row))
            for x in range(margin + 10, margin + round(shown["width"]) - 10)
        ]
        drawn = sum(1 for pixel in row if contrast(pixel, rgb(style["background"])) >= 3) / len(row)
        if drawn < 0.9:
            raise CheckFailedError(f"the ring is not drawn: {drawn:.0%} of its row stands out")
        if not dark:
            await page.screenshot(path=shots / "panel-focus-ring.png", clip=clip)
        await page.context.close()
        log(
            f"{'dark' if dark else 'light'}: Tab reaches a tile; its ring is {style['width']:g} px "
            f"{style['style']} {style['color']}, contrast {ratio:.1f}:1, drawn along {drawn:.0%} of its edge"
        )


async def check_latency_chip(browser: Browser, hass: HomeAssistant) -> None:
    """Check that the latency chip shows a positive figure or "≤ n ms", never "0 ms", for 6 s."""
    page = await open_panel(browser, hass)
    chip = page.locator("esp32-camera-panel esp32-camera-viewer .latency").first
    await chip.wait_for(timeout=20000)
    texts: list[str] = await chip.evaluate(
        """async (chip) => {
          const seen = [];
          for (let sample = 0; sample < 60; sample += 1) {
            if (!chip.hidden) seen.push(chip.textContent.trim());
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          return seen;
        }"""
    )
    exact = re.escape(translated("unit.ms", value="N")).replace("N", r"(\d+)")
    at_most = re.escape(translated("unit.ms_at_most", value="N")).replace("N", r"(\d+)")
    wrong = [
        text
        for text in texts
        if not (found := re.fullmatch(exact, text) or re.fullmatch(at_most, text))
        or int(found[1]) < 1
    ]
    if len(texts) < 50 or wrong:
        raise CheckFailedError(f"latency chip: {len(texts)} samples, wrong: {wrong[:5]}")
    await page.context.close()
    log(f"the latency chip read {sorted(set(texts))} over 6 s: never 0 ms")


async def check_keys_outside_the_panel(
    browser: Browser, hass: HomeAssistant, camera: SimulatedCamera, save_directory: Path
) -> None:
    """Check that keys typed outside the panel (in Home Assistant's quick bar) stay there.

    The panel's shortcuts (c, s, r, f, space) do nothing: no download, no saved file, no command,
    no fullscreen, no frozen video, and the quick bar has every letter.
    """
    page = await open_panel(browser, hass, camera=camera)
    downloads: list[Any] = []

    def downloaded(download: Any) -> None:  # Playwright wraps handlers: no bound builtins
        downloads.append(download)

    page.on("download", downloaded)
    saved = set(save_directory.rglob("*.jpg")) if save_directory.exists() else set()
    received = len(camera.commands_received)
    await page.evaluate("() => document.activeElement?.blur()")
    await page.keyboard.press("e")  # Home Assistant's quick bar: the key is Home Assistant's
    field = page.locator("ha-quick-bar ha-input-search input")
    await field.wait_for(timeout=10000)
    await wait_until("the quick bar's focus", lambda: field.evaluate("i => i.matches(':focus')"))
    typed = "csrf "
    await page.keyboard.type(typed)
    await asyncio.sleep(1.5)
    value = await field.input_value()
    state = await page.evaluate("""() => ({ fullscreen: Boolean(document.fullscreenElement) })""")
    frozen = await page.locator("esp32-camera-viewer .badge").first.is_visible()
    new_files = (set(save_directory.rglob("*.jpg")) if save_directory.exists() else set()) - saved
    sent = camera.commands_received[received:]
    if value != typed or downloads or new_files or sent or frozen or state["fullscreen"]:
        raise CheckFailedError(
            f"keys in the quick bar: it has {value!r}; downloads {downloads}, files {new_files}, "
            f"commands {sent}, frozen {frozen}, {state}"
        )
    await page.keyboard.press("Escape")
    await field.wait_for(state="detached", timeout=10000)
    name = page.locator("esp32-camera-panel esp32-camera-viewer .head .grow").first
    if await name.text_content() != camera.name:
        raise CheckFailedError(f"the selection changed to {await name.text_content()!r}")
    await page.context.close()
    log(f"keys typed in Home Assistant's quick bar ({typed!r}) stayed there: no shortcut ran")


async def check_live_view_points(
    browser: Browser,
    hass: HomeAssistant,
    *,
    cameras: list[SimulatedCamera],
    card_path: str,
    entity_id: str,
    shots: Path,
) -> None:
    """Issue 13's points 3 and 4 on a desktop, 8 (HA's widgets) and 10 (small frictions)."""
    await check_video_first_on_desktop(browser, hass)
    await check_ha_controls(browser, hass)
    await check_confirmation_dialogs(browser, hass, cameras[1], shots)
    await check_card_widgets(browser, hass, card_path, entity_id, shots)
    await check_one_command_one_toast(browser, hass, cameras[2])
    await check_toasts_beside_the_video(browser, hass, cameras[2], shots)
    await check_tile_focus_ring(browser, hass, shots)
    await check_latency_chip(browser, hass)
    await check_keys_outside_the_panel(
        browser, hass, cameras[2], hass.config / "media" / "esp32_camera"
    )


def check_browser_errors() -> None:
    """Fail on any command Home Assistant refused the browser and any error of our modules."""
    if FAILED_COMMANDS:
        raise CheckFailedError(f"browser commands failed: {FAILED_COMMANDS}")
    if PAGE_ERRORS:
        raise CheckFailedError(f"errors in our modules: {PAGE_ERRORS}")


async def run(chromium: str, keep: bool, only: str | None) -> None:
    """Run every check; raise CheckFailedError on the first failure."""
    started = time.monotonic()
    config = Path(tempfile.mkdtemp(prefix="esp32-camera-e2e-"))
    shots = REPO / "docs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    hass = HomeAssistant(config, free_port(), extra_yaml="media_source:\n")
    cameras: list[SimulatedCamera] = []
    try:
        await hass.start()
        log(f"hass answers on {hass.url} ({time.monotonic() - started:.0f} s)")
        await hass.onboard()
        stream_port, control_port = free_port(), free_port()
        token = await hass.add_hub(stream_port, control_port)
        log(f"hub added: frames on {stream_port}, control on {control_port}")
        cameras = [
            SimulatedCamera(
                "127.0.0.1",
                stream_port,
                camera_id=f"cam-{index}",
                name=f"Camera {index}",
                token=token,
                resolution=GRID_RESOLUTION,
                fps=8,
                mode="speed",
                pacing=False,
                health_interval=5,
                stamp_frames=index == 1,
            )
            for index in range(1, CAMERA_COUNT + 1)
        ]
        for camera in cameras:
            camera.start()
        await asyncio.gather(*(camera.wait_frames(3, timeout=30) for camera in cameras))
        async with hass.websocket() as call:
            listing = await call("esp32_camera/cameras")
        entity_id = listing["cameras"][0]["entity_id"]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium,
                args=CHROMIUM_ARGS,
            )
            card_path = await create_card_dashboard(hass, entity_id)
            if only == "latency":
                await check_display_latency(browser, hass, cameras, card_path)
                return
            if only == "users":
                await check_non_admin(browser, hass, shots)
                await check_restart_recovery(browser, hass)
                return
            if only == "clips":
                await check_clips(browser, hass, config / "media" / "esp32_camera", shots)
                return
            if only == "zones":
                await check_motion_zones(browser, hass, shots)
                return
            if only == "motion":
                await check_motion_clip(
                    browser,
                    hass,
                    shots,
                    stream_port=stream_port,
                    token=token,
                    save_directory=config / "media" / "esp32_camera",
                )
                check_browser_errors()
                return
            if only == "live-view":
                await check_live_view_points(
                    browser,
                    hass,
                    cameras=cameras,
                    card_path=card_path,
                    entity_id=entity_id,
                    shots=shots,
                )
                check_browser_errors()
                return
            page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
            try:
                await check_panel(page, cameras)
            except Exception:
                await page.screenshot(path=config / "failure.png")
                raise
            await check_save_now(page, config / "media" / "esp32_camera")
            await check_ffmpeg_reads_the_stream(hass, entity_id)
            await check_foreign_response_toast(page, hass)
            await page.context.close()
            await check_card(browser, hass, card_path, shots)
            await check_phone_first_screen(browser, hass, shots)
            await check_sections_view(browser, hass, entity_id, shots)
            await check_spanish(browser, hass, shots)
            await check_clips(browser, hass, config / "media" / "esp32_camera", shots)
            await check_non_admin(browser, hass, shots)
            await check_motion_zones(browser, hass, shots)
            await check_live_view_points(
                browser,
                hass,
                cameras=cameras,
                card_path=card_path,
                entity_id=entity_id,
                shots=shots,
            )
            await check_display_latency(browser, hass, cameras, card_path)
            await screenshots(browser, hass, shots)
            await check_restart_recovery(browser, hass)
            await check_removed_camera_disappears(browser, hass, cameras[-1])
            await check_motion_clip(
                browser,
                hass,
                shots,
                stream_port=stream_port,
                token=token,
                save_directory=config / "media" / "esp32_camera",
            )
            await browser.close()
        check_browser_errors()
        log(f"all checks passed in {time.monotonic() - started:.0f} s")
    finally:
        for camera in cameras:
            await camera.stop()
        await hass.stop()
        if keep:
            log(f"configuration kept in {config}")
        else:
            shutil.rmtree(config, ignore_errors=True)


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--keep", action="store_true", help="keep the configuration directory")
    parser.add_argument(
        "--only",
        choices=["latency", "users", "zones", "clips", "live-view", "motion"],
        help="run only the latency, the user/restart, the motion zone, the clips and Media panel, "
        "HA's widgets and small frictions, or the motion and its clip checks",
    )
    arguments = parser.parse_args()
    try:
        asyncio.run(run(arguments.chromium, arguments.keep, arguments.only))
    except (CheckFailedError, HassProcessError) as err:
        log(f"FAILED: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
