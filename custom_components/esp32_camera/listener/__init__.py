"""The device listener: aiohttp WebSocket endpoints and camera records (no Home Assistant)."""

from .camera import (
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
    CLOSE_WRONG_TOKEN,
    DeviceListener,
    ListenerObserver,
    canonical_address,
    request_token,
)
from .settings import Admission, ListenerSettings

__all__ = [
    "CLOSE_LIVENESS",
    "CLOSE_REFUSED",
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
    "UnknownCameraError",
    "canonical_address",
    "request_token",
]
