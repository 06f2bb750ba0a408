"""The page's frame socket: every live picture of a browser page over one binary WebSocket.

`GET /api/esp32_camera/frames` (signed-in users; the browser signs the path with Home Assistant's
`auth/sign_path` command, as a WebSocket cannot send a header). Once open, the socket stays valid
whatever happens to the camera entities' access tokens; it closes when the user's refresh token
is revoked or Home Assistant stops.

The page says what it shows with small JSON text messages:

- `{"type": "watch", "channel": 3, "camera_id": "garden"}` (optional `entry_id` where two hubs
  know the id): frames of that camera on channel 3 (the page's number, 0-65535), its latest frame
  at once;
- `{"type": "unwatch", "channel": 3}`;
- `{"type": "ack", "channel": 3}`: the oldest frame sent on channel 3 is painted.

Each frame is one binary message: a `HEADER` (little-endian: version, header length, channel,
sequence, arrival time in epoch ms, width, height) followed by the JPEG exactly as the camera sent
it. Flow control: at most `FRAMES_IN_FLIGHT` frames per channel and `BYTES_IN_FLIGHT` per socket
are unacknowledged; meanwhile each channel keeps only its newest frame (the sequence numbers skip
what was dropped), so a slow page gets fewer, fresh frames and nothing queues. Errors are text
messages `{"type": "error", "code": ..., "channel": ..., "message": ...}`; a message that is not
one of the three closes the socket (`CLOSE_BAD_MESSAGE`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
import json
import logging
import struct
from typing import Final

from aiohttp import WSMsgType, web
from homeassistant.auth.models import User
from homeassistant.auth.permissions.const import POLICY_READ
from homeassistant.components.http.const import KEY_HASS_REFRESH_TOKEN_ID, KEY_HASS_USER
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from ..hub.clock import wall_clock_ms
from ..hub.devices import camera_entity_id
from ..hub.hub import hub_of_camera, loaded_hub
from ..listener import CameraRecord
from ..protocol import Frame

_LOGGER = logging.getLogger(__name__)

FRAME_SOCKET_URL: Final = f"/api/{DOMAIN}/frames"
# version, header length, channel, sequence, arrival (epoch ms), width, height (0: unknown).
HEADER: Final = struct.Struct("<BBHIdHH")
HEADER_VERSION: Final = 1
# Frames of one channel sent and not yet acknowledged. A page acknowledges a frame once painted,
# so the window bounds how old a painted frame can be; four keep a 20 fps camera painting through
# the main-thread stalls of a loaded machine (two painted one frame in four there).
FRAMES_IN_FLIGHT: Final = 4
# Bytes of one socket's unacknowledged frames (a few QXGA frames per camera at most).
BYTES_IN_FLIGHT: Final = 32 * 1024 * 1024
# Channels (cameras shown) per socket, and open sockets per user and in all.
MAX_CHANNELS: Final = 128
MAX_SOCKETS_PER_USER: Final = 16
MAX_SOCKETS: Final = 64
# The page sends only these small messages.
MAX_TEXT_MESSAGE: Final = 1024
CHANNEL_LIMIT: Final = 0xFFFF
CLOSE_TOO_MANY_SOCKETS: Final = 4429
CLOSE_BAD_MESSAGE: Final = 4400
CLOSE_REVOKED: Final = 4401
HEARTBEAT_SECONDS: float | None = 30.0

DATA_FRAME_SOCKETS: HassKey[set[FrameSocket]] = HassKey(f"{DOMAIN}_frame_sockets")


class BadMessageError(ValueError):
    """A text message of the page that the protocol does not know (closes the socket)."""


class WatchRefusedError(Exception):
    """A watch the socket refuses, with the error's code (the socket stays open)."""

    def __init__(self, code: str, message: str) -> None:
        """Refuse with `code` (stable, for the page) and `message` (for people)."""
        super().__init__(message)
        self.code = code


def frame_header(channel: int, sequence: int, frame: Frame) -> bytes:
    """Return the binary header of `frame` sent as number `sequence` of `channel`."""
    return HEADER.pack(
        HEADER_VERSION,
        HEADER.size,
        channel,
        sequence & 0xFFFFFFFF,
        float(wall_clock_ms(frame.completed_at)),
        min(frame.width or 0, 0xFFFF),
        min(frame.height or 0, 0xFFFF),
    )


@dataclass(slots=True)
class _Channel:
    """One camera shown by the page: its frame listener and its window of sent frames."""

    number: int
    camera_id: str
    entry_id: str
    remove_listener: CALLBACK_TYPE
    sequence: int = 0
    # Sizes of the frames sent and not yet acknowledged, oldest first.
    in_flight: deque[int] = field(default_factory=deque)
    # The newest frame not sent yet, with its sequence number.
    newest: tuple[int, Frame] | None = None
    skipped: int = 0


class FrameSocket:
    """One page's socket: its channels, their flow control and the task that sends frames."""

    def __init__(self, hass: HomeAssistant, socket: web.WebSocketResponse, user: User) -> None:
        """Serve `socket` for `user` (who may watch any camera entity they may read)."""
        self.hass = hass
        self.socket = socket
        self.user = user
        self.channels: dict[int, _Channel] = {}
        self.bytes_in_flight = 0
        self.frames_sent = 0
        self._wake = asyncio.Event()

    def watches_hub(self, entry_id: str) -> bool:
        """Return whether a channel shows a camera of hub `entry_id` (the panel's statistics)."""
        return any(channel.entry_id == entry_id for channel in self.channels.values())

    # Messages of the page --------------------------------------------------------------------

    async def async_handle_text(self, text: str) -> None:
        """Apply one text message of the page; raise BadMessageError for anything else."""
        try:
            message = json.loads(text)
        except ValueError as err:
            raise BadMessageError("not JSON") from err
        if not isinstance(message, dict):
            raise BadMessageError("not a JSON object")
        kind = message.get("type")
        channel = message.get("channel")
        if type(channel) is not int or not 0 <= channel <= CHANNEL_LIMIT:
            raise BadMessageError(f"channel must be an integer from 0 to {CHANNEL_LIMIT}")
        if kind == "ack":
            self.acknowledge(channel)
        elif kind == "unwatch":
            self.unwatch(channel)
        elif kind == "watch":
            camera_id, entry_id = message.get("camera_id"), message.get("entry_id")
            if not isinstance(camera_id, str) or not isinstance(entry_id, str | None):
                raise BadMessageError("camera_id must be a string (and entry_id, when given)")
            try:
                self.watch(channel, camera_id, entry_id)
            except WatchRefusedError as refused:
                await self.socket.send_json(
                    {
                        "type": "error",
                        "code": refused.code,
                        "channel": channel,
                        "camera_id": camera_id,
                        "message": str(refused),
                    }
                )
        else:
            raise BadMessageError(f"unknown type {kind!r}")

    @callback
    def watch(self, number: int, camera_id: str, entry_id: str | None) -> None:
        """Show `camera_id` on channel `number` (a channel in use is replaced); raise WatchRefusedError."""
        if number not in self.channels and len(self.channels) >= MAX_CHANNELS:
            raise WatchRefusedError("too_many_cameras", f"at most {MAX_CHANNELS} cameras per page")
        if entry_id is not None:
            hub = loaded_hub(self.hass, entry_id)
            if hub is None or camera_id not in hub.cameras:
                raise WatchRefusedError(
                    "unknown_camera", f"no camera {camera_id} on hub {entry_id}"
                )
        else:
            try:
                hub = hub_of_camera(self.hass, camera_id)
            except HomeAssistantError as err:
                raise WatchRefusedError("unknown_camera", str(err)) from err
        camera = hub.cameras[camera_id]
        if not camera.admitted:
            raise WatchRefusedError("unknown_camera", f"camera {camera_id} is not approved")
        entity_id = camera_entity_id(er.async_get(self.hass), hub.entry.entry_id, camera_id)
        if (
            entity_id is not None
            and not self.user.is_admin
            and not self.user.permissions.check_entity(entity_id, POLICY_READ)
        ):
            raise WatchRefusedError("unauthorized", f"not allowed to watch {entity_id}")
        self.unwatch(number)
        channel = _Channel(number, camera_id, hub.entry.entry_id, lambda: None)
        channel.remove_listener = hub.frames.async_add_listener(self._listener(channel), camera_id)
        self.channels[number] = channel
        if camera.latest_frame is not None:  # the picture at once, not after the next frame
            self._offer(channel, camera.latest_frame)

    @callback
    def unwatch(self, number: int) -> None:
        """Stop channel `number` (its unacknowledged frames no longer count)."""
        if (channel := self.channels.pop(number, None)) is not None:
            channel.remove_listener()
            self.bytes_in_flight -= sum(channel.in_flight)
            self._wake.set()  # another channel may have waited for those bytes

    @callback
    def acknowledge(self, number: int) -> None:
        """Count the oldest frame sent on channel `number` as painted; more may go."""
        channel = self.channels.get(number)
        if channel is None or not channel.in_flight:
            return  # a late acknowledgement of a channel since stopped
        self.bytes_in_flight -= channel.in_flight.popleft()
        self._wake.set()

    @callback
    def close_all(self) -> None:
        """Stop every channel (the socket closed)."""
        for number in list(self.channels):
            self.unwatch(number)

    # Frames ------------------------------------------------------------------------------------

    def _listener(self, channel: _Channel) -> Callable[[CameraRecord, Frame], None]:
        @callback
        def frame_received(_camera: CameraRecord, frame: Frame) -> None:
            self._offer(channel, frame)

        return frame_received

    @callback
    def _offer(self, channel: _Channel, frame: Frame) -> None:
        """Keep `frame` as the channel's newest (an older unsent one is dropped), wake the sender."""
        channel.sequence += 1
        if channel.newest is not None:
            channel.skipped += 1
        channel.newest = (channel.sequence, frame)
        self._wake.set()

    def _may_send(self, channel: _Channel) -> bool:
        """Return whether the channel's newest frame may go now (within both windows)."""
        if channel.newest is None or len(channel.in_flight) >= FRAMES_IN_FLIGHT:
            return False
        # One frame always fits an empty socket, however large: a page is never stuck.
        size = len(channel.newest[1].data)
        return not self.bytes_in_flight or self.bytes_in_flight + size <= BYTES_IN_FLIGHT

    async def async_send_frames(self) -> None:
        """Send each channel's newest frame whenever its window allows, until cancelled."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while ready := [c for c in self.channels.values() if self._may_send(c)]:
                    for channel in ready:
                        # Re-checked: the channel may have stopped, or bytes gone out, meanwhile.
                        if self.channels.get(channel.number) is channel and self._may_send(channel):
                            await self._send(channel)
        except ConnectionResetError:
            return  # the page left while a frame was written; the reader ends the socket

    async def _send(self, channel: _Channel) -> None:
        assert channel.newest is not None
        sequence, frame = channel.newest
        channel.newest = None
        size = len(frame.data)
        channel.in_flight.append(size)
        self.bytes_in_flight += size
        self.frames_sent += 1
        # One copy of the JPEG into the message; aiohttp writes it to the transport as it is
        # (no compression: JPEG does not shrink).
        await self.socket.send_bytes(frame_header(channel.number, sequence, frame) + frame.data)


class FrameSocketView(HomeAssistantView):
    """The page's frame socket (signed-in users; the module docstring has the protocol)."""

    url = FRAME_SOCKET_URL
    name = f"api:{DOMAIN}:frames"

    async def get(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one page until it leaves, its login is revoked or Home Assistant stops."""
        hass = request.app[KEY_HASS]
        user: User = request[KEY_HASS_USER]
        sockets = hass.data.setdefault(DATA_FRAME_SOCKETS, set())
        response = web.WebSocketResponse(
            heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_TEXT_MESSAGE, compress=False
        )
        await response.prepare(request)
        mine = sum(1 for socket in sockets if socket.user.id == user.id)
        if len(sockets) >= MAX_SOCKETS or mine >= MAX_SOCKETS_PER_USER:
            await response.close(
                code=CLOSE_TOO_MANY_SOCKETS, message=b"too many frame sockets open"
            )
            return response
        socket = FrameSocket(hass, response, user)
        sockets.add(socket)
        closing: list[CALLBACK_TYPE] = []

        @callback
        def close_soon(code: int, reason: bytes) -> None:
            hass.async_create_task(response.close(code=code, message=reason), eager_start=True)

        if (token_id := request.get(KEY_HASS_REFRESH_TOKEN_ID)) is not None:
            closing.append(
                hass.auth.async_register_revoke_token_callback(
                    token_id, lambda: close_soon(CLOSE_REVOKED, b"login revoked")
                )
            )

        @callback
        def stopping(_event: Event) -> None:
            closing.remove(stop_listener)  # a listener that ran once is gone already
            close_soon(1001, b"Home Assistant stops")

        stop_listener = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stopping)
        closing.append(stop_listener)
        sender = hass.async_create_background_task(
            socket.async_send_frames(), f"{DOMAIN} frame socket sender"
        )
        try:
            async for message in response:
                if message.type is not WSMsgType.TEXT:
                    await response.close(code=1003, message=b"text messages only")
                    break
                try:
                    await socket.async_handle_text(message.data)
                except BadMessageError as err:
                    _LOGGER.debug("Frame socket of %s closed: %s", user.name, err)
                    await response.close(code=CLOSE_BAD_MESSAGE, message=str(err).encode()[:120])
                    break
        finally:
            sender.cancel()
            socket.close_all()
            sockets.discard(socket)
            for remove in closing:
                remove()
        return response


@callback
def frame_sockets_watching(hass: HomeAssistant, entry_id: str) -> int:
    """Return how many open pages show a camera of hub `entry_id`."""
    return sum(
        1 for socket in hass.data.get(DATA_FRAME_SOCKETS, ()) if socket.watches_hub(entry_id)
    )
