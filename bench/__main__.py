"""Benchmarks of the ESP32 camera hub in a real Home Assistant, each beside its baseline.

    scripts/bench --quick              # every workload, short (under 3 minutes on 2 cores)
    scripts/bench                      # every workload, full length (about 12 minutes)
    scripts/bench --only ingest,latency
    scripts/bench --soak 10            # churn and reloads for 10 minutes

One process tree: this runner, a `hass` process (fresh configuration, the integration and the
`bench_probe` component), the baseline server (`bench.floor`) and the load agents
(`bench.agents`), each in its own process. Runs of a workload and its baseline alternate, so
that the machine's noise falls on both. Prints a table; writes every figure as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import datetime as dt
import json
import os
from pathlib import Path
import platform
import random
import shutil
import sys
import tempfile
import time
from typing import Any

from bench import browser, motion
from bench.attacks import attacks, attacks_table
from bench.measure import (
    REPO,
    Agent,
    cpu_seconds,
    latencies_ms,
    rss_mib,
    sent_times,
    summarize,
    update_delays_ms,
    viewer_reads,
)
from bench.motion_sensor import motion_sensor, motion_sensor_table
from harness.hass_process import HomeAssistant, free_port, wait_until

PROBE = REPO / "bench" / "probe" / "bench_probe"
# Real JPEG sizes of the OV3660 at the default quality (firmware-protocol.md).
FRAME_SIZES = {"QVGA": 10_000, "VGA": 30_000, "XGA": 80_000, "UXGA": 200_000, "QXGA": 500_000}
INGEST_CAMERAS = 4
LATENCY_CAMERAS = 8
SAVING_CAMERAS = 8
CHURN_CAMERAS = 16
WORKLOADS = (
    "idle",
    "ingest",
    "latency",
    "fanout",
    "saving",
    "churn",
    "browser",
    "attacks",
    "motion",
    "motion_sensor",
)
# Workloads measured in this process, without Home Assistant.
LOCAL_WORKLOADS = frozenset({"motion"})


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Durations and sizes of one run."""

    ingest_sizes: tuple[str, ...]
    ingest_seconds: float
    ingest_rounds: int
    latency_seconds: float
    fanout_viewers: tuple[int, ...]
    fanout_seconds: dict[int, float]
    saving_seconds: float
    churn_seconds: float
    reloads: int
    motion_sensor_rounds: int


QUICK = Plan(
    ingest_sizes=("VGA", "XGA", "UXGA"),
    ingest_seconds=4,
    ingest_rounds=1,
    latency_seconds=10,
    fanout_viewers=(1, 10, 50),
    fanout_seconds={1: 5, 10: 5, 50: 10},
    saving_seconds=6,
    churn_seconds=15,
    reloads=10,
    motion_sensor_rounds=1,
)
FULL = Plan(
    ingest_sizes=tuple(FRAME_SIZES),
    ingest_seconds=10,
    ingest_rounds=3,
    latency_seconds=30,
    fanout_viewers=(1, 10, 50),
    fanout_seconds={1: 20, 10: 20, 50: 120},
    saving_seconds=20,
    churn_seconds=60,
    reloads=100,
    motion_sensor_rounds=5,
)


def log(message: str) -> None:
    """Print a progress line."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


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
    idle_cpu_share: float = 0.0  # what Home Assistant costs with no camera: subtracted per frame
    results: dict[str, Any] = field(default_factory=dict)

    # -- Home Assistant --------------------------------------------------------------------------

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
        self.floor_port, self.relay_port = free_port(), free_port()
        self.floor = await Agent.start("floor", "bench.floor", "--port", str(self.floor_port))
        self.relay = await Agent.start(
            "relay", "bench.floor", "--port", str(self.relay_port), "--relay"
        )
        log(f"hass {self.hass.url} pid {self.hass.pid} ready in {time.monotonic() - started:.0f} s")

    async def stop(self) -> None:
        """Stop everything this run started."""
        for agent in (self.floor, self.relay):
            if agent is not None:
                await agent.kill()
        await self.hass.stop()

    async def get(self, path: str) -> Any:
        """GET a JSON answer from hass."""
        async with self.hass.session.get(f"{self.hass.url}{path}", headers=self._auth) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST JSON to hass; return its JSON answer."""
        async with self.hass.session.post(
            f"{self.hass.url}{path}", json=payload, headers=self._auth
        ) as answer:
            answer.raise_for_status()
            return await answer.json()

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def probe(self, *, reset: bool = False, collect: bool = False) -> dict[str, Any]:
        """Return the probe's sample (event loop lag since the last reset, resource counts)."""
        query = "&".join(name for name, on in (("reset=1", reset), ("gc=1", collect)) if on)
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

    # -- workloads -------------------------------------------------------------------------------

    async def idle(self) -> None:
        """Event loop lag of the idle hub: the floor the other workloads' lag compares with."""
        await self.probe(reset=True)
        cpu_0 = cpu_seconds(self.hass.pid)
        await asyncio.sleep(3)
        self.idle_cpu_share = (cpu_seconds(self.hass.pid) - cpu_0) / 3
        sample = await self.probe()
        self.results["idle"] = {
            "lag_ms": sample["lag_ms"],
            "rss_mib": rss_mib(self.hass.pid),
            "cpu_share": self.idle_cpu_share,
        }

    async def ingest(self) -> None:
        """Cameras sending as fast as the socket allows: the hub against a reading-only server."""
        rows = []
        for size_name in self.plan.ingest_sizes:
            for round_number in range(self.plan.ingest_rounds):
                # Alternate which goes first, so that neither always runs on a warmer machine.
                order = ("hub", "floor") if round_number % 2 == 0 else ("floor", "hub")
                rows.extend([await self._ingest_run(target, size_name) for target in order])
        self.results["ingest"] = _merge_rounds(rows, ("size", "target"))

    async def _ingest_run(self, target: str, size_name: str) -> dict[str, Any]:
        hub = target == "hub"
        prefix = f"ingest-{size_name.lower()}"
        spec = self.camera_spec(prefix, INGEST_CAMERAS, size=FRAME_SIZES[size_name], fps=0)
        if not hub:
            spec["port"] = self.floor_port
        pid = self.hass.pid if hub else self._pid(self.floor)
        cameras = await Agent.run(f"ingest {target}", "cameras", spec)
        try:
            await asyncio.sleep(1.0)  # warm up: connections settled, entities created
            frames_0, bytes_0 = await self._received(hub, prefix)
            if hub:
                await self.probe(reset=True)
            async with self._profiled(prefix, enabled=hub):
                cpu_0, wall_0 = cpu_seconds(pid), time.monotonic()
                await asyncio.sleep(self.plan.ingest_seconds)
                cpu_1, wall_1 = cpu_seconds(pid), time.monotonic()
            frames_1, bytes_1 = await self._received(hub, prefix)
            lag = _lag(await self.probe()) if hub else None
        finally:
            sent = await cameras.stop()
        frames, elapsed = frames_1 - frames_0, wall_1 - wall_0
        row = {
            "size": size_name,
            "target": target,
            "frame_bytes": FRAME_SIZES[size_name],
            "fps": frames / elapsed,
            "mb_per_s": (bytes_1 - bytes_0) / elapsed / 1e6,
            "cpu_s_per_1000_frames": (cpu_1 - cpu_0) / frames * 1000 if frames else None,
            "cpu_share": (cpu_1 - cpu_0) / elapsed,
            "frames_sent": sent.get("frames"),
        }
        if lag is not None:
            row["lag_ms"] = lag
        log(
            f"ingest {size_name:5} {target:5} {row['fps']:7.0f} frames/s "
            f"{row['mb_per_s']:6.1f} MB/s  cpu {row['cpu_s_per_1000_frames'] or 0:.3f} s/1000"
        )
        return row

    @contextlib.asynccontextmanager
    async def _profiled(self, name: str, *, enabled: bool) -> AsyncIterator[None]:
        """Profile the hub's event loop around the block when `--profile` asked for it."""
        if not (self.profile and enabled):
            yield
            return
        await self.post("/api/bench_probe/profile", {"action": "start"})
        yield
        async with self.hass.session.post(
            f"{self.hass.url}/api/bench_probe/profile", json={"action": "stop"}, headers=self._auth
        ) as answer:
            report = await answer.text()
        path = REPO / "bench" / "results" / f"profile-{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report, encoding="utf-8")
        log(f"profile of the event loop thread: {path.relative_to(REPO)}")

    async def _received(self, hub: bool, prefix: str) -> tuple[int, int]:
        if hub:
            return await self.hub_counters(prefix)
        counters = await self.floor_counters(self.floor_port)
        return counters["frames"], counters["bytes"]

    @staticmethod
    def _pid(agent: Agent | None) -> int:
        assert agent is not None
        return agent.pid

    async def latency(self) -> None:
        """8 cameras at 20 fps, 2 viewers each: the push stream against HA's default stream path."""
        record = self.work / "latency-cameras.bin"
        spec = self.camera_spec(
            "lat", LATENCY_CAMERAS, size=FRAME_SIZES["VGA"], fps=20, record=str(record)
        )
        cameras = await Agent.run("latency cameras", "cameras", spec)
        viewers: Agent | None = None
        try:
            entities = await self.camera_entities("lat-", LATENCY_CAMERAS)
            pull = {
                camera_id: f"camera.pull_{e.split('.', 1)[1]}" for camera_id, e in entities.items()
            }
            await self.post(
                "/api/bench_probe/pull_cameras", {"entity_ids": list(entities.values())}
            )
            streams = []
            for camera_id in spec["ids"]:
                streams.append({"path": _proxy(entities[camera_id]), "count": 2})
                streams.append({"path": _proxy(pull[camera_id]), "count": 2})
            record_dir = self.work / "latency-viewers"
            record_dir.mkdir()
            viewers = await Agent.run(
                "latency viewers",
                "viewers",
                self._viewer_spec(self.hass.url, streams, record_dir),
            )
            await asyncio.sleep(1.0)
            await self.probe(reset=True)
            cpu_0 = cpu_seconds(self.hass.pid)
            await asyncio.sleep(self.plan.latency_seconds)
            cpu = cpu_seconds(self.hass.pid) - cpu_0
            lag = _lag(await self.probe())
            seen = await viewers.stop()
            viewers = None
        finally:
            if viewers is not None:
                await viewers.kill()
            await cameras.stop()
        sent = sent_times(record)
        index_of = {camera_id: index for index, camera_id in enumerate(spec["ids"])}
        by_path = {_proxy(e): index_of[c] for c, e in entities.items()}
        by_path |= {_proxy(pull[c]): index_of[c] for c in entities}
        push_paths = {_proxy(e) for e in entities.values()}
        delivered: dict[str, list[float]] = {"push": [], "default": []}
        delays: dict[str, list[float]] = {"push": [], "default": []}
        rates: dict[str, list[float]] = {"push": [], "default": []}
        for viewer in seen["viewers"]:
            kind = "push" if viewer["path"] in push_paths else "default"
            camera_index, reads = by_path[viewer["path"]], viewer_reads(Path(viewer["file"]))
            delivered[kind].extend(latencies_ms(sent, camera_index, reads))
            delays[kind].extend(update_delays_ms(sent, camera_index, reads))
            rates[kind].append(viewer["frames"] / viewer["seconds"])
        seconds = self.plan.latency_seconds
        self.results["latency"] = {
            "cameras": LATENCY_CAMERAS,
            "viewers_per_camera": 2,
            "camera_fps": 20,
            **{
                f"{kind}_{name}": value
                for kind in ("push", "default")
                for name, value in (
                    ("ms", summarize(delivered[kind])),
                    ("update_delay_ms", summarize(delays[kind])),
                    ("fps_per_viewer", sum(rates[kind]) / len(rates[kind])),
                )
            },
            "hub_cpu_share": cpu / seconds,
            "lag_ms": lag,
        }
        result = self.results["latency"]
        log(
            f"latency push p50 {result['push_ms']['p50']:.1f} p99 {result['push_ms']['p99']:.1f} "
            f"ms, update delay p99 {result['push_update_delay_ms']['p99']:.1f} ms; default "
            f"update delay p50 {result['default_update_delay_ms']['p50']:.1f} p99 "
            f"{result['default_update_delay_ms']['p99']:.1f} ms"
        )

    async def browser(self) -> None:
        """Display latency in Chromium: panel video, grid tile and card (bench/browser.py)."""
        self.results["browser"] = await browser.run_workload(
            self.hass, self.stream_port, self.hub_token
        )

    def _viewer_spec(
        self, url: str, streams: list[dict[str, Any]], record_dir: Path
    ) -> dict[str, Any]:
        return {
            "url": url,
            "token": self.access_token,
            "streams": streams,
            "record_dir": str(record_dir),
        }

    async def fanout(self) -> None:
        """One camera at 20 fps XGA to 1, 10, 50 viewers plus a slow one: hub and baseline relay."""
        rows = []
        for viewers in self.plan.fanout_viewers:
            order = ("hub", "floor") if viewers % 2 else ("floor", "hub")
            rows.extend([await self._fanout_run(target, viewers) for target in order])
        self.results["fanout"] = rows

    async def _fanout_run(self, target: str, count: int) -> dict[str, Any]:
        hub = target == "hub"
        record = self.work / f"fanout-{target}-{count}.bin"
        spec = self.camera_spec("fan", 1, size=FRAME_SIZES["XGA"], fps=20, record=str(record))
        if not hub:
            spec["port"] = self.relay_port
        pid = self.hass.pid if hub else self._pid(self.relay)
        cameras = await Agent.run(f"fanout camera {target}", "cameras", spec)
        viewers: Agent | None = None
        try:
            if hub:
                entity_id = (await self.camera_entities("fan-", 1))["fan-1"]
                url, path = self.hass.url, _proxy(entity_id)
            else:
                url, path = f"http://127.0.0.1:{self.relay_port}", "/mjpeg"
            record_dir = self.work / f"fanout-{target}-{count}"
            record_dir.mkdir()
            streams = [{"path": path, "count": count}, {"path": path, "count": 1, "slow": True}]
            viewers = await Agent.run(
                f"fanout viewers {target}", "viewers", self._viewer_spec(url, streams, record_dir)
            )
            await asyncio.sleep(1.0)
            if hub:
                await self.probe(reset=True)
            seconds = self.plan.fanout_seconds[count]
            largest = count == max(self.plan.fanout_viewers)
            async with self._profiled(f"fanout-{count}", enabled=hub and largest):
                cpu_0, rss = cpu_seconds(pid), [rss_mib(pid)]
                for _ in range(int(seconds)):
                    await asyncio.sleep(1.0)
                    rss.append(rss_mib(pid))
                cpu = cpu_seconds(pid) - cpu_0
            lag = _lag(await self.probe()) if hub else None
            seen = await viewers.stop()
            viewers = None
        finally:
            if viewers is not None:
                await viewers.kill()
            await cameras.stop()
        sent = sent_times(record)
        fast = [v for v in seen["viewers"] if not v["slow"]]
        slow = [v for v in seen["viewers"] if v["slow"]]
        # Frames delivered over each viewer's whole viewing, CPU over the measured window: rates.
        delivered_fps = sum(v["frames"] / v["seconds"] for v in seen["viewers"])
        fast_latency: list[float] = []
        for viewer in fast:
            fast_latency.extend(latencies_ms(sent, 0, viewer_reads(Path(viewer["file"]))))
        quarter = max(1, len(rss) // 4)
        row = {
            "target": target,
            "viewers": count,
            "slow_viewers": 1,
            "delivered_fps": delivered_fps,
            "cpu_ms_per_delivered_frame": cpu / (delivered_fps * seconds) * 1000
            if delivered_fps
            else None,
            "cpu_share": cpu / seconds,
            # The hub's CPU above what idle Home Assistant spends (timers, recorder): its own.
            "cpu_ms_per_delivered_frame_above_idle": (
                (cpu / seconds - (self.idle_cpu_share if hub else 0.0)) / delivered_fps * 1000
                if delivered_fps
                else None
            ),
            "fast_viewer_fps": sum(v["frames"] / v["seconds"] for v in fast) / len(fast),
            "slow_viewer_frames": sum(v["frames"] for v in slow),
            "fast_latency_ms": summarize(fast_latency),
            "rss_mib": {
                "start": rss[0],
                "end": rss[-1],
                "max": max(rss),
                # Growth: the last quarter's mean against the first quarter's.
                "growth": sum(rss[-quarter:]) / quarter - sum(rss[:quarter]) / quarter,
            },
            "seconds": seconds,
        }
        if lag is not None:
            row["lag_ms"] = lag
        log(
            f"fanout {count:3} viewers {target:5} cpu {row['cpu_ms_per_delivered_frame'] or 0:.3f} "
            f"ms/frame, fast p50 {row['fast_latency_ms']['p50']:.1f} p99 "
            f"{row['fast_latency_ms']['p99']:.1f} ms, rss {rss[0]:.0f}->{rss[-1]:.0f} MiB"
        )
        return row

    async def saving(self) -> None:
        """Continuous saving of 8 cameras at 20 fps, against the same cameras without saving."""
        spec = self.camera_spec("save", SAVING_CAMERAS, size=FRAME_SIZES["VGA"], fps=20)
        cameras = await Agent.run("saving cameras", "cameras", spec)
        rows = []
        try:
            await self.camera_entities("save-", SAVING_CAMERAS)
            rows = [await self._saving_run(spec["ids"], enabled) for enabled in (False, True)]
        finally:
            await self._set_saving(spec["ids"], enabled=False)
            await cameras.stop()
        self.results["saving"] = rows

    async def _set_saving(self, camera_ids: list[str], *, enabled: bool) -> None:
        async with self.hass.websocket() as call:
            for camera_id in camera_ids:
                await call("esp32_camera/saver", camera_id=camera_id, enabled=enabled)

    async def _saving_run(self, camera_ids: list[str], enabled: bool) -> dict[str, Any]:
        await self._set_saving(camera_ids, enabled=enabled)
        await asyncio.sleep(1.0)
        before = await self._saver_counts(camera_ids)
        frames_0, _ = await self.hub_counters("save-")
        await self.probe(reset=True)
        cpu_0 = cpu_seconds(self.hass.pid)
        await asyncio.sleep(self.plan.saving_seconds)
        cpu = cpu_seconds(self.hass.pid) - cpu_0
        lag = _lag(await self.probe())
        frames_1, _ = await self.hub_counters("save-")
        after = await self._saver_counts(camera_ids)
        seconds = self.plan.saving_seconds
        frames = frames_1 - frames_0
        row = {
            "saving": enabled,
            "received_fps": frames / seconds,
            "saved_fps": (after["saved_total"] - before["saved_total"]) / seconds,
            "dropped": after["dropped"] - before["dropped"],
            "errors": after["errors"] - before["errors"],
            "cpu_ms_per_frame": cpu / frames * 1000 if frames else None,
            "cpu_ms_per_frame_above_idle": (cpu - self.idle_cpu_share * seconds) / frames * 1000
            if frames
            else None,
            "lag_ms": lag,
        }
        log(
            f"saving {'on ' if enabled else 'off'} saved {row['saved_fps']:.0f}/s of "
            f"{row['received_fps']:.0f}/s, dropped {row['dropped']}, lag p99 {lag['p99']:.1f} ms"
        )
        return row

    async def _saver_counts(self, camera_ids: list[str]) -> dict[str, int]:
        stats = await self.get("/api/esp32_camera/stats")
        totals = {"saved_total": 0, "dropped": 0, "errors": 0}
        for hub in stats["hubs"]:
            for camera_id, counters in hub["saver"]["cameras"].items():
                if camera_id in camera_ids:
                    for key in totals:
                        totals[key] += counters[key]
        return totals

    async def churn(self, seconds: float, reloads: int) -> None:
        """16 cameras that come and go (half in mid-frame) while the hub entry reloads."""
        spec = self.camera_spec("churn", CHURN_CAMERAS, size=40_000, fps=10, churn=True)  # chunked
        # Warm up: the cameras' devices and entities exist, and the hub has been reloaded once,
        # before the "before" counts, so that both counts see the same hub.
        warmup = await Agent.run("churn warm-up", "cameras", {**spec, "churn": False})
        await self.camera_entities("churn-", CHURN_CAMERAS)
        await self._reload()
        await self.camera_entities("churn-", CHURN_CAMERAS)
        await warmup.stop()
        await self._wait_disconnected("churn-")
        await self._wait_recorder()
        before = await self.probe(collect=True)
        before["rss_mib"] = rss_mib(self.hass.pid)
        cameras = await Agent.run("churn cameras", "cameras", spec)
        reload_results = []
        rss_by_reload: list[float] = []
        try:
            # One reload at a random moment of each slot, cameras churning throughout.
            slot, started = seconds / max(1, reloads), time.monotonic()
            for number in range(reloads):
                moment = started + (number + random.random()) * slot
                await asyncio.sleep(max(0.0, moment - time.monotonic()))
                reload_results.append(await self._reload())
                rss_by_reload.append(rss_mib(self.hass.pid))
            await asyncio.sleep(max(0.0, started + seconds - time.monotonic()) + 2.0)
        finally:
            sent = await cameras.stop()
        await self._wait_disconnected("churn-")
        backlog = (await self.probe()).get("recorder_backlog")
        # Every reload makes each entity unavailable and back: hundreds of states for the
        # recorder, which on two cores falls behind; its queue is memory, not a leak. Count
        # after it has caught up.
        await self._wait_recorder()
        after = await self.probe(collect=True)
        after["rss_mib"] = rss_mib(self.hass.pid)
        keys = ("tasks", "fds", "sockets", "threads", "rss_mib")
        self.results["churn"] = {
            "cameras": CHURN_CAMERAS,
            "seconds": seconds,
            "reloads": len(reload_results),
            "reloads_with_ports_free": sum(all(r["ports_free"]) for r in reload_results),
            "reloads_loaded_again": sum(r["loaded"] for r in reload_results),
            "unload_ms": summarize(r["unload_s"] * 1000 for r in reload_results),
            "setup_ms": summarize(r["setup_s"] * 1000 for r in reload_results),
            "connections": sent.get("connections"),
            "vanished_mid_frame": sent.get("vanished_mid_frame"),
            "frames_sent": sent.get("frames"),
            "before": {key: before[key] for key in keys},
            "after": {key: after[key] for key in keys},
            # A leak grows with every reload; a warming cache grows early and then stays.
            "rss_growth_first_half_mib": _growth(rss_by_reload[: len(rss_by_reload) // 2 + 1]),
            "rss_growth_second_half_mib": _growth(rss_by_reload[len(rss_by_reload) // 2 :]),
            "recorder_backlog_at_end": backlog,
            "objects_before": before.get("objects"),
            "objects_after": after.get("objects"),
        }
        result = self.results["churn"]
        log(
            f"churn {result['reloads']} reloads ({result['reloads_with_ports_free']} freed both "
            f"ports), {result['connections']} connections, {result['vanished_mid_frame']} vanished "
            f"mid-frame; before {result['before']} after {result['after']}"
        )

    async def _reload(self) -> dict[str, Any]:
        """Reload the hub entry through the probe (which checks that both ports were freed)."""
        return dict(
            await self.post(
                "/api/bench_probe/reload",
                {
                    "entry_id": self.hass.hub_entry_id,
                    "ports": [self.stream_port, self.control_port],
                },
            )
        )

    async def _wait_recorder(self) -> None:
        async def caught_up() -> bool:
            return not (await self.probe()).get("recorder_backlog")

        await wait_until("the recorder to catch up", caught_up, timeout=300)

    async def _wait_disconnected(self, prefix: str) -> None:
        async def gone() -> bool:
            stats = await self.get("/api/esp32_camera/stats")
            return not any(
                camera["connected"]
                for hub in stats["hubs"]
                for camera_id, camera in hub["cameras"].items()
                if camera_id.startswith(prefix)
            )

        await wait_until(f"cameras {prefix}* to disconnect", gone, timeout=60)
        await asyncio.sleep(1.0)  # closing sockets and their tasks finish


def _lag(sample: dict[str, Any]) -> dict[str, Any]:
    """Return the probe's event loop lag, with the longest garbage collection in the window."""
    return {**sample["lag_ms"], "gc_max": sample["gc_ms"]["max"], "gcs": sample["gc_ms"]["count"]}


def _growth(samples: list[float]) -> float | None:
    return samples[-1] - samples[0] if len(samples) > 1 else None


def _proxy(entity_id: str) -> str:
    return f"/api/camera_proxy_stream/{entity_id}"


def _merge_rounds(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Keep the median row (by frames/s) of the rounds of each (size, target)."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in keys), []).append(row)
    merged = []
    for group in groups.values():
        ordered = sorted(group, key=lambda row: row["fps"])
        merged.append({**ordered[len(ordered) // 2], "rounds": len(group)})
    return merged


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return value / baseline if value is not None and baseline else None


def table(results: dict[str, Any]) -> str:
    """Return the results as a plain-text table, each workload beside its baseline."""
    lines: list[str] = []

    def row(*cells: object) -> None:
        lines.append(
            "  ".join(f"{cell:>14}" if i else f"{cell:<30}" for i, cell in enumerate(cells))
        )

    def fmt(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    if idle := results.get("idle"):
        lines.append("Idle hub: event loop lag")
        row("", "p50 ms", "p99 ms", "max ms", "CPU share")
        lag = idle["lag_ms"]
        row("idle", fmt(lag["p50"]), fmt(lag["p99"]), fmt(lag["max"]), fmt(idle["cpu_share"], 3))
    if ingest := results.get("ingest"):
        lines.append("")
        lines.append(f"Ingest ceiling ({INGEST_CAMERAS} cameras, speed mode, as fast as possible)")
        row("size / server", "frames/s", "MB/s", "CPU s/1000 fr", "ratio to floor")
        by_key = {(r["size"], r["target"]): r for r in ingest}
        for size in dict.fromkeys(r["size"] for r in ingest):
            hub, floor = by_key[(size, "hub")], by_key[(size, "floor")]
            for name, item in (("hub", hub), ("floor (baseline)", floor)):
                ratio = _ratio(item["cpu_s_per_1000_frames"], floor["cpu_s_per_1000_frames"])
                row(
                    f"{size} {name}",
                    fmt(item["fps"], 0),
                    fmt(item["mb_per_s"], 1),
                    fmt(item["cpu_s_per_1000_frames"], 3),
                    fmt(ratio) + "x cpu",
                )
    if latency := results.get("latency"):
        lines.append("")
        lines.append("Latency: last byte sent -> frame read by an MJPEG viewer (8 cameras, 20 fps)")
        row("path", "p50 ms", "p99 ms", "max ms", "fps/viewer")
        for name, kind in (("push (this hub)", "push"), ("HA default (baseline)", "default")):
            for what, key in (("frames read", "ms"), ("update delay", "update_delay_ms")):
                item = latency[f"{kind}_{key}"]
                row(
                    f"{name}: {what}",
                    fmt(item["p50"], 1),
                    fmt(item["p99"], 1),
                    fmt(item["max"], 1),
                    fmt(latency[f"{kind}_fps_per_viewer"], 1) if key == "ms" else "",
                )
        push, default = latency["push_update_delay_ms"], latency["default_update_delay_ms"]
        row(
            "ratio push/default delay",
            fmt(_ratio(push["p50"], default["p50"]), 3) + " p50",
            fmt(_ratio(push["p99"], default["p99"]), 3) + " p99",
        )
    if fanout := results.get("fanout"):
        lines.append("")
        lines.append("Fan-out: one XGA camera at 20 fps, N viewers + 1 slow (1 frame/s)")
        row(
            "viewers / server",
            "CPU ms/frame",
            "above idle",
            "fast p50 ms",
            "fast p99 ms",
            "RSS growth MiB",
        )
        for item in fanout:
            row(
                f"{item['viewers']} {'hub' if item['target'] == 'hub' else 'floor (baseline)'}",
                fmt(item["cpu_ms_per_delivered_frame"], 3),
                fmt(item["cpu_ms_per_delivered_frame_above_idle"], 3),
                fmt(item["fast_latency_ms"]["p50"], 1),
                fmt(item["fast_latency_ms"]["p99"], 1),
                fmt(item["rss_mib"]["growth"], 1),
            )
    if saving := results.get("saving"):
        lines.append("")
        lines.append(f"Continuous saving ({SAVING_CAMERAS} cameras, 20 fps VGA)")
        row("saving", "saved/s", "dropped", "CPU ms/frame", "above idle", "lag p99 ms")
        for item in saving:
            row(
                "on" if item["saving"] else "off (baseline)",
                fmt(item["saved_fps"], 0),
                item["dropped"],
                fmt(item["cpu_ms_per_frame"], 3),
                fmt(item["cpu_ms_per_frame_above_idle"], 3),
                fmt(item["lag_ms"]["p99"], 1),
            )
    if churn := results.get("churn"):
        lines.append("")
        lines.append(
            f"Churn: {churn['cameras']} cameras coming and going, {churn['reloads']} reloads "
            f"in {churn['seconds']:.0f} s ({churn['reloads_with_ports_free']} freed both ports)"
        )
        row("", "tasks", "fds", "sockets", "threads", "RSS MiB")
        for when in ("before", "after"):
            item = churn[when]
            row(
                when,
                item["tasks"],
                item["fds"],
                item["sockets"],
                item["threads"],
                fmt(item["rss_mib"], 1),
            )
        lines.append(
            f"RSS growth over the first half of the reloads {fmt(churn['rss_growth_first_half_mib'], 1)}"
            f" MiB, over the second half {fmt(churn['rss_growth_second_half_mib'], 1)} MiB; "
            f"unload p50 {fmt(churn['unload_ms']['p50'], 0)} ms max "
            f"{fmt(churn['unload_ms']['max'], 0)} ms, set-up p50 {fmt(churn['setup_ms']['p50'], 0)} ms"
        )
    lag_rows = [
        (f"ingest {r['size']}", r["lag_ms"]) for r in results.get("ingest", []) if "lag_ms" in r
    ]
    if latency:
        lag_rows.append(("latency", latency["lag_ms"]))
    lag_rows += [
        (f"saving {'on' if r['saving'] else 'off'}", r["lag_ms"]) for r in results.get("saving", [])
    ]
    if lag_rows:
        lines.append("")
        lines.append("Event loop lag under load (probe: 5 ms sleeps)")
        row("workload", "p50 ms", "p99 ms", "max ms", "longest GC ms")
        for name, lag in lag_rows:
            row(name, fmt(lag["p50"]), fmt(lag["p99"]), fmt(lag["max"]), fmt(lag.get("gc_max")))
    if figures := results.get("browser"):
        lines.extend(browser.table_lines(figures))
    if "motion" in results:
        lines += motion.table(results["motion"])
    lines.extend(motion_sensor_table(results))
    lines.extend(attacks_table(results))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen workloads; return every figure."""
    plan = QUICK if arguments.quick else FULL
    only = set(arguments.only.split(",")) if arguments.only else set(WORKLOADS)
    if arguments.soak is not None:
        only = {"idle", "churn"}
    started = time.monotonic()
    local = {"motion": motion.run(quick=arguments.quick)} if "motion" in only else {}
    if only <= LOCAL_WORKLOADS:
        return {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "mode": "quick" if arguments.quick else "full",
            "seconds": round(time.monotonic() - started),
            "machine": machine(),
            **local,
        }
    work = Path(tempfile.mkdtemp(prefix="esp32-camera-bench-"))
    hass = HomeAssistant(
        work / "config",
        free_port(),
        custom_components=[PROBE],
        extra_yaml="bench_probe:\ncamera:\n  - platform: bench_probe\n",
    )
    (work / "config").mkdir()
    bench = Bench(plan, work, hass, profile=arguments.profile)
    steps: dict[str, Callable[[], Awaitable[None]]] = {
        "idle": bench.idle,
        "ingest": bench.ingest,
        "latency": bench.latency,
        "fanout": bench.fanout,
        "saving": bench.saving,
        "churn": lambda: bench.churn(
            arguments.soak * 60 if arguments.soak is not None else plan.churn_seconds,
            plan.reloads if arguments.soak is None else max(plan.reloads, 100),
        ),
        "browser": bench.browser,
        "attacks": lambda: attacks(bench),
        "motion_sensor": lambda: motion_sensor(bench, plan.motion_sensor_rounds),
    }
    try:
        await bench.start()
        for name in WORKLOADS:
            if name in only and name not in LOCAL_WORKLOADS:
                await steps[name]()
    finally:
        await bench.stop()
        if arguments.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "soak" if arguments.soak is not None else "quick" if arguments.quick else "full",
        "seconds": round(time.monotonic() - started),
        "machine": machine(),
        **bench.results,
        **local,
    }


def main() -> int:
    """Parse arguments, run, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (under 3 minutes)")
    parser.add_argument("--only", help=f"comma-separated workloads: {', '.join(WORKLOADS)}")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="churn and reloads only")
    parser.add_argument(
        "--json", type=Path, default=REPO / "bench" / "results" / "latest.json", help="output"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the hub's event loop in ingest and the largest fan-out (bench/results/)",
    )
    arguments = parser.parse_args()
    results = asyncio.run(run(arguments))
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\n{results['mode']} run: {results['seconds']} s; figures in {arguments.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
