"""Motion zones in Chromium: drawn over the video with a mouse and by touch, kept by the hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Page, ViewportSize

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import DESKTOP, WatchedBrowser, add_member, box, log, open_page


async def test_zones_drawn_over_the_video_are_kept_and_shown_where_drawn(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """An administrator draws a zone and a mask area over the video and saves them.

    The hub keeps them, the overlay shows them where they were dragged (also letterboxed), a
    polygon tapped on a phone and cancelled leaves them, and a non-admin sees them but is not
    offered the editor.
    """
    page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=False)
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    img = viewer.locator(".video img")
    await wait_until("the video", lambda: img.evaluate("img => img.naturalWidth > 0"))
    camera_id = await page.locator("esp32-camera-panel .tile.selected").get_attribute("data-camera")
    assert camera_id, "no tile is selected"
    try:
        await draw_and_check_zones(browser, home_assistant, page, camera_id, shots)
    finally:
        async with home_assistant.websocket() as call:  # the other tests' screenshots: no zones
            await call("esp32_camera/motion_zones", camera_id=camera_id, zones=[], mask=[])
    log(
        f"motion zones: a zone dragged over {camera_id}'s video and a mask area saved, kept by "
        "the hub, drawn where dragged (also letterboxed); a polygon tapped on a phone, "
        "cancelled; a non-admin sees them and cannot edit"
    )


async def draw_and_check_zones(
    browser: WatchedBrowser, hass: HomeAssistant, page: Page, camera_id: str, shots: Path
) -> None:
    """Draw on `page` (the panel, `camera_id` selected); then on a phone, then as a non-admin."""
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
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
    await page.set_viewport_size(
        ViewportSize(width=DESKTOP["width"], height=1400)
    )  # the whole card
    await page.mouse.wheel(0, -2000)
    await asyncio.sleep(0.5)
    await page.locator("esp32-camera-panel .card.live").screenshot(path=shots / "motion-zones.png")
    await editor.locator("ha-button.zone-save").click()
    await editor.wait_for(state="hidden", timeout=10000)

    async with hass.websocket() as call:
        listing = await call("esp32_camera/cameras")
    (camera,) = [c for c in listing["cameras"] if c["camera_id"] == camera_id]
    motion = camera["motion"]
    assert [zone["name"] for zone in motion["zones"]] == ["Door"], (
        f"the hub keeps {motion} for {camera_id}"
    )
    assert [area["name"] for area in motion["mask"]] == ["Road"], (
        f"the hub keeps {motion} for {camera_id}"
    )
    xs = [x for x, _ in motion["zones"][0]["points"]]
    ys = [y for _, y in motion["zones"][0]["points"]]
    drawn = (min(xs), min(ys), max(xs), max(ys))
    assert all(abs(a - b) <= 0.01 for a, b in zip(drawn, (0.55, 0.3, 0.9, 0.85), strict=True)), (
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
    drawn_at = (shown["x"], shown["y"], shown["width"], shown["height"])
    assert all(  # within the stroke's width
        abs(a - b) <= 3 for a, b in zip(drawn_at, expected.values(), strict=True)
    ), f"the zone is drawn at {shown}, dragged at {expected}"
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
    assert all(
        abs(a - b) <= 3 for a, b in zip(letterboxed["zone"], letterboxed["expected"], strict=True)
    ), f"letterboxed: the zone is drawn at {letterboxed}"
    # Drawn once: the store's updates (every second) and the frames leave the same elements.
    await door.evaluate("polygon => { window.e2eDoor = polygon; }")
    await asyncio.sleep(2.5)
    assert await door.evaluate("polygon => polygon === window.e2eDoor && polygon.isConnected"), (
        "the overlay was drawn again while its areas did not change"
    )
    masks = await viewer.locator('svg.zones g[data-kind="mask"]').count()
    assert masks == 1, f"{masks} mask areas drawn, 1 saved"
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
    assert corners == 4, f"a polygon of four tapped corners has {corners}"
    await editor.locator("ha-button.zone-cancel").tap()
    await editor.wait_for(state="hidden", timeout=5000)
    assert not await polygon.count(), "cancelling left the tapped polygon"
    assert await viewer.locator('svg.zones g[data-name="Door"]').count(), (
        "cancelling did not bring back the saved areas"
    )
    await page.context.close()

    # A non-admin sees the areas, and no editing tool.
    tokens = await add_member(hass, "zones-viewer")
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False, tokens=tokens)
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    await page.locator(f'esp32-camera-panel .tile[data-camera="{camera_id}"]').click()
    await viewer.locator('svg.zones g[data-name="Door"]').wait_for(timeout=30000)
    assert not await viewer.locator("button.zone-tool").is_visible(), (
        "a non-admin is offered the zone editor"
    )
    await page.context.close()
