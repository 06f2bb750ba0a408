"""The camera controls in Chromium: Home Assistant's widgets, dialogs before risks, one toast each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import (
    RECORD_TOASTS,
    WatchedBrowser,
    at_least,
    box,
    choose_resolution,
    log,
    open_panel,
    overlaps,
    recorded_toasts,
    send_command,
    translated,
)

# Native controls (and their home-made stand-ins' tags) in the shadow roots of our own elements.
NATIVE_CONTROLS = """() => {
  const found = [];
  const walk = (root) => {
    for (const element of root.querySelectorAll("*")) {
      if (!element.shadowRoot) continue;
      if (element.localName.startsWith("esp32-camera-")) {
        for (const native of element.shadowRoot.querySelectorAll("select, input, textarea, details, dialog, progress, meter")) {
          found.push(`${element.localName} > ${native.localName}`);
        }
      }
      walk(element.shadowRoot);
    }
  };
  walk(document);
  return found;
}"""


async def test_answer_to_a_command_sent_elsewhere_is_a_toast(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """A camera's answer to a command sent by an action (not the page) shows as a toast."""
    page = await open_panel(browser, home_assistant)
    await send_command(home_assistant, "cam-2", "quality", 20)
    toast = page.locator("ha-toast", has_text="Camera 2: quality ok")
    await toast.first.wait_for(timeout=15000)
    await page.context.close()
    log("a command sent by an action showed the camera's answer as a toast")


async def test_controls_are_home_assistant_widgets(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """The controls are Home Assistant's (ha-select, ha-slider, ha-switch, ha-alert).

    No native select, range input, checkbox, details or dialog in any of our shadow roots, and
    no select offers to clear a value the camera must have.
    """
    page = await open_panel(browser, home_assistant)
    controls = page.locator("esp32-camera-panel esp32-camera-controls")
    # Resolution and mode; quality, frame rate, brightness, contrast; mirror, flip and the three
    # automatics; the admin-only note and the risk warning.
    expected = {"ha-select": 2, "ha-slider": 4, "ha-switch": 5, "ha-alert": 2}
    found = {tag: await controls.locator(tag).count() for tag in expected}
    saving_switch = await page.locator("esp32-camera-saving ha-switch").count()
    assert all(found[tag] >= count for tag, count in expected.items()), (
        f"Home Assistant's controls: {found}, {expected} expected at least"
    )
    assert saving_switch == 1, f"{saving_switch} saving switches"
    native = await page.evaluate(NATIVE_CONTROLS)
    assert not native, f"native controls in our elements: {native}"
    clear_buttons = await controls.locator("ha-select ha-icon-button.clear").count()
    assert not clear_buttons, f"{clear_buttons} selects offer to clear the camera's value"
    await page.context.close()
    log(
        f"controls are Home Assistant's ({found}, a saving ha-switch); no native control in our elements; no select can be cleared"
    )


async def test_risky_resolution_and_reboot_ask_first(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """A risky resolution and a reboot ask first in Home Assistant's ha-dialog.

    Cancel sends nothing to the camera; confirm sends the command. The risk then shows as an
    ha-alert warning.
    """
    camera = cameras[1]
    page = await open_panel(browser, home_assistant, camera=camera)
    controls = page.locator("esp32-camera-panel esp32-camera-controls")
    dialog = controls.locator("ha-dialog")
    resolution = camera.resolution.name
    risky = "FHD"

    async def ask(open_dialog: Callable[[], Awaitable[None]], title: str, text: str) -> None:
        await open_dialog()
        await dialog.wait_for(state="attached", timeout=10000)
        await dialog.locator("#ha-dialog-title").wait_for(timeout=10000)
        shown = (
            await dialog.locator("#ha-dialog-title").text_content(),
            await dialog.locator("p").text_content(),
        )
        assert tuple(part.strip() for part in shown if part) == (title, text), (
            f"the dialog reads {shown}, not {(title, text)}"
        )

    async def answer(button: str) -> None:
        await dialog.locator("ha-button", has_text=button).click()
        await dialog.wait_for(state="detached", timeout=10000)

    # A risky resolution, cancelled: nothing reaches the camera, the select shows it as it was.
    received = len(camera.commands_received)
    await ask(
        lambda: choose_resolution(page, risky),
        translated("dialog.resolution_title", name=risky),
        translated("risk.high", name=risky),
    )
    await page.screenshot(path=shots / "panel-dialog-risky-resolution.png")
    await answer(translated("dialog.cancel"))
    await asyncio.sleep(1.5)
    sent = camera.commands_received[received:]
    shown_value = controls.locator('ha-select ha-picker-field span[slot="headline"]').first
    shown = (await shown_value.text_content() or "").strip()
    assert not sent, f"cancelled {risky}: the camera got {sent}"
    assert camera.resolution.name == resolution, f"cancelled {risky}: the camera switched"
    assert shown.startswith(f"{resolution} "), f"cancelled {risky}: the select shows {shown!r}"
    # Confirmed: the camera switches, and the risk stays in view as Home Assistant's warning.
    await ask(
        lambda: choose_resolution(page, risky),
        translated("dialog.resolution_title", name=risky),
        translated("risk.high", name=risky),
    )
    await answer(translated("dialog.switch"))
    await camera.wait_for(lambda camera: camera.resolution.name == risky, timeout=20)
    warning = controls.locator('ha-alert[alert-type="warning"]')
    await warning.wait_for(timeout=10000)
    assert (await warning.text_content() or "").strip() == translated("risk.high", name=risky), (
        f"the risk warning reads {await warning.text_content()!r}"
    )
    await choose_resolution(page, resolution)  # no risk: no question
    await camera.wait_for(lambda camera: camera.resolution.name == resolution, timeout=20)
    # Reboot, cancelled, then confirmed.
    reboots = camera.reboots
    received = len(camera.commands_received)
    reboot = controls.locator("ha-button.reboot")
    reboot_title = translated("dialog.reboot_title", camera=camera.name or "")
    await ask(reboot.click, reboot_title, translated("dialog.reboot_text"))
    await answer(translated("dialog.cancel"))
    await asyncio.sleep(1.5)
    assert camera.reboots == reboots, "a cancelled reboot rebooted the camera"
    assert not camera.commands_received[received:], (
        f"a cancelled reboot sent {camera.commands_received[received:]}"
    )
    await ask(reboot.click, reboot_title, translated("dialog.reboot_text"))
    await answer(translated("control.reboot"))
    await camera.wait_for(lambda camera: camera.reboots == reboots + 1, timeout=20)
    await camera.wait_for(lambda camera: camera.connected, timeout=30)
    await page.context.close()
    log(
        f"ha-dialog asks before {risky} and before a reboot, in our strings; cancel sent nothing, "
        f"confirm switched {camera.camera_id} to {risky} (then an ha-alert warning) and rebooted it"
    )


async def test_one_change_sends_one_command_and_one_toast(
    browser: WatchedBrowser, home_assistant: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """Each change sends one command (what the camera got) and shows one toast.

    Three arrow steps on a slider are one change; two switches flipped in quick succession are two.
    """
    camera = cameras[2]
    page = await open_panel(browser, home_assistant, camera=camera)
    await page.evaluate(RECORD_TOASTS)
    slider = page.locator("esp32-camera-controls ha-slider").first  # JPEG quality
    quality = int(await slider.evaluate("slider => slider.value"))
    key, step = ("ArrowRight", 1) if quality <= 60 else ("ArrowLeft", -1)
    received = len(camera.commands_received)
    browser.watch.sent_commands.clear()
    await slider.locator("[role=slider]").focus()
    for _ in range(3):
        await page.keyboard.press(key)
    wanted = quality + 3 * step
    await camera.wait_for(lambda camera: camera.quality == wanted, timeout=10)
    await asyncio.sleep(1.5)  # a second command or toast would have come by now
    got = camera.commands_received[received:]
    browser_sent = list(browser.watch.sent_commands)
    toasts = await recorded_toasts(page)
    assert browser_sent == [("quality", wanted)], (
        f"three arrow steps: the browser sent {browser_sent}"
    )
    assert got == [("quality", str(wanted))], f"three arrow steps: the camera got {got}"
    assert len(toasts) == 1, f"three arrow steps: toasts {toasts}"
    assert translated("control.quality") in toasts[0], f"three arrow steps: toasts {toasts}"
    # Two switches, one right after the other.
    await page.evaluate(RECORD_TOASTS)
    switches = page.locator("esp32-camera-controls ha-switch")
    before = camera.settings
    received = len(camera.commands_received)
    await switches.nth(0).click()  # mirror
    await switches.nth(1).click()  # flip
    await camera.wait_for(
        lambda camera: (
            camera.settings["hmirror"] != before["hmirror"]
            and camera.settings["vflip"] != before["vflip"]
        ),
        timeout=10,
    )
    await asyncio.sleep(1.5)
    flipped = camera.commands_received[received:]
    switch_toasts = await recorded_toasts(page)
    assert [command for command, _ in flipped] == ["hmirror", "vflip"], (
        f"two switches flipped: the camera got {flipped}"
    )
    assert len(switch_toasts) == 2, f"two switches flipped: toasts {switch_toasts}"
    await page.context.close()
    log(
        f"three arrow steps on a slider: one command (quality {wanted}), one toast; two switches "
        "flipped at once: two commands, two toasts"
    )


async def test_toasts_stay_clear_of_the_video(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """Toasts, several at once, stay clear of the video on a desktop and a phone."""
    camera = cameras[2]
    for phone in (False, True):
        page = await open_panel(
            browser,
            home_assistant,
            camera=camera,
            phone=phone,
        )
        await page.evaluate("() => window.scrollTo(0, 0)")
        await page.evaluate(RECORD_TOASTS)
        capture = page.locator(
            f'esp32-camera-panel esp32-camera-viewer button[aria-label="{translated("viewer.capture")}"]'
        )
        for _ in range(2):
            async with page.expect_download(timeout=10000):
                await capture.click()
        # The camera's answer to a command sent elsewhere: a third toast. (The panel tells answers
        # apart by their content: the same answer twice in a row is toasted once.)
        quality = camera.quality + (1 if camera.quality < 63 else -1)
        await send_command(home_assistant, camera.display_id, "quality", quality)
        toasts = page.locator("notification-manager ha-toast")
        await wait_until("three toasts", partial(at_least, toasts, 3), timeout=10)
        await asyncio.sleep(0.5)  # their entrance animation
        video = await box(page.locator("esp32-camera-panel esp32-camera-viewer .video").first)
        boxes = [await box(toast) for toast in await toasts.all()]
        assert not any(overlaps(video, toast) for toast in boxes), (
            f"toasts {boxes} overlap the video {video}"
        )
        await page.screenshot(path=shots / f"panel-toasts-{'phone' if phone else 'desktop'}.png")
        await page.context.close()
        log(
            f"{'phone' if phone else 'desktop'}: {len(boxes)} toasts at y={min(b['y'] for b in boxes):.0f}.."
            f"{max(b['y'] + b['height'] for b in boxes):.0f}, clear of the video at y={video['y']:.0f}..{video['y'] + video['height']:.0f}"
        )
