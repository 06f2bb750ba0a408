"""The device listener: WebSocket endpoints on the stream and control ports.

Either port accepts the whole protocol, so the stock firmware (one socket for everything) and a
two-socket variant (JSON on the control port, frames on the stream port) both work. Cameras are
admitted by the hub token, by the user's approval of their address, or by a trusted network;
others stay pending: their socket stays open but none of their frames are used.

Admission is decided per connection, never inherited from a camera record, and it binds identity:
a connection without the token is always the camera whose id is its address (an id it sends is
ignored), so approving an address admits exactly that camera; an id admitted by the token is never
joined without it. A pending camera's record lives while one of its connections does.
"""

from __future__ import annotations

import asyncio
from collections import ChainMap, OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Executor
import contextlib
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
import hmac
import ipaddress
import json
import logging
import socket
import time
from typing import Any, Protocol, runtime_checkable

from aiohttp import WSCloseCode, WSMsgType, web

from ..protocol import (
    CommandValidationError,
    DropReason,
    Frame,
    FrameAssembler,
    FrameBudget,
    messages,
    normalize_camera_id,
    parse_text_message,
)
from .camera_record import (
    CameraNotAdmittedError,
    CameraRecord,
    CommandResult,
    ListenerBindError,
    UnknownCameraError,
)
from .gate import ConnectionGate, GatedSite, SourceRate
from .refusals import LOG_PERIOD, DeviceLog, Refusals, source_of
from .settings import Admission, ListenerSettings

_LOGGER = logging.getLogger(__name__)

CLOSE_WRONG_TOKEN = 4401
CLOSE_REFUSED = 4403
CLOSE_LIVENESS = 4408
CLOSE_TOO_MANY = 4429
_OVERFLOW_SOURCES = 16  # addresses (IPv6: /64 prefixes) named in one overflow notice
_ANNOUNCED_ADDRESSES = 1024  # addresses announced as pending, remembered so as not to repeat
_HANDSHAKE_TIMEOUT = 10.0
_WATCHDOG_INTERVAL = 1.0
_SHUTDOWN_TIMEOUT = 2.0
# How long a closing socket waits for the camera's close reply: one that has lost its network
# never answers, and must not hold up a reload for aiohttp's default 10 s.
_CLOSE_TIMEOUT = 1.0
# Text longer than this (only an admitted camera may send it) is parsed in the executor: the
# firmware's messages are under 1 KiB, a parse of 16 KiB takes well under a millisecond.
_INLINE_PARSE_LIMIT = 16 * 1024
_ALL_INTERFACES_V4 = "0.0.0.0"  # noqa: S104 - the default bind address: every interface
_ALL_INTERFACES_V6 = "::"


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


@runtime_checkable
class PendingOverflowObserver(Protocol):
    """What an observer implements to hear that unknown devices exceed the pending cap."""

    def pending_overflow(self, sources: Sequence[str]) -> None:
        """Handle refused pending cameras: at most once per 5 min, their sources (capped list)."""


def canonical_address(remote: str | None) -> str:
    """Return the remote IP as text, IPv4-mapped IPv6 reduced to IPv4."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return remote or "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


@cache
def host_has_ipv6() -> bool:
    """Whether this host can listen on IPv6 (a kernel may have it compiled out or disabled)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind((_ALL_INTERFACES_V6, 0))
    except OSError:
        return False
    return True


def bind_hosts(host: str) -> list[str]:
    """Return the addresses to listen on: every interface means both families where there are.

    asyncio sets IPV6_V6ONLY on its IPv6 sockets, so `::` and `0.0.0.0` share the port.
    """
    try:
        every_interface = ipaddress.ip_address(host).is_unspecified
    except ValueError:  # a host name
        every_interface = False
    if not every_interface:
        return [host]
    return [_ALL_INTERFACES_V4, _ALL_INTERFACES_V6] if host_has_ipv6() else [_ALL_INTERFACES_V4]


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
        self.opened = self.last_seen = self.last_data = time.monotonic()
        self.closing = False
        self.assembler: FrameAssembler | None = None
        self.source = source_of(address)
        # Admitted by what it showed at the upgrade (the right token, an approved or trusted
        # address): its first messages are a camera's, not a stranger's.
        self.admitted_early = False

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

    def __init__(
        self,
        settings: ListenerSettings,
        observer: ListenerObserver,
        *,
        executor: Executor | None = None,
    ) -> None:
        """Prepare the listener; `start` binds the ports.

        Costly parsing runs on `executor` (None: the loop's default one, Home Assistant's).
        """
        self.settings = settings
        self._observer = observer
        self._executor = executor
        self._cameras: dict[str, CameraRecord] = {}  # admitted and restored, by camera id
        # Pending cameras by address (their id): one may share its address with a restored or
        # admitted camera it is not (yet), so they have a home of their own.
        self._pending: dict[str, CameraRecord] = {}
        self._all_cameras = ChainMap(self._cameras, self._pending)
        # The latest frame of pending cameras that left, for the discovery card (bounded).
        self._previews: OrderedDict[str, Frame] = OrderedDict()
        self._overflow: list[str] = []
        self._overflow_noticed_at: float | None = None
        self._sessions: set[_Session] = set()
        self.device_log = DeviceLog(_LOGGER)
        self.refusals = Refusals(log=self.device_log)
        self._gate = ConnectionGate(
            limits=lambda: (
                self.settings.max_connections_per_source,
                self.settings.max_connections,
                self.settings.new_connections_per_second,
            ),
            exempt=self._known_address,
            canonical=canonical_address,
            refusals=self.refusals,
            # Not a whole trusted network: one IPv6 host could take any number of its addresses.
            own_share=self._camera_address,
        )
        self._stranger_text = SourceRate()  # text messages of connections not yet admitted
        self.frame_budget = FrameBudget(max(settings.frame_budget, settings.max_frame_size))
        self._announced_pending: OrderedDict[str, None] = OrderedDict()
        self._announced_at: deque[float] = deque()  # announcements in the last period
        self._stream_app = web.Application()
        self._control_app = web.Application()
        for app in (self._stream_app, self._control_app):
            app.router.add_get("/", self._handle_websocket)
        self._runners: list[web.AppRunner] = []
        self._watchdog: asyncio.Task[None] | None = None
        # The loop holds tasks weakly: these are held until done (else one may be garbage collected
        # mid-flight) and ended by `stop`.
        self.background_tasks: set[asyncio.Task[object]] = set()
        self._stopping = False

    @property
    def cameras(self) -> Mapping[str, CameraRecord]:
        """Admitted and restored cameras by id, and pending ones (id: address) while connected.

        A pending camera whose address is the id of an admitted or restored one is not listed
        (see `pending_frame`).
        """
        return self._all_cameras

    def pending_frame(self, address: str) -> Frame | None:
        """Return the latest frame of a camera at `address` that waits for approval."""
        camera = self._pending.get(address)
        if camera is not None and camera.latest_frame is not None:
            return camera.latest_frame
        return self._previews.get(address)

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
        hosts = bind_hosts(self.settings.host)
        for app, port in (
            (self._stream_app, self.settings.stream_port),
            (self._control_app, self.settings.control_port),
        ):
            # aiohttp closes a connection that has not sent a whole request within its
            # keep-alive timeout (armed at connect): that bounds a slow upgrade request.
            runner = web.AppRunner(
                app,
                handle_signals=False,
                access_log=None,
                shutdown_timeout=_SHUTDOWN_TIMEOUT,
                keepalive_timeout=self.settings.upgrade_timeout,
            )
            await runner.setup()
            self._runners.append(runner)
            try:
                await GatedSite(runner, hosts, port, self._gate).start()
            except OSError as err:
                await self.stop()
                raise ListenerBindError(port, err) from err
        self._watchdog = asyncio.get_running_loop().create_task(
            self._watch(), name="esp32_camera listener watchdog"
        )
        _LOGGER.debug(
            "Listening on %s ports %s (stream) and %s (control)",
            " and ".join(hosts),
            self.settings.stream_port,
            self.settings.control_port,
        )

    async def stop(self) -> None:
        """Close every session with 1001 and free both ports."""
        self._stopping = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        background = list(self.background_tasks)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
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
        """Admit the camera whose id is `address` at once, on its open sockets.

        The pending record becomes the camera, unless a restored or admitted camera has that id:
        then its sockets join that camera (the camera came back), and queued commands are sent.
        """
        if address not in self.settings.approved_addresses:
            self.settings = replace(
                self.settings, approved_addresses=self.settings.approved_addresses | {address}
            )
        self._previews.pop(address, None)
        pending = self._pending.pop(address, None)
        if pending is None:
            return
        sessions = self._sessions_of(pending)
        for session in sessions:
            session.admission = Admission.APPROVED
        if address not in self._cameras:
            pending.admission = Admission.APPROVED
            self._cameras[address] = pending
            for session in sessions:
                self._admit_frames(session)
            if pending.connected:
                self._notify("camera_connected", pending)
            return
        for session in sessions:
            try:
                camera = self._admitted_record(address, Admission.APPROVED)
            except _RefusedError as refused:
                self._leave(session, pending)
                self._close_later(session, refused)
                continue
            self._move(session, camera)

    def revoke(self, address: str) -> None:
        """Withdraw the approval (or refusal) of an address at once: approved sockets close (4403).

        Its camera keeps its record as a restored one (entities unavailable, commands queue); when
        it connects again it waits for approval, and the user is asked again. Sockets admitted by
        the token at that address are not affected.
        """
        self.settings = replace(
            self.settings,
            approved_addresses=self.settings.approved_addresses - {address},
            rejected_addresses=self.settings.rejected_addresses - {address},
        )
        self._announced_pending.pop(address, None)
        for camera in self._cameras.values():
            if camera.address == address and camera.admission is Admission.APPROVED:
                camera.admission = Admission.RESTORED
        for session in list(self._sessions):
            if session.address == address and session.admission is Admission.APPROVED:
                self._close_later(session, _RefusedError(CLOSE_REFUSED, "approval_revoked"))

    def reject(self, address: str) -> None:
        """Refuse an address from now on and close its sockets with 4403."""
        self.settings = replace(
            self.settings,
            rejected_addresses=self.settings.rejected_addresses | {address},
            approved_addresses=self.settings.approved_addresses - {address},
        )
        self._previews.pop(address, None)
        for session in list(self._sessions):
            if session.address == address:
                self._close_later(session, _RefusedError(CLOSE_REFUSED, "address_rejected"))

    def _in_background(self, work: Coroutine[Any, Any, object]) -> None:
        """Run `work` as a task held in `background_tasks` until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)

    def _close_later(self, session: _Session, refused: _RefusedError) -> None:
        session.closing = True
        self._in_background(self._refuse(session.socket, session.address, refused))

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
        camera = self._all_cameras.get(camera_id)  # a pending one refuses: not admitted
        if camera is None:
            raise UnknownCameraError(f"no camera {camera_id!r}")
        return await camera.send_command(
            name,
            value,
            response_timeout=self.settings.command_timeout,
            queue_limit=self.settings.command_queue_size,
        )

    def _notify(self, event: str, *args: object) -> None:
        """Call the observer; its errors are logged (rate-limited), never fatal to a session."""
        try:
            getattr(self._observer, event)(*args)
        except Exception:  # noqa: BLE001 - logged by the device log
            # A device's messages reach the observer: its bug must not flood the log either.
            subject = args[0] if args else None
            address = subject.address if isinstance(subject, CameraRecord) else str(subject)
            self.device_log.unexpected(
                address, "Observer failed handling %s for %s", event, address
            )

    async def _watch(self) -> None:
        """Expire stalled frames and close silent sockets, once a second for all sessions."""
        while True:
            await asyncio.sleep(_WATCHDOG_INTERVAL)
            now = time.monotonic()
            settings = self.settings
            for session in list(self._sessions):
                if session.assembler is not None:
                    session.assembler.expire()
                if session.closing:
                    continue
                if session.camera is None and now - session.opened > settings.register_timeout:
                    refused = _RefusedError(CLOSE_LIVENESS, "no_registration")
                elif not session.admitted and now - session.last_data > (
                    settings.pending_idle_timeout
                ):
                    refused = _RefusedError(CLOSE_LIVENESS, "idle")
                elif now - session.last_seen > settings.liveness_timeout:
                    self.device_log.line(
                        logging.DEBUG, session.address, "No data from %s: closing", session.address
                    )
                    session.closing = True
                    self._in_background(
                        session.socket.close(code=CLOSE_LIVENESS, message=b"liveness timeout")
                    )
                    continue
                else:
                    continue
                self._close_later(session, refused)

    async def _handle_websocket(self, request: web.Request) -> web.StreamResponse:
        address = canonical_address(request.remote)
        # PINGs are answered here rather than by aiohttp so that they count as liveness; one
        # watchdog for all sockets replaces a heartbeat timer per socket.
        token = request_token(request)
        # A connection not admitted by what it shows at the upgrade may send only what a pending
        # camera needs (the stock firmware's messages are at most 30,000 B): aiohttp holds a
        # message whole before we see it.
        # Only the right token counts (issue 18, red team: any `?token=` bought 8 MiB messages).
        admitted_early = self._token_matches(token) or self._admitted_address(address)
        frame_limit = (
            self.settings.max_frame_size if admitted_early else self.settings.pending_frame_size
        )
        # No permessage-deflate (the firmware does not ask for it): with it a few bytes on the
        # wire would inflate to the whole message limit on the event loop, for anyone.
        socket = web.WebSocketResponse(
            autoping=False,
            max_msg_size=frame_limit + 4096,
            timeout=_CLOSE_TIMEOUT,
            compress=False,
        )
        async with asyncio.timeout(_HANDSHAKE_TIMEOUT):
            await socket.prepare(request)
        if self._stopping:  # accepted just before the port closed
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
            return socket
        if address in self.settings.rejected_addresses:
            await self._refuse(socket, address, _RefusedError(CLOSE_REFUSED, "address_rejected"))
            return socket
        session = _Session(
            socket,
            address,
            normalize_camera_id(request.query.get("id")),
            token,
        )
        session.admitted_early = bool(admitted_early)
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
                    session.last_data = session.last_seen
                    self._handle_binary(session, message.data)
                elif message.type is WSMsgType.TEXT:
                    session.last_data = session.last_seen
                    if not session.admitted:
                        self._check_stranger_text(session, message.data)
                    # The framing messages of a camera already bound (two per frame) without a
                    # coroutine, nor json.loads; everything else by the full parser.
                    if session.camera is not None and (
                        framing := messages.parse_framing_message(message.data)
                    ):
                        self._handle_framing(session, framing)
                    else:
                        await self._handle_text(session, message.data)
                elif message.type is WSMsgType.PING:
                    await session.socket.pong(message.data)
                elif message.type is WSMsgType.CLOSE:
                    await session.socket.close()
            except _RefusedError as refused:
                await self._refuse(session.socket, session.address, refused)
                return
            except ConnectionError as err:
                # The camera left while we answered it (Wi-Fi drops, reboots): routine.
                self.device_log.line(
                    logging.DEBUG,
                    session.address,
                    "Connection from %s closed while answering: %s",
                    session.address,
                    err,
                )
                return
            except Exception:  # noqa: BLE001 - logged by the device log
                # One bad message must never end the session or touch another camera, nor
                # flood the log: one traceback per source per period, then a count.
                self.device_log.unexpected(
                    session.address, "Unexpected error handling a message from %s", session.address
                )

    def _check_stranger_text(self, session: _Session, text: str) -> None:
        """Refuse text of a connection not (yet) admitted that it may not have parsed on the loop.

        Before admission a connection may send little text, and its source few messages per
        second: a stranger must not have the event loop parse (or even read) for it at will.
        Too large closes the socket (1009), beyond its source's rate too (1008), unparsed; the
        source's rate is not refilled by reconnecting.
        """
        if len(text) > self.settings.pending_text_size:
            raise _RefusedError(WSCloseCode.MESSAGE_TOO_BIG, "text_too_large")
        # Not charged to the source of a camera known at the upgrade: an IPv6 neighbour (the
        # same /64) spending the source's rate locked the camera out.
        if not session.admitted_early and not self._stranger_text.take(
            session.source, self.settings.pending_messages_per_second
        ):
            raise _RefusedError(WSCloseCode.POLICY_VIOLATION, "message_rate")

    async def _refuse(
        self, socket: web.WebSocketResponse, address: str, refused: _RefusedError
    ) -> None:
        """Close a refused socket with its code and reason; count it, log it rate-limited."""
        self.refusals.refuse(address, refused.reason)
        with contextlib.suppress(ConnectionError):
            await socket.close(code=refused.code, message=refused.message.encode())

    def _attach(self, session: _Session, register: messages.RegisterMessage | None) -> CameraRecord:
        """Decide the session's admission on its first message and bind it to its record.

        Only the token lets a connection choose its id; without it the id is its address.
        """
        token = session.token or (register.token if register else None)
        session.admission = self._admission(session, token)
        if session.admission is Admission.TOKEN:
            camera_id = (register.camera_id if register else None) or session.url_id
            camera = self._admitted_record(camera_id or session.address, Admission.TOKEN)
        elif session.admitted:
            camera = self._admitted_record(session.address, session.admission)
        else:
            camera = self._pending_record(session.address)
        if register is not None:  # before the observer names the device after it
            camera.name = register.name or camera.name
            camera.firmware = register.firmware or camera.firmware
        self._join(session, camera)
        return camera

    def _token_matches(self, token: str | None) -> bool:
        """Whether `token` is the hub token (compared in constant time)."""
        return token is not None and hmac.compare_digest(
            token.encode(), self.settings.token.encode()
        )

    def _admission(self, session: _Session, token: str | None) -> Admission:
        """Admit this connection by its own token, address or network; nothing else counts."""
        if token is not None:
            if not self._token_matches(token):
                self._notify("authentication_failed", session.address, "invalid token")
                raise _RefusedError(CLOSE_WRONG_TOKEN, "invalid_token")
            return Admission.TOKEN
        if admission := self._admitted_address(session.address):
            return admission
        if self.settings.allow_tokenless:
            return Admission.PENDING
        raise _RefusedError(CLOSE_REFUSED, "token_required")

    def _known_address(self, address: str) -> bool:
        """Whether an address is a camera's (approved, trusted, or an admitted camera's)."""
        return self._admitted_address(address) is not None or any(
            camera.address == address for camera in self._cameras.values()
        )

    def _camera_address(self, address: str) -> bool:
        """Whether an address is an approved one or a camera's (a trusted network's are not)."""
        return address in self.settings.approved_addresses or any(
            camera.address == address for camera in self._cameras.values()
        )

    def _admitted_address(self, address: str) -> Admission | None:
        """Admit a tokenless connection by its approved address or trusted network."""
        if address in self.settings.approved_addresses:
            return Admission.APPROVED
        if _is_ip_address(address) and any(
            ipaddress.ip_address(address) in network for network in self.settings.trusted_networks
        ):
            return Admission.TRUSTED_NETWORK
        return None

    def _admitted_record(self, camera_id: str, admission: Admission) -> CameraRecord:
        """Return the record an admitted connection joins; one the token admitted needs it."""
        camera = self._cameras.get(camera_id)
        if camera is None:
            if len(self._cameras) >= self.settings.max_cameras:
                raise _RefusedError(CLOSE_TOO_MANY, "too_many_cameras")
            camera = self._cameras[camera_id] = CameraRecord(camera_id, "", admission)
        elif camera.admission is Admission.TOKEN and admission is not Admission.TOKEN:
            raise _RefusedError(CLOSE_REFUSED, "id_requires_token")
        else:
            camera.admission = admission
        return camera

    def _pending_record(self, address: str) -> CameraRecord:
        """Return the record of the camera pending at `address`, made on its first connection."""
        camera = self._pending.get(address)
        if camera is None:
            if len(self._pending) >= self.settings.max_pending_cameras:
                self._note_overflow(address)
                raise _RefusedError(CLOSE_TOO_MANY, "too_many_pending")
            camera = self._pending[address] = CameraRecord(address, address, Admission.PENDING)
        return camera

    def _note_overflow(self, address: str) -> None:
        """Tell a willing observer about refused pending cameras, at most once per period."""
        source = source_of(address)
        if source not in self._overflow and len(self._overflow) < _OVERFLOW_SOURCES:
            self._overflow.append(source)
        now = time.monotonic()
        if self._overflow_noticed_at is not None and now - self._overflow_noticed_at < LOG_PERIOD:
            return
        self._overflow_noticed_at = now
        sources, self._overflow = tuple(self._overflow), []
        if isinstance(self._observer, PendingOverflowObserver):
            self._notify("pending_overflow", sources)

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
                frame_timeout=self.settings.frame_timeout,
                on_drop=session.record_drop,
                budget=self.frame_budget,
            )
        self._admit_frames(session)
        if first_socket:
            if camera.connected_since is not None:
                camera.reconnects += 1
            camera.connected_since = time.monotonic()
            if camera.admitted:
                self.device_log.line(
                    logging.INFO,
                    session.address,
                    "Camera %s connected from %s",
                    camera.camera_id,
                    session.address,
                )
                self._notify("camera_connected", camera)
            elif session.address not in self._announced_pending:
                self._announce_pending(camera)

    def _announce_pending(self, camera: CameraRecord) -> None:
        """Announce a new pending address (a discovery flow), at most a cap's worth per period.

        Flows outlive connections: without this, waves of addresses would each leave one.
        """
        now = time.monotonic()
        while self._announced_at and now - self._announced_at[0] >= LOG_PERIOD:
            self._announced_at.popleft()
        if len(self._announced_at) >= self.settings.max_pending_cameras:
            self._note_overflow(camera.address)
            return
        self._announced_at.append(now)
        self._announced_pending[camera.address] = None
        while len(self._announced_pending) > _ANNOUNCED_ADDRESSES:
            self._announced_pending.popitem(last=False)
        self.device_log.line(
            logging.INFO, camera.address, "Camera at %s waits for approval", camera.address
        )
        self._notify("camera_pending", camera)

    def _admit_frames(self, session: _Session) -> None:
        """Give the session the frame size its admission allows."""
        if session.assembler is not None:
            session.assembler.max_frame_size = (
                self.settings.max_frame_size
                if session.admitted
                else self.settings.pending_frame_size
            )

    def _move(self, session: _Session, camera: CameraRecord) -> None:
        """Move an approved pending session to the known camera whose id is its address."""
        source = session.camera
        assert source is not None
        # Its JSON socket takes the commands of a camera that has none (that was offline).
        controls = source.control_socket is session.socket and camera.control_socket is None
        self._leave(session, source)
        if controls:
            camera.set_control_socket(session.socket)
        self._join(session, camera)
        if controls and camera.admitted:
            self._in_background(camera.deliver_queue())

    def _leave(self, session: _Session, camera: CameraRecord) -> None:
        """Take the session's socket off a record; a pending one without sockets is dropped."""
        camera.detach(session.socket)
        session.camera = None
        if camera.connected:
            return
        if self._pending.get(camera.address) is camera:
            del self._pending[camera.address]
            if (
                camera.latest_frame is not None  # at most pending_frame_size bytes
                and camera.address not in self.settings.rejected_addresses
            ):
                self._previews[camera.address] = camera.latest_frame
                self._previews.move_to_end(camera.address)
                while len(self._previews) > self.settings.max_pending_cameras:
                    self._previews.popitem(last=False)
            self._notify("camera_disconnected", camera)
        elif self._cameras.get(camera.camera_id) is camera:
            self.device_log.line(
                logging.INFO, camera.address, "Camera %s disconnected", camera.camera_id
            )
            self._notify("camera_disconnected", camera)

    def _close_session(self, session: _Session) -> None:
        camera = session.camera
        if session.assembler is not None:
            session.assembler.abort()
        if camera is not None:
            self._leave(session, camera)

    def _handle_binary(self, session: _Session, data: bytes) -> None:
        camera = session.camera or self._attach(session, None)
        assembler = session.assembler
        assert assembler is not None
        frame = assembler.handle_binary(data)
        if frame is None:
            return
        camera.stats.record_frame(frame)
        camera.latest_frame = frame
        if session.admitted and camera.admitted:
            self._notify("frame_received", camera, frame)

    def _handle_framing(self, session: _Session, message: messages.FramingMessage) -> None:
        """Hand a framing message to the assembler.

        Nothing is answered: the original server answered `img_start` with an `img_ack`, which
        the firmware ignores; it cost the camera a JSON message to read and the hub a send for
        every chunked frame (docs/protocol.md).
        """
        assert session.assembler is not None
        session.assembler.handle_control(message)

    async def _parse_off_loop(self, text: str) -> messages.Message:
        """Parse a large text message (an admitted camera's) in the executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, parse_text_message, text)

    async def _handle_text(self, session: _Session, text: str) -> None:
        try:
            # Inline without a coroutine: every chunked frame sends an `img_start`.
            message = (
                parse_text_message(text)
                if len(text) <= _INLINE_PARSE_LIMIT
                else await self._parse_off_loop(text)
            )
        except messages.InvalidRegistrationError as err:
            self._notify("authentication_failed", session.address, f"invalid registration: {err}")
            raise _RefusedError(CLOSE_WRONG_TOKEN, "invalid_registration", str(err)) from err
        except messages.MessageError as err:
            self.device_log.line(
                logging.DEBUG,
                session.address,
                "Ignoring a malformed message from %s: %s",
                session.address,
                err,
            )
            if session.camera is not None:
                session.camera.stats.record_drop(DropReason.MALFORMED_MESSAGE)
            return
        camera = session.camera or self._attach(
            session, message if isinstance(message, messages.RegisterMessage) else None
        )
        match message:
            case messages.RegisterMessage():
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
            case messages.InfoMessage() | messages.HealthMessage():
                camera.set_control_socket(session.socket)
                if isinstance(message, messages.InfoMessage):
                    camera.info = message
                else:
                    camera.health = message
                self._notify("camera_updated", camera)
            case messages.ResponseMessage():
                camera.resolve_response(message)
                self._notify("camera_updated", camera)
            case messages.StatusMessage():
                camera.last_status = message.msg
                self._notify("camera_updated", camera)
            case (
                messages.FrameStartMessage()
                | messages.FrameEndMessage()
                | messages.ImageStartMessage()
                | messages.ImageEndMessage()
            ):
                self._handle_framing(session, message)
            case _:
                self.device_log.line(
                    logging.DEBUG,
                    session.address,
                    "Ignoring message type %.64s from %s",
                    message.type,
                    session.address,
                )


class _RefusedError(Exception):
    """The device may not use this listener."""

    def __init__(self, code: int, reason: str, detail: str | None = None) -> None:
        """`reason` is the counted key; the close message is it in words, with any detail."""
        self.message = reason.replace("_", " ") + (f": {detail}" if detail else "")
        super().__init__(self.message)
        self.code = code
        self.reason = reason


__all__ = [
    "CLOSE_LIVENESS",
    "CLOSE_REFUSED",
    "CLOSE_TOO_MANY",
    "CLOSE_WRONG_TOKEN",
    "CameraNotAdmittedError",
    "CommandValidationError",
    "DeviceListener",
    "ListenerObserver",
    "PendingOverflowObserver",
    "bind_hosts",
    "canonical_address",
    "host_has_ipv6",
]
