"""A household member (not an administrator) in the panel: controls disabled, the server refuses."""

from __future__ import annotations

from pathlib import Path

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import WatchedBrowser, add_member, log, open_page


async def test_non_admin_sees_controls_disabled_and_is_refused(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """A non-admin sees every control but Save now disabled, and the server refuses a command."""
    tokens = await add_member(home_assistant, "viewer")
    page = await open_page(
        browser, home_assistant, "/esp32-cameras", dark=False, phone=False, tokens=tokens
    )
    alert = page.locator("esp32-camera-controls ha-alert").first
    await alert.wait_for(timeout=30000)
    disabled = await page.locator("esp32-camera-controls ha-form").first.evaluate(
        "form => form.disabled"
    )
    reboot = await page.locator("esp32-camera-controls ha-button.reboot").first.evaluate(
        "button => button.disabled"
    )
    assert disabled, "non-admin: the controls' form is enabled"
    assert reboot, "non-admin: the reboot button is enabled"
    # A snapshot is theirs (permissions.py): Save now is offered; continuous saving is not.
    save_now = page.locator("esp32-camera-saving ha-button.save-now").first

    async def offered() -> bool:  # the property: Playwright's is_enabled ignores ha-button's
        return not await save_now.evaluate("button => button.disabled")

    await wait_until("a non-admin's Save now", offered, timeout=20)
    await page.screenshot(path=str(shots / "panel-non-admin.png"))
    assert await page.locator("esp32-camera-saving ha-switch").first.evaluate("s => s.disabled"), (
        "non-admin: the continuous saving switch is enabled"
    )
    refused = await page.evaluate(
        """() => document.querySelector("home-assistant").hass.connection
            .sendMessagePromise({type: "esp32_camera/command", camera_id: "cam-1", command: "quality", value: 20})
            .then(() => "accepted", (err) => err.code)"""
    )
    assert refused == "unauthorized", f"the server answered a non-admin's command with {refused!r}"
    browser.watch.forgive("esp32_camera/command: {'code': 'unauthorized'")  # the point
    await page.context.close()
    log("non-admin: controls disabled, and the server refuses their command (unauthorized)")
