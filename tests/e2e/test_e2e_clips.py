"""A saved clip in Chromium: it plays in the panel's Clips card and in Home Assistant's Media panel.

The panel's player pauses (one still frame), seeks and ends like a video (issue 20).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
import io
from pathlib import Path

from PIL import Image, ImageDraw

from custom_components.esp32_camera.clips import AviWriter, read_avi
from custom_components.esp32_camera.disk.layout import clip_path
from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, wait_until
from tests.e2e.browser_helpers import (
    WatchedBrowser,
    clip_item,
    find_in_media_panel,
    log,
    open_page,
    play_clip,
)


def write_clip(save_directory: Path, camera_id: str) -> Path:
    """Write a 10 s clip (10 fps, a moving bar and its frame number) with its thumbnail; return it."""
    path = clip_path(save_directory, camera_id, datetime.now().astimezone(), "motion")
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    for number in range(100):
        image = Image.new("RGB", (320, 240), (20, 40, 60))
        draw = ImageDraw.Draw(image)
        draw.rectangle((number * 3, 80, number * 3 + 40, 160), fill=(240, 180, 40))
        draw.text((10, 10), f"clip frame {number}", fill=(255, 255, 255))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        frames.append(buffer.getvalue())
    with AviWriter(path) as writer:
        for number, frame in enumerate(frames):
            writer.add_frame(frame, number / 10)
        writer.commit()
    path.with_suffix(".jpg").write_bytes(frames[0])
    return path


async def test_clip_plays_in_the_panel_and_the_media_panel(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    save_directory: Path,
    shots: Path,
) -> None:
    """A clip is listed in the panel and plays there (moving frames) and in the Media panel."""
    clip = write_clip(save_directory, "cam-1")  # the camera selected first (by name)
    page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=False)
    item = clip_item(page, save_directory, clip)
    await item.wait_for(timeout=30000)
    played = await play_clip(page, item, shots / "clip-playback.png")
    await page.context.close()
    log(f"clips: {clip.name} listed in the panel; {played}; back to live")
    listed = await find_in_media_panel(
        browser, home_assistant, "Camera 1", clip, shots / "media-browser.png"
    )
    log(f"Media panel: ESP32 Camera > Camera 1 > Clips {listed}")


async def test_the_clip_player_pauses_seeks_and_ends(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    save_directory: Path,
    shots: Path,
) -> None:
    """Pause holds one frame, the seek bar moves the replay, and the end says so (not frozen)."""
    clip = write_clip(save_directory, "cam-1")  # 10 s: frame n at n / 10 s
    frames = list(read_avi(clip).iter_frames())
    page = await open_page(browser, home_assistant, "/esp32-cameras", dark=False, phone=False)
    item = clip_item(page, save_directory, clip)
    await item.wait_for(timeout=30000)
    await item.click()
    player = page.locator("esp32-camera-clips ha-dialog .player")
    replay = player.locator("img.replay")
    time_text = player.locator(".time")
    toggle = player.locator("ha-button.play-pause")
    await wait_until("the replay's first frame", lambda: replay.evaluate("i => i.naturalWidth > 0"))
    # Playing: the time runs (a busy machine may poll it seconds apart: any second past 0:00).
    await wait_until(
        "the time running",
        lambda: time_text.evaluate("t => /^0:0[1-8] \\/ 0:10$/.test(t.textContent)"),
    )
    # Pause: one still frame (no stream), and the time stands.
    await toggle.click()
    await wait_until(
        "the paused still",
        lambda: replay.evaluate(
            "i => i.src.includes('still=1') && i.complete && i.naturalWidth > 0"
        ),
    )
    paused = await time_text.text_content()
    still = await replay.screenshot()
    await asyncio.sleep(1.5)
    assert still == await replay.screenshot(), "the paused clip moved"
    assert await time_text.text_content() == paused
    await page.screenshot(path=shots / "clip-player-paused.png")
    # Seek while paused: the frame at 8 s, exactly.
    await player.locator("input.seek").evaluate(
        "s => { s.value = '8'; s.dispatchEvent(new Event('change')); }"
    )
    await wait_until(
        "the still at 8 s",
        lambda: replay.evaluate("i => i.src.includes('start=8.000&still=1') && i.complete"),
    )
    shown = await replay.evaluate(
        "async i => (await (await fetch(i.src)).arrayBuffer()).byteLength"
    )
    assert shown == len(frames[80]), "the still at 8 s is not the clip's frame 80"
    assert await time_text.text_content() == "0:08 / 0:10"
    # Play from there: it ends 2 s later, and says so.
    await toggle.click()
    await wait_until(
        "the clip's end",
        lambda: player.evaluate("p => p.classList.contains('is-ended')"),
        timeout=15,
    )
    ended = player.locator(".ended")
    assert await ended.is_visible()
    assert "End of the clip" in (await ended.text_content() or "")
    assert await time_text.text_content() == "0:10 / 0:10"
    await page.screenshot(path=shots / "clip-player-ended.png")
    # Play again: from the start.
    await player.locator("ha-button.play-again").click()
    await wait_until(
        "playing again", lambda: player.evaluate("p => !p.classList.contains('is-ended')")
    )
    assert not await ended.is_visible()
    await wait_until(
        "the replay from 0", lambda: replay.evaluate("i => i.src.includes('start=0.000')")
    )
    await page.locator("esp32-camera-clips ha-button.back-to-live").click()
    await replay.wait_for(state="detached", timeout=10000)
    await page.context.close()
    log(
        f"clip player: paused at {paused} on one still frame, sought to 0:08 (frame 80, "
        "exactly), ended with its end shown, played again from 0:00"
    )
