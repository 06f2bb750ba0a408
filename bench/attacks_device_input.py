"""Attacks of issue 18 on what a device can send before (and without) admission.

Part of `scripts/bench --only attacks` (bench/attacks.py runs them after its own); to run only
these:

    ESP32_CAMERA_ATTACKS=device-input scripts/bench --only attacks

(`device-input` names both of these; see bench/attacks.py); `BENCH_DEVICE_INPUT_SECONDS` sets how long each attack of this module lasts
(default 60 s, as issue 18 asks). Per attack, beside bench/attacks.py's figures (event loop lag
p99, HA API p99, refusals, tracebacks): the log records each attacking source caused in hass's log
(the most of any source, the target being <= 20), the physical log lines of the integration
during the attack, and the messages sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib
import json
import os
import re
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.attack_tools import WS_CLOSED, Phase, client, log, stream_url

if TYPE_CHECKING:
    from bench.testbed import Bench

NAME = "device-input"
SOCKETS = 8
# The largest text a socket not admitted at its upgrade may send before aiohttp closes it (1009)
# on main (256 KiB + 4 KiB): issue 18's 400 KB `info` is refused by that on main already, and
# this one is parsed whole: 15,000 entries of a resolution list.
INFO = json.dumps(
    {
        "type": "info",
        "resolutions": ",".join(f"{n % 13}:QQVGA(160x120)" for n in range(15_000)),
        "mode": "Estabilidad",
        "fps": 20,
    }
)
# 4,000 digits: int() reads it, timedelta() overflowed (a traceback per message on main); short
# enough for the text limit a stranger has now, so it measures the parser and the log.
HEALTH = json.dumps({"type": "health", "uptime": "9" * 4000 + "s", "heap": 1, "rssi": -50})
_RECORD_START = re.compile(rb"\n(?=\d{4}-\d\d-\d\d )")


def seconds() -> float:
    """How long each attack lasts."""
    return float(os.environ.get("BENCH_DEVICE_INPUT_SECONDS", "60"))


def steps(bench: Bench) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """This module's attacks, as bench/attacks.py's `attacks()` lists its own."""
    return [
        (f"{NAME}: info flood", lambda: _info_flood(bench)),
        (f"{NAME}: huge uptime", lambda: _huge_uptime(bench)),
    ]


class _LogGrowth:
    """What hass's log gained during an attack: records per attacking source, lines in all."""

    def __init__(self, bench: Bench, sources: Sequence[str]) -> None:
        self._path = bench.hass.config / "hass.log"
        self._sources = sources
        self._start = self._path.stat().st_size if self._path.exists() else 0

    def figures(self) -> dict[str, Any]:
        with self._path.open("rb") as log_file:
            log_file.seek(self._start)
            gained = log_file.read()
        records = [r for r in _RECORD_START.split(gained) if b"esp32_camera" in r]
        per_source = {
            source: sum(1 for r in records if re.search(rb"\b%s\b" % re.escape(source.encode()), r))
            for source in self._sources
        }
        return {
            "log_records_max_per_source": max(per_source.values(), default=0),
            "log_records_integration": len(records),
            "log_lines_integration": sum(r.count(b"\n") + 1 for r in records),
        }


async def _flood(
    bench: Bench, sources: Sequence[str], message: str, until: float, burst: int
) -> int:
    """From each source, one socket at a time: register, then `message` in bursts, until then.

    A socket the hub closes is replaced after 0.1 s (an attacker reconnecting); the count of
    messages sent is returned.
    """
    sent = 0

    async def one(source: str) -> None:
        nonlocal sent
        async with client(source) as session:
            while time.monotonic() < until:
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with session.ws_connect(stream_url(bench)) as ws:
                        await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
                        while time.monotonic() < until and not ws.closed:
                            for _ in range(burst):
                                await ws.send_str(message)
                            sent += burst
                            with contextlib.suppress(TimeoutError):
                                while (await ws.receive(timeout=0.01)).type not in WS_CLOSED:
                                    pass  # the hub's answers (register's)
                                break
                await asyncio.sleep(0.1)

    await asyncio.gather(*(one(source) for source in sources))
    return sent


async def _strangers_flood(
    bench: Bench, attack: str, subnet: int, message: str, *, burst: int
) -> dict[str, Any]:
    """Flood from SOCKETS unauthenticated sockets at 127.0.`subnet`.n, `message` in a loop.

    The row has the phase's figures (loop lag, API) and the log lines per source.
    """
    sources = [f"127.0.{subnet}.{n + 1}" for n in range(SOCKETS)]
    log_growth = _LogGrowth(bench, sources)
    async with Phase(bench) as phase:
        sent = await _flood(bench, sources, message, time.monotonic() + seconds(), burst=burst)
    row = await phase.result(attack, messages_sent=sent, seconds=seconds())
    row.update(log_growth.figures())
    log(json.dumps({"attack": row["attack"], **log_growth.figures()}))
    return row


async def _info_flood(bench: Bench) -> dict[str, Any]:
    """8 unauthenticated sockets from 8 addresses sending a 258 KB `info` in a loop."""
    attack = f"{NAME}: info flood, {SOCKETS} strangers x {len(INFO) // 1000} KB"
    return await _strangers_flood(bench, attack, 16, INFO, burst=1)


async def _huge_uptime(bench: Bench) -> dict[str, Any]:
    """8 unauthenticated sockets from 8 addresses sending `health` with a 4,000-digit uptime."""
    attack = f"{NAME}: huge uptime, {SOCKETS} strangers"
    return await _strangers_flood(bench, attack, 17, HEALTH, burst=20)
