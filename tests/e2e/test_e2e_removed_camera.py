"""A camera away, then removed: its values are marked as not current, then its tile goes."""

from __future__ import annotations

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import WatchedBrowser, log, open_page


async def test_away_camera_is_marked_and_a_removed_one_disappears(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """A camera away shows its values as not current, and a removed one disappears.

    It stops the last camera for good (the session's other tests run before it).
    """
    camera = cameras[-1]
    page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=False)
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
    assert stale, "an away camera's health is not marked as not current"
    async with home_assistant.websocket() as call:
        devices = await call("config/device_registry/list")
        # By its name on this hub: what a user picks in the device list (identifiers may change).
        (device,) = [
            d
            for d in devices
            if d["name"] == camera.name and home_assistant.hub_entry_id in d["config_entries"]
        ]
        await call(
            "config/device_registry/remove_config_entry",
            device_id=device["id"],
            config_entry_id=home_assistant.hub_entry_id,
        )
    await tile.wait_for(state="detached", timeout=10000)
    log(
        f"{camera.camera_id} away: marked offline, its health as last known; removed: its tile is gone"
    )
    await page.context.close()
