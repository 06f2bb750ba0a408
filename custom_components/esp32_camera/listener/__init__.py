"""The device listener: aiohttp WebSocket endpoints and camera records (no Home Assistant)."""

from .camera_record import (
    CameraNotAdmittedError,
    CameraRecord,
    CommandResult,
    CommandTimeoutError,
    ListenerBindError,
    ListenerError,
    UnknownCameraError,
)
from .server import (
    CLOSE_LIVENESS,
    CLOSE_REFUSED,
    CLOSE_TOO_MANY,
    CLOSE_WRONG_TOKEN,
    DeviceListener,
    ListenerObserver,
    PendingOverflowObserver,
    bind_hosts,
    canonical_address,
    host_has_ipv6,
    request_token,
)
from .settings import Admission, ListenerSettings

__all__ = [
    "CLOSE_LIVENESS",
    "CLOSE_REFUSED",
    "CLOSE_TOO_MANY",
    "CLOSE_WRONG_TOKEN",
    "Admission",
    "CameraNotAdmittedError",
    "CameraRecord",
    "CommandResult",
    "CommandTimeoutError",
    "DeviceListener",
    "ListenerBindError",
    "ListenerError",
    "ListenerObserver",
    "ListenerSettings",
    "PendingOverflowObserver",
    "UnknownCameraError",
    "bind_hosts",
    "canonical_address",
    "host_has_ipv6",
    "request_token",
]
