"""Nothing chosen is lost (issue 18, finding 7): Home Assistant killed, store files damaged.

    scripts/bench --only attacks                                # with every other attack
    ESP32_CAMERA_ATTACKS=store scripts/bench --only attacks            # these alone

Against the attacks bench's real `hass` and its legitimate camera (`legit-1`): each choice is
made as the UI makes it (a discovery flow's approval, a number entity's `set_value`, the panel's
`motion_zones` command); `hass` is killed with SIGKILL 0.2 s after the UI was told it was done,
then started again. Then the store file is truncated, and then given a wrong type, while `hass`
is down. Each row: whether every choice was found in the store after the restart, whether the
hub loaded, how long `hass` took to start again, and the measuring phase's usual figures (the
API poller counts the restart's downtime as failures; loop lag spans the new process only).
Last, a hostile store written while `hass` is down: 50,000 refused addresses, and a wrong-typed
zone whose last-good copy holds a zone of a million corners (12 MB). The damaged stores' rows and
its row give the event loop's longest stall from the new process's start (`loop_stall_ms`, the
probe's largest lag before its first reset: Home Assistant's own start included, so the damaged
stores' rows are its baseline), the figure the unit tests in tests/test_attacks_on_rules.py leave
to the bench (they assert what is loaded and dropped).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import json
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.attack_tools import EVIL, Phase, client, log, stream_url
from harness.hass_process import camera_entities, wait_until

if TYPE_CHECKING:
    from bench.testbed import Bench

KILL_AFTER = 0.2  # seconds between "done" in the UI and SIGKILL
STOCK = "127.0.18.1"  # a tokenless camera that asks for approval
CAMERA = "legit-1"  # the bench's token camera
SENSITIVITY = 77
ZONE = {"name": "gate", "points": [[0.1, 0.1], [0.6, 0.1], [0.6, 0.6]]}
# The hostile store: before issue 18, 50,000 refused addresses (0.9 MB) held the loop ~6 s at
# every start; a copy's zone of a million corners is 12 MB of JSON to check.
REFUSED_ADDRESSES = 50_000
ZONE_CORNERS = 1_000_000


def _store_file(bench: Bench) -> Path:
    return bench.hass.config / ".storage" / f"esp32_camera.{bench.hass.hub_entry_id}"


def _copy_file(bench: Bench) -> Path:
    """The store's last-good copy, beside it (hub/store.py's copy_key)."""
    return _store_file(bench).with_name(f"{_store_file(bench).name}.last_good")


def _read(bench: Bench) -> dict[str, Any]:
    """The store file's data as `hass` left it; {} when it cannot be read."""
    try:
        data: dict[str, Any] = json.loads(_store_file(bench).read_text(encoding="utf-8"))
        return dict(data["data"])
    except OSError, ValueError, KeyError, TypeError:
        return {}


def _kept(bench: Bench) -> dict[str, bool]:
    """Which of the choices the store file holds."""
    data = _read(bench)
    camera = data.get("cameras", {}).get(CAMERA, {})
    return {
        "approval": STOCK in data.get("approved", {}),
        "setting": camera.get("motion", {}).get("sensitivity") == SENSITIVITY,
        "zone": camera.get("motion", {}).get("zones") == [ZONE],
    }


async def _hub_loaded(bench: Bench) -> bool:
    async with bench.hass.session.get(
        f"{bench.hass.url}/api/config/config_entries/entry", headers=bench.hass.headers
    ) as answer:
        entries = await answer.json()
    return any(
        entry["entry_id"] == bench.hass.hub_entry_id and entry["state"] == "loaded"
        for entry in entries
    )


async def _store_issue(bench: Bench) -> bool:
    async with bench.hass.websocket() as call:
        issues = await call("repairs/list_issues")
    return any(issue["issue_id"].startswith("store_repaired_") for issue in issues["issues"])


async def _approve(bench: Bench, stack: contextlib.AsyncExitStack) -> None:
    """A stock camera connects and shows a frame; the user approves it in its discovery flow."""
    session = await stack.enter_async_context(client(STOCK))
    ws = await stack.enter_async_context(session.ws_connect(stream_url(bench)))
    await ws.send_str(json.dumps({"type": "register"}))
    await ws.send_bytes(EVIL)
    flows: list[dict[str, Any]] = []

    async def asked() -> bool:
        async with bench.hass.websocket() as call:
            progress = await call("config_entries/flow/progress")
        flows[:] = [
            flow
            for flow in progress
            if flow["handler"] == "esp32_camera" and flow["context"].get("unique_id") == STOCK
        ]
        return bool(flows)

    await wait_until("the stock camera's discovery flow", asked, timeout=30)
    result = await bench.hass.post(f"/api/config/config_entries/flow/{flows[0]['flow_id']}", {})
    if result.get("reason") != "camera_approved":
        raise AssertionError(f"approval not done: {result}")


async def _set_sensitivity(bench: Bench, stack: contextlib.AsyncExitStack) -> None:
    """The user sets the camera's motion sensitivity (a number entity)."""
    async with bench.hass.websocket() as call:
        entities = await camera_entities(call, [CAMERA])
        await call(
            "call_service",
            domain="number",
            service="set_value",
            target={"entity_id": entities["number", f"{CAMERA}_motion_sensitivity"]},
            service_data={"value": SENSITIVITY},
        )


async def _draw_zone(bench: Bench, stack: contextlib.AsyncExitStack) -> None:
    """The user draws a motion zone in the panel."""
    async with bench.hass.websocket() as call:
        await call("esp32_camera/motion_zones", camera_id=CAMERA, zones=[ZONE], mask=[])


async def _running(bench: Bench) -> None:
    """Wait until `hass` runs again with the bench's probe (its figures start afresh)."""
    await bench.hass.wait_running()

    async def probing() -> bool:
        try:
            await bench.probe(reset=True)
        except aiohttp.ClientError:
            return False
        return True

    await wait_until("the bench probe", probing, timeout=60)


# The legitimate camera's frame counters start again with the new process: no rate across it.
_NO_RATE = {"legit_fps": None, "legit_frames_kept": None}


async def _kill_after(
    bench: Bench,
    name: str,
    choose: Callable[[Bench, contextlib.AsyncExitStack], Awaitable[None]],
) -> dict[str, Any]:
    async with contextlib.AsyncExitStack() as stack, Phase(bench) as phase:
        await choose(bench, stack)  # returns when the UI is told the choice is done
        await asyncio.sleep(KILL_AFTER)
        await bench.hass.kill()
        kept = _kept(bench)[name]  # as the killed process left it
        started = time.monotonic()
        await bench.hass.start_again()
        await _running(bench)
        restart_s = round(time.monotonic() - started, 1)
        kept = kept and _kept(bench)[name]  # and as the hub wrote it back after loading
        loaded = await _hub_loaded(bench)
    return await phase.result(
        f"kill -9 {KILL_AFTER:g} s after {name}",
        kept=kept,
        hub_loaded=loaded,
        restart_s=restart_s,
        **_NO_RATE,
    )


def _truncate(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


def _wrong_type(path: Path) -> None:
    envelope = json.loads(path.read_text(encoding="utf-8"))
    envelope["data"]["cameras"][CAMERA]["saving_rate"] = "fast"
    envelope["data"]["approved"]["not an address"] = None
    path.write_text(json.dumps(envelope), encoding="utf-8")


async def _damaged(bench: Bench, name: str, damage: Callable[[Path], None]) -> dict[str, Any]:
    """Stop `hass` cleanly (the last-good copy is written), damage the store, start again."""
    await bench.hass.restart()
    await _running(bench)
    async with Phase(bench) as phase:
        await bench.hass.kill()
        damage(_store_file(bench))
        started = time.monotonic()
        await bench.hass.start_again()
        stall_ms = await _longest_stall_since_start(bench)  # the hostile store's baseline
        await _running(bench)
        restart_s = round(time.monotonic() - started, 1)
        kept = all(_kept(bench).values())
        loaded = await _hub_loaded(bench)
        issue = await _store_issue(bench)
    return await phase.result(
        name,
        kept=kept,
        hub_loaded=loaded,
        restart_s=restart_s,
        loop_stall_ms=stall_ms,
        store_issue=issue,
        **_NO_RATE,
    )


def _hostile(bench: Bench) -> None:
    """Write the hostile store and its last-good copy (as `hass` left the store, plus the attack)."""
    envelope = json.loads(_store_file(bench).read_text(encoding="utf-8"))
    data = envelope["data"]
    copy = json.loads(json.dumps(envelope))
    data["refused"] = [
        f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in range(REFUSED_ADDRESSES)
    ]
    data["cameras"].setdefault(CAMERA, {}).setdefault("motion", {})["zones"] = "gate"
    copy["key"] = _copy_file(bench).name
    huge = {"name": "gate", "points": [[0.5, 0.25]] * ZONE_CORNERS}
    copy["data"]["cameras"].setdefault(CAMERA, {}).setdefault("motion", {})["zones"] = [huge]
    _store_file(bench).write_text(json.dumps(envelope), encoding="utf-8")
    _copy_file(bench).write_text(json.dumps(copy), encoding="utf-8")


async def _longest_stall_since_start(bench: Bench) -> float:
    """The probe's longest loop lag since the new process started it (no reset before), in ms."""
    sample: dict[str, Any] = {}

    async def sampled() -> bool:
        nonlocal sample
        try:
            sample = await bench.probe()
        except aiohttp.ClientError:
            return False
        return True

    await wait_until("the bench probe", sampled, timeout=60)
    return round(float(sample["lag_ms"]["max"]), 1)


async def _hostile_store(bench: Bench) -> dict[str, Any]:
    """Start `hass` on the hostile store; its figures and what the hub made of it."""
    async with Phase(bench) as phase:
        await bench.hass.kill()
        _hostile(bench)
        started = time.monotonic()
        await bench.hass.start_again()
        stall_ms = await _longest_stall_since_start(bench)
        restart_s = round(time.monotonic() - started, 1)
        await _running(bench)
        loaded = await _hub_loaded(bench)
        issue = await _store_issue(bench)
    return await phase.result(
        f"hostile store ({REFUSED_ADDRESSES:,} refused, a {ZONE_CORNERS:,}-corner zone)",
        hub_loaded=loaded,
        restart_s=restart_s,
        loop_stall_ms=stall_ms,
        store_issue=issue,
        **_NO_RATE,
    )


async def store_attacks(bench: Bench) -> list[dict[str, Any]]:
    """Kill `hass` after each kind of choice; then damage its store twice. One row each."""
    steps: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
        ("approval", lambda: _kill_after(bench, "approval", _approve)),
        ("setting", lambda: _kill_after(bench, "setting", _set_sensitivity)),
        ("zone", lambda: _kill_after(bench, "zone", _draw_zone)),
        ("truncated store", lambda: _damaged(bench, "truncated store", _truncate)),
        ("wrong-typed store", lambda: _damaged(bench, "wrong-typed store", _wrong_type)),
        ("hostile store", lambda: _hostile_store(bench)),  # leaves 50,000 refused: last
    ]
    rows = []
    for name, step in steps:
        try:
            rows.append(await step())
        except Exception as err:  # noqa: BLE001 - one failed step must not lose the others' rows
            log(f"store {name} failed: {err!r}")
            rows.append({"attack": f"store: {name}", "error": repr(err)[:300]})
            if not bench.hass_alive:
                await bench.hass.start_again()  # the next steps need a running hass
    log(f"store: {[(row['attack'], row.get('kept'), row['hub_loaded']) for row in rows]}")
    return rows
