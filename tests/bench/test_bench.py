"""The benchmarks' own tools: the lean camera speaks the protocol the hub parses, the baseline
server counts and relays what it gets, and the latency arithmetic joins the right records.

No timing is asserted here: figures belong in the benchmark report, not in tests.
"""

from __future__ import annotations

import array
import asyncio
import os
from pathlib import Path
import threading
import time

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
import pytest

from bench.agents import read_part_headers
from bench.attacks import markdown
from bench.floor import Floor
from bench.measure import (
    cpu_ns,
    idle_cpu_share,
    latencies_ms,
    percentile,
    summarize,
    update_delays_ms,
    viewer_reads,
)
from bench.probe.bench_probe import _monitor_lag
from bench.wire import (
    WireCamera,
    footer_count,
    frame_messages,
    read_sequence,
    sequenced_jpeg,
    set_sequence,
)
from custom_components.esp32_camera.listener import CameraRecord, DeviceListener, ListenerSettings
from custom_components.esp32_camera.protocol import Frame
from harness.hass_process import free_port

TOKEN = "bench-token"
# One size per framing: binary (<= 10,000 B), framed (<= 30,000 B), chunked.
SIZES = (9_000, 25_000, 80_000)


class FrameCollector:
    """A listener observer that keeps the frames."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.arrived = asyncio.Event()

    def frame_received(self, camera: CameraRecord, frame: Frame) -> None:
        self.frames.append(frame)
        self.arrived.set()

    def __getattr__(self, name: str) -> object:
        return lambda *args: None  # other observer callbacks: not needed here

    async def wait(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.frames) < count:
                self.arrived.clear()
                await self.arrived.wait()


def test_sequenced_jpeg_sizes_and_sequence() -> None:
    """Exact sizes, a valid JPEG (SOI ... EOI), and the sequence number written in place."""
    for size in SIZES:
        jpeg = sequenced_jpeg(size)
        assert len(jpeg) == size
        assert jpeg[:2] == b"\xff\xd8"
        assert b"\xff\xd9" in jpeg[-100:]
        assert read_sequence(jpeg) == 0
        set_sequence(jpeg, 123_456_789)
        assert read_sequence(bytes(jpeg)) == 123_456_789
    assert read_sequence(b"\xff\xd8\xff\xe0" + bytes(40)) is None


@pytest.mark.parametrize("size", SIZES)
async def test_wire_camera_frames_reach_the_listener_intact(size: int) -> None:
    """The hub's own listener admits the lean camera by token and publishes its exact bytes."""
    collector = FrameCollector()
    listener = DeviceListener(
        ListenerSettings(
            token=TOKEN, host="127.0.0.1", stream_port=free_port(), control_port=free_port()
        ),
        collector,  # type: ignore[arg-type]
    )
    await listener.start()
    try:
        camera = WireCamera("127.0.0.1", listener.settings.stream_port, "bench-1", TOKEN)
        await camera.connect()
        jpeg = sequenced_jpeg(size)
        messages = frame_messages(jpeg, frame_id=7)
        for sequence in (1, 2, 3):
            set_sequence(jpeg, sequence)
            await camera.send_frame(messages, footer_count(size))
        await collector.wait(3)
        assert [read_sequence(frame.data) for frame in collector.frames] == [1, 2, 3]
        assert all(len(frame.data) == size for frame in collector.frames)
        assert listener.cameras["bench-1"].stats.frames_failed == 0
    finally:
        await listener.stop()
    # It answered the listener's close (1001), as the firmware's client does, and was closed.
    assert camera.closed


async def test_floor_counts_and_relays_frames() -> None:
    """The baseline counts every frame of each framing and relays whole frames to viewers."""
    floor = Floor(relay=True)
    app = web.Application()
    app.router.add_get("/", floor.camera)
    app.router.add_get("/mjpeg", floor.mjpeg)
    async with (
        TestServer(app, host="127.0.0.1") as server,
        ClientSession() as session,
        session.get(server.make_url("/mjpeg")) as viewer,
    ):
        assert server.port is not None  # the server is started
        camera = WireCamera("127.0.0.1", server.port, "floor-1", TOKEN)
        await camera.connect()
        received = []
        # One frame at a time: a viewer busy with a frame skips to the newest (the hub's
        # rule), so frames sent back to back would not all reach it.
        for sequence, size in enumerate(SIZES, start=1):
            jpeg = sequenced_jpeg(size)
            set_sequence(jpeg, sequence)
            await camera.send_frame(frame_messages(jpeg, sequence), footer_count(size))
            length = await read_part_headers(viewer.content)
            assert length is not None
            received.append(await viewer.content.readexactly(length))
        await camera.close()
    assert floor.frames == len(SIZES)
    assert floor.bytes == sum(SIZES)
    assert floor.delivered == len(SIZES)
    assert [len(data) for data in received] == list(SIZES)
    assert [read_sequence(data) for data in received] == [1, 2, 3]


def write_records(path: Path, *values: int) -> Path:
    """Write int64 records as an agent does."""
    path.write_bytes(array.array("q", values).tobytes())
    return path


def test_latency_join_and_update_delay(tmp_path: Path) -> None:
    """Delivered-frame latency joins by (camera, sequence); update delay counts skipped frames."""
    ms = 1_000_000
    sent = {(0, 1): 0, (0, 2): 50 * ms, (0, 3): 100 * ms, (0, 4): 150 * ms, (1, 2): 7 * ms}
    # The viewer read frame 1 at 2 ms, skipped 2, read 3 at 104 ms; frame 4 never shown.
    viewer = viewer_reads(write_records(tmp_path / "viewer.bin", 1, 2 * ms, 3, 104 * ms))
    assert latencies_ms(sent, 0, viewer) == [2.0, 4.0]
    # Frame 2 (sent at 50 ms) first became visible through frame 3, at 104 ms: 54 ms.
    assert update_delays_ms(sent, 0, viewer) == [2.0, 54.0, 4.0]
    assert update_delays_ms(sent, 0, viewer_reads(write_records(tmp_path / "empty.bin"))) == []


def test_cpu_ns_counts_this_process_threads() -> None:
    before = cpu_ns(os.getpid())
    sum(range(2_000_000))  # some work of this thread
    assert cpu_ns(os.getpid()) > before


async def test_the_idle_share_ignores_a_busy_tail_of_the_previous_workload() -> None:
    """A process still busy for the first second of the idle window is not charged as idle."""
    done = threading.Event()

    def busy() -> None:  # the previous workload's tail: one second of a full core
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            pass
        done.set()

    threading.Thread(target=busy, daemon=True).start()
    share = await idle_cpu_share(os.getpid(), 3)
    assert done.is_set()
    # The mean of the three seconds would be about a third of a core.
    assert share < 0.15


def test_percentiles() -> None:
    """Nearest-rank percentiles on sorted values."""
    values = [float(number) for number in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 100.0
    assert percentile([], 0.5) == 0.0
    assert summarize([3.0, 1.0, 2.0]) == {"count": 3, "p50": 2.0, "p99": 3.0, "max": 3.0}


def test_attack_table_puts_each_attack_beside_its_baseline() -> None:
    row = {
        "attack": "flood",
        "rss_peak_growth_mib": 1.5,
        "refused": {"idle": 3},
        "hass_alive": True,
    }
    before = {"rows": [{"attack": "flood", "rss_peak_growth_mib": 900.0, "hass_alive": False}]}
    lines = markdown({"rows": [row]}, before).splitlines()
    assert lines[2].startswith("| flood | before | 900.0 | - |")
    assert lines[2].endswith("| **no** |")
    assert lines[3].startswith("| flood | after | 1.5 | - |")
    assert "| idle 3 |" in lines[3]
    assert len(markdown({"rows": [row]}).splitlines()) == 3


async def test_the_probes_lag_monitor_pauses_and_resumes() -> None:
    """Paused, it samples nothing (a CPU window without its wakeups); resumed, it samples again."""
    lags: list[float] = []
    running = asyncio.Event()
    running.set()
    monitor = asyncio.create_task(_monitor_lag(lags, running))
    try:
        while len(lags) < 3:
            await asyncio.sleep(0.005)
        running.clear()
        await asyncio.sleep(0.02)  # the sample in progress lands
        paused_at = len(lags)
        await asyncio.sleep(0.1)  # twenty intervals
        assert len(lags) == paused_at
        running.set()
        while len(lags) < paused_at + 3:
            await asyncio.sleep(0.005)
    finally:
        monitor.cancel()
