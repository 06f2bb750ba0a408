"""Attacks by a logged-in user on what actions can start (issue 18: clips and snapshots).

    scripts/bench --only attacks                                 # with every other attack
    ESP32_CAMERA_ATTACKS=clip_caps scripts/bench --only attacks  # these alone

A NON-ADMIN user (created for the run, logged in through Home Assistant's login flow) sends
2,000 `esp32_camera.record` calls at once over one WebSocket connection, with Home Assistant's
file descriptor limit lowered to 2,048 (prlimit on the running `hass`). Figures, beside the
`Phase` ones of bench/attack_tools.py: calls answered (recorded, refused by the caps, other errors),
the answer time p99, hass's peak threads and open files, the `.part` files left right after the
calls and after a restart of Home Assistant. On the main of issue 18 Home Assistant died of EMFILE.

Then `hass` is killed (SIGKILL) 4 s into a 20 s record call with a 5 s pre-roll and started
again: the clip's frames written until then should be a clip, and no `.part` file left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
import resource
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.attack_tools import LEGIT_FPS, Phase, log
from bench.measure import percentile
from custom_components.esp32_camera.clips import ClipError, read_avi
from harness.hass_process import HassProcessError, log_in, wait_until

if TYPE_CHECKING:
    from bench.testbed import Bench

CALLS = 2000
FD_LIMIT = 2048
ANSWER_TIMEOUT = 120.0
KILL_AFTER = 4.0  # seconds into the clip
USER = ("Household member", "member", "member-password-123")


async def _non_admin_token(bench: Bench) -> str:
    """Create a non-admin user (group system-users) and log them in; return the access token."""
    name, username, password = USER
    async with bench.hass.websocket() as call:
        users = await call("config/auth/list")
        if not any(user["name"] == name for user in users):
            user = (await call("config/auth/create", name=name, group_ids=["system-users"]))["user"]
            await call(
                "config/auth_provider/homeassistant/create",
                user_id=user["id"],
                username=username,
                password=password,
            )
    tokens = await log_in(bench.hass.session, bench.hass.url, username, password)
    return str(tokens["access_token"])


def _hass_files_and_threads(pid: int) -> tuple[int, int]:
    files = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    threads = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads")
    )
    return files, threads


def _parts(bench: Bench) -> int:
    return sum(1 for _ in (bench.hass.config / "media").rglob("*.part"))


async def _record_flood(bench: Bench, entity: str, token: str) -> dict[str, Any]:
    """Send CALLS record calls back to back; wait for every answer (or the connection's end)."""
    sent_at: dict[int, float] = {}
    answered_ms: list[float] = []
    outcomes: dict[str, int] = {}
    async with bench.hass.session.ws_connect(
        f"{bench.hass.url}/api/websocket", max_msg_size=0
    ) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json())["type"] != "auth_ok":
            raise RuntimeError("the non-admin user could not authenticate")
        for number in range(1, CALLS + 1):
            sent_at[number] = time.perf_counter()
            await ws.send_json(
                {
                    "id": number,
                    "type": "call_service",
                    "domain": "esp32_camera",
                    "service": "record",
                    "target": {"entity_id": entity},
                    "service_data": {},  # the defaults: 10 s, the camera's 5 s pre-roll
                    "return_response": True,
                }
            )
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while sent_at and time.monotonic() < deadline:
            try:
                message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            if message.type is not aiohttp.WSMsgType.TEXT:
                outcomes["connection lost"] = len(sent_at)
                break
            answer = message.json()
            if answer.get("type") != "result" or answer.get("id") not in sent_at:
                continue
            answered_ms.append((time.perf_counter() - sent_at.pop(answer["id"])) * 1000)
            if answer["success"]:
                key = "recorded"
            else:
                error = answer["error"]
                key = error.get("translation_key") or error.get("code", "error")
            outcomes[key] = outcomes.get(key, 0) + 1
    return {
        "calls": CALLS,
        "answered": len(answered_ms),
        "outcomes": outcomes,
        "answer_p99_ms": round(percentile(sorted(answered_ms), 0.99), 1) if answered_ms else None,
    }


async def _record_calls_by_a_non_admin(bench: Bench, entity: str) -> dict[str, Any]:
    """2,000 concurrent record calls by a non-admin at a 2,048 fd limit; then a restart."""
    token = await _non_admin_token(bench)
    pid = bench.hass.pid
    _soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (FD_LIMIT, hard))
    files, threads = _hass_files_and_threads(pid)
    peak = {"files": files, "threads": threads}

    async def sample() -> None:
        while True:
            with contextlib.suppress(OSError, StopIteration):
                files, threads = _hass_files_and_threads(pid)
                peak["files"], peak["threads"] = (
                    max(peak["files"], files),
                    max(peak["threads"], threads),
                )
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    flood: dict[str, Any] = {"calls": CALLS}
    name = "record x 2,000 by a non-admin, fd limit 2,048"
    try:
        async with Phase(bench) as phase:
            try:
                flood = await _record_flood(bench, entity, token)
            except (aiohttp.ClientError, OSError, RuntimeError) as err:
                flood = {"calls": CALLS, "error": repr(err)}
        measured = await phase.result(name)
    except Exception as err:  # noqa: BLE001 - hass died under the attack: the row says so
        measured = {"attack": name, "hass_alive": bench.hass_alive, "phase_error": repr(err)}
    finally:
        sampler.cancel()
    row = {
        **measured,
        **flood,
        "hass_files_before": files,
        "hass_files_peak": peak["files"],
        "hass_threads_before": threads,
        "hass_threads_peak": peak["threads"],
        "parts_after_calls": _parts(bench),
    }
    # Started again whether it survived or not (the .part files a dead one left are counted).
    await _restart_and_wait(bench)
    row["parts_after_restart"] = _parts(bench)
    log(f"parts after the restart: {row['parts_after_restart']}")
    return row


async def _restart_and_wait(bench: Bench) -> None:
    """Start hass again (whether it stopped or died); wait for the hub and its camera."""
    with contextlib.suppress(Exception):
        await bench.hass.restart()
        await bench.hass.wait_running()

        async def hub_loaded() -> bool:
            try:
                stats = await bench.get("/api/esp32_camera/stats")
            except aiohttp.ClientError:
                return False
            return bool(stats.get("hubs"))

        await wait_until("the hub after the restart", hub_loaded, timeout=60)
        await bench.camera_entities("legit-", 1)  # the camera is back before the next attack


def _clips(bench: Bench) -> dict[Path, int]:
    """The camera's AVI clips and their frames (-1: unreadable)."""
    found: dict[Path, int] = {}
    for path in (bench.hass.config / "media").rglob("*.avi"):
        try:
            found[path] = len(read_avi(path).frames)
        except ClipError, OSError:
            found[path] = -1
    return found


async def _killed_during_a_clip(bench: Bench, entity: str) -> dict[str, Any]:
    """kill -9 of hass 4 s into a 20 s record call (5 s pre-roll), then a restart."""
    await asyncio.sleep(6)  # the ring holds the pre-roll again after the previous restart
    before = _clips(bench)
    try:
        async with bench.hass.websocket() as call:
            recording = asyncio.ensure_future(
                call(
                    "call_service",
                    domain="esp32_camera",
                    service="record",
                    target={"entity_id": entity},
                    service_data={"duration": 20, "pre_roll": 5},
                    return_response=True,
                )
            )
            await asyncio.sleep(KILL_AFTER)
            assert bench.hass.process is not None
            bench.hass.process.kill()
            await bench.hass.process.wait()
            with contextlib.suppress(Exception):
                await recording
    except aiohttp.ClientError, OSError, HassProcessError:
        pass  # the connection died with hass
    parts_after_kill = _parts(bench)
    started = time.monotonic()
    await _restart_and_wait(bench)
    restart_seconds = time.monotonic() - started
    new = {path: frames for path, frames in _clips(bench).items() if path not in before}
    row = {
        "attack": "kill -9 during a clip, then a restart",
        "hass_alive": bench.hass_alive,
        "parts_after_kill": parts_after_kill,
        "parts_after_restart": _parts(bench),
        "clips_recovered": len(new),
        "frames_recovered": sum(new.values()),
        # What the camera sent in the clip's window before the kill (20 fps).
        "frames_expected_about": int((5 + KILL_AFTER) * LEGIT_FPS),
        "restart_s": round(restart_seconds, 1),
    }
    log(json.dumps(row))
    return row


async def run(bench: Bench, entity: str) -> list[dict[str, Any]]:
    """Every attack of this module, as rows of the attacks table (bench/attacks.py)."""
    return [
        await _record_calls_by_a_non_admin(bench, entity),
        await _killed_during_a_clip(bench, entity),
    ]
