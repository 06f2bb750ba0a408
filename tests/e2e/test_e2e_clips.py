"""A saved clip in Chromium: it plays in the panel's Clips card and in Home Assistant's Media panel."""

from __future__ import annotations

from datetime import datetime
import io
from pathlib import Path

from PIL import Image, ImageDraw

from custom_components.esp32_camera.clips import AviWriter
from custom_components.esp32_camera.disk.layout import clip_path
from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant
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
