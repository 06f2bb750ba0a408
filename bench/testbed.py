"""The system under test and its baselines: a real `hass` with the hub, the baseline servers.

Every workload module receives one `Bench`: it reaches Home Assistant through its public methods
(authenticated REST calls, the probe, the hub's counters, camera and viewer agent specs) and stores
its figures in `results` under its own name. The runner (bench/runner.py) creates and starts it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
import sys
import time
from typing import Any

from bench.measure import REPO, Agent
from bench.plan import Plan
from harness.hass_process import HomeAssistant, free_port, wait_until


def log(message: str) -> None:
    """Print a progress line."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def loop_lag(sample: dict[str, Any]) -> dict[str, Any]:
    """Return the probe's event loop lag, with the longest garbage collection in the window."""
    return {
        **sample["lag_ms"],
        "gc_max": sample["gc_ms"]["max"],
        "gcs": sample["gc_ms"]["count"],
        "gc_total": sample["gc_ms"]["total"],
    }


def proxy_stream_path(entity_id: str) -> str:
    """Return Home Assistant's MJPEG path of a camera entity (what its default viewer reads)."""
    return f"/api/camera_proxy_stream/{entity_id}"


@dataclass
class Bench:
    """The system under test and its baseline, and what has been measured."""

    plan: Plan
    work: Path
    hass: HomeAssistant
    stream_port: int = 0
    control_port: int = 0
    hub_token: str = ""
    access_token: str = ""
    floor: Agent | None = None
    floor_port: int = 0
    relay: Agent | None = None
    relay_port: int = 0
    profile: bool = False
    # False: no baseline servers (a second hass run only for its hub's figures: the 11-29
    # reference, bench/reference.py); `label` names it in the log.
    with_baselines: bool = True
    label: str = "hass"
    # The 11-29 integration in a hass of its own, not started: the fan-out starts it for its
    # windows and stops it after them (bench/fanout.py).
    reference: Bench | None = None
    idle_cpu_share: float = 0.0  # what Home Assistant costs with no camera: subtracted per frame
    results: dict[str, Any] = field(default_factory=dict)

    async def start(self) -> None:
        """Start hass (with the probe), add the hub, start the baseline servers."""
        started = time.monotonic()
        await self.hass.start()
        await self.hass.onboard()
        self.stream_port, self.control_port = free_port(), free_port()
        self.hub_token = await self.hass.add_hub(self.stream_port, self.control_port)
        async with self.hass.websocket() as call:
            self.access_token = await call(
                "auth/long_lived_access_token", client_name="bench", lifespan=1
            )
        if self.with_baselines:
            self.floor_port, self.relay_port = free_port(), free_port()
            self.floor = await Agent.start("floor", "bench.floor", "--port", str(self.floor_port))
            self.relay = await Agent.start(
                "relay", "bench.floor", "--port", str(self.relay_port), "--relay"
            )
        log(
            f"{self.label} {self.hass.url} pid {self.hass.pid} ready in {time.monotonic() - started:.0f} s"
        )

    async def stop(self) -> None:
        """Stop everything this run started."""
        for agent in (self.floor, self.relay):
            if agent is not None:
                await agent.kill()
        await self.hass.stop()

    @property
    def auth_headers(self) -> dict[str, str]:
        """The administrator's headers for Home Assistant's REST API."""
        return {"Authorization": f"Bearer {self.access_token}"}

    @property
    def hass_alive(self) -> bool:
        """Whether Home Assistant's process runs (an attack may have killed it)."""
        return self.hass.process is not None and self.hass.process.returncode is None

    @property
    def floor_pid(self) -> int:
        """The process of the baseline server that reads and discards (the ingest baseline)."""
        assert self.floor is not None, "start() starts the baseline servers"
        return self.floor.pid

    @property
    def relay_pid(self) -> int:
        """The process of the baseline server that relays to viewers (the fan-out baseline)."""
        assert self.relay is not None, "start() starts the baseline servers"
        return self.relay.pid

    async def get(self, path: str) -> Any:
        """GET a JSON answer from hass."""
        async with self.hass.session.get(
            f"{self.hass.url}{path}", headers=self.auth_headers
        ) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST JSON to hass; return its JSON answer."""
        async with self.hass.session.post(
            f"{self.hass.url}{path}", json=payload, headers=self.auth_headers
        ) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def probe(
        self, *, reset: bool = False, collect: bool = False, lag: bool | None = None
    ) -> dict[str, Any]:
        """Return the probe's sample (event loop lag since the last reset, resource counts).

        `lag` False pauses the probe's lag monitor (for a CPU window), True resumes it.
        """
        query = "&".join(name for name, on in (("reset=1", reset), ("gc=1", collect)) if on)
        if lag is not None:
            query += f"&lag={int(lag)}"
        return dict(await self.get(f"/api/bench_probe/sample?{query}"))

    async def hub_counters(self, prefix: str) -> tuple[int, int]:
        """Return frames and bytes the hub received from cameras whose id starts with `prefix`."""
        stats = await self.get("/api/esp32_camera/stats")
        frames = received = 0
        for hub in stats["hubs"]:
            for camera_id, camera in hub["cameras"].items():
                if camera_id.startswith(prefix):
                    frames += camera["stats"]["frames_received"]
                    received += camera["stats"]["bytes_received"]
        return frames, received

    async def floor_counters(self, port: int) -> dict[str, int]:
        """Return the baseline server's counters."""
        async with self.hass.session.get(f"http://127.0.0.1:{port}/stats") as answer:
            return dict(await answer.json())

    async def camera_entities(self, prefix: str, count: int) -> dict[str, str]:
        """Wait until `count` cameras with ids starting with `prefix` have entities; map them."""
        found: dict[str, str] = {}

        async def listed() -> bool:
            async with self.hass.websocket() as call:
                listing = await call("esp32_camera/cameras")
            found.clear()
            found.update(
                (camera["camera_id"], camera["entity_id"])
                for camera in listing["cameras"]
                if camera["camera_id"].startswith(prefix) and camera["entity_id"]
            )
            return len(found) >= count

        await wait_until(f"{count} camera entities {prefix}*", listed, timeout=60)
        return found

    def camera_spec(self, prefix: str, count: int, **spec: Any) -> dict[str, Any]:
        """Return a camera agent's spec for the hub (or, with `port`, another server)."""
        return {
            "host": "127.0.0.1",
            "port": self.stream_port,
            "token": self.hub_token,
            "ids": [f"{prefix}-{number}" for number in range(1, count + 1)],
            **spec,
        }

    def viewer_spec(
        self, url: str, streams: list[dict[str, Any]], record_dir: Path
    ) -> dict[str, Any]:
        """Return a viewer agent's spec: `streams` read from `url`, each read frame recorded."""
        return {
            "url": url,
            "token": self.access_token,
            "streams": streams,
            "record_dir": str(record_dir),
        }

    @contextlib.asynccontextmanager
    async def profiled(self, name: str, *, enabled: bool) -> AsyncIterator[None]:
        """Profile the hub's event loop around the block when `--profile` asked for it."""
        if not (self.profile and enabled):
            yield
            return
        await self.post("/api/bench_probe/profile", {"action": "start"})
        yield
        async with self.hass.session.post(
            f"{self.hass.url}/api/bench_probe/profile",
            json={"action": "stop"},
            headers=self.auth_headers,
        ) as answer:
            report = await answer.text()
        path = REPO / "bench" / "results" / f"profile-{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report, encoding="utf-8")
        log(f"profile of the event loop thread: {path.relative_to(REPO)}")
