"""What every attack module uses: the measuring phase, attacker clients, the hub's stream URL.

`Phase` measures Home Assistant while an attack runs (hass RSS before, peak during and after the
attackers left, the legitimate camera's delivered frame rate, event loop lag p99 from the probe,
HA API latency p99 from bench/api_poller.py, discovery flows and repair issues created,
connections refused by reason as the listener counts them, tracebacks in hass's log); its
`result()` is one row of the attacks table (bench/attacks.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import json
import re
import sys
import time
from typing import Any, Self

import aiohttp

from bench.measure import percentile, rss_mib
from bench.testbed import Bench
from esp32_simulator.jpeg import make_test_jpeg

LEGIT_FPS = 20  # the attacks' legitimate camera (bench/attacks.py), QVGA
SETTLE_SECONDS = 8.0
MIN_PHASE_SECONDS = 5.0  # after the attackers leave, before "after" is measured
EVIL = make_test_jpeg(size=8000, label="EVIL")
WS_CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


def log(message: str) -> None:
    """Print an attack's progress line."""
    print(f"[bench] attacks: {message}", flush=True)


def stream_url(bench: Bench, query: str = "") -> str:
    """The hub's camera WebSocket (stream port), with an optional query such as `?id=...`."""
    return f"http://127.0.0.1:{bench.stream_port}/{query}"


@contextlib.asynccontextmanager
async def client(source: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client whose connections come from `source` (127.x.y.z: a device on the LAN)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0), limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


class Phase:
    """Samples taken while one attack runs."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.api_ms: list[float] = []
        self.peak_rss = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        bench = self.bench
        self.rss_before = rss_mib(bench.hass.pid)
        self.frames_before = await self._legit_frames()
        self.flows_before, self.issues_before = await self._flows_and_issues()
        self.listener_before = await _listener(bench)
        self.tracebacks_before = _tracebacks(bench)
        await bench.probe(reset=True)
        self.started = time.monotonic()
        # The API is polled from a process of its own: this one's event loop is the attackers'.
        self._poller = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.api_poller",
            f"{bench.hass.url}/api/",
            bench.access_token,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._tasks = [asyncio.create_task(self._rss())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        # At least a few seconds of the camera's frames, for a meaningful rate.
        await asyncio.sleep(max(0.0, MIN_PHASE_SECONDS - (time.monotonic() - self.started)))
        self.seconds = time.monotonic() - self.started
        self.frames = await self._legit_frames() - self.frames_before
        lag = await self.bench.probe()
        for task in self._tasks:
            task.cancel()
        output, _ = await self._poller.communicate(b"")
        polled = json.loads(output)
        self.api_ms, self.api_failures = polled["ms"], polled["failures"]
        self.lag_p99 = lag["lag_ms"]["p99"]

    async def result(self, name: str, **extra: Any) -> dict[str, Any]:
        """Let the attackers' traces settle; return the phase's figures."""
        bench = self.bench
        alive = bench.hass_alive
        after = None
        flows = issues = None
        listener: dict[str, Any] = {}
        if alive:
            await asyncio.sleep(SETTLE_SECONDS)
            await bench.probe(collect=True)
            after = rss_mib(bench.hass.pid)
            flows, issues = await self._flows_and_issues()
            listener = await _listener(bench)
        refused_before = self.listener_before.get("refusals", {})
        row = {
            "attack": name,
            "hass_alive": alive,
            "rss_before_mib": round(self.rss_before, 1),
            "rss_peak_growth_mib": round(self.peak_rss - self.rss_before, 1),
            "rss_after_growth_mib": None if after is None else round(after - self.rss_before, 1),
            "legit_fps": round(self.frames / self.seconds, 2),
            "legit_frames_kept": round(self.frames / (self.seconds * LEGIT_FPS), 3),
            "loop_lag_p99_ms": round(self.lag_p99, 1),
            "api_p99_ms": round(percentile(sorted(self.api_ms), 0.99), 1),
            "api_failures": self.api_failures,
            "flows_created": None if flows is None else flows - self.flows_before,
            "issues_created": None if issues is None else issues - self.issues_before,
            "refused": {
                reason: count - refused_before.get(reason, 0)
                for reason, count in listener.get("refusals", {}).items()
                if count != refused_before.get(reason, 0)
            },
            "pending_after": listener.get("pending"),
            "frame_budget_peak_mib": listener.get("frame_budget_peak_mib"),
            "tracebacks": _tracebacks(bench) - self.tracebacks_before,
            **extra,
        }
        log(json.dumps(row))
        return row

    async def _rss(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                self.peak_rss = max(self.peak_rss, rss_mib(self.bench.hass.pid))
            await asyncio.sleep(0.2)

    async def _legit_frames(self) -> int:
        try:
            frames, _ = await self.bench.hub_counters("legit-")
        except aiohttp.ClientError, OSError:
            return 0
        return frames

    async def _flows_and_issues(self) -> tuple[int, int]:
        async with self.bench.hass.websocket() as call:
            flows = await call("config_entries/flow/progress")
            issues = await call("repairs/list_issues")
        ours = [f for f in flows if f["handler"] == "esp32_camera"]
        return len(ours), sum(1 for i in issues["issues"] if i["domain"] == "esp32_camera")


async def _listener(bench: Bench) -> dict[str, Any]:
    """The listener's counters as the probe reads them; {} when hass does not answer."""
    try:
        return dict(await bench.get("/api/bench_probe/listener"))
    except aiohttp.ClientError:
        return {}


def _tracebacks(bench: Bench) -> int:
    """Tracebacks in hass's log that pass through the integration (not HA's own start-up ones)."""
    log_file = bench.hass.config / "hass.log"
    if not log_file.exists():
        return 0
    blocks = re.split(rb"\n(?=\d{4}-\d\d-\d\d )", log_file.read_bytes())
    return sum(
        1
        for block in blocks
        if b"Traceback (most recent call last)" in block and b"esp32_camera" in block
    )
