"""The dashboard card in Chromium: a live picture, in a sections view, and Home Assistant's parts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Locator, Page, Route

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import (
    WatchedBrowser,
    box,
    log,
    mjpeg_picture_moving,
    open_page,
    pictures_moving,
    translated,
)

MJPEG_STREAM = "/api/camera_proxy_stream/"
CARD_LIVE = "esp32-camera-card esp32-camera-live"

# What a card that shows no picture has in the page: error cards, the page's module imports and
# the esp32 modules it loaded (logged when the picture does not come).
CARD_DIAGNOSIS = r"""() => {
  const found = [];
  const walk = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.tagName.toLowerCase().includes('error')) found.push(el.tagName + ' ' + JSON.stringify(el._config || el.config || null) + ' ' + (el.shadowRoot ? el.shadowRoot.textContent : el.textContent).slice(0, 300));
    if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document);
  const scripts = [...document.scripts].map(s => s.textContent).filter(t => t.includes('import(')).join(' ').replace(/\s+/g, ' ').slice(0, 900);
  const loaded = performance.getEntriesByType('resource').map(r => r.name).filter(n => n.includes('esp32'));
  return String(!!customElements.get('esp32-camera-card')) + ' ' + found.join(' | ') + ' SCRIPTS ' + scripts + ' LOADED ' + loaded.join(',');
}"""


async def test_card_shows_a_live_picture_and_opens_more_info(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    card_path: str,
    shots: Path,
) -> None:
    """The card renders on a dashboard with a live picture; tapping it opens more-info."""
    for dark in (False, True):
        page = await open_page(browser, home_assistant, card_path, dark=dark, phone=False)
        image = page.locator("esp32-camera-card esp32-camera-viewer .video esp32-camera-live").first
        try:
            await image.wait_for(timeout=30000)
        except Exception:
            log(await page.evaluate(CARD_DIAGNOSIS))
            raise

        async def showing(image: Locator = image) -> bool:
            return bool(await image.evaluate("img => img.naturalWidth > 0"))

        await wait_until("the card's live picture", showing)
        await page.locator("esp32-camera-card ha-expansion-panel").first.evaluate(
            "panel => { panel.expanded = true; }"
        )
        await asyncio.sleep(1)
        await page.screenshot(path=shots / f"card-{'dark' if dark else 'light'}.png")
        await page.context.close()
    # Tapping the picture runs the tap action: more-info by default.
    page = await open_page(browser, home_assistant, card_path, dark=False, phone=False)
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


async def test_card_in_a_sections_view_neither_overlaps_nor_overflows(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    camera_entity_id: str,
    shots: Path,
) -> None:
    """The card in a sections view at 1, 2 and 4 of 4 columns: no overlap, no overflow."""
    async with home_assistant.websocket() as call:
        await call(
            "lovelace/dashboards/create", url_path="e2e-sections", title="Sections", mode="storage"
        )
        sections = [
            {
                "type": "grid",
                "cards": [
                    {
                        "type": "custom:esp32-camera-card",
                        "entity": camera_entity_id,
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
        page = await open_page(browser, home_assistant, "/e2e-sections/0", dark=False, phone=phone)
        cards = page.locator("esp32-camera-card")
        await (
            cards.nth(2)
            .locator("esp32-camera-viewer .video esp32-camera-live")
            .wait_for(timeout=30000)
        )
        await asyncio.sleep(2)
        for index, columns in enumerate((3, 6, 12)):
            card = await box(cards.nth(index).locator("ha-card"))
            below = await box(page.locator("hui-markdown-card").nth(index))
            assert below["y"] >= card["y"] + card["height"] - 1, (
                f"{columns}-column card {card} overlaps the next card {below}"
            )
            controls = await box(cards.nth(index).locator("ha-expansion-panel").first)
            assert controls["y"] + controls["height"] <= card["y"] + card["height"] + 1, (
                f"{columns}-column card's controls overflow it"
            )
            name = await box(cards.nth(index).locator("esp32-camera-viewer .head .grow"))
            assert name["width"] >= 40, (
                f"{columns}-column card's name is crushed to {name['width']} px"
            )
        await page.screenshot(
            path=shots / f"card-sections-{'phone' if phone else 'desktop'}.png", full_page=True
        )
        await page.context.close()
    log(
        "sections view: the card at 3, 6 and 12 grid columns (1, 2, 4 of 4) neither overlaps nor overflows"
    )


async def test_card_uses_home_assistant_parts_in_an_edited_dashboard(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    card_path: str,
    camera_entity_id: str,
    shots: Path,
) -> None:
    """The card's Home Assistant parts in a dashboard being edited.

    Expansion panels for its sections, an entity picker as the editor's camera chooser, a live
    preview in the card picker (from `getStubConfig`) and an ha-alert for an unknown camera.
    """
    page = await open_page(browser, home_assistant, f"{card_path}?edit=1", dark=False, phone=False)
    card = page.locator("hui-card-options esp32-camera-card")
    await card.locator("esp32-camera-viewer .video esp32-camera-live").wait_for(timeout=30000)
    headers = [
        await panel.evaluate("panel => panel.header")
        for panel in await card.locator("ha-expansion-panel").all()
    ]
    expected = [translated("panel.motion"), translated("panel.controls"), translated("panel.stats")]
    assert headers == expected, f"the card's expansion panels: {headers}"
    # The card editor (Home Assistant's dialog loads ours): the camera is an entity picker.
    await page.locator("hui-card-options").get_by_text("Edit", exact=True).click()
    editor = page.locator("hui-dialog-edit-card esp32-camera-card-editor")
    picker = editor.locator("ha-entity-picker")
    await picker.wait_for(timeout=20000)
    chosen = await picker.evaluate("picker => picker.value")
    label = await editor.locator("ha-selector-entity").first.evaluate("selector => selector.label")
    assert chosen == camera_entity_id, f"the editor's entity picker has {chosen!r}"
    assert label == translated("editor.entity"), f"the editor's entity picker is labelled {label!r}"
    preview = page.locator(
        "hui-dialog-edit-card esp32-camera-card esp32-camera-viewer .video esp32-camera-live"
    )
    await wait_until("the editor's preview", lambda: preview.evaluate("i => i.naturalWidth > 0"))
    await page.screenshot(path=shots / "card-editor.png")
    await page.keyboard.press("Escape")
    await editor.wait_for(state="detached", timeout=10000)
    # The card picker shows a live preview of the card on the first ESP32 camera.
    entry = await page.evaluate(
        "() => (window.customCards || []).find((card) => card.type === 'esp32-camera-card')"
    )
    assert entry, "no window.customCards entry of the card"
    assert entry.get("preview") is True, f"window.customCards entry: {entry}"
    await page.get_by_text("Add card", exact=True).click()
    await page.get_by_text("By card", exact=True).click()
    await page.locator("hui-card-picker ha-input-search input").fill("ESP32")
    offered = page.locator("hui-card-picker esp32-camera-card")
    video = offered.locator("esp32-camera-viewer .video esp32-camera-live")
    await video.wait_for(timeout=20000)
    await wait_until("the picker's preview", lambda: video.evaluate("i => i.naturalWidth > 0"))
    name = await offered.locator("esp32-camera-viewer .head .grow").text_content()
    assert name == "Camera 1", f"the card picker's preview shows {name!r}"
    assert await page.get_by_text(translated("card.picker_name")).count(), (
        f"the card picker does not name the card {translated('card.picker_name')!r}"
    )
    await page.screenshot(path=shots / "card-picker.png")
    await page.keyboard.press("Escape")
    # The picker's previews of Home Assistant's energy cards ask for energy/get_prefs, and this
    # Home Assistant has no energy integration: those refusals are not ours.
    browser.watch.forgive("energy/")
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
    assert message == ["warning", translated("card.unknown", camera="camera.gone")], (
        f"a card of an unknown camera shows {message}"
    )
    await page.context.close()
    log(
        "card: ha-expansion-panels; its editor's camera chooser is an ha-entity-picker; the card "
        "picker previews it live on Camera 1; an unknown camera is an ha-alert warning"
    )


async def test_the_cards_mjpeg_picture_freezes_on_a_still_and_captures_the_cameras_jpeg(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    card_path: str,
) -> None:
    """A card's picture is the camera's MJPEG stream (no latency chip: the page never sees its
    parts, so no card has one); frozen, it shows a still of the camera and its stream ends; capture downloads the
    camera's JPEG; thawed, a new stream moves again."""
    page = await open_page(browser, home_assistant, card_path, dark=False, phone=False)
    streams: list[str] = []
    ended: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if MJPEG_STREAM in r.url else None)
    for event in ("requestfinished", "requestfailed"):
        page.on(event, lambda r: ended.append(r.url) if MJPEG_STREAM in r.url else None)
    await page.reload()  # watched from the first request
    viewer = page.locator("esp32-camera-card esp32-camera-viewer").first
    live = viewer.locator(".video esp32-camera-live")
    await wait_until("the card's live picture", lambda: live.evaluate("l => l.naturalWidth > 0"))
    assert await live.get_attribute("data-way") == "mjpeg"
    assert len(streams) == 1, streams
    assert not await viewer.locator(".latency").is_visible(), "a latency chip on an MJPEG stream"

    async def moving() -> bool:
        return any(await pictures_moving(page, CARD_LIVE))

    await wait_until("the card's picture moving", moving)
    freeze = viewer.locator(f'button[aria-label="{translated("viewer.freeze")}"]')
    await freeze.click()
    await viewer.locator(".badge", has_text=translated("viewer.frozen")).wait_for(timeout=5000)
    await wait_until("the still", lambda: live.evaluate("l => l.picture.src.startsWith('blob:')"))
    await wait_until("the stream's end", lambda: _at_least_one(ended))
    assert not await moving(), "the frozen picture moves"
    async with page.expect_download(timeout=10000) as download_info:
        await viewer.locator(f'button[aria-label="{translated("viewer.capture")}"]').click()
    download = await download_info.value
    saved = Path(await download.path())
    assert saved.read_bytes()[:2] == b"\xff\xd8", "the capture is not a JPEG"
    await freeze.click()  # thawed
    await wait_until("the card's picture moving again", moving)
    assert len(streams) == 2, streams
    log(
        f"card: an MJPEG stream (no latency chip); frozen on a still, the stream ended; capture "
        f"downloaded {download.suggested_filename} ({saved.stat().st_size} bytes); thawed, a "
        "new stream moves"
    )
    await page.context.close()


async def _at_least_one(found: list[str]) -> bool:
    return bool(found)


async def card_on_the_socket(page: Page, what: str, timeout: float) -> None:
    """Wait until the page's (first) card shows its picture over the frame socket."""
    live = page.locator(CARD_LIVE).first
    await wait_until(what, lambda: live.evaluate("l => l.dataset.way === 'socket'"), timeout)


async def seconds_until_the_card_streams_mjpeg(page: Page, what: str, timeout: float) -> float:
    """Wait until the page's (first) card shows its MJPEG stream, moving; return how long it took."""
    start = asyncio.get_running_loop().time()
    await wait_until(what, lambda: mjpeg_picture_moving(page, CARD_LIVE), timeout)
    return asyncio.get_running_loop().time() - start


async def test_a_cards_refused_stream_is_tried_again_within_seconds(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    card_path: str,
) -> None:
    """A stream Home Assistant refuses (a 502, as while it starts) gives way to the frame socket
    and is tried again about MJPEG_REFUSED_RETRY_MS (5 s) later, not after the minute a stalled
    one waits: the card streams MJPEG again with nothing else changed."""
    page = await open_page(browser, home_assistant, card_path, dark=False, phone=False)
    refused: list[str] = []

    async def refuse_the_first(route: Route) -> None:
        if refused:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.fulfill(status=502, body="")

    await page.route(f"**{MJPEG_STREAM}**", refuse_the_first)
    await page.reload()  # the page's first stream is the refused one
    await card_on_the_socket(page, "the refused stream given up for the socket", timeout=30)
    later = await seconds_until_the_card_streams_mjpeg(
        page, "the card's MJPEG picture after the refusal", timeout=20
    )
    log(
        "card: a refused stream gave way to the socket; the card streams MJPEG again "
        f"{later:.1f} s later"
    )
    assert len(refused) == 1, refused
    await page.context.close()


async def test_a_cards_stream_given_up_before_its_camera_came_streams_once_it_is_there(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    card_path: str,
) -> None:
    """A card whose camera has not come since its hub started (the hub reloaded meanwhile) gives
    its silent stream up for the frame socket after MJPEG_START_MS (10 s); once the camera is
    there, the card streams MJPEG again at once, not after the minute a failed stream waits."""
    camera = cameras[0]  # Camera 1, the card's
    async with home_assistant.websocket() as call:
        entry_id = (await call("esp32_camera/cameras"))["cameras"][0]["entry_id"]
        await camera.stop()
        try:
            await call(
                "call_service",
                domain="homeassistant",
                service="reload_config_entry",
                service_data={"entry_id": entry_id},
            )
            page = await open_page(browser, home_assistant, card_path, dark=False, phone=False)
            await card_on_the_socket(page, "the silent stream given up for the socket", timeout=20)
        finally:
            camera.start()
    await camera.wait_frames(camera.frames_sent + 3, timeout=30)
    later = await seconds_until_the_card_streams_mjpeg(
        page, "the card's MJPEG picture with its camera there", timeout=15
    )
    log(
        "card: a stream opened before its camera came gave way to the socket; with the camera "
        f"there it streams MJPEG again after {later:.1f} s"
    )
    await page.context.close()
    # The reload dropped every camera: the session's next tests want them all streaming again.
    await asyncio.gather(
        *(other.wait_frames(other.frames_sent + 3, timeout=30) for other in cameras)
    )
