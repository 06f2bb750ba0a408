"""What the demo writes to the logbook: no entry may repeat more than once a minute per camera.

    scripts/bench --only demo_logbook

Runs `scripts/demo` as a user does (its own Home Assistant, three scene cameras with motion
detection and recording on motion, one stock camera waiting), lets it run for the plan's window,
then logs in as the demo's owner and reads the logbook of the window through Home Assistant's
WebSocket (`logbook/get_events`), as the Logbook page does. Per entry: how many, and the most in any
one minute. Beside it, the media the demo wrote (clips, MP4s, thumbnails) in that window.
An entry (an entity and what it says, such as "sensor.garage_fps: 20") repeating more than once a
minute is named a flood.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
import datetime as dt
import os
from pathlib import Path
import re
import signal
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.measure import REPO
from bench.table_format import cells, number
from harness.hass_process import free_port, log_in, websocket_calls

if TYPE_CHECKING:
    from bench.testbed import Bench

# More than this many entries of one entity in one minute is a flood (issue 20).
MOST_PER_MINUTE = 1
# The demo's motion settles in its first minute (the first frames, the first motions): the window
# starts after it.
WARM_UP_SECONDS = 60
# The last line the demo prints once it is ready (after its URL and the owner's account).
READY = re.compile(r"Ctrl-C stops everything")
FIELD = re.compile(r"^\[demo\]\s+(Home Assistant|user|password)\s+(\S+)\s*$")


def _log(message: str) -> None:
    print(f"[bench] demo_logbook: {message}", flush=True)


def entry_key(entry: Mapping[str, Any]) -> str:
    """What makes two logbook entries the same: their entity (or name) and what they say."""
    subject = entry.get("entity_id") or entry.get("name") or "?"
    said = entry.get("state") if "state" in entry else entry.get("message", "")
    return f"{subject}: {said}"


def per_minute(entries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Per entry (an entity and what it says): how many, and the most in one minute."""
    minutes: dict[str, Counter[int]] = defaultdict(Counter)
    for entry in entries:
        key = entry_key(entry)
        minutes[key][int(float(entry["when"]) // 60)] += 1
    return {
        key: {"entries": sum(counts.values()), "most_in_a_minute": max(counts.values())}
        for key, counts in minutes.items()
    }


def floods(figures: Mapping[str, Mapping[str, int]]) -> list[str]:
    """The entries that repeat more than MOST_PER_MINUTE times in some minute."""
    return sorted(key for key, row in figures.items() if row["most_in_a_minute"] > MOST_PER_MINUTE)


def media_bytes(config: Path) -> int:
    """Bytes of every file under the demo's media folder (what its clips and snapshots cost)."""
    media = config / "media"
    return sum(path.stat().st_size for path in media.rglob("*") if path.is_file())


async def _read_demo(process: asyncio.subprocess.Process, found: dict[str, str]) -> None:
    """Read the demo's output until it is ready, noting its URL and the owner's account."""
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode(errors="replace"):
        print(line, end="", flush=True)
        if match := FIELD.match(line):
            found[match[1]] = match[2]
        if READY.search(line):
            return
    raise RuntimeError(f"the demo ended before it was ready ({process.returncode})")


async def logbook_of_demo(seconds: float) -> dict[str, Any]:
    """Run the demo for `seconds` after its warm-up; return its logbook figures."""
    cache = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    process = await asyncio.create_subprocess_exec(
        str(REPO / "scripts" / "demo"),
        "--port",
        str(free_port()),
        "--keep",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
    )
    found: dict[str, str] = {}
    drain: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(_read_demo(process, found), timeout=300)
        drain = asyncio.create_task(_drain(process))
        await asyncio.sleep(WARM_UP_SECONDS)
        config = next((cache / "esp32-camera-demo").glob("run-*"))
        media_before = media_bytes(config)
        start = dt.datetime.now(dt.UTC)
        _log(f"demo ready; counting the logbook for {seconds:.0f} s from {start:%H:%M:%S}")
        await asyncio.sleep(seconds)
        end = dt.datetime.now(dt.UTC)
        url = found["Home Assistant"]
        async with aiohttp.ClientSession() as session:
            tokens = await log_in(session, url, found["user"], found["password"])
            async with websocket_calls(session, url, tokens["access_token"]) as call:
                entries = await call(
                    "logbook/get_events", start_time=start.isoformat(), end_time=end.isoformat()
                )
        media = media_bytes(config) - media_before
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), timeout=120)
        if drain is not None:
            drain.cancel()
    figures = per_minute(entries)
    return {
        "seconds": seconds,
        "entries": len(entries),
        "entities": figures,
        "floods": floods(figures),
        "media_bytes": media,
        "config": str(cache),
    }


async def _drain(process: asyncio.subprocess.Process) -> None:
    """Keep reading the demo's output so that it never blocks on a full pipe."""
    assert process.stdout is not None
    while await process.stdout.readline():
        pass


async def run(bench: Bench) -> None:
    """Measure the demo's logbook over the plan's window."""
    started = time.monotonic()
    figures = await logbook_of_demo(bench.plan.demo_logbook_seconds)
    bench.results["demo_logbook"] = figures
    _log(
        f"{figures['entries']} entries in {figures['seconds']:.0f} s, floods: "
        f"{', '.join(figures['floods']) or 'none'} ({time.monotonic() - started:.0f} s)"
    )
    if figures["floods"]:
        print(
            f"[bench] demo_logbook: more than {MOST_PER_MINUTE} a minute: {figures['floods']}",
            file=sys.stderr,
        )


def table(results: dict[str, Any]) -> list[str]:
    """The demo's logbook: entries per entity over the window, and the most in one minute."""
    figures = results.get("demo_logbook")
    if not figures:
        return []
    minutes = figures["seconds"] / 60
    media_mb = number(figures["media_bytes"] / 1e6, 1)
    lines = [
        "",
        (
            f"The demo's logbook over {minutes:.0f} min (after a {WARM_UP_SECONDS} s warm-up): "
            f"{figures['entries']} entries, media written {media_mb} MB"
        ),
        cells("entry", "entries", "per minute", "most in 1 min"),
    ]
    rows = sorted(figures["entities"].items(), key=lambda item: -item[1]["entries"])
    for key, row in rows:
        lines.append(
            cells(key, row["entries"], number(row["entries"] / minutes, 1), row["most_in_a_minute"])
        )
    verdict = ", ".join(figures["floods"]) or "none"
    lines.append(f"repeating more than {MOST_PER_MINUTE} a minute: {verdict}")
    return lines
