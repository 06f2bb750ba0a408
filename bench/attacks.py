"""Attacks from the LAN on the hub's ports (issue 11), with a legitimate camera and a viewer.

    scripts/bench --only attacks
    ESP32_CAMERA_ATTACKS="admin rule,paths" scripts/bench --only attacks   # only the steps named (see attacks())

One legitimate token camera streams QVGA at 20 fps (an agent process) to a real `hass` while an
MJPEG viewer watches it; each attack then runs from this process, from loopback source addresses
127.0.x.y as devices elsewhere on the LAN. Per attack: hass RSS before, peak during and after the
attackers left, the camera's delivered frame rate, event loop lag p99 (the probe), HA API latency
p99 (GET /api/ every 100 ms), discovery flows and repair issues created, connections refused (by
reason, as the listener counts them), tracebacks in hass's log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import json
import os
from pathlib import Path
import re
import resource
import sys
import time
from typing import TYPE_CHECKING, Any, Self

import aiohttp

from bench.attacks_admin_rule import admin_rule
from bench.attacks_paths import path_attacks
from bench.measure import Agent, percentile, rss_mib
from esp32_simulator.jpeg import make_test_jpeg

if TYPE_CHECKING:
    from bench.__main__ import Bench

LEGIT_FPS = 20
SETTLE_SECONDS = 8.0
MIN_PHASE_SECONDS = 5.0  # after the attackers leave, before "after" is measured
MIB = 1024 * 1024
EVIL = make_test_jpeg(size=8000, label="EVIL")


_CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


def _log(message: str) -> None:
    print(f"[bench] attacks: {message}", flush=True)


def _ws_url(bench: Bench, query: str = "") -> str:
    return f"http://127.0.0.1:{bench.stream_port}/{query}"


@contextlib.asynccontextmanager
async def _client(source: str) -> Any:
    connector = aiohttp.TCPConnector(local_addr=(source, 0), limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


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


class _Phase:
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
            "bench.attacks",
            "--poll",
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
        alive = bench.hass.process is not None and bench.hass.process.returncode is None
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
        _log(json.dumps(row))
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
    try:
        return dict(await bench.get("/api/bench_probe/listener"))
    except aiohttp.ClientError:
        return {}


def _tracebacks(bench: Bench) -> int:
    """Tracebacks in hass's log that pass through the integration (not HA's own start-up ones)."""
    log = bench.hass.config / "hass.log"
    if not log.exists():
        return 0
    blocks = re.split(rb"\n(?=\d{4}-\d\d-\d\d )", log.read_bytes())
    return sum(
        1
        for block in blocks
        if b"Traceback (most recent call last)" in block and b"esp32_camera" in block
    )


# -- the attacks ---------------------------------------------------------------------------------


async def _memory_kept_after_leaving(bench: Bench) -> dict[str, Any]:
    """100 tokenless connections from 20 addresses, fresh ids, a 4 MiB chunked JPEG each, gone."""
    async with _Phase(bench) as phase:

        async def one(number: int) -> None:
            async with (
                _client(f"127.0.10.{number % 20 + 1}") as session,
                session.ws_connect(_ws_url(bench, f"?id=leave{number}")) as ws,
            ):
                await ws.send_str(json.dumps({"type": "register", "id": f"leave{number}"}))
                await _chunked(ws, 4 * MIB)

        await _paced(100, one)

        # 500 ids from one address (the issue tried 5,000; the outcome is the same).
        async def ids(number: int) -> None:
            async with (
                _client("127.0.11.1") as session,
                session.ws_connect(_ws_url(bench, f"?id=many{number}")) as ws,
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
    async with _Phase(bench) as phase:
        stop = time.monotonic() + 25  # 5 s to open them all, then 20 s

        async def one(number: int) -> None:
            async with (
                _client(f"127.0.12.{number % 20 + 1}") as session,
                session.ws_connect(_ws_url(bench)) as ws,
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
    async with _client(attacker) as session, session.ws_connect(_ws_url(bench)) as ws:
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
    async with _Phase(bench) as phase:
        commands_astray = foreign_stills = 0
        async with (
            _client(attacker) as session,
            session.ws_connect(_ws_url(bench, "?id=legit-1")) as ws,
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
                    f"{bench.hass.url}/api/camera_proxy/{legit_entity}", headers=bench._auth
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
    async with _Phase(bench) as phase:
        sent = 0
        async with _client("127.0.14.1") as session:
            while sent < 2000:
                try:
                    async with session.ws_connect(_ws_url(bench)) as ws:
                        while sent < 2000:
                            for _ in range(20):  # a burst, then see whether the hub closed
                                await ws.send_str(message)
                            sent += 20
                            with contextlib.suppress(TimeoutError):
                                if (await ws.receive(timeout=0.02)).type in _CLOSED:
                                    break
                except aiohttp.ClientError, OSError:
                    sent += 20
    return await phase.result("unicode register x 2,000")


async def _discovery_flood(bench: Bench) -> dict[str, Any]:
    """500 source addresses, each a tokenless camera with a preview frame."""
    async with _Phase(bench) as phase:

        async def one(number: int) -> None:
            async with (
                _client(f"127.1.{number // 250}.{number % 250 + 1}") as session,
                session.ws_connect(_ws_url(bench)) as ws,
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
    async with _Phase(bench) as phase:
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
    async with _Phase(bench) as phase:
        upgraded = 0

        async def attempt(number: int) -> None:
            nonlocal upgraded
            async with (
                _client(f"127.2.{number % 200 // 250}.{number % 200 + 1}") as session,
                session.ws_connect(
                    _ws_url(bench), timeout=aiohttp.ClientWSTimeout(ws_close=1)
                ) as ws,
            ):
                upgraded += 1
                await ws.send_str(json.dumps({"type": "register"}))
                await ws.receive(timeout=2)

        for start in range(0, 5000, 250):
            await asyncio.gather(*(_quietly(attempt(n)) for n in range(start, start + 250)))
    rows.append(await phase.result("5,000 connection attempts / 200 addresses", upgraded=upgraded))
    return rows


async def attacks(bench: Bench) -> None:
    """Run every attack against the hub; store the figures in bench.results["attacks"]."""
    # Not at the top: these import this module's helpers.
    from bench import attacks_clip_caps, attacks_device_input, attacks_store
    from bench.attacks_motion_avi import motion_avi_steps

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    hass_limit = (Path(f"/proc/{bench.hass.pid}/limits").read_text(encoding="ascii")).splitlines()
    files = next((line.split()[3:5] for line in hass_limit if "open files" in line), [])
    spec = bench.camera_spec("legit", 1, size=10_000, fps=LEGIT_FPS)
    camera = await Agent.run("legit camera", "cameras", spec)
    viewer: Agent | None = None
    rows: list[dict[str, Any]] = []
    try:
        entities = await bench.camera_entities("legit-", 1)
        entity = entities["legit-1"]
        record_dir = bench.work / "attack-viewer"
        record_dir.mkdir()
        viewer = await Agent.run(
            "viewer",
            "viewers",
            bench._viewer_spec(
                bench.hass.url,
                [{"path": f"/api/camera_proxy_stream/{entity}", "count": 1}],
                record_dir,
            ),
        )
        # The take-over first: it needs a discovery flow; then the discovery flood, on a fresh period.
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("take-over", lambda: _take_over(bench, entity)),
            ("discovery flood", lambda: _discovery_flood(bench)),
            ("memory kept after leaving", lambda: _memory_kept_after_leaving(bench)),
            ("img_start", lambda: _declared_frames(bench)),
            ("unicode register", lambda: _traceback_flood(bench)),
            ("slowloris and 5,000 attempts", lambda: _connection_floods(bench)),
            ("admin rule", lambda: admin_rule(bench)),
            ("paths", lambda: path_attacks(bench)),
            *motion_avi_steps(bench),
            *attacks_device_input.steps(bench),
            ("clip_caps", lambda: attacks_clip_caps.run(bench, entity)),
            ("store", lambda: attacks_store.store_attacks(bench)),  # restarts hass: last
        ]
        # ESP32_CAMERA_ATTACKS="admin rule,paths": only these steps (their names above); a name
        # before a colon picks a group ("device-input" its two attacks).
        if only := os.environ.get("ESP32_CAMERA_ATTACKS"):
            chosen = {name.strip() for name in only.split(",")}
            steps = [s for s in steps if s[0] in chosen or s[0].split(":")[0] in chosen]
        for name, step in steps:
            if bench.hass.process is not None and bench.hass.process.returncode is not None:
                break
            try:
                result = await step()
            except Exception as err:  # noqa: BLE001 - one failed attack must not lose the others
                _log(f"failed: {err!r}")
                alive = bench.hass.process is not None and bench.hass.process.returncode is None
                result = {"attack": name, "error": repr(err), "hass_alive": alive}
            rows.extend(result if isinstance(result, list) else [result])
        seen = await viewer.stop()
        viewer = None
    finally:
        if viewer is not None:
            await viewer.kill()
        await camera.kill()
    view = seen["viewers"][0]
    bench.results["attacks"] = {
        "legit_camera": {"size": 10_000, "fps": LEGIT_FPS},
        "attacker_fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "hass_fd_limit": files,
        "viewer_fps": round(view["frames"] / view["seconds"], 2) if view["seconds"] else None,
        "rows": rows,
        "pid": os.getpid(),
    }


_COLUMNS = (
    ("RSS peak +MiB", "rss_peak_growth_mib"),
    ("RSS after +MiB", "rss_after_growth_mib"),
    ("legit frames kept", "legit_frames_kept"),
    ("loop lag p99 ms", "loop_lag_p99_ms"),
    ("API p99 ms", "api_p99_ms"),
    ("flows", "flows_created"),
    ("repair issues", "issues_created"),
    ("refused", "refused"),
    ("tracebacks", "tracebacks"),
    ("choices kept", "kept"),  # the store attacks (bench/attacks_store.py)
    ("hub loaded", "hub_loaded"),
    ("hass alive", "hass_alive"),
)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{reason} {count}" for reason, count in value.items()) or "0"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return "-" if value is None else str(value)


def markdown(after: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """Return the attack rows as a Markdown table; with `before`, each beside its baseline."""
    header = ["attack", "run", *(title for title, _ in _COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    earlier = {row["attack"]: row for row in (before or {}).get("rows", [])}
    for row in after.get("rows", []):
        runs = [("before", earlier.get(row["attack"])), ("after", row)] if before else []
        for run, data in runs or [("after", row)]:
            cells = [_cell((data or {}).get(key)) for _, key in _COLUMNS]
            lines.append(f"| {row['attack']} | {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def attacks_table(results: dict[str, Any]) -> list[str]:
    """The bench's table section for the attacks, when they ran."""
    if "attacks" not in results:
        return []
    return ["", "Attacks (issue 11)", markdown(results["attacks"])]


async def _poll(url: str, token: str) -> None:
    """Time GET `url` every 100 ms until stdin closes; print the times (ms) and failures."""
    times: list[float] = []
    failures = 0
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    closed = asyncio.create_task(stdin.read())
    timeout = aiohttp.ClientTimeout(total=10)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        while not closed.done():
            started = time.perf_counter()
            try:
                async with session.get(url) as answer:
                    await answer.read()
                times.append((time.perf_counter() - started) * 1000)
            except aiohttp.ClientError, TimeoutError:
                failures += 1
            await asyncio.sleep(0.1)
    print(json.dumps({"ms": times, "failures": failures}))


if __name__ == "__main__":
    if sys.argv[1] == "--poll":
        asyncio.run(_poll(sys.argv[2], sys.argv[3]))
        sys.exit(0)
    runs = [json.loads(Path(path).read_text(encoding="utf-8"))["attacks"] for path in sys.argv[1:]]
    print(markdown(runs[0], runs[1] if len(runs) > 1 else None))
