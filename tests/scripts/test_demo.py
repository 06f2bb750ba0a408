"""`scripts/demo` for real: a `hass` process, simulated cameras, and a clean stop on Ctrl-C.

The demo runs as a newcomer runs it; the test reads the URL and the credentials it prints, logs in
through Home Assistant's login flow over HTTP, and checks what the banner promises: the hub
loaded, cameras streaming, motion at the crossing and its clip, a stock camera waiting for
approval. Then
SIGINT: exit code 0, no process left behind, the throw-away configuration gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import os
from pathlib import Path
import re
import signal

import aiohttp
import pytest

from harness.hass_process import log_in, wait_until, websocket_calls
from tests.helpers import REPOSITORY, Go2rtcPartReader

READY_TIMEOUT = 90  # seconds; about 10 on an idle 2-core machine


@pytest.fixture(autouse=True)
def allow_loopback_sockets(socket_enabled: None) -> None:
    """Let this test talk to the demo's Home Assistant (the test plugin blocks sockets)."""


def descendants(pid: int) -> set[int]:
    """Return the process ids below `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name (2nd field) is in parentheses and may hold spaces.
            fields = stat.read_text().rpartition(")")[2].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` is a process that is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextlib.asynccontextmanager
async def running_demo(cache: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Start `scripts/demo`; yield it and its banner once ready. Stops what is left on failure."""
    demo = await asyncio.create_subprocess_exec(
        str(REPOSITORY / "scripts" / "demo"),
        "--port",
        "0",  # any free port: never a developer's 8123
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
    )
    assert demo.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            while not output or "Ctrl-C stops everything" not in output[-1]:
                line = (await demo.stdout.readline()).decode()
                assert line, f"the demo ended before it was ready:\n{''.join(output)}"
                output.append(line)
        yield demo, "".join(output)
    finally:
        if demo.returncode is None:  # the test failed before its own SIGINT: stop it, or kill all
            below = descendants(demo.pid)
            demo.terminate()
            try:
                async with asyncio.timeout(45):
                    await demo.wait()
            except TimeoutError:
                for pid in below | {demo.pid}:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                await demo.wait()


# The demo's first clip is written a minute after its first motion: more than the default 120 s.
@pytest.mark.timeout(300)
async def test_demo_is_ready_to_use_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    async with running_demo(tmp_path) as (demo, banner):
        printed = re.search(
            r"Home Assistant +(?P<url>http://\S+)\n.* user +(?P<username>\S+)\n"
            r".* password +(?P<password>\S+)\n",
            banner,
        )
        assert printed, banner
        url = printed["url"]
        # Home Assistant is a child of the demo (in its own session: Ctrl-C reaches the demo).
        processes = descendants(demo.pid)
        assert any(
            "hass" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace") for pid in processes
        )

        async with aiohttp.ClientSession() as session:
            tokens = await log_in(session, url, printed["username"], printed["password"])
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}

            async def get(path: str) -> object:
                async with session.get(f"{url}{path}", headers=headers) as response:
                    assert response.status == 200, f"{path}: {response.status}"
                    return await response.json()

            entries = await get("/api/config/config_entries/entry?domain=esp32_camera")
            assert [entry["state"] for entry in entries] == ["loaded"]  # type: ignore[union-attr]
            # The demo keeps its media small: retention set through the options form.
            (entry,) = entries  # type: ignore[misc]
            diagnostics = await get(f"/api/diagnostics/config_entry/{entry['entry_id']}")
            options = diagnostics["data"]["entry"]["options"]  # type: ignore[index]
            assert options["retention_size_mb"] == 150  # scripts/demo.py: RETENTION_MB
            assert options["retention_days"] == 1

            # The crossing camera streams: two different JPEGs from its MJPEG stream.
            async with session.get(
                f"{url}/api/camera_proxy_stream/camera.crossing", headers=headers
            ) as stream:
                assert stream.status == 200
                reader = Go2rtcPartReader(stream.content)
                async with asyncio.timeout(10):
                    first = (await reader.next_part())[1]
                    second = (await reader.next_part())[1]
            assert first.startswith(b"\xff\xd8")
            assert second.startswith(b"\xff\xd8")
            assert first != second

            async def motion_at_the_crossing() -> bool:
                state = await get("/api/states/event.crossing_motion")
                return state["attributes"].get("event_type") == "motion_started"  # type: ignore[index]

            await wait_until("motion at the crossing", motion_at_the_crossing, timeout=30)

            async with websocket_calls(session, url, tokens["access_token"]) as call:
                flows = await call("config_entries/flow/progress")
                clips: list[dict[str, object]] = []

                async def clip_of_the_crossing() -> bool:
                    listing = await call("esp32_camera/clips", camera_id="crossing")
                    clips[:] = listing["clips"]
                    return bool(clips)

                # Recording on motion: the crossing's people are one long motion episode (30 s
                # cool-down), cut into minute-long clips: the first is written a minute after
                # the first motion.
                await wait_until("a clip of the crossing", clip_of_the_crossing, timeout=120)
            assert clips[0]["reason"] == "motion"
            assert isinstance(clips[0]["frames"], int)
            assert clips[0]["frames"] > 0
            pending = [
                flow
                for flow in flows
                if flow["handler"] == "esp32_camera"
                and flow["context"]["source"] == "integration_discovery"
            ]
            assert len(pending) == 1
            assert pending[0]["step_id"] == "approve"

        demo.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            assert demo.stdout is not None
            rest = (await demo.stdout.read()).decode()
            assert await demo.wait() == 0, rest

    assert "Home Assistant stopped (exit code 0)" in rest  # its own shutdown, not a kill
    assert not [pid for pid in processes if alive(pid)]
    assert list((tmp_path / "esp32-camera-demo").iterdir()) == []
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url)
