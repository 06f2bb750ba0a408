"""What the runner measures with: process counters, percentiles, agent processes, latency joins."""

from __future__ import annotations

import array
import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
import json
import os
from pathlib import Path
import statistics
import sys
import time
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time of process `pid`, all its threads (from /proc)."""
    # Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def cpu_ns(pid: int) -> int:
    """Return the run time of every thread of process `pid`, in nanoseconds (schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text(encoding="ascii").split()[0])
        except OSError, ValueError, IndexError:  # the thread ended meanwhile
            continue
    return total


async def idle_cpu_share(pid: int, seconds: float) -> float:
    """The process's CPU share with no camera sending: the median of one-second slices.

    The median, not the mean: after a heavy workload (the ingest ceiling, churn) Home Assistant
    may still write its states for some seconds, which would count as idle and be subtracted.
    """
    slices = []
    for _ in range(max(1, round(seconds))):
        cpu_0, wall_0 = cpu_ns(pid), time.monotonic()
        await asyncio.sleep(1.0)
        slices.append((cpu_ns(pid) - cpu_0) / 1e9 / (time.monotonic() - wall_0))
    return statistics.median(slices)


def rss_mib(pid: int) -> float:
    """Return the resident set size of process `pid`, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the `fraction` percentile of sorted `values` (nearest rank); 0 for none."""
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(fraction * len(values)))]


def summarize(values: Iterable[float]) -> dict[str, float]:
    """Return count, p50, p99 and max of `values`."""
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 0.50),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else 0.0,
    }


def read_records(path: Path, width: int) -> list[tuple[int, ...]]:
    """Return the int64 records of `width` fields an agent wrote to `path`."""
    values = array.array("q")
    values.frombytes(path.read_bytes())
    return [tuple(values[i : i + width]) for i in range(0, len(values), width)]


def viewer_reads(path: Path) -> list[tuple[int, int]]:
    """Return a viewer agent's (sequence, read at ns) records, in the order it read them."""
    return [(sequence, read_at) for sequence, read_at in read_records(path, 2)]


def latencies_ms(
    sent: dict[tuple[int, int], int], camera_index: int, reads: list[tuple[int, int]]
) -> list[float]:
    """Join a viewer's (sequence, read at) records with the cameras' send times (ms)."""
    result = []
    for sequence, read_at in reads:
        sent_at = sent.get((camera_index, sequence))
        if sent_at is not None:
            result.append((read_at - sent_at) / 1e6)
    return result


def update_delays_ms(
    sent: dict[tuple[int, int], int], camera_index: int, reads: list[tuple[int, int]]
) -> list[float]:
    """For each frame sent while the viewer watched: ms until it showed that frame or a newer one.

    This is the delay a viewer perceives (how long a change takes to appear); unlike the latency
    of delivered frames, it counts the frames a polling path never delivers.
    """
    reads = [(sequence, read_at) for sequence, read_at in reads if sequence >= 0]
    if not reads:
        return []
    frames = sorted(
        (sequence, sent_at) for (index, sequence), sent_at in sent.items() if index == camera_index
    )
    result = []
    position = 0
    for sequence, sent_at in frames:
        if sequence < reads[0][0]:
            continue  # older than the viewer's first frame: sent before it watched
        while position < len(reads) and reads[position][0] < sequence:
            position += 1
        if position == len(reads):
            break  # never shown before the viewer stopped
        result.append((reads[position][1] - sent_at) / 1e6)
    return result


def sent_times(path: Path) -> dict[tuple[int, int], int]:
    """Return the cameras' (camera index, sequence) -> sent at ns, from a camera agent's file."""
    return {(index, sequence): sent_at for index, sequence, sent_at in read_records(path, 3)}


@dataclass
class Agent:
    """A load agent (`python -m bench.agents` or `bench.floor`) in its own process."""

    process: asyncio.subprocess.Process
    name: str

    @classmethod
    async def start(cls, name: str, *arguments: str) -> Agent:
        """Start `python -m <arguments>` and wait until it prints `ready`."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *arguments,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        agent = cls(process, name)
        assert process.stdout is not None
        async with asyncio.timeout(60):
            line = await process.stdout.readline()
        if line.strip() != b"ready":
            await agent.kill()
            raise RuntimeError(f"{name} did not start (it printed {line!r})")
        return agent

    @classmethod
    async def run(cls, name: str, kind: str, spec: dict[str, Any]) -> Agent:
        """Start a `bench.agents` agent of `kind` with `spec`."""
        return await cls.start(name, "bench.agents", kind, json.dumps(spec))

    @property
    def pid(self) -> int:
        """Return the agent's process id."""
        return self.process.pid

    async def stop(self) -> dict[str, Any]:
        """Stop the agent (SIGTERM) and return the JSON line it prints on its way out."""
        self.process.terminate()
        assert self.process.stdout is not None
        async with asyncio.timeout(30):
            output = await self.process.stdout.read()
            await self.process.wait()
        lines = output.decode().strip().splitlines()
        return json.loads(lines[-1]) if lines else {}

    async def kill(self) -> None:
        """Kill the agent at once (cleanup after a failure)."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
