"""One description of a camera, for the panel's WebSocket, the HTTP API and diagnostics.

Times are milliseconds since the epoch (the browser's clock unit); settings are wire values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.auth.models import User
from homeassistant.helpers import entity_registry as er

from ..const import DOMAIN
from ..hub.camera_settings import is_reported, offered_actions
from ..hub.clock import wall_clock_ms
from ..hub.devices import camera_entity_id, camera_unique_id
from ..protocol import COMMANDS, CommandKind

if TYPE_CHECKING:
    from ..hub.hub import Esp32CameraHub
    from ..listener import CameraRecord

# Where the cameras are on the network and where images go on disk: for administrators.
ADMIN_ONLY_FIELDS = frozenset({"address", "ip", "directory", "last_saved_path"})

# The motion entities the panel and the card show and switch: (platform, description key).
MOTION_ENTITIES = (
    ("binary_sensor", "motion"),
    ("switch", "motion_detection"),
    ("switch", "record_on_motion"),
)

# Commands that are settings (not actions such as reboot): what a camera's payload shows.
SETTINGS = tuple(name for name, spec in COMMANDS.items() if spec.kind is not CommandKind.NONE)


def for_user(payload: Any, user: User | None) -> Any:
    """Return `payload` as `user` may see it: addresses and paths are None unless an administrator."""
    if user is not None and user.is_admin:
        return payload
    return _without_admin_fields(payload)


def _without_admin_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: None if key in ADMIN_ONLY_FIELDS else _without_admin_fields(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_admin_fields(item) for item in value]
    return value


def camera_payload(
    hub: Esp32CameraHub, camera: CameraRecord, registry: er.EntityRegistry
) -> dict[str, Any]:
    """Describe one camera: identity, connection, stream, telemetry, settings, saving, zones, clips."""
    health, info, response = camera.health, camera.info, camera.last_response
    saver = hub.saver
    frame = camera.latest_frame
    camera_id = camera.camera_id
    settings = {
        name: value
        for name in SETTINGS
        if (value := hub.settings.current(camera_id, name)) is not None
    }
    return {
        "entry_id": hub.entry.entry_id,
        "camera_id": camera_id,
        "name": hub.camera_name(camera),  # as its device shows it: a rename follows
        "address": camera.address,
        "admission": str(camera.admission),
        "admitted": camera.admitted,
        "connected": camera.connected,
        "connected_since": wall_clock_ms(camera.connected_since) if camera.connected else None,
        "reconnects": camera.reconnects,
        "firmware": camera.firmware,
        "entity_id": camera_entity_id(registry, hub.entry.entry_id, camera_id),
        "stats": camera.stats.as_dict(),
        "last_frame_at": wall_clock_ms(frame.completed_at) if frame else None,
        # What the camera runs, where known (else what was chosen), and what the user chose; a
        # setting left out is unknown (the camera does not report it and it was never set).
        "settings": settings,
        "settings_chosen": dict(hub.settings.chosen(camera_id)),
        # Of those, the ones the camera never reports: the value last set from Home Assistant,
        # as its entity shows it (assumed state).
        "settings_last_set": sorted(name for name in settings if not is_reported(name)),
        # The actions its firmware takes (no sensor_reset for the stock firmware).
        "actions": list(offered_actions(camera)),
        "queued_commands": camera.queued_commands,
        "info": None if info is None else {"mode": info.mode, "fps": info.fps},
        "health": None
        if health is None
        else {
            "frames": health.frames,
            "dropped": health.dropped,
            "heap": health.heap,
            "min_heap": health.min_heap,
            "rssi": health.rssi,
            "uptime": health.uptime.total_seconds() if health.uptime else None,
            "ip": health.ip,
            "model": health.model,
            "resolution": health.resolution.index if health.resolution else None,
            "resolution_text": health.resolution_text,
            "quality": health.quality,
        },
        "last_status": camera.last_status,
        "last_response": None
        if response is None
        else {"command": response.cmd, "ok": response.ok, "value": response.value},
        "saver": {
            "enabled": saver.is_enabled(camera_id),
            "max_rate": saver.max_rate(camera_id),
            **saver.counters(camera_id).as_dict(),
        },
        # The panel draws them over the video.
        "motion": hub.motion.areas(camera_id),
        # The panel's and card's badge, lit zones and switches (HA's switch services on these).
        "motion_now": {
            **hub.motion.live_state(camera_id),
            "record_on_motion": hub.clips.settings(camera_id).record,
            "entities": {
                key: registry.async_get_entity_id(
                    platform, DOMAIN, camera_unique_id(hub.entry.entry_id, camera_id, key)
                )
                for platform, key in MOTION_ENTITIES
            },
        },
        # The panel reads its clip list again when a clip or its MP4 is written.
        "clips": hub.clips.figures(camera_id),
    }
