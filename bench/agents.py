"""Load agents, each run in its own process by the benchmark runner.

    python -m bench.agents cameras '<json spec>'   # cameras pushing frames (bench.wire)
    python -m bench.agents viewers '<json spec>'   # MJPEG viewers of camera_proxy_stream

An agent prints `ready` once connected, runs until SIGTERM or its `seconds`, then prints one
JSON line with its totals. Timestamps are `time.monotonic_ns()`, one clock for every process of
the machine, so that a frame's send and read times from two processes can be subtracted.
Records go to binary files (`array('q')`), not JSON: a fan-out run reads 100,000s of frames.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
from pathlib import Path
import random
import signal
import sys
import time
from typing import Any

import aiohttp

from bench.wire import (
    WireCamera,
    footer_count,
    frame_messages,
    read_sequence,
    sequenced_jpeg,
    set_sequence,
)
from esp32_simulator.camera import Framing, framing_for


class Stop:
    """Set on SIGTERM or when the agent's time is up."""

    def __init__(self, seconds: float | None) -> None:
        self.event = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.event.set)
        if seconds:
            loop.call_later(seconds, self.event.set)

    @property
    def is_set(self) -> bool:
        return self.event.is_set()


async def _pace(next_at: float, period: float) -> float:
    """Sleep until `next_at`; return the next slot (no catch-up burst after a late frame)."""
    if period <= 0:
        return 0.0
    now = time.monotonic()
    if next_at > now:
        await asyncio.sleep(next_at - now)
    return max(next_at + period, time.monotonic())


class CameraAgent:
    """Cameras that stream sequenced frames; with `churn`, they also vanish and come back."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.frames = 0
        self.bytes = 0
        self.connections = 0
        self.vanished_mid_frame = 0
        self.failed_connects = 0
        # (camera index, sequence, sent at ns) per frame, when `record` names a file.
        self.records = array.array("q")

    async def run(self) -> dict[str, Any]:
        stop = Stop(self.spec.get("seconds"))
        ready = [asyncio.Event() for _ in self.spec["ids"]]
        tasks = [
            asyncio.create_task(self._camera(index, camera_id, stop, ready[index]))
            for index, camera_id in enumerate(self.spec["ids"])
        ]
        await asyncio.gather(*(event.wait() for event in ready))
        print("ready", flush=True)
        await stop.event.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if record := self.spec.get("record"):
            Path(record).write_bytes(self.records.tobytes())
        return {
            "frames": self.frames,
            "bytes": self.bytes,
            "connections": self.connections,
            "vanished_mid_frame": self.vanished_mid_frame,
            "failed_connects": self.failed_connects,
        }

    async def _camera(self, index: int, camera_id: str, stop: Stop, ready: asyncio.Event) -> None:
        spec = self.spec
        jpeg = sequenced_jpeg(spec["size"], label=camera_id, resolution=spec.get("resolution"))
        messages = frame_messages(jpeg, frame_id=1)
        footers = footer_count(len(jpeg))
        period = 1.0 / spec["fps"] if spec["fps"] else 0.0
        record = bool(spec.get("record"))
        sequence = 0
        while not stop.is_set:
            camera = WireCamera(spec["host"], spec["port"], camera_id, spec["token"])
            try:
                await camera.connect()
            except OSError:  # the hub is reloading: try again shortly, like the firmware
                self.failed_connects += 1
                await asyncio.sleep(0.2)
                continue
            self.connections += 1
            ready.set()
            # Churning cameras stream for a while, then leave, half of them in mid-frame.
            leave_at = time.monotonic() + random.uniform(0.5, 3.0) if spec.get("churn") else None
            next_at = time.monotonic()
            try:
                while not stop.is_set and not camera.closed:
                    if leave_at is not None and time.monotonic() > leave_at:
                        await self._leave(camera, messages)
                        break
                    sequence += 1
                    set_sequence(jpeg, sequence)
                    sent_at = await camera.send_frame(messages, footers)
                    self.frames += 1
                    self.bytes += len(jpeg)
                    if record:
                        self.records.extend((index, sequence, sent_at))
                    next_at = await _pace(next_at, period)
            except ConnectionError:
                pass
            finally:
                camera.abort()
            if leave_at is not None:
                await asyncio.sleep(random.uniform(0.1, 1.0))

    async def _leave(self, camera: WireCamera, messages: list[bytes]) -> None:
        if random.random() < 0.5 and framing_for(self.spec["size"]) is not Framing.BINARY:
            # Header and part of the JPEG, then the connection dies: the hub must drop the
            # partial frame and free its buffer.
            await camera.send(messages[: max(2, len(messages) // 2)])
            self.vanished_mid_frame += 1
            camera.abort()
        else:
            await camera.close()


class ViewerAgent:
    """MJPEG viewers (`camera_proxy_stream` or the baseline relay), some of them deliberately slow."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    async def run(self) -> dict[str, Any]:
        stop = Stop(self.spec.get("seconds"))
        headers = {"Authorization": f"Bearer {self.spec['token']}"}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(
            headers=headers, timeout=timeout, connector=connector
        ) as session:
            viewers = [
                (stream["path"], bool(stream.get("slow")), number)
                for stream in self.spec["streams"]
                for number in range(stream["count"])
            ]
            opened = [asyncio.Event() for _ in viewers]
            results: list[dict[str, Any]] = [{} for _ in viewers]
            tasks = [
                asyncio.create_task(
                    self._view(session, path, slow, stop, opened[index], results[index], index)
                )
                for index, (path, slow, _) in enumerate(viewers)
            ]
            await asyncio.gather(*(event.wait() for event in opened))
            print("ready", flush=True)
            await stop.event.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return {"viewers": results}

    async def _view(  # noqa: PLR0917 - one viewer's whole context
        self,
        session: aiohttp.ClientSession,
        path: str,
        slow: bool,
        stop: Stop,
        opened: asyncio.Event,
        result: dict[str, Any],
        index: int,
    ) -> None:
        records = array.array("q")  # (sequence, read at ns) per frame
        result.update(path=path, slow=slow, frames=0, bytes=0)
        started = time.monotonic()
        record = Path(self.spec["record_dir"]) / f"viewer-{index}.bin"
        result["file"] = str(record)
        url = f"{self.spec['url']}{path}"
        try:
            async with session.get(url) as response:
                response.raise_for_status()
                opened.set()
                started = time.monotonic()
                content = response.content
                while not stop.is_set:
                    length = await read_part_headers(content)
                    if length is None:
                        break
                    data = await content.readexactly(length)
                    read_at = time.monotonic_ns()
                    sequence = read_sequence(data)
                    records.extend((-1 if sequence is None else sequence, read_at))
                    result["frames"] += 1
                    result["bytes"] += length
                    if slow:
                        await asyncio.sleep(1.0)
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as err:
            result["error"] = repr(err)
            opened.set()
        finally:
            result["seconds"] = time.monotonic() - started
            record.write_bytes(records.tobytes())


async def read_part_headers(content: aiohttp.StreamReader) -> int | None:
    """Skip to the next part of a multipart stream; return its Content-Length (None at the end)."""
    length: int | None = None
    while True:
        line = await content.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            if length is not None:
                return length
            continue
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("cameras", "viewers"))
    parser.add_argument("spec", help="the agent's specification, as JSON")
    arguments = parser.parse_args()
    spec = json.loads(arguments.spec)
    agent = CameraAgent(spec) if arguments.kind == "cameras" else ViewerAgent(spec)
    with contextlib.suppress(KeyboardInterrupt):
        result = asyncio.run(agent.run())
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
