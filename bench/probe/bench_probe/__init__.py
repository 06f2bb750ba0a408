"""Benchmark probe: measurements taken inside the `hass` process under test (`scripts/bench`).

Loaded only by the benchmarks, from YAML (`bench_probe:` and a `bench_probe` camera platform).
- A task that sleeps 5 ms at a time and records how late it wakes: the event loop's lag.
- `GET /api/bench_probe/sample[?reset=1]`: lag percentiles since the last reset, and the
  process's asyncio tasks, file descriptors, sockets, threads and RSS.
- `POST /api/bench_probe/reload` `{"entry_id", "ports"}`: unload the entry, check that every port
  can be bound again, set the entry up again; answers the timings and what was found.
- `POST /api/bench_probe/pull_cameras` `{"entity_ids"}`: add, per camera, a baseline camera that
  implements only `async_camera_image` (see camera.py).
- `POST /api/bench_probe/profile` `{"action": "start"|"stop"}`: profile the event loop's thread
  with pyinstrument; `stop` answers the report as text.
- `GET /api/bench_probe/clips?camera=ID`: the hub's clip figures (ring memory, the frame
  listener's time) and the triggers of the camera's open clips (the hub's monotonic clock).
- `POST /api/bench_probe/stages` `{"statistics", "broker", "consumers", "motion_analysis"}` or
  `{"restore": true}`: switch per-frame stages of the running hub off and on (bench/budget.py);
  `GET` answers the frames the hub has been handed since the switch was installed, and the
  frames its motion detectors have analysed. A bench-only
  hook: it reaches into the hub's parts, which the integration offers no way to do.
"""

from __future__ import annotations

import asyncio
from collections import Counter
import contextlib
import ctypes
import gc
from pathlib import Path
import socket
import time
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.typing import ConfigType

DOMAIN = "bench_probe"
LAG_INTERVAL = 0.005
DATA_LAGS = "bench_probe_lags"
# Set while the lag monitor samples: cleared while a CPU window must not include its 200 wakeups
# a second (a few ms of CPU a second, as much as one viewer's frames, and not as steady).
DATA_LAG_RUNNING = "bench_probe_lag_running"
# The camera platform (camera.py) keeps here a function adding pull cameras for entity ids.
DATA_ADD_PULL_CAMERAS = "bench_probe_add_pull_cameras"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start the lag monitor and register the views."""
    lags: list[float] = []
    hass.data[DATA_LAGS] = lags
    running = hass.data[DATA_LAG_RUNNING] = asyncio.Event()
    running.set()
    gc.callbacks.append(_time_collections)
    hass.async_create_background_task(_monitor_lag(lags, running), "bench_probe lag monitor")
    hass.http.register_view(SampleView())
    hass.http.register_view(ReloadView())
    hass.http.register_view(PullCamerasView())
    hass.http.register_view(ProfileView())
    hass.http.register_view(ListenerView())
    hass.http.register_view(ClipsView())
    hass.http.register_view(StagesView())
    return True


_collection_started = 0.0
# Durations of the garbage collector's passes since the last reset: a lag spike that matches one
# is the collector's, not the integration's.
_collections: list[float] = []


def _time_collections(phase: str, info: dict[str, int]) -> None:
    global _collection_started  # noqa: PLW0603 - the callback's only state
    if phase == "start":
        _collection_started = time.perf_counter()
    else:
        _collections.append(time.perf_counter() - _collection_started)


async def _monitor_lag(lags: list[float], running: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await running.wait()
        expected = loop.time() + LAG_INTERVAL
        await asyncio.sleep(LAG_INTERVAL)
        lags.append(loop.time() - expected)


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def _process_counts() -> dict[str, int]:
    fds = list(Path("/proc/self/fd").iterdir())
    sockets = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            sockets += str(fd.readlink()).startswith("socket:")
    rss_kib = 0
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = int(line.split()[1])
    # In the executor with the rest: a directory listing on the loop is a blocking call to Home
    # Assistant, which walks the stack to report it (8 % of the hub's CPU in a fan-out profile).
    threads = len(list(Path("/proc/self/task").iterdir()))
    return {"fds": len(fds), "sockets": sockets, "rss_kib": rss_kib, "threads": threads}


class ListenerView(HomeAssistantView):
    """What the hub's listener holds and refused (for the attack benchmark)."""

    url = "/api/bench_probe/listener"
    name = "api:bench_probe:listener"

    async def get(self, request: web.Request) -> web.Response:
        """Answer refusals by reason, pending cameras, frame budget peak, and one camera's record."""
        hass = request.app[KEY_HASS]
        entries = hass.config_entries.async_loaded_entries("esp32_camera")
        if not entries:
            return self.json({})
        listener = entries[0].runtime_data.listener
        budget = getattr(listener, "frame_budget", None)
        camera = listener.cameras.get(request.query.get("camera", ""))
        return self.json(
            {
                "refusals": dict(getattr(getattr(listener, "refusals", None), "counts", {})),
                "pending": sum(1 for c in listener.cameras.values() if not c.admitted),
                "records": len(listener.cameras),
                "frame_budget_peak_mib": None if budget is None else budget.peak / 2**20,
                "camera": None
                if camera is None
                else {
                    "admission": str(camera.admission),
                    "address": camera.address,
                    "name": camera.name,
                },
            }
        )


class ClipsView(HomeAssistantView):
    """The hub's clip figures and when the camera's open clips were triggered."""

    url = "/api/bench_probe/clips"
    name = "api:bench_probe:clips"

    async def get(self, request: web.Request) -> web.Response:
        """Answer `clips` (diagnostics' figures) and `triggers` (seconds, time.monotonic)."""
        hass = request.app[KEY_HASS]
        entries = hass.config_entries.async_loaded_entries("esp32_camera")
        if not entries:
            return self.json({})
        clips = entries[0].runtime_data.clips
        camera = request.query.get("camera", "")
        return self.json(
            {
                "clips": clips.as_dict(),
                "triggers": [clip.triggered_at for clip in clips.open_clips(camera)],
            }
        )


class SampleView(HomeAssistantView):
    """Lag percentiles since the last reset, and resource counts."""

    url = "/api/bench_probe/sample"
    name = "api:bench_probe:sample"

    async def get(self, request: web.Request) -> web.Response:
        """Answer the sample; `?reset=1` starts a new lag window, `?gc=1` collects first.

        `?lag=0` pauses the lag monitor (a CPU window follows), `?lag=1` resumes it.
        """
        hass = request.app[KEY_HASS]
        if (lag := request.query.get("lag")) is not None:
            running: asyncio.Event = hass.data[DATA_LAG_RUNNING]
            if lag == "1":
                running.set()
            else:
                running.clear()
        objects: dict[str, int | dict[str, int]] = {}
        if request.query.get("gc"):
            objects = _collect()
        lags: list[float] = hass.data[DATA_LAGS]
        ordered = sorted(lags)
        collections = sorted(_collections)
        if request.query.get("reset"):
            lags.clear()
            _collections.clear()
        counts = await hass.async_add_executor_job(_process_counts)
        recorder = hass.data.get("recorder_instance")
        return self.json(
            {
                "lag_ms": {
                    "count": len(ordered),
                    "p50": _percentile(ordered, 0.50) * 1000,
                    "p99": _percentile(ordered, 0.99) * 1000,
                    "max": (ordered[-1] if ordered else 0.0) * 1000,
                },
                "gc_ms": {
                    "count": len(collections),
                    "total": sum(collections) * 1000,
                    "p99": _percentile(collections, 0.99) * 1000,
                    "max": (collections[-1] if collections else 0.0) * 1000,
                },
                "tasks": len(asyncio.all_tasks()),
                **counts,
                **({"objects": objects} if objects else {}),
                # States and events waiting to be written: memory that is not a leak.
                "recorder_backlog": getattr(recorder, "backlog", None),
            }
        )


def _collect() -> dict[str, int | dict[str, int]]:
    """Collect garbage, give freed heap back to the OS, count objects (ours by class)."""
    gc.collect()
    # glibc keeps freed memory in its arenas: trimming shows what is really still in use.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    ours: Counter[str] = Counter()
    every: Counter[str] = Counter()
    objects = gc.get_objects()
    for item in objects:
        kind = type(item)
        module = getattr(kind, "__module__", None)
        name = f"{module}.{kind.__qualname__}"
        every[name] += 1
        if isinstance(module, str) and module.startswith("custom_components.esp32_camera"):
            ours[kind.__qualname__] += 1
    return {
        "gc_objects": len(objects),
        "ours": dict(ours.most_common(12)),
        "all": dict(every.most_common(25)),
    }


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        # As the listener binds (SO_REUSEADDR): a port whose old sockets are in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class ReloadView(HomeAssistantView):
    """Unload an entry, check its ports are free, set it up again."""

    url = "/api/bench_probe/reload"
    name = "api:bench_probe:reload"

    async def post(self, request: web.Request) -> web.Response:
        """Reload the entry in `entry_id`; check `ports` on `host` (127.0.0.1) in between."""
        hass = request.app[KEY_HASS]
        body: dict[str, Any] = await request.json()
        entry_id: str = body["entry_id"]
        started = time.monotonic()
        unloaded = await hass.config_entries.async_unload(entry_id)
        unload_s = time.monotonic() - started
        host = body.get("host", "127.0.0.1")
        free = [_bindable(host, port) for port in body["ports"]]
        started = time.monotonic()
        await hass.config_entries.async_setup(entry_id)
        entry = hass.config_entries.async_get_entry(entry_id)
        return self.json(
            {
                "unloaded": unloaded,
                "ports_free": free,
                "loaded": entry is not None and entry.state is ConfigEntryState.LOADED,
                "unload_s": unload_s,
                "setup_s": time.monotonic() - started,
            }
        )


class PullCamerasView(HomeAssistantView):
    """Add baseline (pull) cameras mirroring the given camera entities."""

    url = "/api/bench_probe/pull_cameras"
    name = "api:bench_probe:pull_cameras"

    async def post(self, request: web.Request) -> web.Response:
        """Add one `PullCamera` per entity id in `entity_ids`."""
        hass = request.app[KEY_HASS]
        body: dict[str, Any] = await request.json()
        hass.data[DATA_ADD_PULL_CAMERAS](body["entity_ids"])
        return self.json({"added": len(body["entity_ids"])})


class ProfileView(HomeAssistantView):
    """Profile the event loop thread (pyinstrument, statistical) between start and stop."""

    url = "/api/bench_probe/profile"
    name = "api:bench_probe:profile"
    profiler: Any = None

    async def post(self, request: web.Request) -> web.Response:
        """Start, or stop and answer the report."""
        from pyinstrument import Profiler  # only when profiling

        body: dict[str, Any] = await request.json()
        if body["action"] == "start":
            # Started from this handler, so it samples the event loop's own thread.
            ProfileView.profiler = Profiler(interval=0.0005, async_mode="disabled")
            ProfileView.profiler.start()
            return self.json({"profiling": True})
        profiler, ProfileView.profiler = ProfileView.profiler, None
        profiler.stop()
        # At a camera's own rate the loop mostly waits: the work is a few per cent of the
        # samples, below the default 1 % threshold. The tree, then each function's own time.
        options = {"filter_threshold": 0.0005}
        tree = profiler.output_text(processor_options=options)
        flat = profiler.output_text(flat=True, processor_options=options)
        return web.Response(text=f"{tree}\n\nOwn time per function:\n{flat}")


def _skip_analysis(jpeg: bytes | bytearray, timestamp: float) -> None:
    """A detector's `analyse` while motion analysis is switched off: the frame is handed over."""


def _ignore_frame(frame: object) -> None:
    """A camera's `stats.record_frame` while statistics are switched off."""


class _StageSwitch:
    """Which per-frame stages of one running hub are on (the budget workload's switch).

    Installed on the hub at the first switch: the hub's `frame_received` (what the listener calls
    per admitted frame) becomes a counter in front of the broker, so that frames are counted
    whatever is off. The rest are instance attributes over the parts' own methods, and the
    broker's list of every-camera listeners (motion, the clip ring) edited in place.
    """

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.frames = 0
        self.broker = True
        self._publish = hub.frame_received
        # The broker's every-camera listeners, edited in place: its unsubscribes hold the list.
        self._every_camera: list[Any] = hub.frames._listeners.setdefault(None, [])  # noqa: SLF001
        self._consumers = list(self._every_camera)
        self._stats: list[Any] = []
        self._detectors: list[Any] = []
        hub.frame_received = self._frame_received

    @property
    def analysed(self) -> int:
        """Frames the motion detectors of the hub's cameras have analysed (their counters)."""
        return sum(self.hub.motion.detector(c).stats.analysed for c in list(self.hub.cameras))

    def _frame_received(self, camera: Any, frame: Any) -> None:
        self.frames += 1
        if self.broker:
            self._publish(camera, frame)

    def _kind(self, listener: Any) -> str:
        owner = getattr(listener, "__self__", None)
        if owner is self.hub.motion:
            return "motion"
        if owner is self.hub.clips:
            return "ring"
        return "other"

    def apply(
        self, *, statistics: bool, broker: bool, consumers: set[str], motion_analysis: bool
    ) -> dict[str, Any]:
        """Switch the stages; answer what the hub's parts now are."""
        self.restore_parts()
        self.broker = broker
        self._every_camera[:] = [c for c in self._consumers if self._kind(c) in consumers]
        cameras = list(self.hub.cameras)
        if not statistics:
            for camera in self.hub.cameras.values():
                camera.stats.record_frame = _ignore_frame
                self._stats.append(camera.stats)
        if not motion_analysis:
            for camera_id in cameras:
                detector = self.hub.motion.detector(camera_id)
                detector.analyse = _skip_analysis
                self._detectors.append(detector)
        return {
            "consumers": sorted(self._kind(c) for c in self._every_camera),
            "motion_enabled": {c: self.hub.motion.settings(c).enabled for c in cameras},
        }

    def restore_parts(self) -> None:
        """Every stage back on (the counter stays in front of the broker)."""
        self.broker = True
        self._every_camera[:] = self._consumers
        for stats in self._stats:
            del stats.record_frame
        for detector in self._detectors:
            del detector.analyse
        self._stats.clear()
        self._detectors.clear()


class StagesView(HomeAssistantView):
    """Switch the running hub's per-frame stages off and on; count the frames handed to it."""

    url = "/api/bench_probe/stages"
    name = "api:bench_probe:stages"
    switch: _StageSwitch | None = None

    @staticmethod
    def _switch(hass: HomeAssistant) -> _StageSwitch:
        hub = hass.config_entries.async_loaded_entries("esp32_camera")[0].runtime_data
        if StagesView.switch is None or StagesView.switch.hub is not hub:
            StagesView.switch = _StageSwitch(hub)
        return StagesView.switch

    async def get(self, request: web.Request) -> web.Response:
        """Answer the frames handed to the hub since the switch was installed, and analysed."""
        switch = self._switch(request.app[KEY_HASS])
        return self.json({"frames": switch.frames, "analysed": switch.analysed})

    async def post(self, request: web.Request) -> web.Response:
        """Switch the stages named in the body (or restore them all)."""
        switch = self._switch(request.app[KEY_HASS])
        body: dict[str, Any] = await request.json()
        if body.get("restore"):
            switch.restore_parts()
            return self.json({"frames": switch.frames})
        state = switch.apply(
            statistics=bool(body["statistics"]),
            broker=bool(body["broker"]),
            consumers=set(body["consumers"]),
            motion_analysis=bool(body["motion_analysis"]),
        )
        return self.json({"frames": switch.frames, **state})
