"""Naming a stock camera where it is approved, a rename followed live, the options form.

Seen as a user sees them, in Home Assistant's own frontend: the discovered camera's approval
dialog (a Name field, an Approve button), the panel's tile after the device is renamed, and the
options form (sections, number boxes with units, the token in its own step). Screenshots:
docs/screenshots/approval-name.png and options-*.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Locator, Page
import pytest_asyncio

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import OUTPUT, Hub, WatchedBrowser, has_text, log, open_page

STOCK_ADDRESS = "127.0.0.9"


@pytest_asyncio.fixture(loop_scope="session")
async def stock_camera(hub: Hub) -> AsyncIterator[SimulatedCamera]:
    """A camera with the stock firmware (no token, no id, no name) from its own address."""
    camera = SimulatedCamera(
        "127.0.0.1",
        hub.stream_port,
        source_address=STOCK_ADDRESS,
        resolution=5,
        fps=5,
        pacing=False,
    )
    camera.start()
    try:
        yield camera
    finally:
        await camera.stop()


def field(page: Page, label: str) -> Locator:
    """Return the input of the flow dialog's field labelled `label` (HA's ha-input)."""
    return (
        page.locator("dialog-data-entry-flow ha-input")
        .filter(has_text=label)
        .first.locator("input")
    )


async def flow_dialog(page: Page, title: str) -> None:
    """Wait for Home Assistant's flow dialog to show the step titled `title`."""
    # The dialog's host element has no box of its own: its content is what shows.
    step = page.locator("dialog-data-entry-flow").get_by_text(title, exact=True).first
    await step.wait_for(timeout=30000)
    await page.wait_for_timeout(1500)  # its fields render, its opening animation ends


async def test_a_stock_camera_is_named_where_it_is_approved(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    stock_camera: SimulatedCamera,
    shots: Path,
) -> None:
    """Approved as "Garage": camera.garage; renamed on its device page, the panel follows."""
    page = await open_page(
        browser, home_assistant, "/config/integrations/dashboard", dark=False, phone=False
    )
    discovered = page.get_by_text(f"ESP32 camera at {STOCK_ADDRESS}")
    await discovered.wait_for(timeout=60000)
    card = page.locator("ha-config-flow-card").filter(has_text=STOCK_ADDRESS)
    await card.get_by_role("button", name="Add").click()
    await flow_dialog(page, "Approve ESP32 camera")
    name = field(page, "Name")
    await wait_until("the suggested name", name.input_value)
    suggestion = await name.input_value()
    # "ESP32 camera N", N after the session's cameras: never the address.
    assert suggestion.startswith("ESP32 camera "), suggestion
    assert STOCK_ADDRESS not in suggestion, suggestion
    await page.screenshot(path=shots / "approval-name.png")
    await name.fill("Garage")
    await page.locator("dialog-data-entry-flow").get_by_role("button", name="Approve").click()
    await page.get_by_text(f"Garage (the camera at {STOCK_ADDRESS}) is approved").wait_for(
        timeout=30000
    )
    async with home_assistant.websocket() as call:

        async def streaming() -> bool:
            states = await call("get_states")
            return any(
                s["entity_id"] == "camera.garage" and s["state"] != "unavailable" for s in states
            )

        await wait_until("camera.garage streaming", streaming, timeout=30)
        entities = await call("config/entity_registry/list")
        garage = sorted(e["entity_id"] for e in entities if e["entity_id"].endswith("garage"))
        assert "camera.garage" in garage, garage
        assert any(e["entity_id"] == "sensor.garage_frame_rate" for e in entities)
        assert not [e for e in entities if "127_0_0_9" in e["entity_id"]]
        log(f"approved as Garage: {garage}")
        # Renamed where Home Assistant renames devices: the panel's tile follows, no reload.
        panel = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=False)
        tile = panel.locator(f'esp32-camera-panel .tile[data-camera="{STOCK_ADDRESS}"] .name')
        await wait_until("the Garage tile", lambda: has_text(tile, "Garage"), timeout=30)
        devices = await call("config/device_registry/list")
        (device,) = [d for d in devices if d["name"] == "Garage"]
        await call(
            "config/device_registry/update", device_id=device["id"], name_by_user="Garage door"
        )
        await wait_until("the renamed tile", lambda: has_text(tile, "Garage door"), timeout=10)
        log("renamed on its device: the panel's tile reads Garage door")
        await call("config/device_registry/update", device_id=device["id"], name_by_user=None)
    await panel.context.close()
    await page.context.close()


async def open_options(page: Page, option: str, title: str) -> None:
    """Open the hub's options (Configure), choose `option` in its menu, see `title`."""
    await page.get_by_role("button", name="Configure").first.click()
    await flow_dialog(page, "ESP32 Camera hub options")
    await page.locator("dialog-data-entry-flow").get_by_text(option).first.click()
    await flow_dialog(page, title)


async def test_the_options_form_in_sections_with_number_boxes(
    browser: WatchedBrowser, home_assistant: HomeAssistant, shots: Path
) -> None:
    """Sections, number boxes with units, 8 MiB; the token in its own read-only step."""
    page = await open_page(
        browser,
        home_assistant,
        "/config/integrations/integration/esp32_camera",
        dark=False,
        phone=False,
    )
    await open_options(page, "Hub settings", "Connections")
    dialog = page.locator("dialog-data-entry-flow")
    for section in ("Connections", "Saving", "Limits"):
        await dialog.get_by_text(section, exact=True).first.wait_for(timeout=10000)
    await page.screenshot(path=shots / "options-settings.png")
    await dialog.get_by_text("Limits", exact=True).first.click()
    largest = field(page, "Largest frame")
    await largest.wait_for(timeout=10000)
    assert await largest.input_value() == "8"
    await largest.scroll_into_view_if_needed()
    await page.wait_for_timeout(800)
    await page.screenshot(path=shots / "options-limits.png")
    await page.reload()  # closes the dialog; nothing was submitted
    await open_options(page, "How cameras connect", "How cameras connect")
    await dialog.get_by_text("Hub token").first.wait_for(timeout=10000)
    await page.screenshot(path=shots / "options-connection.png")
    log("options: sections, number boxes with units, the token in its own step")
    await page.context.close()


async def test_the_sidebar_title_follows_home_assistants_language(
    browser: WatchedBrowser, home_assistant: HomeAssistant
) -> None:
    """Home Assistant set to Spanish: the sidebar reads "Cámaras ESP32", no restart."""
    async with home_assistant.websocket() as call:
        await call("config/core/update", language="es")
        try:

            async def registered_in_spanish() -> bool:
                panels = await call("get_panels")
                return bool(panels["esp32-cameras"]["title"] == "Cámaras ESP32")

            await wait_until("the panel registered in Spanish", registered_in_spanish, timeout=10)
            page = await open_page(
                browser, home_assistant, "/esp32-cameras", dark=False, phone=False, language="es"
            )
            entry = page.locator("ha-sidebar #sidebar-panel-esp32-cameras")
            await wait_until(
                "the Spanish sidebar title",
                lambda: entry.get_by_text("Cámaras ESP32").is_visible(),
                timeout=30,
            )
            OUTPUT.mkdir(exist_ok=True)
            await page.screenshot(path=OUTPUT / "sidebar-es.png")
            log("Home Assistant in Spanish: the sidebar reads Cámaras ESP32")
            await page.context.close()
        finally:
            await call("config/core/update", language="en")
