"""WebSocket commands of the panel and the card (`esp32_camera/...`).

- `cameras`: every camera of every loaded hub, with its telemetry, settings and saver counters.
- `subscribe`: the same, pushed whenever it changed, at most every `STATS_INTERVAL`.
- The pictures themselves go over the page's binary frame socket (views/frame_socket.py), not
  over this connection: no base64, and every camera at its own rate.
- `command`, `saver` and `motion_zones` change a camera: administrators only (permissions.py);
  `gallery` lists saved images and counts them by date and hour; `clips` lists recorded clips
  (any signed-in user: they only read).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
import functools
import json
import time
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_call_later
import probatio

from .const import DOMAIN
from .hub.clock import wall_clock_ms
from .hub.hub import hub_of_camera, loaded_hubs
from .hub.motion_detection import ZONE_LIMITS
from .hub.permissions import admin_websocket_command
from .protocol import COMMANDS, DEFAULT_RESOLUTION, command_table, resolution_table
from .views.camera_payload import camera_payload, for_user
from .views.clip_replay import async_list_clips
from .views.frame_socket import frame_sockets_watching
from .views.saved_images import async_list_saved_images

if TYPE_CHECKING:
    from .hub.hub import Esp32CameraHub

# Live statistics are pushed at most this often (seconds).
STATS_INTERVAL = 1.0
GALLERY_LIMIT = 24
CLIPS_LIMIT = 24

# Commands that are settings (the others are actions such as reboot).


@callback
def async_setup(hass: HomeAssistant) -> None:
    """Register the commands (once per Home Assistant run)."""
    for command in (
        ws_cameras,
        ws_subscribe,
        ws_command,
        ws_saver,
        ws_motion_zones,
        ws_gallery,
        ws_clips,
    ):
        async_register_command(hass, command)


# Payloads ------------------------------------------------------------------------------------


# When each hub started listening, converted once: the panel renews its frame feed when it changes.
_hub_started: WeakKeyDictionary[Esp32CameraHub, float | None] = WeakKeyDictionary()


def hub_started_ms(hub: Esp32CameraHub) -> float | None:
    """Return when `hub` started listening (epoch ms), the same value every time."""
    if hub not in _hub_started:
        _hub_started[hub] = wall_clock_ms(hub.started_at)
    return _hub_started[hub]


def cameras_payload(hass: HomeAssistant) -> dict[str, Any]:
    """Return every camera and hub as the panel shows them."""
    registry = er.async_get(hass)
    hubs = loaded_hubs(hass)
    return {
        "hubs": [
            {
                "entry_id": hub.entry.entry_id,
                "title": hub.entry.title,
                "started_at": hub_started_ms(hub),
                "stats": hub.hub_statistics(),
                "saver": {"state": hub.saver.state, "error": hub.saver.problem},
                # Pages showing a camera of the hub (views/frame_socket.py).
                "frame_subscribers": frame_sockets_watching(hass, hub.entry.entry_id),
            }
            for hub in hubs
        ],
        "cameras": sorted(
            (
                camera_payload(hub, camera, registry)
                for hub in hubs
                for camera in hub.cameras.values()
                if camera.admitted
            ),
            key=lambda camera: (camera["name"].lower(), camera["camera_id"]),
        ),
    }


# Commands ------------------------------------------------------------------------------------


@websocket_command({probatio.Required("type"): f"{DOMAIN}/cameras"})
@callback
def ws_cameras(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """List the cameras, the resolution and command tables, and the hub's clock."""
    connection.send_result(
        msg["id"],
        {
            **for_user(cameras_payload(hass), connection.user),
            # The panel estimates its clock offset from this and the round trip (latency display).
            "now": round(time.time() * 1000),
            "resolutions": resolution_table()["resolutions"],
            "default_resolution": DEFAULT_RESOLUTION.index,
            "commands": command_table(),
            "zone_limits": ZONE_LIMITS,
        },
    )


@websocket_command({probatio.Required("type"): f"{DOMAIN}/subscribe"})
@callback
def ws_subscribe(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Push the cameras' state now and whenever it changed, at most every STATS_INTERVAL."""
    last_sent: str | None = None
    cancel: CALLBACK_TYPE | None = None

    @callback
    def push(_now: datetime | None = None) -> None:
        nonlocal last_sent, cancel
        payload = for_user(cameras_payload(hass), connection.user)
        text = json.dumps(payload, sort_keys=True, default=str)
        if text != last_sent:
            last_sent = text
            connection.send_message(event_message(msg["id"], payload))
        cancel = async_call_later(hass, STATS_INTERVAL, push)

    @callback
    def unsubscribe() -> None:
        if cancel is not None:
            cancel()

    connection.subscriptions[msg["id"]] = unsubscribe
    connection.send_result(msg["id"])
    push()


type _CameraHandler = Callable[
    [ActiveConnection, dict[str, Any], Esp32CameraHub, str], Coroutine[Any, Any, None]
]


def _about_a_camera(
    handler: _CameraHandler,
) -> Callable[[HomeAssistant, ActiveConnection, dict[str, Any]], Coroutine[Any, Any, None]]:
    """Run a command about one camera with the hub that knows it (else `unknown_camera`)."""

    @functools.wraps(handler)
    async def with_hub(
        hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
    ) -> None:
        camera_id: str = msg["camera_id"]
        await handler(connection, msg, hub_of_camera(hass, camera_id), camera_id)

    return with_hub


def _camera_command(command: str, fields: dict[Any, Any]) -> dict[Any, Any]:
    """Return the schema of a command about one camera: its type, `camera_id`, then `fields`."""
    return {
        probatio.Required("type"): f"{DOMAIN}/{command}",
        probatio.Required("camera_id"): str,
        **fields,
    }


@websocket_command(
    _camera_command(
        "command",
        {
            probatio.Required("command"): probatio.In(list(COMMANDS)),
            probatio.Optional("value"): probatio.Any(str, int, float, bool, None),
        },
    )
)
@admin_websocket_command
@async_response
@_about_a_camera
async def ws_command(
    connection: ActiveConnection, msg: dict[str, Any], hub: Esp32CameraHub, camera_id: str
) -> None:
    """Send a command to a camera (admin only); errors arrive translated."""
    result = await hub.async_send_command(camera_id, msg["command"], msg.get("value"))
    connection.send_result(
        msg["id"], {"ok": result.ok, "value": result.value, "queued": result.queued}
    )


@websocket_command(_camera_command("saver", {probatio.Required("enabled"): bool}))
@admin_websocket_command
@async_response
@_about_a_camera
async def ws_saver(
    connection: ActiveConnection, msg: dict[str, Any], hub: Esp32CameraHub, camera_id: str
) -> None:
    """Turn continuous saving of one camera on or off (admin only); answered once stored."""
    await hub.async_set_saving(camera_id, msg["enabled"])
    connection.send_result(msg["id"], {"enabled": hub.saver.is_enabled(camera_id)})


@websocket_command(
    _camera_command(
        "motion_zones",
        # Each {"name": str, "points": [[x, y], ...]}: checked by the hub, with translated errors.
        {probatio.Required("zones"): [dict], probatio.Required("mask"): [dict]},
    )
)
@admin_websocket_command
@async_response
@_about_a_camera
async def ws_motion_zones(
    connection: ActiveConnection, msg: dict[str, Any], hub: Esp32CameraHub, camera_id: str
) -> None:
    """Replace a camera's motion zones and mask areas (admin only); answer what is kept."""
    await hub.motion.async_set_areas(camera_id, msg["zones"], msg["mask"])
    connection.send_result(msg["id"], hub.motion.areas(camera_id))


def _newest_of_a_camera(command: str, default_limit: int) -> dict[Any, Any]:
    """Return the schema of a list command: one camera, its newest items (1 to 200)."""
    limit = probatio.All(int, probatio.Range(min=1, max=200))
    return _camera_command(command, {probatio.Optional("limit", default=default_limit): limit})


async def _newest_images(hub: Esp32CameraHub, camera_id: str, limit: int) -> dict[str, Any]:
    """Return the newest saved images of a camera (signed URLs) and its counts by date, hour."""
    images = await async_list_saved_images(hub.hass, hub, camera_id, limit)
    return {"images": images, "counts": hub.saver.saved_counts(camera_id)}


async def _newest_clips(hub: Esp32CameraHub, camera_id: str, limit: int) -> dict[str, Any]:
    """Return a camera's newest clips (start, reason, duration; signed replay, MP4, thumbnail)."""
    return await async_list_clips(hub.hass, hub, camera_id, limit)


def _list_command(
    command: str,
    default_limit: int,
    list_newest: Callable[[Esp32CameraHub, str, int], Coroutine[Any, Any, dict[str, Any]]],
) -> Callable[[HomeAssistant, ActiveConnection, dict[str, Any]], None]:
    """Return a read-only command that answers what `list_newest` lists of one camera."""

    @websocket_command(_newest_of_a_camera(command, default_limit))
    @async_response
    @_about_a_camera
    async def list_command(
        connection: ActiveConnection, msg: dict[str, Any], hub: Esp32CameraHub, camera_id: str
    ) -> None:
        connection.send_result(msg["id"], await list_newest(hub, camera_id, msg["limit"]))

    return list_command


ws_gallery = _list_command("gallery", GALLERY_LIMIT, _newest_images)
ws_clips = _list_command("clips", CLIPS_LIMIT, _newest_clips)
