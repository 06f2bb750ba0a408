"""Motion end to end: a simulated camera plays the crossing scene, detection on.

In the browser: the motion binary sensor turns on and the event entity reports `motion_started`;
the Clips card shows the clip being recorded, then lists it once it is written (pushed, the page
not reloaded), and its MP4 once made; the clip plays in the dialog and in the Media panel. On disk:
the clip's AVI holds every frame of its window, its pre-roll included.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
import time
from typing import Any

from playwright.async_api import ViewportSize

from custom_components.esp32_camera.clips import read_avi
from custom_components.esp32_camera.hub.clock import wall_clock_ms
from esp32_simulator import SimulatedCamera
from esp32_simulator.scenes import build_scenes
from harness.hass_process import HomeAssistant, camera_entities, wait_until
from tests.e2e.browser_helpers import (
    DESKTOP,
    Hub,
    WatchedBrowser,
    clip_item,
    find_in_media_panel,
    has_text,
    log,
    open_page,
    play_clip,
    start_scene_camera,
)

# The motion camera: a scene with labelled motion, as the demo's, and its cool-down.
MOTION_SCENE = "crossing"
MOTION_COOLDOWN = 2  # seconds: each walker is a motion (and a clip) of its own
# A saved clip is in the Clips card within this many seconds: pushed (at most every second).
CLIP_LISTED_WITHIN = 5.0

# The page notes, on its own connection to Home Assistant, the motion entities' state changes and
# the clip_saved events, and when the Clips card first lists a clip (browser clock, epoch ms).
WATCH_MOTION_JS = """async () => {
  const hass = document.querySelector("home-assistant").hass;
  window.e2e = { states: [], clips: [], listedAt: null };
  await hass.connection.subscribeEvents((event) => {
    const state = event.data.new_state;
    if (state && /^(binary_sensor|event)[.]/.test(event.data.entity_id)) {
      window.e2e.states.push({ at: Date.now(), entity_id: event.data.entity_id,
        state: state.state, event_type: state.attributes.event_type ?? null });
    }
  }, "state_changed");
  await hass.connection.subscribeEvents(
    (event) => window.e2e.clips.push({ at: Date.now(), ...event.data }), "esp32_camera_clip_saved");
}"""
WATCH_LIST_JS = """(clips) => {
  const list = clips.shadowRoot.querySelector(".clips");
  new MutationObserver(() => {
    if (window.e2e.listedAt === null && list.querySelector("button.clip")) window.e2e.listedAt = Date.now();
  }).observe(list, { childList: true });
}"""


async def test_motion_turns_the_sensor_on_and_its_clip_plays(
    browser: WatchedBrowser,
    home_assistant: HomeAssistant,
    hub: Hub,
    cameras: list[SimulatedCamera],
    save_directory: Path,
    shots: Path,
) -> None:
    """The crossing scene's walkers turn the motion sensor on in the browser and make clips.

    A ninth camera: the tests that count eight tiles ran before this one.
    """
    hass = home_assistant
    scene = build_scenes()[MOTION_SCENE]  # VGA, the scenes' default size
    camera, frames = await start_scene_camera(hub, MOTION_SCENE, scene)
    scene_index = {frame: index for index, frame in enumerate(frames)}
    try:
        # Detection is on by default: off until the check is watching, so that the first motion
        # it sees starts with the walker, and the first clip with it.
        async with hass.websocket() as call:
            entities: dict[tuple[str, str], str] = {}

            async def registered() -> bool:
                entities.update(await camera_entities(call, [MOTION_SCENE]))
                return ("switch", f"{MOTION_SCENE}_motion_detection") in entities

            await wait_until("the scene camera's motion switch", registered)
            await call(
                "call_service",
                domain="switch",
                service="turn_off",
                target={"entity_id": entities["switch", f"{MOTION_SCENE}_motion_detection"]},
            )
        page = await open_page(browser, hass, "/esp32-cameras", dark=False, phone=False)
        await page.locator(f'esp32-camera-panel .tile[data-camera="{MOTION_SCENE}"]').click()
        clips = page.locator("esp32-camera-clips")
        note = clips.locator(".muted").first
        await wait_until("the empty Clips card", lambda: has_text(note, "No clips yet."))
        await page.evaluate(WATCH_MOTION_JS)
        await clips.evaluate(WATCH_LIST_JS)
        # Tall enough for the video and the Clips card in one screenshot.
        await page.set_viewport_size(ViewportSize(width=DESKTOP["width"], height=1850))
        # Switched on in the quiet second before the fast walker: the detector's background is
        # the empty room, and the walker's first frame comes after.
        (first_moving, _), *_ = scene.motion
        await camera.wait_for(
            lambda camera: (
                camera.last_frame is not None
                and camera.last_frame.frame_index is not None
                and first_moving - 2 * scene.fps
                <= camera.last_frame.frame_index
                < first_moving - 20
            ),
            timeout=scene.frames / scene.fps + 10,
        )
        entities = await hass.set_up_motion([MOTION_SCENE], cooldown=MOTION_COOLDOWN)
        switched_on = time.monotonic()
        sensor = entities["binary_sensor", f"{MOTION_SCENE}_motion"]
        event = entities["event", f"{MOTION_SCENE}_motion"]
        pre_roll = float(
            await page.evaluate(
                "(id) => document.querySelector('home-assistant').hass.states[id].state",
                entities["number", f"{MOTION_SCENE}_clip_pre_roll"],
            )
        )

        async def noted() -> dict[str, Any]:
            notes: dict[str, Any] = await page.evaluate("() => window.e2e")
            return notes

        async def sensor_on() -> bool:
            return any(
                s["entity_id"] == sensor and s["state"] == "on" for s in (await noted())["states"]
            )

        async def motion_started() -> bool:
            return any(
                s["entity_id"] == event and s["event_type"] == "motion_started"
                for s in (await noted())["states"]
            )

        await wait_until(f"{sensor} on in the browser", sensor_on, timeout=30)
        await wait_until(f"{event}'s motion_started in the browser", motion_started, timeout=10)
        on_at = next(
            s["at"]
            for s in (await noted())["states"]
            if s["entity_id"] == sensor and s["state"] == "on"
        )
        # From the last walker's first frame sent before the sensor turned on.
        starts = {first for first, _end in scene.motion}
        trigger = [
            frame
            for frame in camera.sent_frames
            if frame.frame_index in starts and wall_clock_ms(frame.completed_at) <= on_at
        ][-1]
        on_delay = (
            f"{on_at - wall_clock_ms(trigger.completed_at):.0f} ms"
            if trigger.completed_at > switched_on
            else "(not measured: switched on during a crossing)"
        )
        recording = clips.locator(".recording")
        await recording.wait_for(state="visible", timeout=10000)

        newest = clips.locator(f'button.clip[data-name^="{MOTION_SCENE}/clips/"]').first
        await newest.wait_for(timeout=60000)
        clip = save_directory / (await newest.get_attribute("data-name") or "")
        item = clip_item(page, save_directory, clip)  # the next walker's clip is listed first
        listed_after = (await noted())["listedAt"] / 1000 - clip.stat().st_mtime
        assert listed_after <= CLIP_LISTED_WITHIN, (
            f"the clip was listed {listed_after:.1f} s after it was written"
        )
        description = await item.locator(".what").text_content() or ""
        assert description.startswith("Motion ·"), f"the clip is listed as {description!r}"
        # The slow walker in the middle of the picture, recorded, the first clip listed.
        slow_first, slow_end = scene.motion[1]
        await camera.wait_for(
            lambda camera: (
                camera.last_frame is not None
                and camera.last_frame.frame_index is not None
                and (slow_first + slow_end) // 2 <= camera.last_frame.frame_index < slow_end - 10
            ),
            timeout=scene.frames / scene.fps + 10,
        )
        await recording.wait_for(state="visible", timeout=5000)
        await page.screenshot(path=shots / "motion-recording.png")
        await page.set_viewport_size(DESKTOP)
        played = await play_clip(page, item, shots / "motion-clip.png", shot_at=pre_roll + 0.4)

        # The event when its files are complete (after the MP4, where ffmpeg is); the card reads
        # its list again for the MP4.
        async def saved() -> bool:
            return any(c["path"] == str(clip) for c in (await noted())["clips"])

        await wait_until("the clip_saved event", saved, timeout=180)
        (clip_saved,) = [c for c in (await noted())["clips"] if c["path"] == str(clip)]
        assert clip_saved["reason"] == "motion", f"the clip saved was {clip_saved}"
        mp4 = "no MP4 (no ffmpeg)"
        if clip_saved["mp4"]:
            await wait_until(
                "the Clips card's MP4 link",
                lambda: clips.evaluate(
                    "(c, name) => Boolean(c.clips.find((clip) => clip.name === name)?.video_url)",
                    clip.relative_to(save_directory).as_posix(),
                ),
                timeout=10,
            )
            mp4 = "its MP4 linked in the card once made"
        assert await page.evaluate("() => 'e2e' in window"), "the page reloaded"
        await page.context.close()
    finally:
        await camera.stop()

    # The AVI: the scene's frames, consecutive (none missing), the pre-roll before the walker.
    indices = [scene_index.get(frame, -1) for frame in read_avi(clip).iter_frames()]
    assert -1 not in indices, f"the clip holds frames not of the scene: {indices}"
    assert all((b - a) % scene.frames == 1 for a, b in pairwise(indices)), (
        f"the clip's frames are not the scene's in order: {indices}"
    )
    assert trigger.frame_index in indices, f"the clip {indices} lacks the walker's first frame"
    before_motion = indices.index(trigger.frame_index)
    wanted = pre_roll * scene.fps * 0.9
    assert before_motion >= wanted, (
        f"the clip holds {before_motion} frames before the motion, {wanted:g} wanted"
    )
    listed = await find_in_media_panel(browser, hass, MOTION_SCENE.capitalize(), clip, None)
    log(
        f"motion: {sensor} on in the browser {on_delay} after the walker's first frame was sent, "
        f"{event} reported motion_started; the Clips card showed the recording, then listed "
        f"{clip.name} ({description}) {listed_after:.1f} s after its AVI was written, pushed "
        f"(no reload); {played}; {mp4}"
    )
    log(
        f"the clip holds {len(indices)} consecutive scene frames, {before_motion} of them before "
        f"the walker (pre-roll {pre_roll:g} s at {scene.fps} fps: at least {wanted:g}); Media "
        f"panel: {MOTION_SCENE.capitalize()} > Clips {listed}"
    )
