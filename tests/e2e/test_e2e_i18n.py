"""The panel in another language (Spanish): no English string of ours is left."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import re

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import (
    CAMERA_COUNT,
    TRANSLATIONS,
    WatchedBrowser,
    deep_text,
    has_text,
    log,
    open_page,
)


async def test_spanish_panel_has_no_english_string_of_ours(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """In Spanish (the browser's language) the panel shows our Spanish strings and no English one."""
    english = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    spanish = json.loads((TRANSLATIONS / "es.json").read_text(encoding="utf-8"))
    page = await open_page(
        browser, home_assistant, "/esp32-cameras", dark=True, phone=False, language="es"
    )
    title = page.locator("esp32-camera-panel .toolbar .title")
    await wait_until("the Spanish title", lambda: has_text(title, spanish["panel.title"]))
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
    assert not leftovers, f"English strings in the Spanish panel: {leftovers}"
    for key in ("section.picture", "panel.controls", "saving.save_now"):
        assert spanish[key] in text, f"{spanish[key]!r} missing from the Spanish panel"
    await page.screenshot(path=shots / "panel-dark-desktop-es.png", full_page=True)
    await page.context.close()
    log("the panel in Spanish shows no English string of ours")
