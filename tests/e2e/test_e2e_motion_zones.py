"""Motion zones in Chromium: drawn over the video with a mouse and by touch, kept by the hub.

And motion shown: the badge and the lit zone while a walker crosses, the motion switches and the
record button in the panel and the card, what a member may do there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

from playwright.async_api import Locator, Page, ViewportSize

from esp32_simulator import SimulatedCamera
from esp32_simulator.scenes import build_scenes
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import (
    DESKTOP,
    RECORD_TOASTS,
    Hub,
    WatchedBrowser,
    add_member,
    box,
    has_text,
    log,
    open_page,
    recorded_toasts,
    start_scene_camera,
)


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
    img = viewer.locator(".video esp32-camera-live")
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
    assert all(  # within the stroke's width: 4 px while the zone sees motion (lit)
        abs(a - b) <= STROKE_SLACK for a, b in zip(drawn_at, expected.values(), strict=True)
    ), f"the zone is drawn at {shown}, dragged at {expected}"
    # In a box of another shape (fullscreen), the picture is letterboxed and the zone with it.
    letterboxed = await door.evaluate(
        """polygon => {
          const video = polygon.closest(".video");
          const img = video.querySelector("esp32-camera-live");
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
        abs(a - b) <= STROKE_SLACK
        for a, b in zip(letterboxed["zone"], letterboxed["expected"], strict=True)
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


# The motion camera: the crossing scene (two walkers, left to right), its own id and name.
MOTION_SCENE = "crossing"
# A zone's box on screen includes its stroke: 2 px, 4 px while it is selected or sees motion (lit),
# so its box is up to 4 px wider and taller than the area dragged, 2 px further up and left.
STROKE_SLACK = 4.5
WALKWAY = "walkway"
WALKWAY_COOLDOWN = 2  # seconds
HALVES = {
    "Left": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],
    "Right": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]],
}
MOTION_CARD_DASHBOARD = "motion-card"
CLIP_SECONDS = 2
# The state of an entity as the page's Home Assistant has it.
STATE_JS = "(id) => document.querySelector('home-assistant').hass.states[id]?.state"


async def test_motion_shows_in_the_panel_and_the_card_and_is_switched_there(
    browser: WatchedBrowser, home_assistant: HomeAssistant, hub: Hub, shots: Path
) -> None:
    """A walker crossing the picture: the panel's badge says "Motion now" and the zone he is in
    is lit; the motion switches work from the panel (detection off: the badge says so); a clip is
    recorded from its button; the card shows the badge too; a member may record, not switch.
    """
    hass = home_assistant
    camera, _frames = await start_scene_camera(hub, WALKWAY, build_scenes()[MOTION_SCENE])
    try:
        entities = await hass.set_up_motion([WALKWAY], cooldown=WALKWAY_COOLDOWN)
        detection = entities["switch", f"{WALKWAY}_motion_detection"]
        on_motion = entities["switch", f"{WALKWAY}_record_on_motion"]
        async with hass.websocket() as call:
            zones = [{"name": name, "points": points} for name, points in HALVES.items()]
            await call("esp32_camera/motion_zones", camera_id=WALKWAY, zones=zones, mask=[])
        await check_the_panel(browser, hass, shots, detection, on_motion)
        await check_the_card(browser, hass, shots, entities["camera", f"{WALKWAY}_camera"])
        await check_a_member(browser, hass)
    finally:
        await camera.stop()
        await remove_camera(hass, WALKWAY.capitalize())


async def check_the_panel(
    browser: WatchedBrowser, hass: HomeAssistant, shots: Path, detection: str, on_motion: str
) -> None:
    """The badge and a lit zone during motion; the switches; detection off; record a clip."""
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
    await page.set_viewport_size(ViewportSize(width=DESKTOP["width"], height=1100))
    await page.evaluate(RECORD_TOASTS)
    await page.locator(f'esp32-camera-panel .tile[data-camera="{WALKWAY}"]').click()
    viewer = page.locator("esp32-camera-panel esp32-camera-viewer").first
    badge = viewer.locator(".motion-badge")
    motion = page.locator("esp32-camera-panel esp32-camera-motion")
    lit = viewer.locator("svg.zones polygon.zone.moving")
    # Recording on motion off from the panel: only the clip of the button below is recorded.
    await motion.locator("ha-switch.record-on-motion").click()
    await wait_until(f"{on_motion} off", lambda: is_state(page, on_motion, "off"))
    # A walker: the badge, a lit zone (the half he walks in) and a marked tile, all at once.
    await wait_until(
        "the motion badge and a lit zone",
        lambda: both(badge.is_visible(), at_least_one(lit)),
        timeout=40,
    )
    text = await badge.text_content() or ""
    assert "Motion now" in text, f"the badge reads {text!r}"
    lit_names = await lit.evaluate_all("ps => ps.map((p) => p.parentElement.dataset.name)")
    assert set(lit_names) <= set(HALVES), f"lit: {lit_names}"
    assert await page.locator(f'esp32-camera-panel .tile[data-camera="{WALKWAY}"].motion').count()
    await page.mouse.wheel(0, -3000)  # the page's top: the video and the motion section
    await asyncio.sleep(0.3)
    await page.screenshot(path=shots / "panel-motion.png")
    state = await motion.locator(".now").text_content() or ""
    assert "Motion now" in state, f"the section reads {state!r}"
    assert "Last motion" in state, f"the section reads {state!r}"
    # Detection off from the panel: the badge says so, nothing is lit, the section too.
    await motion.locator("ha-switch.motion-detection").click()
    await wait_until(f"{detection} off", lambda: is_state(page, detection, "off"))
    await wait_until(
        "the badge says detection is off",
        lambda: has_text(badge, "Motion detection off"),
    )
    assert await lit.count() == 0, "zones are lit with detection off"
    await page.mouse.wheel(0, -3000)  # the page's top: the video and the motion section
    await asyncio.sleep(0.3)
    await page.screenshot(path=shots / "panel-motion-off.png")
    await motion.locator("ha-switch.motion-detection").click()
    await wait_until(f"{detection} on", lambda: is_state(page, detection, "on"))
    # A clip from the button, of the length typed in.
    length = motion.locator("ha-form input").first
    await length.fill(str(CLIP_SECONDS))
    await length.blur()
    await motion.locator("ha-button.record").click()

    async def clip_saved() -> bool:
        return any("clip saved" in toast for toast in await recorded_toasts(page))

    await wait_until("the clip's toast", clip_saved, timeout=90)
    toast = next(toast for toast in await recorded_toasts(page) if "clip saved" in toast)
    assert toast.endswith(".avi"), f"the toast reads {toast!r}"
    assert "/" not in toast, f"the toast names a path: {toast!r}"
    await page.context.close()
    log(
        f"panel: badge {text!r} with {lit_names} lit during motion; detection and recording on motion switched from the panel; {toast!r}"
    )


async def check_the_card(
    browser: WatchedBrowser, hass: HomeAssistant, shots: Path, entity_id: str
) -> None:
    """The card of the motion camera shows the badge and its motion section during motion."""
    async with hass.websocket() as call:
        await call(
            "lovelace/dashboards/create",
            url_path=MOTION_CARD_DASHBOARD,
            title="Walkway",
            mode="storage",
        )
        await call(
            "lovelace/config/save",
            url_path=MOTION_CARD_DASHBOARD,
            config={
                "views": [
                    {
                        "title": "Walkway",
                        "type": "sections",
                        "sections": [
                            {
                                "type": "grid",
                                "cards": [
                                    {
                                        "type": "custom:esp32-camera-card",
                                        "entity": entity_id,
                                        "show_stats": False,
                                    }
                                ],
                            }
                        ],
                    }
                ]
            },
        )
    page = await open_page(browser, hass, f"/{MOTION_CARD_DASHBOARD}/0", dark=False, phone=False)
    card = page.locator("esp32-camera-card")
    badge = card.locator(".motion-badge")
    await wait_until("the card's motion badge", badge.is_visible, timeout=40)
    await card.locator("ha-expansion-panel.motion-section").click()
    await card.locator("esp32-camera-motion ha-button.record").wait_for(timeout=5000)
    await card.screenshot(path=shots / "card-motion.png")
    await page.context.close()
    log("card: the motion badge shows during motion; its motion section opens")


async def check_a_member(browser: WatchedBrowser, hass: HomeAssistant) -> None:
    """A member sees the switches' state, may not switch them, and may record."""
    tokens = await add_member(hass, "motion-viewer")
    page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False, tokens=tokens)
    await page.locator(f'esp32-camera-panel .tile[data-camera="{WALKWAY}"]').click()
    motion = page.locator("esp32-camera-panel esp32-camera-motion")
    record = motion.locator("ha-button.record")
    await wait_until("the record button enabled", lambda: record.evaluate("b => !b.disabled"))
    for name in ("motion-detection", "record-on-motion"):
        switch = motion.locator(f"ha-switch.{name}")
        assert await switch.evaluate("s => s.disabled"), f"a member may switch {name}"
    await page.context.close()
    log("member: the motion switches shown disabled, the record button enabled")


async def is_state(page: Page, entity_id: str, state: str) -> bool:
    """Whether the page's Home Assistant has `entity_id` in `state`."""
    return bool(await page.evaluate(STATE_JS, entity_id) == state)


async def at_least_one(locator: Locator) -> bool:
    """Whether `locator` matches something."""
    return await locator.count() > 0


async def both(first: Awaitable[bool], second: Awaitable[bool]) -> bool:
    """Whether both checks hold (both awaited)."""
    return all(await asyncio.gather(first, second))


async def remove_camera(hass: HomeAssistant, name: str) -> None:
    """Remove a stopped camera's device (the later modules count the session's eight tiles)."""
    async with hass.websocket() as call:

        async def away() -> bool:
            listing = await call("esp32_camera/cameras")
            return not any(c["connected"] for c in listing["cameras"] if c["camera_id"] == WALKWAY)

        await wait_until(f"{name} away", away)
        devices = await call("config/device_registry/list")
        for device in devices:
            if device["name"] == name and hass.hub_entry_id in device["config_entries"]:
                await call(
                    "config/device_registry/remove_config_entry",
                    device_id=device["id"],
                    config_entry_id=hass.hub_entry_id,
                )
