"""The demo: a real Home Assistant, onboarded, with the hub and simulated cameras playing scenes.

Run through `scripts/demo`. Starts `hass` from .venv with a throw-away configuration (under
`${XDG_CACHE_HOME:-~/.cache}/esp32-camera-demo/`, removed on exit), creates the owner through the
onboarding API with a generated password, adds the hub through the config flow and streams:

- one camera per motion scene (esp32_simulator/scenes.py), admitted with the hub token, motion
  detection and recording on motion switched on;
- one stock-firmware camera (no token), waiting for the user's approval;
- retention set small (RETENTION_MB, RETENTION_DAYS) through the hub's options form, so the demo's
  clips and MP4s stay within a few hundred MB however long it runs (873 MB in 10 minutes before
  issue 20).

It prints where to look and runs until Ctrl-C (SIGINT) or SIGTERM, then stops the cameras and
Home Assistant and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from esp32_simulator import RESOLUTIONS, SimulatedCamera  # noqa: E402
from esp32_simulator.scenes import Scene, build_scenes, scene_frames  # noqa: E402
from harness.hass_process import (  # noqa: E402
    Account,
    HassProcessError,
    HomeAssistant,
    free_port,
    wait_until,
)

# One camera per scene worth watching: motion, and two disturbances the detector ignores.
SCENES = ("crossing", "lamp", "noise")
SCENE_RESOLUTION = RESOLUTIONS[5]  # VGA: light for the machine, big enough to see
STOCK_RESOLUTION = RESOLUTIONS[3]  # QVGA
STOCK_FPS = 10
# The hub's default (hub/motion_detection.DEFAULT_COOLDOWN): the crossing's people, 3 to 7 s
# apart, are one motion episode, as a busy room is; the logbook and the clips do not flap.
MOTION_COOLDOWN = 30  # seconds
# The demo's retention: clips (and their MP4s) past 150 MB go, oldest first. The busy camera's
# clips are a minute long (hub/clip_recording.MAX_MOTION_CLIP_SECONDS), about 60 MB at VGA.
RETENTION_MB = 150
RETENTION_DAYS = 1
OWNER_USERNAME = "demo"
PANEL_PATH = "/esp32-cameras"
INTEGRATIONS_PATH = "/config/integrations/dashboard"
STARTING = {"not_loaded", "setup_in_progress"}  # config entry states before the outcome
ANY_ADDRESS = {"0.0.0.0", "::"}  # noqa: S104 (listening on every interface is the option's point)
# The motion and logbook pages need these beside what the harness configures.
EXTRA_YAML = "history:\nlogbook:\n"


def log(message: str) -> None:
    """Print a progress line."""
    print(f"[demo] {message}", flush=True)


def demo_directory() -> Path:
    """Return the parent of the demo's throw-away configurations (XDG cache)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "esp32-camera-demo"


def render_scenes() -> dict[str, list[bytes]]:
    """Render every demo scene's frames (a few seconds of CPU: run in a thread)."""
    return {name: list(scene_frames(name, SCENE_RESOLUTION)) for name in SCENES}


async def remove_failed_entries(hass: HomeAssistant) -> list[str]:
    """Remove the entries onboarding added that fail here; return their titles.

    Onboarding adds Google Translate text-to-speech, whose library (gTTS) is not among the test
    requirements in .venv: its card would show "Failed to set up" on a page the demo points to.
    """
    entries: list[dict[str, Any]] = []

    async def settled() -> bool:
        async with hass.session.get(
            f"{hass.url}/api/config/config_entries/entry", headers=hass.headers
        ) as response:
            entries[:] = await response.json()
        return not any(entry["state"] in STARTING for entry in entries)

    await wait_until("the onboarding's integrations to set up", settled, timeout=60)
    failed = [entry for entry in entries if entry["state"] == "setup_error"]
    for entry in failed:
        async with hass.session.delete(
            f"{hass.url}/api/config/config_entries/entry/{entry['entry_id']}", headers=hass.headers
        ) as response:
            if response.status != 200:
                raise HassProcessError(f"removing {entry['title']}: {response.status}")
    return [entry["title"] for entry in failed]


async def pending_approval(hass: HomeAssistant) -> str:
    """Wait for the stock camera's approval flow; return the address it waits with."""
    async with hass.websocket() as call:
        found: list[str] = []

        async def discovered() -> bool:
            flows = await call("config_entries/flow/progress")
            found[:] = [
                flow["context"]["unique_id"]
                for flow in flows
                if flow["handler"] == "esp32_camera"
                and flow["context"].get("source") == "integration_discovery"
            ]
            return bool(found)

        await wait_until("the stock camera's approval", discovered, timeout=60)
    return found[0]


def form_values(schema: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a form's current values (defaults, suggested values), sections as nested forms."""
    values: dict[str, Any] = {}
    for field in schema:
        if field.get("type") == "expandable":
            values[field["name"]] = form_values(field["schema"])
        elif "default" in field:
            values[field["name"]] = field["default"]
        elif (suggested := (field.get("description") or {}).get("suggested_value")) is not None:
            values[field["name"]] = suggested
    return values


def with_retention(values: dict[str, Any]) -> bool:
    """Set the demo's retention where the form holds it (in a section or not); False if absent."""
    found = False
    for value in values.values():
        if isinstance(value, dict):
            found = with_retention(value) or found
    if "retention_size_mb" in values:
        values["retention_size_mb"] = RETENTION_MB
        values["retention_days"] = RETENTION_DAYS
        found = True
    return found


async def set_retention(hass: HomeAssistant, entry_id: str) -> None:
    """Set the hub's retention through its options form, as a user would."""
    path = "/api/config/config_entries/options/flow"
    step = await hass.post(path, {"handler": entry_id})
    if step.get("type") == "menu":
        step = await hass.post(f"{path}/{step['flow_id']}", {"next_step_id": "settings"})
    values = form_values(step.get("data_schema") or [])
    if not with_retention(values):
        raise HassProcessError(f"the hub's options form has no retention: {step}")
    result = await hass.post(f"{path}/{step['flow_id']}", values)
    if result.get("type") != "create_entry":
        raise HassProcessError(f"the hub's options were not saved: {result}")


def expected_motion(scene: Scene) -> str:
    """Say what motion the scene shows (its labelled ground truth), per loop."""
    if not scene.motion:
        return "no motion"
    return f"{len(scene.motion)} motions every {scene.frames / scene.fps:.0f} s"


def public_url(listen: str, port: int) -> str:
    """Return the address to open: this machine's name when listening on every interface."""
    host = socket.gethostname() if listen in ANY_ADDRESS else listen
    return f"http://{host}:{port}"


async def run(
    args: argparse.Namespace, hass: HomeAssistant, cameras: list[SimulatedCamera]
) -> None:
    """Start everything, print where to look, and wait until Home Assistant ends."""
    started = time.monotonic()
    rendering = asyncio.create_task(asyncio.to_thread(render_scenes))
    log(f"starting Home Assistant on port {hass.port} (configuration: {hass.config})")
    await hass.start()
    owner = Account("Demo Owner", OWNER_USERNAME, secrets.token_urlsafe(12))
    await hass.onboard(owner)
    stream_port = free_port(6972, args.listen)
    control_port = free_port(6971, args.listen)
    token = await hass.add_hub(stream_port, control_port, name="Demo hub", host=args.listen)
    log(f"onboarded, hub added: frames on port {stream_port}, control on {control_port}")
    assert hass.hub_entry_id is not None
    await set_retention(hass, hass.hub_entry_id)
    log(f"retention: {RETENTION_MB} MB, {RETENTION_DAYS} day (clips and MP4s, oldest first)")
    scenes = build_scenes()
    frames = await rendering
    camera_host = "127.0.0.1" if args.listen in ANY_ADDRESS else args.listen
    cameras.extend(
        SimulatedCamera(
            camera_host,
            stream_port,
            camera_id=scene,
            name=scene.capitalize(),
            token=token,
            firmware="esp32_simulator (demo)",
            resolution=SCENE_RESOLUTION.index,
            fps=scenes[scene].fps,
            mode="speed",
            frames=frames[scene],
        )
        for scene in SCENES
    )
    # The stock firmware: no id, name or token, so Home Assistant asks before using it.
    cameras.append(
        SimulatedCamera(
            camera_host, stream_port, resolution=STOCK_RESOLUTION.index, fps=STOCK_FPS, mode="speed"
        )
    )
    for camera in cameras:
        camera.start()
    # With the default 5 s cool-down the crossing's two people make one long motion; with 2 s
    # each is a motion of its own.
    entities = await hass.set_up_motion(SCENES, cooldown=MOTION_COOLDOWN)
    address = await pending_approval(hass)
    for title in await remove_failed_entries(hass):
        log(f"removed {title}, which onboarding added and cannot run here")
    url = public_url(args.listen, hass.port)
    recording = ", ".join(entities["switch", f"{scene}_record_on_motion"] for scene in SCENES)
    motion = [entities[domain, f"{SCENES[0]}_motion"] for domain in ("binary_sensor", "event")]
    lines = [
        f"ready in {time.monotonic() - started:.0f} s",
        "",
        f"  Home Assistant  {url}",
        f"  user            {owner.username}",
        f"  password        {owner.password}",
        "",
        f"  Panel           'ESP32 Cameras' in the sidebar: {url}{PANEL_PATH}",
        *(
            f"  {'Cameras' if index == 0 else '':<16}{scene}: {scenes[scene].description}: "
            + expected_motion(scenes[scene])
            for index, scene in enumerate(SCENES)
        ),
        f"  Motion          {' and '.join(motion)} (and the other cameras'), in History",
        f"                  and Logbook; detection on, {MOTION_COOLDOWN} s cool-down",
        f"                  recording on motion: on ({recording})",
        f"  Media           clips in the Media panel; retention {RETENTION_MB} MB, 1 day",
        f"  Approval        a stock camera at {address} waits in Settings > Devices & services >",
        f"                  Discovered ({url}{INTEGRATIONS_PATH}): Add, name it, then Approve",
        f"  More cameras    scripts/simulate --port {stream_port} --token={token} --scene shake",
        f"  Log             {hass.config / 'hass.log'}",
        "",
        "Ctrl-C stops everything"
        + (" (the configuration stays: --keep)" if args.keep else " and deletes the configuration"),
    ]
    for line in lines:
        log(line) if line else print(flush=True)
    assert hass.process is not None
    await hass.process.wait()
    raise HassProcessError(
        f"Home Assistant exited ({hass.process.returncode}); see {hass.config / 'hass.log'}"
    )


async def demo(args: argparse.Namespace) -> int:
    """Run the demo until a signal; stop everything; return the exit code."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if stopping:
            log("stopping, a moment")
            return
        stopping = True
        task.cancel()

    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop)
    parent = demo_directory()
    parent.mkdir(parents=True, exist_ok=True)
    config = Path(tempfile.mkdtemp(prefix="run-", dir=parent))
    hass = HomeAssistant(
        config, free_port(args.port, args.listen), extra_yaml=EXTRA_YAML, server_host=args.listen
    )
    cameras: list[SimulatedCamera] = []
    code = 0
    try:
        await run(args, hass, cameras)
    except asyncio.CancelledError:
        if not stopping:
            raise
        task.uncancel()
        log("stopping the cameras and Home Assistant")
    except HassProcessError as err:
        log(f"error: {err}")
        code = 1
    finally:
        await asyncio.gather(*(camera.stop() for camera in cameras))
        exit_code = await hass.stop()
        if exit_code is not None:
            log(f"Home Assistant stopped (exit code {exit_code})")
            # SIGTERM ends it before its own handlers are in place (while it starts); SIGKILL
            # means its shutdown timed out.
            code = code or int(exit_code not in {0, -signal.SIGTERM})
        if args.keep or code:
            log(f"configuration kept in {config}")
        else:
            shutil.rmtree(config, ignore_errors=True)
    log("stopped")
    return code


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=8123, help="Home Assistant's port, if free (default 8123)"
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1",
        help="address Home Assistant and the hub listen on (0.0.0.0: open to the network)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the configuration directory")
    return asyncio.run(demo(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
