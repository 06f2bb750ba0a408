"""The panel's screenshots for the README: light and dark theme, desktop and phone widths.

They run after every test that changes a camera's settings, as the README shows them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import CAMERA_COUNT, SCREENSHOTS, WatchedBrowser, log, open_page


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
async def test_panel_screenshot(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
    dark: bool,
    phone: bool,
) -> None:
    """The panel with every tile and the video showing, screenshot whole."""
    page = await open_page(browser, home_assistant, "/esp32-cameras", dark=dark, phone=phone)
    await page.locator("esp32-camera-panel .tile").nth(CAMERA_COUNT - 1).wait_for()
    await wait_until(
        "the video",
        lambda: page.locator("esp32-camera-viewer .video esp32-camera-live").first.evaluate(
            "img => img.naturalWidth > 0"
        ),
    )
    await asyncio.sleep(1.5)
    name = f"panel-{'dark' if dark else 'light'}-{'phone' if phone else 'desktop'}.png"
    await page.screenshot(path=shots / name, full_page=True)
    await page.context.close()
    assert (shots / name).stat().st_size > 0
    log(f"screenshot {(shots / name).relative_to(SCREENSHOTS.parent.parent)}")
