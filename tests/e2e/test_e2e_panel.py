"""The panel's live view in Chromium: video and tiles move, settings reach the camera, Save now.

Also the phone's and the desktop's first screen, the latency chip, the tiles' focus ring and keys
typed outside the panel.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
import re
import shutil
from typing import Any

from PIL import Image
from playwright.async_api import FloatRect, ViewportSize

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import (
    CAMERA_COUNT,
    PHONE,
    WatchedBrowser,
    at_least,
    box,
    choose_resolution,
    contrast,
    has_text,
    log,
    open_page,
    open_panel,
    rgb,
    tile_frames,
    translated,
)

# The deep focus: the camera of the focused tile, or null.
FOCUSED_TILE = """() => {
  let element = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  return element?.classList.contains("tile") ? element.dataset.camera : null;
}"""


async def test_video_and_every_tile_move(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """The video moves, all eight tiles move, each caption shows the rate painted there.

    Tiles out of view get no frames (live.js): all eight are in view in the overview.
    """
    page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=False)
    await page.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for(timeout=60000)
    video = page.locator("esp32-camera-viewer .video").first
    img = page.locator("esp32-camera-viewer .video esp32-camera-live").first
    await wait_until(
        "the selected camera's video",
        lambda: img.evaluate("img => img.naturalWidth > 0"),
    )
    first = await video.screenshot()
    await asyncio.sleep(1.5)
    assert first != await video.screenshot(), "the video area did not change in 1.5 s"
    log("video is moving")
    # Frames are scaled up to the box: a 320x240 stream fills a box wider than 320 px.
    drawn, natural = await img.evaluate(
        "img => [img.getBoundingClientRect().width, img.naturalWidth]"
    )
    assert drawn > natural, f"the video is drawn {drawn} px wide for {natural} px: not scaled up"
    await page.set_viewport_size(ViewportSize(width=1440, height=1300))
    await page.locator("esp32-camera-panel button.overview-toggle").click()

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
    assert not stalled, f"grid tiles did not move: {stalled}"
    assert grid_before != grid_after, "the grid's picture did not change in 2 s"
    rates = {camera: (after[camera] - before[camera]) / 2 for camera in after}
    log(f"all {CAMERA_COUNT} tiles moving; frames shown per second: {rates}")
    # Each caption shows the rate painted there (not the camera's or a cap), as of the panel's
    # last update (about once a second): compared with the 2 s just counted, a few times.
    label = page.locator('esp32-camera-panel .tile[data-camera="cam-2"] .caption > span:last-child')
    caption, painted = "", 0.0
    for _ in range(5):
        start = (await tile_frames(page))["cam-2"]
        await asyncio.sleep(2)
        painted = ((await tile_frames(page))["cam-2"] - start) / 2
        caption = await label.text_content() or ""
        if abs(float(re.findall(r"(\d+) fps", caption)[-1]) - painted) <= 3:
            break
    shown = float(re.findall(r"(\d+) fps", caption)[-1])
    assert abs(shown - painted) <= 3, f"cam-2's caption says {caption!r}, painted {painted}/s"
    log(
        f"captions show the painted rate ({caption!r}); the {natural} px video is drawn {drawn:.0f} px wide"
    )
    await page.context.close()


async def test_resolution_reaches_the_camera_and_shortcuts_need_the_focus(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """The resolution chosen reaches the camera; space freezes only while the panel has the focus."""
    page = await open_panel(browser, home_assistant)
    selected = cameras[0]  # sorted first by name
    await choose_resolution(page, "VGA")
    try:
        await selected.wait_for(
            lambda camera: camera.last_frame is not None and camera.last_frame.width == 640,
            timeout=20,
        )
    except TimeoutError as err:
        raise AssertionError(f"{selected.camera_id} did not switch to VGA") from err
    log(f"resolution changed in the panel: {selected.camera_id} now sends 640x480 frames")

    badge = page.locator("esp32-camera-viewer .badge").first
    # Shortcuts only while the panel has the focus: with the focus elsewhere, space is not ours.
    await page.evaluate("() => { document.activeElement?.blur(); document.body.focus(); }")
    await page.keyboard.press(" ")
    await asyncio.sleep(0.5)
    assert not await badge.is_visible(), (
        "space froze the video while the panel did not have the focus"
    )
    await page.locator("esp32-camera-panel .toolbar .title").click()  # the panel has the focus
    await page.keyboard.press(" ")
    await badge.wait_for(state="visible", timeout=5000)
    await page.keyboard.press(" ")
    await badge.wait_for(state="hidden", timeout=5000)
    async with page.expect_download(timeout=10000) as download_info:
        await page.keyboard.press("c")
    download = await download_info.value
    assert download.suggested_filename.endswith(".jpg"), (
        f"capture downloaded {download.suggested_filename}"
    )
    log(
        "space is the panel's only while it has the focus; it froze and resumed the video; "
        f"c downloaded {download.suggested_filename}"
    )
    await page.context.close()


async def test_save_now_writes_a_file_and_counts_it(
    browser: WatchedBrowser, home_assistant: HomeAssistant, save_directory: Path
) -> None:
    """'Save now' writes a file (the esp32_camera.snapshot action), counted per day and hour."""
    page = await open_panel(browser, home_assistant)
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
    assert today, "no count of today's saved images"
    assert int(today.replace(",", "")) >= 1, f"saved-image counts: {today!r} today"
    assert bars == 24, f"saved-image counts: {bars} hour bars"
    log(f"the saving section counts {today} image(s) today, in 24 hour bars")
    await page.context.close()


async def test_ffmpeg_reads_the_camera_stream(
    home_assistant: HomeAssistant, camera_entity_id: str
) -> None:
    """ffmpeg reads the camera entity's MJPEG stream frame by frame (parts with Content-Length)."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None, "ffmpeg is missing: scripts/setup installs it"
    process = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-hide_banner",
        "-headers",
        f"Authorization: Bearer {home_assistant.tokens['access_token']}\r\n",
        "-f",
        "mpjpeg",
        "-i",
        f"{home_assistant.url}/api/camera_proxy_stream/{camera_entity_id}",
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
    assert process.returncode == 0, f"ffmpeg could not read the stream: {errors.decode()[-500:]}"
    assert decoded, f"ffmpeg decoded no frame: {errors.decode()[-500:]}"
    assert int(decoded[-1]) >= 10, f"ffmpeg decoded {decoded[-1]} frames of 10"
    log(f"ffmpeg read {decoded[-1]} frames of the stream (parts with Content-Length)")


async def test_phone_shows_the_video_first_and_a_tapped_tile_becomes_it(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """On a phone the video is in the first screen, and a tapped tile becomes it, in view."""
    page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=True)
    video = page.locator("esp32-camera-panel esp32-camera-viewer .video").first
    await wait_until("the phone's video", video.is_visible)
    first = await box(video)
    assert first["y"] >= 0, f"the video is not in the phone's first screen: {first}"
    assert first["y"] + first["height"] <= PHONE["height"], (
        f"the video is not in the phone's first screen: {first}"
    )
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
    # Its name below Home Assistant's header (the panel's toolbar), not under it.
    head = page.locator("esp32-camera-panel esp32-camera-viewer .head").first
    toolbar = page.locator("esp32-camera-panel .toolbar")

    async def name_in_sight() -> bool:
        return (await box(head))["y"] >= (await box(toolbar))["y"] + (await box(toolbar))[
            "height"
        ] - 1

    await wait_until("the camera's name below the header", name_in_sight, timeout=5)
    await asyncio.sleep(0.5)  # the smooth scroll ends
    assert await name_in_sight(), "the smooth scroll ended with the name under the header"
    named_at = (await box(head))["y"]
    await page.screenshot(path=shots / "phone-tapped-tile.png")
    log(
        f"phone: video at y={first['y']:.0f}..{first['y'] + first['height']:.0f} of 844 px; a tapped tile "
        f"becomes the video in view, its name at y={named_at:.0f}, below the header"
    )
    await page.context.close()


async def test_desktop_shows_the_video_first_and_fullscreen_fills_the_screen(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """At 1440x900 the video and its tools are in the first screen; fullscreen scales it up.

    In fullscreen the picture is scaled up to the screen's width or height, its aspect ratio kept.
    """
    page = await open_panel(browser, home_assistant)
    await page.set_viewport_size(ViewportSize(width=1440, height=900))
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    await asyncio.sleep(0.5)  # laid out again
    video = await box(viewer.locator(".video"))
    tools = await box(viewer.locator(".tools"))
    assert video["y"] <= 150, f"at 1440x900 the video {video} is not first"
    assert tools["y"] + tools["height"] <= 900, f"at 1440x900 its tools {tools} are below"
    await viewer.locator(f'button[aria-label="{translated("viewer.fullscreen")}"]').click()
    await wait_until(
        "fullscreen", lambda: page.evaluate("() => Boolean(document.fullscreenElement)")
    )
    await asyncio.sleep(0.5)
    # With object-fit: contain the picture is drawn at the smaller of the two scales.
    width, height, scale = await viewer.locator(".video esp32-camera-live").evaluate(
        """img => { const shown = img.getBoundingClientRect();
          const scale = Math.min(shown.width / img.naturalWidth, shown.height / img.naturalHeight);
          return [img.naturalWidth * scale, img.naturalHeight * scale, scale]; }"""
    )
    await page.evaluate("() => document.exitFullscreen()")
    assert scale > 1, f"fullscreen draws the video {width:.0f}x{height:.0f} (x{scale:.2f})"
    assert width >= 1440 - 2 or height >= 900 - tools["height"] - 2, (
        f"fullscreen draws the video {width:.0f}x{height:.0f} (x{scale:.2f})"
    )
    await page.context.close()
    log(
        f"1440x900: video at y={video['y']:.0f}, its tools end at y={tools['y'] + tools['height']:.0f}; "
        f"fullscreen draws it {width:.0f}x{height:.0f} (scaled x{scale:.1f})"
    )


async def test_tab_shows_a_focus_ring_on_a_tile(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """A tile reached with Tab shows a focus ring, in light and dark theme.

    The ring is drawn (pixels of its colour around the tile in a screenshot) and stands out from
    the card behind it by at least 3:1 (WCAG's contrast for focus indicators).
    """
    for dark in (False, True):
        page = await open_panel(browser, home_assistant, dark=dark)
        await page.locator("esp32-camera-panel .toolbar .title").click()  # the panel's start
        target = "cam-2"  # not the selected tile: no border of its own
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate(FOCUSED_TILE) == target:
                break
        else:
            raise AssertionError(f"Tab never reached the {target} tile")
        tile = page.locator(f'esp32-camera-panel .tile[data-camera="{target}"]')
        style = await tile.evaluate(
            """tile => { const style = getComputedStyle(tile);
              return { style: style.outlineStyle, width: parseFloat(style.outlineWidth),
                offset: parseFloat(style.outlineOffset), color: style.outlineColor,
                background: getComputedStyle(tile.closest(".card")).backgroundColor }; }"""
        )
        ratio = contrast(rgb(style["color"]), rgb(style["background"]))
        assert style["style"] not in ("none", "hidden"), f"the focused tile's ring: {style}"
        assert style["width"] >= 2, f"the focused tile's ring: {style}"
        assert ratio >= 3, f"the focused tile's ring: {style}, contrast {ratio:.2f}"
        # In the picture: the row through the ring's middle, above the tile, has its colour.
        shown = await box(tile)
        margin = 12
        clip = FloatRect(
            x=shown["x"] - margin,
            y=shown["y"] - margin,
            width=shown["width"] + 2 * margin,
            height=shown["height"] + 2 * margin,
        )
        picture = Image.open(io.BytesIO(await page.screenshot(clip=clip))).convert("RGB")
        ring_row = round(margin - style["offset"] - style["width"] / 2)
        row: list[Any] = [
            picture.getpixel((x, ring_row))
            for x in range(margin + 10, margin + round(shown["width"]) - 10)
        ]
        background = rgb(style["background"])
        drawn = sum(1 for pixel in row if contrast(pixel, background) >= 3) / len(row)
        assert drawn >= 0.9, f"the ring is not drawn: {drawn:.0%} of its row stands out"
        if not dark:
            await page.screenshot(path=shots / "panel-focus-ring.png", clip=clip)
        await page.context.close()
        log(
            f"{'dark' if dark else 'light'}: Tab reaches a tile; its ring is {style['width']:g} px "
            f"{style['style']} {style['color']}, contrast {ratio:.1f}:1, drawn along {drawn:.0%} of its edge"
        )


async def test_latency_chip_never_reads_zero(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """The latency chip shows a positive figure or "≤ n ms", never "0 ms", for 6 s."""
    page = await open_panel(browser, home_assistant)
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
    assert len(texts) >= 50, f"latency chip: {len(texts)} samples of 60 shown"
    assert not wrong, f"latency chip: wrong: {wrong[:5]}"
    await page.context.close()
    log(f"the latency chip read {sorted(set(texts))} over 6 s: never 0 ms")


async def test_keys_typed_outside_the_panel_stay_there(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    save_directory: Path,
) -> None:
    """Keys typed outside the panel (in Home Assistant's quick bar) stay there.

    The panel's shortcuts (c, s, r, f, space) do nothing: no download, no saved file, no command,
    no fullscreen, no frozen video, and the quick bar has every letter.
    """
    camera = cameras[2]
    page = await open_panel(browser, home_assistant, camera=camera)
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
    fullscreen = await page.evaluate("() => Boolean(document.fullscreenElement)")
    frozen = await page.locator("esp32-camera-viewer .badge").first.is_visible()
    new_files = (set(save_directory.rglob("*.jpg")) if save_directory.exists() else set()) - saved
    sent = camera.commands_received[received:]
    assert value == typed, f"keys in the quick bar: it has {value!r}"
    assert not downloads, f"keys in the quick bar downloaded {downloads}"
    assert not new_files, f"keys in the quick bar saved {new_files}"
    assert not sent, f"keys in the quick bar sent the camera {sent}"
    assert not frozen, "keys in the quick bar froze the video"
    assert not fullscreen, "keys in the quick bar made the video fullscreen"
    await page.keyboard.press("Escape")
    await field.wait_for(state="detached", timeout=10000)
    name = page.locator("esp32-camera-panel esp32-camera-viewer .head .grow").first
    assert await name.text_content() == camera.name, (
        f"the selection changed to {await name.text_content()!r}"
    )
    await page.context.close()
    log(f"keys typed in Home Assistant's quick bar ({typed!r}) stayed there: no shortcut ran")


async def test_overview_is_a_grid_of_large_tiles_and_a_tile_opens_its_camera(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """The toolbar's grid button shows every camera as a large tile, nothing else; a tile opens it.

    On a phone the overview is one column of tiles as wide as the screen.
    """
    page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=False)
    await page.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for(timeout=60000)
    panel = page.locator("esp32-camera-panel")
    strip_width = (await box(panel.locator(".tile").first))["width"]
    await panel.locator("button.overview-toggle").click()
    tiles = panel.locator(".overview-box .tile")
    await wait_until("the overview's tiles", lambda: at_least(tiles, CAMERA_COUNT))
    widths = [(await box(tiles.nth(index)))["width"] for index in range(await tiles.count())]
    assert min(widths) >= 300, f"the overview's tiles are {widths} px wide"
    assert min(widths) >= 2 * strip_width, f"overview {widths} px against the strip's {strip_width}"
    assert not await panel.locator(".main").is_visible(), "the overview still shows the camera page"
    await page.screenshot(path=shots / "panel-overview.png")
    await tiles.nth(3).click()
    name = panel.locator("esp32-camera-viewer .head .grow").first
    await wait_until("the tile's camera opened", lambda: has_text(name, "Camera 4"))
    assert await panel.locator(".main").is_visible(), (
        "a tile of the overview did not open its camera"
    )
    await page.context.close()
    phone = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=True)
    await phone.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for(timeout=60000)
    await phone.locator("esp32-camera-panel button.overview-toggle").click()
    first = await box(phone.locator("esp32-camera-panel .overview-box .tile").first)
    assert first["width"] >= PHONE["width"] - 24, f"a phone's overview tile is {first} wide"
    await phone.screenshot(path=shots / "phone-overview.png")
    await phone.context.close()
    log(
        f"overview: {len(widths)} tiles {min(widths):.0f}-{max(widths):.0f} px wide (strip {strip_width:.0f}); a tile opens its camera; phone: {first['width']:.0f} px"
    )


async def test_panel_reopens_on_the_last_camera_without_a_console_warning(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """Opened again, the panel shows the camera last looked at, not the first; loading it and
    opening the zone editor (our ha-buttons) logs no warning of ours to the console.
    """
    page = await open_panel(browser, home_assistant, camera=cameras[4])
    warnings: list[str] = []

    def noted(message: Any) -> None:
        if message.type in ("warning", "error"):
            warnings.append(message.text)

    page.on("console", noted)
    await page.reload()
    name = page.locator("esp32-camera-panel esp32-camera-viewer .head .grow").first
    await wait_until("the panel again", lambda: has_text(name, cameras[4].name or ""), timeout=60)
    selected = page.locator("esp32-camera-panel .tile.selected")
    assert await selected.get_attribute("data-camera") == cameras[4].camera_id
    await page.locator("esp32-camera-panel esp32-camera-viewer button.zone-tool").click()
    await page.locator("esp32-camera-panel .zone-editor ha-button.zone-save").wait_for(timeout=5000)
    await asyncio.sleep(1)
    ours = [text for text in warnings if "deprecated" in text or "esp32" in text.lower()]
    assert not ours, f"console: {ours}"
    await page.locator("esp32-camera-panel .zone-editor ha-button.zone-cancel").click()
    await page.context.close()
    log(f"reopened on {cameras[4].name}; console: no warning of ours ({len(warnings)} others)")


async def test_zoom_shows_a_small_frame_centred_never_below_fit(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """Zoom of a frame smaller than its box keeps it at the fitted size, centred, not in a corner."""
    page = await open_panel(browser, home_assistant)
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    img = viewer.locator(".video esp32-camera-live")  # the live picture (live.js)
    fitted = await box(img)
    natural = await img.evaluate("picture => picture.naturalWidth")
    assert fitted["width"] > natural, "the frame is not smaller than its box: nothing to check"
    await viewer.locator(f'button[aria-label="{translated("viewer.zoom")}"]').click()
    await asyncio.sleep(0.3)
    zoomed = await box(img)
    video = await box(viewer.locator(".video"))
    centre = zoomed["x"] + zoomed["width"] / 2
    assert zoomed["width"] >= fitted["width"] - 1, f"zoomed {zoomed} smaller than fitted {fitted}"
    assert abs(centre - (video["x"] + video["width"] / 2)) <= 2, (
        f"zoomed {zoomed} not centred in {video}"
    )
    await page.context.close()
    log(
        f"zoom of a {natural} px frame: {zoomed['width']:.0f} px wide (fitted {fitted['width']:.0f}), centred"
    )
