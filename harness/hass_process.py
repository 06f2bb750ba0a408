"""A real Home Assistant (`hass`) process with a fresh configuration directory.

Used by the end-to-end test (`scripts/e2e`), the benchmarks (`scripts/bench`) and the demo
(`scripts/demo`): it starts `hass` from the project's `.venv` on a free port with this repository's
integration linked in, completes onboarding through the REST API, adds a hub through the config
flow, switches motion detection and recording on motion on, and logs users in through Home
Assistant's login flow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
import contextlib
from dataclasses import asdict, dataclass
import json
import os
from pathlib import Path
import signal
import socket
import time
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Account:
    """A Home Assistant user who logs in with a user name and password."""

    name: str
    username: str
    password: str
    language: str = "en"


# The owner the end-to-end test and the benchmarks onboard (their runs are throw-away).
TEST_OWNER = Account("E2E Admin", "admin", "e2e-password-123")


class HassProcessError(AssertionError):
    """Home Assistant did not start, answer or accept a request as expected."""


# Ports handed out in this process. Two calls in a row (a hub's stream and control ports, taken
# before either is bound) must not return the same port, which binding port 0 twice may.
_handed_out: set[int] = set()


def free_port(preferred: int = 0, host: str = "0.0.0.0") -> int:  # noqa: S104 - a probe
    """Return `preferred` if it can be bound on `host` now, else a free port there.

    Never a port returned before in this process. The default host checks every interface: a
    port free on loopback may be taken on another, and the hub's config flow checks 0.0.0.0.
    The only free-port helper of the repository (the tests, the bench, the e2e and the demo).

    Ports come from below the kernel's ephemeral range, from a block of this process's own (per
    pytest-xdist worker): a port the kernel picked (bind to 0) could be handed, before our server
    binds it, to another process's outgoing connection, or to another worker, as its own.
    """
    candidate = preferred
    while True:
        if not candidate:
            candidate = next(_candidates)
        with socket.socket() as sock:
            # As servers bind (aiohttp, the hub's listener): a port in TIME_WAIT counts as free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, candidate))
            except OSError:
                candidate = 0
                continue
            port: int = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
        candidate = 0


def ephemeral_port_start() -> int:
    """Return the first port of the kernel's ephemeral range (Linux's default where unreadable)."""
    try:
        return int(
            Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii").split()[0]
        )
    except OSError, ValueError, IndexError:
        return 32768


def _candidate_ports() -> Iterator[int]:
    """Yield the ports to try, then 0 (the kernel's choice) once every one was tried.

    This process's block first, then the rest of the ports below the ephemeral range.
    """
    ephemeral_low = ephemeral_port_start()
    blocks = (ephemeral_low - _LOWEST_PORT) // _BLOCK_SIZE
    if blocks < 2 * _WORKER_BLOCKS:  # an unusual ephemeral range: the kernel's choice
        while True:
            yield 0
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():  # pytest-xdist's gw0, gw1, ...
        slot = int(worker[2:]) % _WORKER_BLOCKS
    else:  # the bench, the e2e harness, the demo, a test run without xdist: by pid
        slot = _WORKER_BLOCKS + os.getpid() % (blocks - _WORKER_BLOCKS)
    start = _LOWEST_PORT + slot * _BLOCK_SIZE
    yield from range(start, ephemeral_low)
    yield from range(_LOWEST_PORT, start)
    while True:
        yield 0


# Registered ports above 10000 are rare; the kernel's ephemeral range starts at 32768 by default.
_LOWEST_PORT = 10000
_BLOCK_SIZE = 500
# The first blocks are pytest-xdist workers' (one each); other processes take one of the rest.
_WORKER_BLOCKS = 16
_candidates = _candidate_ports()


async def wait_until(
    what: str, predicate: Callable[[], Awaitable[bool]], timeout: float = 30.0
) -> None:
    """Poll `predicate` until it is true (this is the test's own waiting, not the product's)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise HassProcessError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.25)


class HomeAssistant:
    """A `hass` process with a fresh configuration directory."""

    def __init__(
        self,
        config: Path,
        port: int,
        *,
        custom_components: Sequence[Path] = (),
        extra_yaml: str = "",
        server_host: str = "127.0.0.1",
        integration: Path = REPO / "custom_components" / "esp32_camera",
    ) -> None:
        """Prepare; `start` runs it. `custom_components` are linked in beside esp32_camera.

        `integration` is the esp32_camera component run: this checkout's, or another version's
        (the benchmarks' 11-29 reference, bench/reference.py).

        `server_host` is the address Home Assistant listens on (`0.0.0.0`: every interface); this
        class talks to it over loopback.
        """
        self.config = config
        self.port = port
        self.server_host = server_host
        self.url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None
        self.session = aiohttp.ClientSession()
        self.tokens: dict[str, Any] = {}
        self.hub_entry_id: str | None = None
        self._custom_components = [integration, *custom_components]
        self._extra_yaml = extra_yaml

    async def start(self) -> None:
        """Write the configuration and start `hass`; wait until it answers."""
        (self.config / "custom_components").mkdir(parents=True)
        (self.config / "media").mkdir()
        for component in self._custom_components:
            (self.config / "custom_components" / component.name).symlink_to(component)
        (self.config / "configuration.yaml").write_text(
            # Saved images stay in this run's directory (Home Assistant in a container uses /media).
            f"homeassistant:\n  media_dirs:\n    local: {self.config / 'media'}\n"
            "frontend:\n"
            "config:\n"
            "recorder:\n"  # the frontend asks for recorder/info
            f"http:\n  server_host: {self.server_host}\n  server_port: {self.port}\n"
            "logger:\n  default: warning\n  logs:\n    custom_components.esp32_camera: info\n"
            + self._extra_yaml,
            encoding="utf-8",
        )
        await self._spawn("/api/onboarding")

    async def _spawn(self, probe_path: str) -> None:
        """Start `hass` on the written configuration; wait until `probe_path` answers 200."""
        log_file = (self.config / "hass.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            str(REPO / ".venv" / "bin" / "hass"),
            "-c",
            str(self.config),
            "--skip-pip",  # everything comes from .venv; never install at run time
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )

        async def answers() -> bool:
            assert self.process is not None
            if self.process.returncode is not None:
                raise HassProcessError(f"hass exited; see {self.config / 'hass.log'}")
            try:
                async with self.session.get(f"{self.url}{probe_path}") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until("Home Assistant to answer", answers, timeout=120)

    async def restart(self) -> None:
        """Stop `hass` and start it again on the same configuration (what a restart does)."""
        await self._terminate()
        await self._spawn("/manifest.json")  # onboarding is done: its view is gone

    async def kill(self) -> None:
        """Kill `hass` with SIGKILL, as a crash or a power cut does: nothing is written on the way out."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def start_again(self) -> None:
        """Start `hass` again on the same configuration (after `kill`); wait until it runs."""
        await self._spawn("/manifest.json")
        await self.wait_running()

    async def stop(self) -> int | None:
        """Stop `hass` (SIGTERM, then SIGKILL); return its exit code (None: it never started)."""
        await self.session.close()
        await self._terminate()
        return None if self.process is None else self.process.returncode

    async def _terminate(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    @property
    def headers(self) -> dict[str, str]:
        """Return the owner's authorization header."""
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    async def post(self, path: str, payload: dict[str, Any], *, auth: bool = True) -> Any:
        """POST JSON; return the JSON answer."""
        async with self.session.post(
            f"{self.url}{path}", json=payload, headers=self.headers if auth else None
        ) as response:
            if response.status >= 300:
                raise HassProcessError(f"POST {path}: {response.status} {await response.text()}")
            return await response.json()

    async def onboard(self, owner: Account = TEST_OWNER) -> None:
        """Create the owner, log in, and finish the remaining onboarding steps."""
        client_id = f"{self.url}/"
        created = await self.post(
            "/api/onboarding/users", {"client_id": client_id, **asdict(owner)}, auth=False
        )
        self.tokens = await _tokens_for_code(self.session, self.url, created["auth_code"])
        await self.post("/api/onboarding/core_config", {})
        await self.post("/api/onboarding/analytics", {})
        await self.post(
            "/api/onboarding/integration", {"client_id": client_id, "redirect_uri": client_id}
        )
        async with self.websocket() as call:  # keep the YAML HTTP settings without a dialog
            await call("http/config/promote")

        await self.wait_running()

    async def add_member(self, username: str, password: str, name: str) -> dict[str, Any]:
        """Create a household member (HA's users group: not an administrator); return their tokens.

        The member logs in through the login flow, as Home Assistant's login page does.
        """
        async with self.websocket() as call:
            user = await call("config/auth/create", name=name, group_ids=["system-users"])
            await call(
                "config/auth_provider/homeassistant/create",
                user_id=user["user"]["id"],
                username=username,
                password=password,
            )
        return await log_in(self.session, self.url, username, password)

    async def wait_running(self) -> None:
        """Wait until Home Assistant has finished starting (its integrations set up)."""

        async def running() -> bool:
            async with self.session.get(f"{self.url}/api/config", headers=self.headers) as answer:
                return bool((await answer.json()).get("state") == "RUNNING")

        await wait_until("Home Assistant to finish starting", running, timeout=60)

    @property
    def pid(self) -> int:
        """Return the process id of `hass`."""
        assert self.process is not None
        return self.process.pid

    async def add_hub(
        self, stream_port: int, control_port: int, *, name: str = "E2E hub", host: str = "127.0.0.1"
    ) -> str:
        """Add the hub through the config flow; return its token (from .storage).

        `host` is the address the hub's listeners bind (`0.0.0.0`: cameras on the network too).
        """
        flow = await self.post("/api/config/config_entries/flow", {"handler": "esp32_camera"})
        result = await self.post(
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            {
                "name": name,
                "host": host,
                "stream_port": stream_port,
                "control_port": control_port,
            },
        )
        if result.get("type") != "create_entry":
            raise HassProcessError(f"config flow did not create the entry: {result}")
        self.hub_entry_id = result["result"]["entry_id"]
        storage = self.config / ".storage" / "core.config_entries"
        found: list[str] = []

        async def stored() -> bool:  # Home Assistant writes .storage a moment later
            if storage.exists():
                entries = json.loads(storage.read_text(encoding="utf-8"))["data"]["entries"]
                found.extend(e["data"]["token"] for e in entries if e["domain"] == "esp32_camera")
            return bool(found)

        await wait_until("the hub entry in .storage", stored, timeout=30)
        return found[0]

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
        """Yield `call(type, **fields)` on a WebSocket connection authenticated as the owner."""
        async with websocket_calls(self.session, self.url, self.tokens["access_token"]) as call:
            yield call

    async def set_up_motion(
        self, camera_ids: Sequence[str], *, cooldown: float
    ) -> dict[tuple[str, str], str]:
        """Switch motion detection and recording on motion on, with `cooldown` seconds.

        Waits for the cameras' switches to be registered; returns the cameras' enabled entity ids
        by (domain, unique id `<camera id>_<key>`), e.g. `("binary_sensor", "cam_motion")`.
        """
        keys = ("motion_detection", "record_on_motion")
        async with self.websocket() as call:
            entities = await registered_switches(call, camera_ids, keys)
            await call(
                "call_service",
                domain="number",
                service="set_value",
                target={
                    "entity_id": [
                        entities["number", f"{camera_id}_motion_cooldown"]
                        for camera_id in camera_ids
                    ]
                },
                service_data={"value": cooldown},
            )
            await switch(call, entities, camera_ids, keys, on=True)
        return entities

    async def switch_cameras(
        self, camera_ids: Sequence[str], keys: Sequence[str], *, on: bool
    ) -> None:
        """Turn the cameras' switches `keys` (e.g. `motion_detection`) on or off, as a user would."""
        async with self.websocket() as call:
            entities = await registered_switches(call, camera_ids, keys)
            await switch(call, entities, camera_ids, keys, on=on)

    async def set_camera_numbers(self, camera_ids: Sequence[str], key: str, value: float) -> None:
        """Set the cameras' number `key` (e.g. `clip_pre_roll`) to `value`, as a user would."""
        async with self.websocket() as call:
            entities = await registered_switches(call, camera_ids, [key], domain="number")
            await call(
                "call_service",
                domain="number",
                service="set_value",
                target={"entity_id": [entities["number", f"{c}_{key}"] for c in camera_ids]},
                service_data={"value": value},
            )


async def registered_switches(
    call: Callable[..., Awaitable[Any]],
    camera_ids: Sequence[str],
    keys: Sequence[str],
    *,
    domain: str = "switch",
) -> dict[tuple[str, str], str]:
    """Wait until the cameras' entities `keys` of `domain` are registered; `camera_entities`."""
    entities: dict[tuple[str, str], str] = {}

    async def registered() -> bool:
        entities.update(await camera_entities(call, camera_ids))
        return all(
            (domain, f"{camera_id}_{key}") in entities for camera_id in camera_ids for key in keys
        )

    await wait_until(f"the cameras' {domain} entities {', '.join(keys)}", registered, timeout=60)
    return entities


async def switch(
    call: Callable[..., Awaitable[Any]],
    entities: dict[tuple[str, str], str],
    camera_ids: Sequence[str],
    keys: Sequence[str],
    *,
    on: bool,
) -> None:
    """Turn the cameras' switches `keys` on or off (the service returns once they took it)."""
    await call(
        "call_service",
        domain="switch",
        service="turn_on" if on else "turn_off",
        target={
            "entity_id": [
                entities["switch", f"{camera_id}_{key}"] for camera_id in camera_ids for key in keys
            ]
        },
    )


async def camera_entities(
    call: Callable[..., Awaitable[Any]], camera_ids: Sequence[str]
) -> dict[tuple[str, str], str]:
    """Return the cameras' enabled entity ids by (domain, unique id `<camera id>_<key>`).

    The registry's unique ids start with the hub's entry id (`<entry id>_<camera id>_<key>`),
    left out here.
    """
    entries = await call("config/entity_registry/list")
    prefixes = tuple(f"{camera_id}_" for camera_id in camera_ids)
    found: dict[tuple[str, str], str] = {}
    for entry in entries:
        unique_id = entry["unique_id"].removeprefix(f"{entry['config_entry_id']}_")
        if (
            entry["platform"] == "esp32_camera"
            and unique_id.startswith(prefixes)
            and entry["disabled_by"] is None
        ):
            found[entry["entity_id"].partition(".")[0], unique_id] = entry["entity_id"]
    return found


async def log_in(
    session: aiohttp.ClientSession, url: str, username: str, password: str
) -> dict[str, Any]:
    """Log in through Home Assistant's login flow, as its login page does; return the tokens."""
    client_id = f"{url}/"

    async def post(path: str, **request: Any) -> Any:
        async with session.post(f"{url}{path}", **request) as response:
            if response.status >= 300:
                raise HassProcessError(f"POST {path}: {response.status} {await response.text()}")
            return await response.json()

    flow = await post(
        "/auth/login_flow",
        json={
            "client_id": client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": client_id,
        },
    )
    result = await post(
        f"/auth/login_flow/{flow['flow_id']}",
        json={"username": username, "password": password, "client_id": client_id},
    )
    if result.get("type") != "create_entry":
        raise HassProcessError(f"{username} could not log in: {result.get('errors') or result}")
    return await _tokens_for_code(session, url, result["result"])


async def _tokens_for_code(session: aiohttp.ClientSession, url: str, code: str) -> dict[str, Any]:
    """Exchange an authorization code (onboarding's or the login flow's) for tokens."""
    async with session.post(
        f"{url}/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": f"{url}/"},
    ) as response:
        if response.status != 200:
            raise HassProcessError(f"token request: {response.status} {await response.text()}")
        tokens: dict[str, Any] = await response.json()
    return tokens


@contextlib.asynccontextmanager
async def websocket_calls(
    session: aiohttp.ClientSession, url: str, access_token: str
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Yield `call(type, **fields)` on a WebSocket connection authenticated with `access_token`."""
    async with session.ws_connect(f"{url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": access_token})
        if (await ws.receive_json())["type"] != "auth_ok":
            raise HassProcessError("WebSocket authentication failed")
        counter = 0

        async def call(message_type: str, **fields: Any) -> Any:
            nonlocal counter
            counter += 1
            await ws.send_json({"id": counter, "type": message_type, **fields})
            while True:
                answer = await ws.receive_json(timeout=30)
                if answer.get("id") == counter and answer["type"] == "result":
                    break
            if not answer["success"]:
                raise HassProcessError(f"{message_type}: {answer['error']}")
            return answer["result"]

        yield call
