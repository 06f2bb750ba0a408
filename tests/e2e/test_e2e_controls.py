"""The camera controls in Chromium: Home Assistant's widgets, dialogs before risks, one toast each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from playwright.async_api import Locator

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import (
    RECORD_TOASTS,
    WatchedBrowser,
    at_least,
    box,
    choose_resolution,
    has_text,
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
    # In words, not the camera's answer ("quality ok (20)").
    toast = page.locator("ha-toast", has_text="Camera 2: JPEG quality set to 20")
    await toast.first.wait_for(timeout=15000)
    await page.context.close()
    log("a command sent by an action showed the camera's answer as a toast")


async def flip(row: Locator, now: bool) -> None:
    """Turn an on/off setting's row the other way: its switch, or (unknown) its off or on."""
    toggle = row.locator("ha-switch")
    if await toggle.is_visible():
        await toggle.click()
    else:
        await row.locator(f"ha-icon-button.assumed-{'off' if now else 'on'}").click()


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
    before = camera.settings
    received = len(camera.commands_received)
    for name in ("hmirror", "vflip"):
        await flip(page.locator(f"esp32-camera-controls .switch-{name}"), bool(before[name]))
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


async def entity_state(home_assistant: HomeAssistant, entity_id: str) -> dict[str, Any]:
    """An entity's state as Home Assistant's own pages read it (get_states)."""
    async with home_assistant.websocket() as call:
        states = await call("get_states")
    (found,) = [state for state in states if state["entity_id"] == entity_id]
    return dict(found)


async def test_settings_the_camera_never_reports_read_as_their_entities(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    """Brightness and automatic exposure show what their entities show: unknown, then last set.

    Unknown in both until set (the switch row offers off and on, as HA's assumed-state toggle);
    once set from the panel, or from the entity, both show that value, marked "last set". The
    switch rows are as tall as the slider rows, the selects carry no asterisk, resolutions read
    "XGA 1024 by 768" without a thousands separator, no Reset sensor for the stock firmware's commands, and the toast is a
    sentence, not the camera's raw answer.
    """
    async with home_assistant.websocket() as call:
        listing = await call("esp32_camera/cameras")
    never_set = [
        described
        for described in listing["cameras"]
        if not {"brightness", "exposure"} & set(described["settings"])
    ]
    assert never_set, "every camera had brightness or exposure set before this test"
    described = never_set[-1]
    camera = next(c for c in cameras if c.camera_id == described["camera_id"])
    assert "sensor_reset" not in described["actions"]
    slug = (camera.name or "").lower().replace(" ", "_")
    brightness_id, exposure_id = f"number.{slug}_brightness", f"switch.{slug}_automatic_exposure"
    for entity_id in (brightness_id, exposure_id):
        state = await entity_state(home_assistant, entity_id)
        assert (state["state"], state["attributes"].get("assumed_state")) == ("unknown", True), (
            f"{entity_id} before any change: {state}"
        )

    page = await open_panel(browser, home_assistant, camera=camera)
    await page.evaluate(RECORD_TOASTS)
    controls = page.locator("esp32-camera-panel esp32-camera-controls")
    exposure = controls.locator(".switch-exposure")
    brightness = controls.locator("ha-selector-number").filter(
        has_text=translated("control.brightness")
    )
    unknown, last_set = translated("hint.unknown"), translated("hint.last_set")
    # Unknown in the panel too: off and on offered, no switch pretending; the slider says so.
    assert await exposure.locator("ha-icon-button.assumed-on").is_visible()
    assert not await exposure.locator("ha-switch").is_visible()
    assert (await exposure.locator(".hint").text_content() or "").strip() == unknown
    brightness_hint = brightness.locator("ha-input-helper-text")
    assert (await brightness_hint.text_content() or "").strip() == unknown
    # Item 8's frictions: rows of one height, no asterisks, pixel sizes without separators.
    switch_height = (await box(exposure)).get("height", 0)
    slider_height = (await box(brightness)).get("height", 0)
    assert switch_height <= slider_height * 1.15, (
        f"a switch row is {switch_height:.0f} px, a slider row {slider_height:.0f} px"
    )
    labels = [
        (await label.text_content() or "").strip()
        for label in await controls.locator('ha-select span[slot="overline"]').all()
    ]
    assert labels == [translated("control.resolution"), translated("control.mode")], labels
    resolution_select = controls.locator("ha-select").first
    await resolution_select.click()
    options = [
        " ".join((await option.text_content() or "").split())
        for option in await resolution_select.locator("ha-dropdown-item").all()
    ]
    await page.keyboard.press("Escape")
    assert "XGA 1024\N{MULTIPLICATION SIGN}768" in options, options
    assert not any("," in option for option in options), options
    sensor_reset = controls.locator("ha-button.sensorReset")
    assert not await sensor_reset.is_visible(), "Reset sensor is offered to the stock firmware"
    await controls.screenshot(path=shots / "controls-unknown.png")

    # Set from the panel: the camera takes it, the entity and the panel show it, "last set".
    await exposure.locator("ha-icon-button.assumed-off").click()
    await camera.wait_for(lambda camera: camera.settings["exposure"] is False, timeout=10)
    await exposure.locator("ha-switch").wait_for(timeout=10000)
    assert not await exposure.locator("ha-switch").evaluate("toggle => toggle.checked")
    await wait_until(
        "the hint says last set",
        lambda: has_text(exposure.locator(".hint"), last_set),
        timeout=10,
    )
    state = await entity_state(home_assistant, exposure_id)
    assert (state["state"], state["attributes"].get("assumed_state")) == ("off", True), state
    toasts = await recorded_toasts(page)  # the page's own change: one toast, a sentence
    expected = translated(
        "toast.setting",
        setting=translated("control.exposure"),
        value=translated("state.off"),
    )
    assert len(toasts) == 1, toasts
    assert expected in toasts[0], toasts
    assert '"' not in toasts[0], f"the camera's raw answer in the toast: {toasts}"
    # Set on the entity (the device page, an automation): the panel follows.
    await home_assistant.post(
        "/api/services/number/set_value", {"entity_id": brightness_id, "value": 1}
    )
    await wait_until(
        "the slider shows the brightness set on the entity",
        lambda: brightness.locator("ha-slider").evaluate("slider => slider.value === 1"),
        timeout=10,
    )
    assert (await brightness_hint.text_content() or "").strip() == last_set
    await controls.screenshot(path=shots / "controls-last-set.png")
    await page.context.close()
    log(
        f"{camera.name}: brightness and exposure unknown in entity and panel, then the value set "
        f"(panel → entity, entity → panel) marked last set; switch row {switch_height:.0f} px, "
        f"slider row {slider_height:.0f} px; labels {labels}; no Reset sensor; toast {toasts[0]!r}"
    )
