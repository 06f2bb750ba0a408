"""One camera as the listener knows it: identity, admission, telemetry, commands."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
import logging
from typing import TYPE_CHECKING

from ..protocol import (
    Frame,
    HealthMessage,
    InfoMessage,
    ResponseMessage,
    StreamStats,
    encode_command,
    wire_value,
)
from .settings import Admission

if TYPE_CHECKING:
    from aiohttp import web

_LOGGER = logging.getLogger(__name__)


class ListenerError(Exception):
    """Base of the listener's errors."""


class ListenerBindError(ListenerError):
    """A port could not be bound."""

    def __init__(self, port: int, error: OSError) -> None:
        """Remember which port failed and why."""
        super().__init__(f"cannot listen on port {port}: {error.strerror or error}")
        self.port = port
        self.error = error


class UnknownCameraError(ListenerError):
    """No camera with that id has been seen."""


class CameraNotAdmittedError(ListenerError):
    """The camera is waiting for approval: it gets no commands."""


class CommandTimeoutError(ListenerError):
    """The camera did not answer a command in time."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandResult:
    """The camera's answer to a command, or that it was queued for later."""

    ok: bool
    value: str | None = None
    queued: bool = False


class CameraRecord:
    """A camera: one or two sockets, its telemetry, its latest frame and its command channel."""

    def __init__(self, camera_id: str, address: str, admission: Admission) -> None:
        """Create the record of a camera seen for the first time."""
        self.camera_id = camera_id
        self.address = address
        self.admission = admission
        self.name: str | None = None
        self.firmware: str | None = None
        self.info: InfoMessage | None = None
        self.health: HealthMessage | None = None
        self.last_status: str | None = None
        self.last_response: ResponseMessage | None = None
        self.stats = StreamStats()
        self.latest_frame: Frame | None = None
        self.connected_since: float | None = None
        self.reconnects = 0
        self.sockets: list[web.WebSocketResponse] = []
        self._control_socket: web.WebSocketResponse | None = None
        self._waiting: dict[str, deque[asyncio.Future[ResponseMessage]]] = {}
        self._queue: dict[str, str] = {}  # command name -> wire value, newest wins

    @property
    def admitted(self) -> bool:
        """Whether the camera's frames are used and it takes commands."""
        return self.admission is not Admission.PENDING

    @property
    def connected(self) -> bool:
        """Whether at least one socket is open."""
        return bool(self.sockets)

    @property
    def queued_commands(self) -> dict[str, str]:
        """Commands waiting for the camera to come back."""
        return dict(self._queue)

    @property
    def control_socket(self) -> web.WebSocketResponse | None:
        """The socket commands are sent on (None while no socket sent telemetry)."""
        return self._control_socket

    def set_control_socket(self, socket: web.WebSocketResponse) -> None:
        """Send commands on the socket that most recently sent telemetry."""
        self._control_socket = socket

    def detach(self, socket: web.WebSocketResponse) -> None:
        """Forget a closed socket; fail waiters when the last one goes."""
        if socket in self.sockets:
            self.sockets.remove(socket)
        if self._control_socket is socket:
            self._control_socket = self.sockets[-1] if self.sockets else None
        if not self.sockets:
            for waiters in self._waiting.values():
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(CommandTimeoutError("camera disconnected"))
            self._waiting.clear()

    def resolve_response(self, response: ResponseMessage) -> None:
        """Hand a `response` to the oldest caller waiting for that command."""
        self.last_response = response
        waiters = self._waiting.get(response.cmd or "")
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(response)
                return

    def queue_command(self, name: str, value: str, limit: int) -> None:
        """Keep a command for delivery on reconnect: bounded, newest value per command wins."""
        self._queue.pop(name, None)
        while len(self._queue) >= limit:
            oldest = next(iter(self._queue))
            _LOGGER.warning("Command queue of %s is full; dropping %s", self.camera_id, oldest)
            del self._queue[oldest]
        self._queue[name] = value

    async def deliver_queue(self) -> None:
        """Send queued commands now that the camera registered, reboot first."""
        socket = self._control_socket
        if socket is None or not self._queue:
            return
        queued, self._queue = self._queue, {}
        order = sorted(queued, key=lambda name: name != "reboot")
        for name in order:
            await socket.send_str(encode_command(name, queued[name]))

    async def send_command(
        self, name: str, value: object, *, response_timeout: float, queue_limit: int
    ) -> CommandResult:
        """Validate, send and await the camera's response (or queue while offline)."""
        wire = wire_value(name, value)  # raises CommandValidationError before anything is sent
        if not self.admitted:
            raise CameraNotAdmittedError(f"camera {self.camera_id} is waiting for approval")
        socket = self._control_socket
        if socket is None or socket.closed:
            self.queue_command(name, wire, queue_limit)
            return CommandResult(ok=True, queued=True)
        waiter: asyncio.Future[ResponseMessage] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(name, deque()).append(waiter)
        try:
            await socket.send_str(encode_command(name, wire))
            async with asyncio.timeout(response_timeout):
                response = await waiter
        except TimeoutError as err:
            raise CommandTimeoutError(
                f"camera {self.camera_id} did not answer {name} within {response_timeout:g} s"
            ) from err
        except ConnectionError as err:
            raise CommandTimeoutError(f"camera {self.camera_id} disconnected") from err
        finally:
            waiters = self._waiting.get(name)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
        return CommandResult(ok=response.ok, value=response.value)
