"""The "H.264 stream" switch on a camera's device page, as an administrator turns it on.

Turned on from the device page's configuration card, the camera entity gains the STREAM feature
(its more-info dialog then plays HLS: tests/e2e/test_e2e_h264.py); off again, it loses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, camera_entities, wait_until
from tests.e2e.browser_helpers import WatchedBrowser, log, open_page

STREAM = 2  # CameraEntityFeature.STREAM


async def test_the_switch_on_the_device_page_gives_the_camera_a_stream(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    cameras: list[SimulatedCamera],
    shots: Path,
) -> None:
    camera = cameras[0]
    async with home_assistant.websocket() as call:
        entities = await camera_entities(call, [camera.camera_id])
        switch_id = entities["switch", f"{camera.camera_id}_h264_stream"]
        camera_id = entities["camera", f"{camera.camera_id}_camera"]
        registry = await call("config/entity_registry/get", entity_id=switch_id)
        device_id = registry["device_id"]

        async def features() -> int:
            states: list[dict[str, Any]] = await call("get_states")
            (state,) = [s for s in states if s["entity_id"] == camera_id]
            return int(state["attributes"].get("supported_features", 0))

        assert not await features() & STREAM
        page = await open_page(
            browser, home_assistant, f"/config/devices/device/{device_id}", dark=False, phone=False
        )
        try:
            row = page.get_by_text("H.264 stream", exact=True).first
            await row.wait_for(timeout=30_000)
            await row.scroll_into_view_if_needed()
            await page.screenshot(path=shots / "h264-switch-off.png")
            # The row's toggle (the switch on the name's line), as a user clicks it.
            name_box = await row.bounding_box()
            assert name_box is not None
            line = name_box["y"] + name_box["height"] / 2
            toggles = page.locator("ha-switch")
            boxes = [await toggles.nth(n).bounding_box() for n in range(await toggles.count())]
            (toggle,) = [
                toggles.nth(n)
                for n, box in enumerate(boxes)
                if box is not None and box["y"] <= line <= box["y"] + box["height"]
            ]
            await toggle.click()
            await wait_until("the camera's STREAM feature", lambda: _has(features, STREAM))
            await page.screenshot(path=shots / "h264-switch-on.png")
            log(f"{switch_id} on from the device page: {camera_id} has STREAM")
        finally:
            await page.context.close()
            await home_assistant.switch_cameras([camera.camera_id], ["h264_stream"], on=False)
        assert not await features() & STREAM


async def _has(features: Any, flag: int) -> bool:
    return bool(await features() & flag)
