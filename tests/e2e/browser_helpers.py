"""What the end-to-end tests share: opening pages as a user, watching them, reading what they show.

Every page is opened through `open_page`, which watches it from before it loads: a command Home
Assistant answers with an error and an error thrown by our modules are recorded in the browser's
`BrowserWatch`, and the tests fail on them (tests/e2e/conftest.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
import json
from pathlib import Path
import re
import time
from typing import Any

from playwright.async_api import (
    Browser,
    Error,
    FloatRect,
    Locator,
    Page,
    ViewportSize,
    WebSocket,
)

from bench.browser import open_logged_in
from custom_components.esp32_camera.disk.listing import clip_details
from custom_components.esp32_camera.media_source import clock_title, day_title, length_title
from esp32_simulator import SimulatedCamera
from esp32_simulator.scenes import Scene
from harness.hass_process import HomeAssistant, wait_until

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"  # README links them by name
OUTPUT = REPO / "e2e-output"  # figures of the last run (not committed)
TRANSLATIONS = REPO / "custom_components" / "esp32_camera" / "frontend" / "translations"

CAMERA_COUNT = 8
GRID_RESOLUTION = 3  # QVGA: eight cameras stay light for a CI machine
DESKTOP = ViewportSize(width=1440, height=1000)
PHONE = ViewportSize(width=390, height=844)


def log(message: str) -> None:
    """Print a progress line with a figure (scripts/e2e shows them: pytest -s)."""
    print(f"[e2e] {message}", flush=True)  # noqa: T201


@dataclass(frozen=True, slots=True)
class Hub:
    """The hub the config flow added: where the cameras connect, and their token."""

    stream_port: int
    control_port: int
    token: str


async def start_scene_camera(
    hub: Hub, camera_id: str, scene: Scene
) -> tuple[SimulatedCamera, list[bytes]]:
    """Start a camera playing `scene` (VGA, the scenes' size) once its first frames are sent.

    Its name is its id capitalised; the caller stops it. Returns it and the scene's frames.
    """
    frames = await asyncio.to_thread(list, scene)
    camera = SimulatedCamera(
        "127.0.0.1",
        hub.stream_port,
        camera_id=camera_id,
        name=camera_id.capitalize(),
        token=hub.token,
        resolution=5,  # VGA
        fps=scene.fps,
        mode="speed",
        frames=frames,
    )
    camera.start()
    try:
        await camera.wait_frames(3, timeout=30)
    except BaseException:
        await camera.stop()
        raise
    return camera, frames


@dataclass  # no slots: Playwright keeps its wrapper of a bound handler on the instance
class BrowserWatch:
    """What the pages did that no test may leave unexplained.

    `failed_commands`: commands the browser sent that Home Assistant answered with an error.
    `page_errors`: errors thrown in a page by our modules. `sent_commands`: camera commands the
    browser sent, as (command, value).
    """

    failed_commands: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    sent_commands: list[tuple[str, Any]] = field(default_factory=list)

    def forgive(self, part: str) -> None:
        """Drop the failed commands that contain `part`: a test expected them."""
        self.failed_commands[:] = [
            failure for failure in self.failed_commands if part not in failure
        ]

    def take_problems(self) -> list[str]:
        """Return the failed commands and page errors recorded so far, and forget them."""
        problems = [f"browser command failed: {failure}" for failure in self.failed_commands]
        problems += [f"error in our modules: {error}" for error in self.page_errors]
        self.failed_commands.clear()
        self.page_errors.clear()
        return problems

    def watch(self, page: Page) -> None:
        """Log the page's errors and watch its WebSocket, from before it loads."""
        page.on("pageerror", self._page_error)
        page.on("console", _log_console_error)
        page.on("websocket", self._watch_socket)

    def _page_error(self, error: Error) -> None:
        log(f"browser error: {error.message} {error.stack}")
        if "esp32_camera_static" in (error.stack or ""):
            self.page_errors.append(error.message)

    def _watch_socket(self, socket: WebSocket) -> None:
        """Record the commands of the page's WebSocket that Home Assistant refuses."""
        sent: dict[int, str] = {}

        def on_sent(payload: str | bytes) -> None:
            for message in decode_messages(payload):
                kind = message.get("type", "?")
                if kind == "esp32_camera/command":
                    self.sent_commands.append((message["command"], message.get("value")))
                if kind == "unsubscribe_events":  # name what it ends
                    kind = f"unsubscribe_events of {sent.get(message.get('subscription', -1), '?')}"
                sent[message.get("id", -1)] = kind

        def on_received(payload: str | bytes) -> None:
            for message in decode_messages(payload):
                if message.get("type") == "result" and not message.get("success", True):
                    failure = f"{sent.get(message['id'], '?')}: {message.get('error')}"
                    log(f"browser command failed: {failure}")
                    self.failed_commands.append(failure)

        socket.on("framesent", on_sent)
        socket.on("framereceived", on_received)


def _log_console_error(message: Any) -> None:
    if message.type == "error":
        log(f"browser console: {message.text}")


def decode_messages(payload: str | bytes) -> list[dict[str, Any]]:
    """Return the messages of one WebSocket frame (Home Assistant may coalesce them in a list)."""
    if not isinstance(payload, str) or not payload.startswith(("{", "[")):
        return []
    data = json.loads(payload)
    return data if isinstance(data, list) else [data]


@dataclass(frozen=True, slots=True)
class WatchedBrowser:
    """The session's Chromium and what its pages did."""

    chromium: Browser
    watch: BrowserWatch


async def open_page(
    browser: WatchedBrowser,
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
        browser.chromium,
        hass,
        path,
        tokens=tokens,
        on_page=browser.watch.watch,
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        color_scheme="dark" if dark else "light",
        accept_downloads=True,
        **({"locale": language} if language else {}),
    )


async def open_panel(
    browser: WatchedBrowser,
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
        await wait_until(f"{camera.name} selected", lambda: has_text(name, camera.name or ""))
    video = page.locator("esp32-camera-panel esp32-camera-viewer .video esp32-camera-live").first
    await wait_until("the video", lambda: video.evaluate("img => img.naturalWidth > 0"))
    await page.locator("esp32-camera-controls ha-select").first.wait_for(timeout=30000)
    await asyncio.sleep(1)  # the forms finish building
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


async def tiles_in_view(page: Page) -> set[str]:
    """Return the grid tiles at least half shown (in the window and in their scrolled strip).

    A tile out of view receives no frames (live.js unwatches it), so only these paint.
    """
    shown: list[str] = await page.locator("esp32-camera-panel .tile").evaluate_all(
        """tiles => tiles.filter((tile) => {
            const rect = tile.getBoundingClientRect();
            const strip = tile.parentElement.getBoundingClientRect();
            const left = Math.max(rect.left, strip.left, 0);
            const right = Math.min(rect.right, strip.right, window.innerWidth);
            const top = Math.max(rect.top, strip.top, 0);
            const bottom = Math.min(rect.bottom, strip.bottom, window.innerHeight);
            return right - left >= rect.width / 2 && bottom - top >= rect.height / 2;
        }).map((tile) => tile.dataset.camera)"""
    )
    return set(shown)


async def choose_resolution(page: Page, name: str) -> None:
    """Choose resolution `name` ("VGA") in the controls' ha-select, as a user does."""
    select = page.locator("esp32-camera-controls ha-select").first
    await select.click()
    # An option reads the name, then the size in the locale's digits and any risk.
    option = select.locator("ha-dropdown-item").filter(has_text=re.compile(rf"^\s*{name} "))
    await option.click()


async def picture_digests(page: Page, selector: str) -> list[str]:
    """Return, per live picture matching `selector`, a digest of what its <img> shows now.

    Whichever way the picture is shown (an MJPEG stream's parts never reach the page's scripts,
    so it keeps no painted counter): two digests apart in time differ while it moves.
    """
    digests: list[str] = await page.locator(selector).evaluate_all(
        """pictures => pictures.map((live) => {
            const img = live.shadowRoot.querySelector("img");
            if (!img || !img.naturalWidth) return "";
            const canvas = document.createElement("canvas");
            canvas.width = 64;
            canvas.height = 48;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0, 64, 48);
            const pixels = context.getImageData(0, 0, 64, 48).data;
            let digest = 0;
            for (const value of pixels) digest = (digest * 31 + value) >>> 0;
            return String(digest);
        })"""
    )
    return digests


async def live_picture_state(page: Page, selector: str) -> str:
    """What the first live picture matching `selector` is doing, for a failed test's log: its
    way, MJPEG stream key, failed key and retry, stream, source, view and connection."""
    return str(
        await page.locator(selector).first.evaluate(
            """live => JSON.stringify({
              way: live.way, key: live.streamKey, watching: live.watchingStream,
              failed: live.mjpegFailed, retry_in_ms: live.mjpegRetryAt - Date.now(),
              stream: live.stream, src: live.picture.src.slice(0, 100),
              shown_width: live.picture.naturalWidth, in_view: live.inView, online: live.online,
              page_hidden: document.hidden })"""
        )
    )


async def pictures_moving(page: Page, selector: str, seconds: float = 1.0) -> list[bool]:
    """Return, per live picture matching `selector`, whether what it shows changed in `seconds`.

    False for a picture that shows nothing at either moment; an empty list if the pictures found
    are not the same number both times (the page re-rendered them).
    """
    before = await picture_digests(page, selector)
    await asyncio.sleep(seconds)
    after = await picture_digests(page, selector)
    if len(before) != len(after):
        return []
    return [bool(old and new and old != new) for old, new in zip(before, after, strict=True)]


async def mjpeg_picture_moving(page: Page, selector: str, seconds: float = 1.0) -> bool:
    """Whether the one live picture matching `selector` shows its MJPEG stream (`data-way`) and
    what it shows changed in `seconds` (for wait_until)."""
    moving = await pictures_moving(page, selector, seconds)
    way = await page.locator(selector).first.get_attribute("data-way")
    return way == "mjpeg" and moving == [True]


async def has_text(locator: Locator, expected: str) -> bool:
    """Whether `locator`'s text is `expected` (for wait_until)."""
    return await locator.text_content() == expected


async def at_least(locator: Locator, count: int) -> bool:
    """Whether `locator` matches `count` elements or more (for wait_until)."""
    return await locator.count() >= count


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


async def box(locator: Locator) -> FloatRect:
    """Return the bounding box of `locator` (it must be visible)."""
    found = await locator.bounding_box()
    assert found is not None, f"{locator} has no box"
    return found


def overlaps(first: FloatRect, second: FloatRect) -> bool:
    """Whether two boxes overlap (touching edges do not)."""
    return (
        first["x"] < second["x"] + second["width"]
        and second["x"] < first["x"] + first["width"]
        and first["y"] < second["y"] + second["height"]
        and second["y"] < first["y"] + first["height"]
    )


def translated(key: str, language: str = "en", **values: Any) -> str:
    """Return our string `key` in `language`, its `{placeholders}` filled as i18n.js fills them."""
    strings = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    return re.sub(r"\{(\w+)\}", lambda found: str(values.get(found[1], found[0])), strings[key])


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


async def add_member(hass: HomeAssistant, username: str) -> dict[str, Any]:
    """Create a household member (not an administrator) with a password; return their tokens."""
    password = "e2e-viewer-password-123"  # a throw-away test user
    return await hass.add_member(username, password, name="E2E Viewer")


async def send_command(hass: HomeAssistant, camera_id: str, command: str, value: Any) -> None:
    """Send a camera a command with the esp32_camera.send_command action (not the page)."""
    await hass.post(
        "/api/services/esp32_camera/send_command",
        {"camera_id": camera_id, "command": command, "value": value},
    )


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
    assert first != await replay.screenshot(), "the clip's replay did not change in 1 s"
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
    browser: WatchedBrowser,
    hass: HomeAssistant,
    camera_name: str,
    clip: Path,
    screenshot: Path | None,
) -> str:
    """Check the Media panel: `clip` under the camera's Clips and its day, titled with its time
    and length (English), with its thumbnail, and it plays."""
    page = await open_page(browser, hass, "/media-browser", dark=False, phone=False)
    browser_panel = page.locator("ha-media-player-browse")
    day = day_title(clip.parent.name, "en", datetime.now().astimezone().date())
    for title in ("ESP32 Camera", camera_name, "Clips", day):  # the visible title, not its tooltip
        entry = browser_panel.get_by_text(title, exact=True).locator("visible=true").first
        await entry.wait_for(timeout=20000)
        await entry.click()
    reason = clip.stem.rpartition("_")[2]
    details = clip_details(clip)
    assert details is not None, f"{clip} cannot be read"
    # The clip's name is its local start; the title shows that time of day.
    started = datetime.fromisoformat(f"{clip.parent.name}T{clip.stem[:8].replace('-', ':')}")
    clip_title = f"{clock_title(started, 'en')} · {length_title(details.duration)}"
    if reason != "motion":
        clip_title += f" · {reason}"
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
