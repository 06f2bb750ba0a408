"""The device listener: WebSocket endpoints on the stream and control ports.

Either port accepts the whole protocol, so the stock firmware (one socket for everything) and a
two-socket variant (JSON on the control port, frames on the stream port) both work. Cameras are
admitted by the hub token, by the user's approval of their address, or by a trusted network;
others stay pending: their socket stays open but none of their frames are used.

Admission is decided per connection, never inherited from a camera record: a connection that is not
admitted and claims the id of a camera it may not use (admitted, restored, or pending at another
address) gets a record of its own, a *claim*, which is never in `cameras`; nothing it sends reaches
that camera, and it gets nothing of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
import hmac
import ipaddress
import json
import logging
import time
from typing import Protocol

from aiohttp import WSCloseCode, WSMsgType, web

from ..protocol import (
    CommandValidationError,
    DropReason,
    Frame,
    FrameAssembler,
    FrameEndMessage,
    FrameStartMessage,
    HealthMessage,
    ImageEndMessage,
    ImageStartMessage,
    InfoMessage,
    MessageError,
    RegisterMessage,
    ResponseMessage,
    StatusMessage,
    normalize_camera_id,
    parse_text_message,
)
from .camera import (
    CameraNotAdmittedError,
    CameraRecord,
    CommandResult,
    ListenerBindError,
    UnknownCameraError,
)
from .settings import Admission, ListenerSettings

_LOGGER = logging.getLogger(__name__)

CLOSE_WRONG_TOKEN = 4401
CLOSE_REFUSED = 4403
CLOSE_LIVENESS = 4408
_HANDSHAKE_TIMEOUT = 10.0
_WATCHDOG_INTERVAL = 1.0
_SHUTDOWN_TIMEOUT = 2.0
# How long a closing socket waits for the camera's close reply: one that has lost its network
# never answers, and must not hold up a reload for aiohttp's default 10 s.
_CLOSE_TIMEOUT = 1.0


class ListenerObserver(Protocol):
    """What the listener tells its owner; called in the event loop, must not block."""

    def camera_connected(self, camera: CameraRecord) -> None:
        """Handle an admitted camera connecting (or a pending one being approved)."""

    def camera_disconnected(self, camera: CameraRecord) -> None:
        """Handle the camera's last socket closing."""

    def camera_pending(self, camera: CameraRecord) -> None:
        """Handle a tokenless camera waiting for approval (once per address per run)."""

    def camera_updated(self, camera: CameraRecord) -> None:
        """Handle new info, health, status, response or name."""

    def frame_received(self, camera: CameraRecord, frame: Frame) -> None:
        """Handle a frame an admitted camera completed."""

    def authentication_failed(self, address: str, reason: str) -> None:
        """Handle a device presenting a wrong token."""


def canonical_address(remote: str | None) -> str:
    """Return the remote IP as text, IPv4-mapped IPv6 reduced to IPv4."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return remote or "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def request_token(request: web.Request) -> str | None:
    """Return the token of `?token=` or of an `Authorization: Bearer` header."""
    if token := request.query.get("token"):
        return token
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


class _Session:
    """One WebSocket connection."""

    def __init__(
        self, socket: web.WebSocketResponse, address: str, url_id: str | None, token: str | None
    ) -> None:
        self.socket = socket
        self.address = address
        self.url_id = url_id
        self.token = token
        self.admission = Admission.PENDING  # decided on the first message
        self.camera: CameraRecord | None = None
        self.last_seen = time.monotonic()
        self.assembler: FrameAssembler | None = None

    @property
    def admitted(self) -> bool:
        """Whether this connection's frames may be published and it may get commands."""
        return self.admission is not Admission.PENDING

    def record_drop(self, reason: DropReason) -> None:
        """Count a dropped frame on the record the session feeds now (it may move on approval)."""
        if self.camera is not None:
            self.camera.stats.record_drop(reason)


class DeviceListener:
    """Runs both ports and keeps one record per camera."""

    def __init__(self, settings: ListenerSettings, observer: ListenerObserver) -> None:
        """Prepare the listener; `start` binds the ports."""
        self.settings = settings
        self._observer = observer
        self._cameras: dict[str, CameraRecord] = {}
        # Pending connections claiming an id they may not use, by (camera id, address).
        self._claims: dict[tuple[str, str], CameraRecord] = {}
        self._sessions: set[_Session] = set()
        self._announced_pending: set[str] = set()
        self._stream_app = web.Application()
        self._control_app = web.Application()
        for app in (self._stream_app, self._control_app):
            app.router.add_get("/", self._handle_websocket)
        self._runners: list[web.AppRunner] = []
        self._watchdog: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def cameras(self) -> Mapping[str, CameraRecord]:
        """Every camera seen since start, by camera id."""
        return self._cameras

    @property
    def claims(self) -> tuple[CameraRecord, ...]:
        """Pending connections that claim the id of a camera they may not use, one per address.

        Each has a record of its own (not in `cameras`): it waits for approval of its address.
        """
        return tuple(self._claims.values())

    def pending_frame(self, address: str) -> Frame | None:
        """Return the latest frame of a camera at `address` that waits for approval."""
        for camera in (*self._claims.values(), *self._cameras.values()):
            if (
                camera.address == address
                and not camera.admitted
                and camera.latest_frame is not None
            ):
                return camera.latest_frame
        return None

    def add_control_route(
        self,
        method: str,
        path: str,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> None:
        """Serve an extra HTTP route on the control port (before `start`)."""
        self._control_app.router.add_route(method, path, handler)

    async def start(self) -> None:
        """Bind both ports; on failure nothing stays bound."""
        for app, port in (
            (self._stream_app, self.settings.stream_port),
            (self._control_app, self.settings.control_port),
        ):
            runner = web.AppRunner(
                app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
            )
            await runner.setup()
            self._runners.append(runner)
            try:
                await web.TCPSite(runner, self.settings.host, port).start()
            except OSError as err:
                await self.stop()
                raise ListenerBindError(port, err) from err
        self._watchdog = asyncio.get_running_loop().create_task(
            self._watch(), name="esp32_camera listener watchdog"
        )
        _LOGGER.debug(
            "Listening on %s ports %s (stream) and %s (control)",
            self.settings.host,
            self.settings.stream_port,
            self.settings.control_port,
        )

    async def stop(self) -> None:
        """Close every session with 1001 and free both ports."""
        self._stopping = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        runners, self._runners = self._runners, []
        # Stop accepting first: a camera reconnecting while the sessions close would otherwise
        # stream on until aiohttp's shutdown timeout.
        for runner in runners:
            for site in runner.sites:
                await site.stop()
        await asyncio.gather(
            *(
                session.socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
                for session in list(self._sessions)
            ),
            return_exceptions=True,
        )
        for runner in runners:
            await runner.cleanup()

    def approve(self, address: str) -> None:
        """Admit a pending camera's address at once, without a reconnect.

        A claim at that address joins the camera whose id it claims (the camera moved).
        """
        if address not in self.settings.approved_addresses:
            self.settings = replace(
                self.settings, approved_addresses=self.settings.approved_addresses | {address}
            )
        for camera in list(self._cameras.values()):
            if camera.address == address and not camera.admitted:
                camera.admission = Admission.APPROVED
                for session in self._sessions_of(camera):
                    session.admission = Admission.APPROVED
                if camera.connected:
                    self._notify("camera_connected", camera)
        for session in list(self._sessions):
            if session.address == address and not session.admitted and session.camera is not None:
                session.admission = Admission.APPROVED
                camera = self._admitted_record(session.camera.camera_id, Admission.APPROVED)
                self._move(session, camera)

    def reject(self, address: str) -> None:
        """Refuse an address from now on and close its sockets with 4403."""
        self.settings = replace(
            self.settings,
            rejected_addresses=self.settings.rejected_addresses | {address},
            approved_addresses=self.settings.approved_addresses - {address},
        )
        for session in list(self._sessions):
            if session.address == address:
                asyncio.get_running_loop().create_task(
                    session.socket.close(code=CLOSE_REFUSED, message=b"address rejected")
                )

    def revoke(self, address: str) -> None:
        """Withdraw the approval (or refusal) of an address at once: approved sockets close (4403).

        Its camera keeps its record as a restored one (entities unavailable, commands queue); when
        it connects again it waits for approval, and the user is asked again.
        """
        self.settings = replace(
            self.settings,
            approved_addresses=self.settings.approved_addresses - {address},
            rejected_addresses=self.settings.rejected_addresses - {address},
        )
        self._announced_pending.discard(address)
        for camera in self._cameras.values():
            if camera.address == address and camera.admission is Admission.APPROVED:
                camera.admission = Admission.RESTORED
        for session in list(self._sessions):
            if session.address == address and session.admission is Admission.APPROVED:
                asyncio.get_running_loop().create_task(
                    session.socket.close(code=CLOSE_REFUSED, message=b"approval revoked")
                )

    def restore_camera(
        self, camera_id: str, *, name: str | None = None, firmware: str | None = None
    ) -> CameraRecord:
        """Recreate the record of a camera known from an earlier run, disconnected.

        It is admitted only in the sense that it keeps its entities and queues commands; its next
        connection is admitted afresh (`Admission.RESTORED`). A stock camera's id is its address.
        """
        camera = self._cameras.get(camera_id)
        if camera is None:
            address = camera_id if _is_ip_address(camera_id) else ""
            camera = self._cameras[camera_id] = CameraRecord(camera_id, address, Admission.RESTORED)
            camera.name, camera.firmware = name, firmware
        return camera

    def forget_camera(self, camera_id: str) -> bool:
        """Drop a disconnected camera's record (and its queued commands); False if connected."""
        camera = self._cameras.get(camera_id)
        if camera is None or camera.connected:
            return camera is None
        del self._cameras[camera_id]
        return True

    async def send_command(self, camera_id: str, name: str, value: object = None) -> CommandResult:
        """Send a validated command and await the camera's response."""
        camera = self._cameras.get(camera_id)
        if camera is None:
            raise UnknownCameraError(f"no camera {camera_id!r}")
        return await camera.send_command(
            name,
            value,
            response_timeout=self.settings.command_timeout,
            queue_limit=self.settings.command_queue_size,
        )

    def _notify(self, event: str, *args: object) -> None:
        """Call the observer; its errors are logged, never fatal to a session."""
        try:
            getattr(self._observer, event)(*args)
        except Exception:
            _LOGGER.exception("Observer failed handling %s", event)

    async def _watch(self) -> None:
        """Expire stalled frames and close silent sockets, once a second for all sessions."""
        while True:
            await asyncio.sleep(_WATCHDOG_INTERVAL)
            now = time.monotonic()
            for session in list(self._sessions):
                if session.assembler is not None:
                    session.assembler.expire()
                if now - session.last_seen > self.settings.liveness_timeout:
                    _LOGGER.debug("No data from %s: closing", session.address)
                    session.last_seen = now  # close once
                    asyncio.get_running_loop().create_task(
                        session.socket.close(code=CLOSE_LIVENESS, message=b"liveness timeout")
                    )

    async def _handle_websocket(self, request: web.Request) -> web.StreamResponse:
        address = canonical_address(request.remote)
        # PINGs are answered here rather than by aiohttp so that they count as liveness; one
        # watchdog for all sockets replaces a heartbeat timer per socket.
        socket = web.WebSocketResponse(
            autoping=False,
            max_msg_size=self.settings.max_frame_size + 4096,
            timeout=_CLOSE_TIMEOUT,
        )
        async with asyncio.timeout(_HANDSHAKE_TIMEOUT):
            await socket.prepare(request)
        if self._stopping:  # accepted just before the port closed
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
            return socket
        if address in self.settings.rejected_addresses:
            await socket.close(code=CLOSE_REFUSED, message=b"address rejected")
            return socket
        session = _Session(
            socket,
            address,
            normalize_camera_id(request.query.get("id")),
            request_token(request),
        )
        self._sessions.add(session)
        try:
            await self._receive(session)
        finally:
            self._sessions.discard(session)
            self._close_session(session)
        return socket

    async def _receive(self, session: _Session) -> None:
        async for message in session.socket:
            session.last_seen = time.monotonic()
            try:
                if message.type is WSMsgType.BINARY:
                    self._handle_binary(session, message.data)
                elif message.type is WSMsgType.TEXT:
                    await self._handle_text(session, message.data)
                elif message.type is WSMsgType.PING:
                    await session.socket.pong(message.data)
                elif message.type is WSMsgType.CLOSE:
                    await session.socket.close()
            except _RefusedError:
                return
            except Exception:
                # One bad message must never end the session or touch another camera.
                _LOGGER.exception("Unexpected error handling a message from %s", session.address)

    def _attach(self, session: _Session, register: RegisterMessage | None) -> CameraRecord:
        """Decide the session's admission on its first message and bind it to its record."""
        token = session.token or (register.token if register else None)
        camera_id = (register.camera_id if register else None) or session.url_id or session.address
        session.admission = self._admission(session, token)
        if session.admitted:
            camera = self._admitted_record(camera_id, session.admission)
        else:
            camera = self._pending_record(camera_id, session.address)
        if register is not None:  # before the observer names the device after it
            camera.name = register.name or camera.name
            camera.firmware = register.firmware or camera.firmware
        self._join(session, camera)
        return camera

    def _admission(self, session: _Session, token: str | None) -> Admission:
        """Admit this connection by its own token, address or network; nothing else counts."""
        if token is not None:
            if not hmac.compare_digest(token.encode(), self.settings.token.encode()):
                self._notify("authentication_failed", session.address, "invalid token")
                raise _RefusedError(CLOSE_WRONG_TOKEN, "invalid token")
            return Admission.TOKEN
        if session.address in self.settings.approved_addresses:
            return Admission.APPROVED
        if any(
            ipaddress.ip_address(session.address) in network
            for network in self.settings.trusted_networks
        ):
            return Admission.TRUSTED_NETWORK
        if self.settings.allow_tokenless:
            return Admission.PENDING
        raise _RefusedError(CLOSE_REFUSED, "a token is required")

    def _admitted_record(self, camera_id: str, admission: Admission) -> CameraRecord:
        """Return the record an admitted connection joins.

        A pending record of the id is replaced: what its connections sent is not this camera's, and
        those that are still open keep it, as a claim.
        """
        camera = self._cameras.get(camera_id)
        if camera is not None and not camera.admitted:
            del self._cameras[camera_id]
            if camera.connected:
                # No claim of its address exists: the record took it when it was made.
                self._claims[camera.camera_id, camera.address] = camera
            camera = None
        if camera is None:
            camera = self._cameras[camera_id] = CameraRecord(camera_id, "", admission)
        camera.admission = admission
        return camera

    def _pending_record(self, camera_id: str, address: str) -> CameraRecord:
        """Return the record a connection that is not admitted joins: never an admitted one."""
        camera = self._cameras.get(camera_id)
        if camera is None or (
            not camera.admitted and not camera.connected and camera.address != address
        ):
            claim = self._claims.pop((camera_id, address), None)
            camera = claim or CameraRecord(camera_id, address, Admission.PENDING)
            self._cameras[camera_id] = camera
            return camera
        if not camera.admitted and camera.address == address:
            return camera  # another socket of the same pending camera
        # The id of an admitted or restored camera, or of a camera pending at another address.
        claim = self._claims.get((camera_id, address))
        if claim is None:
            claim = self._claims[camera_id, address] = CameraRecord(
                camera_id, address, Admission.PENDING
            )
        return claim

    def _is_claim(self, camera: CameraRecord) -> bool:
        return self._claims.get((camera.camera_id, camera.address)) is camera

    def _sessions_of(self, camera: CameraRecord) -> list[_Session]:
        return [session for session in self._sessions if session.camera is camera]

    def _join(self, session: _Session, camera: CameraRecord) -> None:
        """Add the session's socket to a record; announce the record's first socket."""
        camera.address = session.address
        first_socket = not camera.sockets
        camera.sockets.append(session.socket)
        session.camera = camera
        if session.assembler is None:
            session.assembler = FrameAssembler(
                max_frame_size=self.settings.max_frame_size,
                frame_timeout=self.settings.frame_timeout,
                on_drop=session.record_drop,
            )
        if first_socket:
            if camera.connected_since is not None:
                camera.reconnects += 1
            camera.connected_since = time.monotonic()
            if camera.admitted:
                _LOGGER.info("Camera %s connected from %s", camera.camera_id, session.address)
                self._notify("camera_connected", camera)
            elif session.address not in self._announced_pending:
                self._announced_pending.add(session.address)
                _LOGGER.info("Camera at %s waits for approval", session.address)
                self._notify("camera_pending", camera)

    def _move(self, session: _Session, camera: CameraRecord) -> None:
        """Move an approved claim's session to the camera whose id it claims."""
        source = session.camera
        assert source is not None
        # Its JSON socket takes the commands of a camera that has none (that was offline).
        controls = source.control_socket is session.socket and camera.control_socket is None
        self._leave(session, source)
        if controls:
            camera.set_control_socket(session.socket)
        self._join(session, camera)
        if controls and camera.admitted:
            asyncio.get_running_loop().create_task(camera.deliver_queue())

    def _leave(self, session: _Session, camera: CameraRecord) -> None:
        """Take the session's socket off a record; a claim without sockets is dropped."""
        camera.detach(session.socket)
        session.camera = None
        if self._is_claim(camera):
            if not camera.connected:
                del self._claims[camera.camera_id, camera.address]
            return
        if not camera.connected and self._cameras.get(camera.camera_id) is camera:
            if camera.admitted:
                _LOGGER.info("Camera %s disconnected", camera.camera_id)
            self._notify("camera_disconnected", camera)

    def _close_session(self, session: _Session) -> None:
        camera = session.camera
        if session.assembler is not None:
            session.assembler.abort()
        if camera is not None:
            self._leave(session, camera)

    def _handle_binary(self, session: _Session, data: bytes) -> None:
        camera = session.camera or self._attach_or_refuse(session)
        assembler = session.assembler
        assert assembler is not None
        frame = assembler.handle_binary(data)
        if frame is None:
            return
        camera.stats.record_frame(frame)
        camera.latest_frame = frame
        if session.admitted and camera.admitted:
            self._notify("frame_received", camera, frame)

    def _attach_or_refuse(self, session: _Session) -> CameraRecord:
        try:
            return self._attach(session, None)
        except _RefusedError as refused:
            asyncio.get_running_loop().create_task(
                session.socket.close(code=refused.code, message=refused.reason.encode())
            )
            raise

    async def _handle_text(self, session: _Session, text: str) -> None:
        try:
            message = parse_text_message(text)
        except MessageError as err:
            _LOGGER.debug("Ignoring a malformed message from %s: %s", session.address, err)
            if session.camera is not None:
                session.camera.stats.record_drop(DropReason.NOT_JPEG)
            return
        if isinstance(message, RegisterMessage) and session.camera is None:
            try:
                camera = self._attach(session, message)
            except _RefusedError as refused:
                await session.socket.close(code=refused.code, message=refused.reason.encode())
                raise
        else:
            camera = session.camera or self._attach_or_refuse(session)
        match message:
            case RegisterMessage():
                camera.name = message.name or camera.name
                camera.firmware = message.firmware or camera.firmware
                camera.set_control_socket(session.socket)
                await session.socket.send_str(
                    json.dumps(
                        {
                            "status": "ok",
                            "message": "Camera registered",
                            "server_time": datetime.now(UTC).isoformat(),
                        }
                    )
                )
                if session.admitted and camera.admitted:
                    await camera.deliver_queue()
                self._notify("camera_updated", camera)
            case InfoMessage() | HealthMessage():
                camera.set_control_socket(session.socket)
                if isinstance(message, InfoMessage):
                    camera.info = message
                else:
                    camera.health = message
                self._notify("camera_updated", camera)
            case ResponseMessage():
                camera.resolve_response(message)
                self._notify("camera_updated", camera)
            case StatusMessage():
                camera.last_status = message.msg
                self._notify("camera_updated", camera)
            case FrameStartMessage() | FrameEndMessage() | ImageStartMessage() | ImageEndMessage():
                assert session.assembler is not None
                session.assembler.handle_control(message)
                if isinstance(message, ImageStartMessage):
                    # As the original server did (the firmware does not wait for it); formatted
                    # by hand: this runs for every chunked frame.
                    await session.socket.send_str(_IMG_ACK % time.time())
            case _:
                _LOGGER.debug("Ignoring message type %s from %s", message, session.address)


_IMG_ACK = '{"type":"img_ack","status":"ready","timestamp":%.3f}'


class _RefusedError(Exception):
    """The device may not use this listener."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


__all__ = [
    "CLOSE_LIVENESS",
    "CLOSE_REFUSED",
    "CLOSE_WRONG_TOKEN",
    "CameraNotAdmittedError",
    "CommandValidationError",
    "DeviceListener",
    "ListenerObserver",
    "canonical_address",
]
