"""The hub's dispatcher signals, typed by what they carry.

Names are paths separated by `/`, a character no camera id can contain (ids match
`[a-z0-9][a-z0-9_.-]{0,63}` or are IPv4/IPv6 addresses) nor an entry id: a camera whose id is
`camera_added`, `hub` or `garden_saver` has signals of its own, never another's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.util.signal_type import SignalType

from ..const import DOMAIN

if TYPE_CHECKING:
    from ..listener import CameraRecord
    from ..motion import MotionEvent


def _camera(entry_id: str, camera_id: str) -> str:
    return f"{DOMAIN}/{entry_id}/camera/{camera_id}"


def camera_updated(entry_id: str, camera_id: str) -> SignalType[()]:
    """Sent when one camera's entities should write their state (throttled while frames flow)."""
    return SignalType(_camera(entry_id, camera_id))


def saver_updated(entry_id: str, camera_id: str) -> SignalType[()]:
    """Sent when a camera's saving counters change (throttled)."""
    return SignalType(f"{_camera(entry_id, camera_id)}/saver")


def saver_settings_updated(entry_id: str, camera_id: str) -> SignalType[()]:
    """Sent at once when a camera's saving is turned on or off or its rate changes."""
    return SignalType(f"{_camera(entry_id, camera_id)}/saver_settings")


def motion_event(entry_id: str, camera_id: str) -> SignalType[MotionEvent]:
    """Sent at once when motion starts or ends at a camera."""
    return SignalType(f"{_camera(entry_id, camera_id)}/motion")


def motion_settings_updated(entry_id: str, camera_id: str) -> SignalType[()]:
    """Sent at once when a camera's motion settings change."""
    return SignalType(f"{_camera(entry_id, camera_id)}/motion_settings")


def recording_settings_updated(entry_id: str, camera_id: str) -> SignalType[()]:
    """Sent at once when a camera's clip recording settings change."""
    return SignalType(f"{_camera(entry_id, camera_id)}/recording_settings")


def camera_added(entry_id: str) -> SignalType[CameraRecord]:
    """Sent with a camera that was admitted (its entities are created if they do not exist)."""
    return SignalType(f"{DOMAIN}/{entry_id}/camera_added")


def camera_removed(entry_id: str) -> SignalType[str]:
    """Sent with the id of a camera the user removed (its device is gone)."""
    return SignalType(f"{DOMAIN}/{entry_id}/camera_removed")


def hub_updated(entry_id: str) -> SignalType[()]:
    """Sent when the hub device's entities should write their state (throttled)."""
    return SignalType(f"{DOMAIN}/{entry_id}/hub")
