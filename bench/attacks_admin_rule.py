"""A household member's changes through ordinary entities (issue 18, finding 6).

    ESP32_CAMERA_ATTACKS="admin rule" scripts/bench --only attacks    # this attack alone

A non-admin user (group `system-users`, who may control entities, as Home Assistant creates a
household member) logs in through the login flow and, through the REST API as the frontend's
more-info dialogs would, presses the restart button of a simulated camera (in this process: it
answers commands and reboots), selects QXGA, turns motion detection off (an administrator turned
it on) and continuous saving on. Per attempt: the HTTP status, and whether it took effect (the
camera rebooted or received the command, the hub kept the choice, the entity's state changed).
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from bench.attack_tools import Phase, log
from esp32_simulator import SimulatedCamera
from harness.hass_process import camera_entities, wait_until

if TYPE_CHECKING:
    from bench.testbed import Bench

VICTIM = "victim-1"
QXGA = 12
MEMBER = ("bench-member", "bench-member-password-123")


async def _member_token(bench: Bench) -> str:
    """Create the household member and log in as them; return their access token."""
    tokens = await bench.hass.add_member(*MEMBER, name="Bench member")
    return str(tokens["access_token"])


async def _call(bench: Bench, token: str, domain: str, service: str, data: dict[str, Any]) -> int:
    """Call a service through the REST API with `token`; return the HTTP status."""
    async with bench.hass.session.post(
        f"{bench.hass.url}/api/services/{domain}/{service}",
        json=data,
        headers={"Authorization": f"Bearer {token}"},
    ) as answer:
        await answer.read()
        return answer.status


async def _state(bench: Bench, entity_id: str) -> str:
    return str((await bench.get(f"/api/states/{entity_id}"))["state"])


async def _chosen(bench: Bench) -> dict[str, Any]:
    """The settings the hub keeps as the victim's chosen ones (re-applied at every reconnect)."""
    stats = await bench.get("/api/esp32_camera/stats")
    for hub in stats["hubs"]:
        if VICTIM in hub["cameras"]:
            return dict(hub["cameras"][VICTIM]["settings_chosen"])
    return {}


async def admin_rule(bench: Bench) -> dict[str, Any]:
    """A non-admin's reboot, QXGA, motion off and saving on, through entities."""
    member = await _member_token(bench)
    camera = SimulatedCamera(
        "127.0.0.1",
        bench.stream_port,
        camera_id=VICTIM,
        token=bench.hub_token,
        fps=2,
        resolution=3,  # QVGA
        reconnect_interval=0.2,
        health_interval=2.0,
    )
    camera.start()
    try:
        await camera.wait_connected(timeout=30)
        async with bench.hass.websocket() as call:
            entities: dict[tuple[str, str], str] = {}

            async def registered() -> bool:
                entities.update(await camera_entities(call, [VICTIM]))
                return ("switch", f"{VICTIM}_saving") in entities and (
                    "select",
                    f"{VICTIM}_resolution",
                ) in entities

            await wait_until("the victim's entities", registered, timeout=60)
        reboot = entities["button", f"{VICTIM}_reboot"]
        resolution = entities["select", f"{VICTIM}_resolution"]
        motion = entities["switch", f"{VICTIM}_motion_detection"]
        saving = entities["switch", f"{VICTIM}_saving"]

        async def available() -> bool:
            return await _state(bench, resolution) not in {"unavailable", "unknown"}

        await wait_until("the victim's resolution", available, timeout=30)
        # The administrator's choice the member then undoes.
        await bench.post("/api/services/switch/turn_on", {"entity_id": motion})

        attempts: dict[str, dict[str, Any]] = {}
        async with Phase(bench) as phase:
            reboots = camera.reboots
            status = await _call(bench, member, "button", "press", {"entity_id": reboot})
            with contextlib.suppress(TimeoutError):  # a refused press: no reboot to wait for
                await camera.wait_for(lambda cam: cam.reboots > reboots and cam.connected, 10)
            attempts["reboot"] = {"status": status, "took_effect": camera.reboots > reboots}
            await wait_until("the victim back", available, timeout=30)

            status = await _call(
                bench,
                member,
                "select",
                "select_option",
                {"entity_id": resolution, "option": "qxga"},
            )
            sent = ("resolution", str(QXGA)) in camera.commands_received
            kept = (await _chosen(bench)).get("resolution") == str(QXGA)
            attempts["qxga"] = {"status": status, "took_effect": sent, "kept_as_choice": kept}

            for name, entity_id, service, wanted in (
                ("motion off", motion, "turn_off", "off"),
                ("saving on", saving, "turn_on", "on"),
            ):
                status = await _call(bench, member, "switch", service, {"entity_id": entity_id})
                took = await _state(bench, entity_id) == wanted
                attempts[name] = {"status": status, "took_effect": took}
        accepted = sum(1 for attempt in attempts.values() if attempt["took_effect"])
        refused = sum(1 for attempt in attempts.values() if attempt["status"] == 401)
        row = await phase.result(
            "non-admin reboot, QXGA, motion off, saving on (entities)",
            attempts=attempts,
            accepted=accepted,
            refused_401=refused,
        )
        # Put the victim back as it was (an administrator), so later workloads see a quiet hub.
        started = time.monotonic()
        for domain, service, data in (
            ("switch", "turn_off", {"entity_id": saving}),
            ("switch", "turn_off", {"entity_id": motion}),
            ("select", "select_option", {"entity_id": resolution, "option": "qvga"}),
        ):
            with contextlib.suppress(Exception):
                await bench.post(f"/api/services/{domain}/{service}", data)
        log(f"admin rule: victim restored in {time.monotonic() - started:.1f} s")
        return row
    finally:
        await camera.stop()
