"""End-to-end test of the panel and the card: real `hass`, simulated cameras, headless Chromium.

Run through `scripts/e2e`. Starts Home Assistant with a fresh configuration directory on free ports,
completes onboarding and adds the hub through the REST API, streams eight simulated cameras into
it, opens the panel in Chromium (Playwright) and checks what a user sees. Screenshots (light and
dark theme, desktop and phone widths) are written to docs/screenshots/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
import shutil
import sys
import tempfile
import time
from typing import Any

from playwright.async_api import Browser, Page, WebSocket, async_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from esp32_simulator import SimulatedCamera  # noqa: E402
from harness.hass_process import HassProcessError, HomeAssistant, free_port, wait_until  # noqa: E402

CAMERA_COUNT = 8
GRID_RESOLUTION = 3  # QVGA: eight cameras stay light for a CI machine
CHANGED_RESOLUTION = 5  # VGA, chosen in the panel
DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}
# Commands the browser sent that Home Assistant answered with an error: none may fail.
FAILED_COMMANDS: list[str] = []


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
            sent[message.get("id", -1)] = message.get("type", "?")

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
    browser: Browser, hass: HomeAssistant, path: str, *, dark: bool, phone: bool
) -> Page:
    """Open `path` logged in (tokens in localStorage, as the frontend keeps them)."""
    context = await browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        color_scheme="dark" if dark else "light",
        accept_downloads=True,
    )
    tokens = {
        **hass.tokens,
        "hassUrl": hass.url,
        "clientId": f"{hass.url}/",
        "expires": int(time.time() * 1000) + hass.tokens["expires_in"] * 1000,
    }
    await context.add_init_script(
        f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
    )
    page = await context.new_page()
    page.on("pageerror", lambda error: log(f"browser error: {error.message} {error.stack}"))
    page.on(
        "console",
        lambda message: (
            log(f"browser console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("websocket", lambda socket: watch_results(socket, FAILED_COMMANDS))
    await page.goto(f"{hass.url}{path}")
    return page


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

    selected = cameras[0]  # sorted first by name
    await page.locator("esp32-camera-controls select").first.select_option(str(CHANGED_RESOLUTION))
    try:
        await selected.wait_for(
            lambda camera: camera.last_frame is not None and camera.last_frame.width == 640,
            timeout=20,
        )
    except TimeoutError as err:
        raise CheckFailedError("the camera did not switch to VGA") from err
    log(f"resolution changed in the panel: {selected.camera_id} now sends 640x480 frames")

    await page.locator("esp32-camera-panel .toolbar .title").click()  # focus off the select
    badge = page.locator("esp32-camera-viewer .badge").first
    await page.keyboard.press(" ")
    await badge.wait_for(state="visible", timeout=5000)
    await page.keyboard.press(" ")
    await badge.wait_for(state="hidden", timeout=5000)
    async with page.expect_download(timeout=10000) as download_info:
        await page.keyboard.press("c")
    download = await download_info.value
    if not download.suggested_filename.endswith(".jpg"):
        raise CheckFailedError(f"capture downloaded {download.suggested_filename}")
    log(f"space froze and resumed the video; c downloaded {download.suggested_filename}")


async def check_save_now(page: Page, save_directory: Path) -> None:
    """Check that 'Save now' writes a file (the esp32_camera.snapshot action)."""
    before = set(save_directory.rglob("*.jpg")) if save_directory.exists() else set()
    button = page.locator("esp32-camera-saving button.btn").first
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


async def check_card(browser: Browser, hass: HomeAssistant, entity_id: str, shots: Path) -> None:
    """Check that the card renders on a dashboard with a live picture."""
    async with hass.websocket() as call:
        await call(
            "lovelace/dashboards/create", url_path="e2e-cams", title="Cameras", mode="storage"
        )
        await call(
            "lovelace/config/save",
            url_path="e2e-cams",
            config={
                "views": [
                    {
                        "title": "Cameras",
                        "cards": [{"type": "custom:esp32-camera-card", "entity": entity_id}],
                    }
                ]
            },
        )
    for dark in (False, True):
        page = await open_page(browser, hass, "/e2e-cams/0", dark=dark, phone=False)
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
        await page.locator("esp32-camera-card details").first.evaluate("d => d.open = true")
        await asyncio.sleep(1)
        name = f"card-{'dark' if dark else 'light'}.png"
        await page.screenshot(path=shots / name)
        await page.context.close()
    log("the card renders on a dashboard")


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


async def run(chromium: str, keep: bool) -> None:
    """Run every check; raise CheckFailedError on the first failure."""
    started = time.monotonic()
    config = Path(tempfile.mkdtemp(prefix="esp32-camera-e2e-"))
    shots = REPO / "docs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    hass = HomeAssistant(config, free_port())
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
                executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
            try:
                await check_panel(page, cameras)
            except Exception:
                await page.screenshot(path=config / "failure.png")
                raise
            await check_save_now(page, config / "media" / "esp32_camera")
            await check_foreign_response_toast(page, hass)
            await page.context.close()
            await check_card(browser, hass, entity_id, shots)
            await screenshots(browser, hass, shots)
            await browser.close()
        if FAILED_COMMANDS:
            raise CheckFailedError(f"browser commands failed: {FAILED_COMMANDS}")
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
    arguments = parser.parse_args()
    try:
        asyncio.run(run(arguments.chromium, arguments.keep))
    except (CheckFailedError, HassProcessError) as err:
        log(f"FAILED: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
