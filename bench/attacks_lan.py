"""Attacks from the LAN on the hub's ports (issue 11), with a legitimate camera and a viewer.

    scripts/bench --only attacks                                     # with every other attack
    ESP32_CAMERA_ATTACKS="take-over,paths" scripts/bench --only attacks   # only the steps named

Each attack runs from this process, from loopback source addresses 127.0.x.y as devices elsewhere
on the LAN, while bench/attacks.py's legitimate camera streams and its viewer watches; each is
measured by bench/attack_tools.py's `Phase`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import json
import time
from typing import Any

import aiohttp

from bench.attack_tools import EVIL, WS_CLOSED, Phase, client, stream_url
from bench.testbed import Bench

MIB = 1024 * 1024

type Step = tuple[str, Callable[[], Awaitable[Any]]]


def steps(bench: Bench, legit_entity: str) -> list[Step]:
    """This module's attacks by name (the names ESP32_CAMERA_ATTACKS picks), in their order.

    The take-over first: it needs a discovery flow; then the discovery flood, on a fresh period.
    """
    return [
        ("take-over", lambda: _take_over(bench, legit_entity)),
        ("discovery flood", lambda: _discovery_flood(bench)),
        ("memory kept after leaving", lambda: _memory_kept_after_leaving(bench)),
        ("img_start", lambda: _declared_frames(bench)),
        ("unicode register", lambda: _traceback_flood(bench)),
        ("slowloris and 5,000 attempts", lambda: _connection_floods(bench)),
    ]


async def _quietly(work: Awaitable[Any]) -> Any:
    """Run one attacker's step; a refusal or a reset is the hub doing its job."""
    with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, RuntimeError):
        return await work
    return None


PACED_PER_SECOND = 40  # below the hub's rate of new connections: the attack lands, then is measured


async def _paced(count: int, attacker: Callable[[int], Awaitable[Any]]) -> None:
    """Start `count` attackers at PACED_PER_SECOND, as an attacker who knows the rate limit."""
    tasks = []
    for number in range(count):
        tasks.append(asyncio.create_task(_quietly(attacker(number))))
        await asyncio.sleep(1 / PACED_PER_SECOND)
    await asyncio.gather(*tasks)


async def _chunked(ws: aiohttp.ClientWebSocketResponse, size: int, chunk: int = 65536) -> None:
    """Send a chunked JPEG of `size` bytes as the firmware frames it."""
    await ws.send_str(
        json.dumps({"type": "img_start", "id": 1, "size": size, "chunks": -(-size // chunk)})
    )
    data = b"\xff\xd8" + bytes(size - 4) + b"\xff\xd9"
    for offset in range(0, size, chunk):
        await ws.send_bytes(data[offset : offset + chunk])


async def _memory_kept_after_leaving(bench: Bench) -> dict[str, Any]:
    """100 tokenless connections from 20 addresses, fresh ids, a 4 MiB chunked JPEG each, gone."""
    async with Phase(bench) as phase:

        async def one(number: int) -> None:
            async with (
                client(f"127.0.10.{number % 20 + 1}") as session,
                session.ws_connect(stream_url(bench, f"?id=leave{number}")) as ws,
            ):
                await ws.send_str(json.dumps({"type": "register", "id": f"leave{number}"}))
                await _chunked(ws, 4 * MIB)

        await _paced(100, one)

        # 500 ids from one address (the issue tried 5,000; the outcome is the same).
        async def ids(number: int) -> None:
            async with (
                client("127.0.11.1") as session,
                session.ws_connect(stream_url(bench, f"?id=many{number}")) as ws,
            ):
                await ws.send_str(json.dumps({"type": "register", "id": f"many{number}"}))
                await ws.receive(timeout=5)

        await _paced(500, ids)
    started = time.perf_counter()
    stats = await bench.get("/api/esp32_camera/stats")
    stats_ms = (time.perf_counter() - started) * 1000
    records = sum(len(hub["cameras"]) for hub in stats["hubs"])
    return await phase.result(
        "memory kept after leaving", camera_records=records, stats_api_ms=round(stats_ms, 1)
    )


async def _declared_frames(bench: Bench) -> dict[str, Any]:
    """200 sockets from 20 addresses declaring 8 MiB img_start, re-sent every 7 s, for 20 s."""
    async with Phase(bench) as phase:
        stop = time.monotonic() + 25  # 5 s to open them all, then 20 s

        async def one(number: int) -> None:
            async with (
                client(f"127.0.12.{number % 20 + 1}") as session,
                session.ws_connect(stream_url(bench)) as ws,
            ):
                await ws.send_str(json.dumps({"type": "register"}))
                while time.monotonic() < stop:
                    await ws.send_str(json.dumps({"type": "img_start", "id": 1, "size": 8 * MIB}))
                    # Bytes trickle in: 64 KiB a second, as long as the hub takes them.
                    for _ in range(7):
                        await ws.send_bytes(b"\xff\xd8" + bytes(65534))
                        await asyncio.sleep(1)

        await _paced(200, one)
    return await phase.result("img_start 8 MiB x 200 sockets")


async def _take_over(bench: Bench, legit_entity: str) -> dict[str, Any]:
    """An approved stock camera's address claims the token camera's id; commands meanwhile."""
    attacker = "127.0.13.1"
    async with client(attacker) as session, session.ws_connect(stream_url(bench)) as ws:
        await ws.send_str(json.dumps({"type": "register"}))
        await ws.send_bytes(EVIL)

        async def flow() -> bool:
            async with bench.hass.websocket() as call:
                flows = await call("config_entries/flow/progress")
            return any(f["context"].get("unique_id") == attacker for f in flows)

        deadline = time.monotonic() + 20
        while not await flow() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        async with bench.hass.websocket() as call:
            flows = await call("config_entries/flow/progress")
        flow_id = next(
            (f["flow_id"] for f in flows if f["context"].get("unique_id") == attacker), None
        )
        if flow_id is None:
            raise RuntimeError(f"no discovery flow for {attacker}")
        await bench.hass.post(f"/api/config/config_entries/flow/{flow_id}", {})
    async with Phase(bench) as phase:
        commands_astray = foreign_stills = 0
        async with (
            client(attacker) as session,
            session.ws_connect(stream_url(bench, "?id=legit-1")) as ws,
        ):
            await ws.send_str(json.dumps({"type": "register", "id": "legit-1", "name": "EVIL"}))

            async def flood() -> None:
                for _ in range(200):
                    await ws.send_bytes(EVIL)
                    await ws.send_str(json.dumps({"type": "health", "model": "EVIL"}))
                    await asyncio.sleep(0.05)

            async def listen() -> None:
                nonlocal commands_astray
                async for message in ws:
                    if message.type is aiohttp.WSMsgType.TEXT and '"command"' in message.data:
                        commands_astray += 1

            commands: list[asyncio.Task[Any]] = []
            listening = asyncio.create_task(listen())
            flooding = asyncio.create_task(_quietly(flood()))
            for _ in range(40):
                async with bench.hass.session.get(
                    f"{bench.hass.url}/api/camera_proxy/{legit_entity}", headers=bench.auth_headers
                ) as answer:
                    foreign_stills += (await answer.read()) == EVIL
                # The bench camera does not answer: the call waits out its timeout; what counts
                # is where the command went.
                commands.append(
                    asyncio.create_task(
                        _quietly(
                            bench.post(
                                "/api/services/esp32_camera/send_command",
                                {"camera_id": "legit-1", "command": "stats"},
                            )
                        )
                    )
                )
                await asyncio.sleep(0.2)
            await flooding
            await asyncio.gather(*commands)
            listening.cancel()
    legit = (await bench.get("/api/bench_probe/listener?camera=legit-1"))["camera"]
    return await phase.result(
        "take-over of a token camera",
        foreign_stills=foreign_stills,
        commands_astray=commands_astray,
        legit_record_after=legit,
    )


async def _traceback_flood(bench: Bench) -> dict[str, Any]:
    """2,000 `register` messages whose token is a lone surrogate (55 bytes each)."""
    message = json.dumps({"type": "register", "device": "camera", "token": "\ud800"})
    async with Phase(bench) as phase:
        sent = 0
        async with client("127.0.14.1") as session:
            while sent < 2000:
                try:
                    async with session.ws_connect(stream_url(bench)) as ws:
                        while sent < 2000:
                            for _ in range(20):  # a burst, then see whether the hub closed
                                await ws.send_str(message)
                            sent += 20
                            with contextlib.suppress(TimeoutError):
                                if (await ws.receive(timeout=0.02)).type in WS_CLOSED:
                                    break
                except aiohttp.ClientError, OSError:
                    sent += 20
    return await phase.result("unicode register x 2,000")


async def _discovery_flood(bench: Bench) -> dict[str, Any]:
    """500 source addresses, each a tokenless camera with a preview frame."""
    async with Phase(bench) as phase:

        async def one(number: int) -> None:
            async with (
                client(f"127.1.{number // 250}.{number % 250 + 1}") as session,
                session.ws_connect(stream_url(bench)) as ws,
            ):
                await ws.send_str(json.dumps({"type": "register"}))
                await ws.send_bytes(EVIL)
                await asyncio.sleep(3)

        for start in range(0, 500, 100):
            await asyncio.gather(*(_quietly(one(n)) for n in range(start, start + 100)))
    return await phase.result("discovery flood, 500 addresses")


async def _connection_floods(bench: Bench) -> list[dict[str, Any]]:
    """Slowloris: 2,100 half-sent upgrades from 50 addresses held 15 s; then 5,000 attempts."""
    rows = []
    async with Phase(bench) as phase:
        connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        opened = 0

        async def half_open(number: int) -> None:
            nonlocal opened
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", bench.stream_port, local_addr=(f"127.0.15.{number % 50 + 1}", 0)
            )
            writer.write(b"GET / HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\n")
            connections.append((reader, writer))
            opened += 1

        await asyncio.gather(*(_quietly(half_open(n)) for n in range(2100)))
        open_at_start = opened
        await asyncio.sleep(15)
        still_open = sum(
            1 for reader, _ in connections if not reader.at_eof() and reader.exception() is None
        )
        for _, writer in connections:
            writer.transport.abort()
    rows.append(
        await phase.result(
            "slowloris, 2,100 sockets / 50 addresses",
            attacker_sockets_opened=open_at_start,
            open_after_15_s=still_open,
        )
    )
    async with Phase(bench) as phase:
        upgraded = 0

        async def attempt(number: int) -> None:
            nonlocal upgraded
            async with (
                client(f"127.2.{number % 200 // 250}.{number % 200 + 1}") as session,
                session.ws_connect(
                    stream_url(bench), timeout=aiohttp.ClientWSTimeout(ws_close=1)
                ) as ws,
            ):
                upgraded += 1
                await ws.send_str(json.dumps({"type": "register"}))
                await ws.receive(timeout=2)

        for start in range(0, 5000, 250):
            await asyncio.gather(*(_quietly(attempt(n)) for n in range(start, start + 250)))
    rows.append(await phase.result("5,000 connection attempts / 200 addresses", upgraded=upgraded))
    return rows
