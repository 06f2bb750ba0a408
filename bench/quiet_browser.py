"""Headless Chromium driven over a bare DevTools connection, for CPU windows nothing instruments.

Playwright enables DevTools' Network domain on every page it drives; Chromium then reports each
WebSocket message to the client with its payload (a binary message base64-encoded), through the
browser process. An MJPEG <img> costs it one small event per chunk, a page fed over a WebSocket a
copy of every frame: in a bare page with four VGA pictures at 20 fps the browser process spent
6.2 % of a core on a WebSocket that was only received (0.6 % without Playwright). A page measured
for CPU is therefore opened here: Chromium started as a plain process, each page driven only with
`Runtime.evaluate` and the few `Page`/`Emulation` commands below (no domain is enabled, so
Chromium reports nothing it is not asked for; `tests/e2e/test_e2e_latency.py` checks that).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
import contextlib
import itertools
import json
from pathlib import Path
import subprocess
import tempfile
import time
from typing import Any, Self

import aiohttp
from yarl import URL

# As Playwright launches Chromium (headless; no throttling of a page's timers or renderer), so
# that only the instrumentation differs.
QUIET_ARGS = [
    "--headless",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-component-update",
    "--disable-extensions",
    "--disable-default-apps",
    "--force-color-profile=srgb",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
]
START_TIMEOUT = 30.0
# A page of the origin that is not the app (any answer, a 404 too, gives the origin's storage).
BLANK_PATH = "/quiet-browser-blank"


class DevToolsError(RuntimeError):
    """A DevTools command failed, or a page's script threw."""


class QuietPage:
    """One tab: evaluate functions in it, screenshot it, close it."""

    def __init__(
        self, browser: QuietChromium, target_id: str, socket: aiohttp.ClientWebSocketResponse
    ) -> None:
        """Drive the tab `target_id` over its DevTools `socket`."""
        self._browser = browser
        self._target_id = target_id
        self._socket = socket
        self._ids = itertools.count(1)
        # DevTools messages that answered no command (events): none while no domain is enabled.
        self.events = 0

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events are never enabled, so none arrive)."""
        number = next(self._ids)
        await self._socket.send_json({"id": number, "method": method, "params": params})
        while True:
            message = await self._socket.receive_json()
            if message.get("id") != number:
                self.events += "method" in message
                continue
            if "error" in message:
                raise DevToolsError(f"{method}: {message['error']}")
            result: dict[str, Any] = message["result"]
            return result

    async def evaluate(self, function: str, argument: Any = None) -> Any:
        """Call the JavaScript `function` with `argument` (JSON); return its (awaited) value."""
        result = await self.send(
            "Runtime.evaluate",
            expression=f"({function})({json.dumps(argument)})",
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise DevToolsError(json.dumps(result["exceptionDetails"])[:2000])
        return result["result"].get("value")

    async def goto(self, url: str) -> None:
        """Load `url`; return once its document is parsed (polled: no Page events)."""
        await self.send("Page.navigate", url=url)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(DevToolsError):  # between two documents
                if (
                    await self.evaluate("() => document.readyState !== 'loading' && location.href")
                    == url
                ):
                    return
            await asyncio.sleep(0.05)
        raise DevToolsError(f"{url} did not load")

    async def screenshot(self, path: Path) -> None:
        """Write what the tab shows as a PNG."""
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        """Close the tab."""
        await self._socket.close()
        await self._browser.close_target(self._target_id)


class QuietChromium:
    """Chromium as a plain child process, its DevTools endpoint on a free port."""

    def __init__(self, executable: str, extra_args: list[str]) -> None:
        """Prepare to start `executable` with QUIET_ARGS and `extra_args`."""
        self._command = [executable, *QUIET_ARGS, *extra_args]
        self._profile = tempfile.TemporaryDirectory(prefix="quiet-chromium-")
        self._process: subprocess.Popen[bytes] | None = None
        self._session = aiohttp.ClientSession()
        self._endpoint = ""

    async def __aenter__(self) -> Self:
        """Start Chromium; wait for its DevTools endpoint."""
        self._process = subprocess.Popen(
            [*self._command, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        announced = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while not announced.exists() or not announced.read_text(encoding="ascii").strip():
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise DevToolsError("Chromium did not open its DevTools port")
            await asyncio.sleep(0.1)
        port = announced.read_text(encoding="ascii").split()[0]
        self._endpoint = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop Chromium and remove its profile."""
        await self._session.close()
        if self._process is not None:
            self._process.terminate()
            try:
                await asyncio.to_thread(self._process.wait, 10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                await asyncio.to_thread(self._process.wait)
        with contextlib.suppress(OSError):
            self._profile.cleanup()

    async def new_page(
        self, url: str, *, viewport: Mapping[str, int], storage: Mapping[str, str] | None = None
    ) -> QuietPage:
        """Open a tab of `viewport` size and load `url`, with `storage` in its origin's
        localStorage first (set from a blank page of that origin: a script run before the page's
        own would need the Page domain enabled)."""
        async with self._session.put(f"{self._endpoint}/json/new?about:blank") as response:
            target = await response.json(content_type=None)
        socket = await self._session.ws_connect(
            target["webSocketDebuggerUrl"],
            max_msg_size=0,
            timeout=aiohttp.ClientWSTimeout(ws_close=5),
        )
        page = QuietPage(self, target["id"], socket)
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            width=viewport["width"],
            height=viewport["height"],
            deviceScaleFactor=1,
            mobile=False,
        )
        if storage:
            origin = str(URL(url).origin())
            await page.goto(f"{origin}{BLANK_PATH}")
            await page.evaluate(
                "(items) => Object.entries(items).forEach(([k, v]) => localStorage.setItem(k, v))",
                dict(storage),
            )
        await page.send("Page.navigate", url=url)
        return page

    async def close_target(self, target_id: str) -> None:
        """Close the tab `target_id`."""
        async with self._session.get(f"{self._endpoint}/json/close/{target_id}") as response:
            await response.read()
