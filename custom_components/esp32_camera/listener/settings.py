"""Settings of the device listener."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network

from ..protocol import DEFAULT_FRAME_TIMEOUT, DEFAULT_MAX_FRAME_SIZE


class Admission(StrEnum):
    """Why a camera's frames are used, or that they are not yet."""

    TOKEN = "token"  # noqa: S105 - the admission kind, not a secret
    APPROVED = "approved"
    TRUSTED_NETWORK = "trusted_network"
    PENDING = "pending"
    RESTORED = "restored"
    """Known from an earlier run and not connected since: it keeps its entities and its commands
    queue, and its next connection is admitted afresh (token, approval or trusted network)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ListenerSettings:
    """What the hub's config entry decides for the listener."""

    token: str
    host: str = "0.0.0.0"  # noqa: S104 - the cameras dial in from the LAN
    stream_port: int = 6972
    control_port: int = 6971
    approved_addresses: frozenset[str] = frozenset()
    rejected_addresses: frozenset[str] = frozenset()
    allow_tokenless: bool = True
    trusted_networks: tuple[IPv4Network | IPv6Network, ...] = ()
    frame_timeout: float = DEFAULT_FRAME_TIMEOUT
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    liveness_timeout: float = 30.0
    command_timeout: float = 5.0
    command_queue_size: int = 16
    frame_budget: int = 64 * 1024 * 1024
    """Bytes of unfinished chunked frames held across all connections (at least max_frame_size)."""
    pending_frame_size: int = 256 * 1024
    """Largest frame and message of a connection that is not admitted: one preview, not a 3 MP
    buffer. The stock firmware's messages are at most 30,000 B, chunks included."""
    pending_text_size: int = 4096
    """Largest text message of a connection not yet admitted (every connection before its first
    message): the stock firmware's `register`, `info` and `health` are under 600 B, a rebuilt
    firmware's `register` under 1 KiB. Larger closes the socket (1009), unparsed."""
    pending_messages_per_second: float = 100.0
    """Text messages read per second (burst: as many) from the connections of one source (IPv4
    address, IPv6 /64) not yet admitted; one more closes its socket (1008), unread. The firmware
    sends 2 per frame of 10-30 kB (at most 60 a second at 30 fps) and 3 at connect; a stranger
    must not have the event loop parse (or read) for it at will."""
    max_cameras: int = 128
    """Cameras a hub knows (admitted and restored): a connection naming a new id beyond them (the
    token's, a trusted network's, an approved address's) is refused with 4429. Each one is a
    device and its entities in Home Assistant: a leaked token must not make them without end."""
    max_pending_cameras: int = 32
    """Cameras waiting for approval at once (one per address); more are refused with 4429."""
    max_connections: int = 256
    """Open connections of both ports together; a known camera's address is never refused by it."""
    max_connections_per_source: int = 16
    """Open connections from one IPv4 address or one IPv6 /64 (one host's share)."""
    new_connections_per_second: float = 50.0
    """New connections accepted per second (burst: as many) from addresses that are not a known
    camera's; a camera reconnects within seconds, a flood of attempts costs nothing."""
    upgrade_timeout: float = 5.0
    """Seconds for a new connection to send its whole HTTP request (the WebSocket upgrade)."""
    register_timeout: float = 10.0
    """Seconds for an upgraded connection to send its first message or frame."""
    pending_idle_timeout: float = 30.0
    """Seconds a connection that is not admitted may send nothing but pings."""
