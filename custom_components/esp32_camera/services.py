"""Actions: `snapshot`, `record` (camera entities) and `send_command` (raw commands).

They are registered once in `async_setup` (quality-scale rule action-setup) and find their hub per
call, so they exist, and fail with a clear message, while no hub is loaded. The snapshot and the
record action write files by the same rules (`_async_chosen_path`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import os
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    service,
    target as target_helpers,
)
from homeassistant.helpers.template import Template
from homeassistant.helpers.typing import VolDictType
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
import probatio

from .clips_hub import MAX_CLIP_SECONDS, RING_SECONDS
from .const import DOMAIN, LOGGER
from .devices import camera_id_of_device
from .hub import Esp32CameraHub, loaded_hubs
from .permissions import async_check_admin
from .protocol import (
    COMMANDS,
    RESOLUTIONS,
    CommandValidationError,
    Frame,
    Resolution,
    jpeg_dimensions,
    resolution_by_index,
    resolution_by_key,
    resolution_by_size,
    wire_value,
)
from .storage import clips_directory, is_inside, snapshot_path, write_file_atomic

if TYPE_CHECKING:
    from .camera import Esp32Camera

SERVICE_SNAPSHOT: Final = "snapshot"
SERVICE_SEND_COMMAND: Final = "send_command"
SERVICE_RECORD: Final = "record"

ATTR_FILENAME: Final = "filename"
ATTR_FRESH: Final = "fresh"
ATTR_RESOLUTION: Final = "resolution"
ATTR_TIMEOUT: Final = "timeout"
ATTR_CAMERA_ID: Final = "camera_id"
ATTR_COMMAND: Final = "command"
ATTR_VALUE: Final = "value"
ATTR_DURATION: Final = "duration"
ATTR_PRE_ROLL: Final = "pre_roll"

DEFAULT_TIMEOUT: Final = 10.0
RESOLUTION_COMMAND: Final = "resolution"

SNAPSHOT_SCHEMA: Final[VolDictType] = {
    probatio.Optional(ATTR_FILENAME): cv.template,
    probatio.Optional(ATTR_FRESH, default=False): cv.boolean,
    probatio.Optional(ATTR_RESOLUTION): cv.string,
    probatio.Optional(ATTR_TIMEOUT, default=DEFAULT_TIMEOUT): probatio.All(
        probatio.Coerce(float), probatio.Range(min=1, max=120)
    ),
}

RECORD_SCHEMA: Final[VolDictType] = {
    probatio.Optional(ATTR_FILENAME): cv.template,
    probatio.Optional(ATTR_DURATION, default=10.0): probatio.All(
        probatio.Coerce(float), probatio.Range(min=1, max=MAX_CLIP_SECONDS)
    ),
    # Default: the camera's clip pre-roll (a number entity).
    probatio.Optional(ATTR_PRE_ROLL): probatio.All(
        probatio.Coerce(float), probatio.Range(min=0, max=RING_SECONDS)
    ),
}
CLIP_SUFFIX: Final = ".avi"

SEND_COMMAND_SCHEMA: Final = probatio.Schema(
    {
        **cv.TARGET_SERVICE_FIELDS,
        probatio.Optional(ATTR_CAMERA_ID): probatio.All(cv.string, probatio.Lower),
        probatio.Required(ATTR_COMMAND): probatio.All(cv.string, probatio.Lower),
        probatio.Optional(ATTR_VALUE): cv.string,
    }
)

# A snapshot at another resolution switches the camera and back: one at a time per camera.
_RESOLUTION_LOCKS: HassKey[dict[tuple[str, str], asyncio.Lock]] = HassKey(
    f"{DOMAIN}_resolution_locks"
)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_SNAPSHOT,
        entity_domain=Platform.CAMERA,
        schema=SNAPSHOT_SCHEMA,
        func=_async_snapshot,
        supports_response=SupportsResponse.OPTIONAL,
    )
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_RECORD,
        entity_domain=Platform.CAMERA,
        schema=RECORD_SCHEMA,
        func=_async_record,
        supports_response=SupportsResponse.OPTIONAL,
    )
    # It changes a camera (reboot included): administrators only, as HA core's admin services;
    # automations and scripts run without a user and still may.
    service.async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_SEND_COMMAND,
        _async_send_command,
        schema=SEND_COMMAND_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


# snapshot ---------------------------------------------------------------------------------------


async def _async_snapshot(entity: Esp32Camera, call: ServiceCall) -> ServiceResponse:
    """Save a frame of one camera atomically; return the file, its size and dimensions."""
    called_at = time.monotonic()
    hass, hub, camera_id = call.hass, entity.hub, entity.camera.camera_id
    timeout: float = call.data[ATTR_TIMEOUT]
    deadline = called_at + timeout
    resolution = _parse_resolution(call.data.get(ATTR_RESOLUTION))
    if resolution is not None:  # the camera switches for a moment: a setting (permissions.py)
        await async_check_admin(hass, call.context, f"{DOMAIN}.snapshot resolution")
    directory = Path(hub.save_directory)
    path = await _async_chosen_path(
        hass, call.data, entity_id=entity.entity_id, camera_id=camera_id, directory=directory
    ) or await _async_allowed(hass, snapshot_path(directory, camera_id, dt_util.now()))

    if resolution is not None:
        frame = await _async_frame_at_resolution(hass, hub, camera_id, resolution, deadline)
    elif call.data[ATTR_FRESH]:
        frame = await _async_frame_started_after(hub, camera_id, called_at, deadline)
    else:
        frame = await hub.frames.async_latest_frame(camera_id, timeout=timeout)
    if frame is None:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="snapshot_timeout",
            translation_placeholders={"camera_id": camera_id, "timeout": f"{timeout:g}"},
        )
    try:
        await hass.async_add_executor_job(write_file_atomic, path, frame.data)
    except OSError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="snapshot_write_failed",
            translation_placeholders={"path": str(path), "error": str(err)},
        ) from err
    # Counted with the saved images when it is in the camera's snapshot folder ("save now").
    hub.saver.async_snapshot_saved(camera_id, path, len(frame.data))
    width, height = _dimensions(frame) or (None, None)
    LOGGER.debug("Saved a snapshot of %s to %s", camera_id, path)
    return {"path": str(path), "size": len(frame.data), "width": width, "height": height}


async def _async_chosen_path(
    hass: HomeAssistant,
    data: dict[str, Any],
    *,
    entity_id: str,
    camera_id: str,
    directory: Path,
    suffix: str | None = None,
) -> Path | None:
    """Return the file of the `filename` template (None without one), checked.

    Variables `entity_id` and `camera_id`. A relative name goes into `directory` and must stay
    there (no `..` out of it, no link below it leading elsewhere); any name must be allowed. With
    `suffix`, the name must end in it.
    """
    template: Template | None = data.get(ATTR_FILENAME)
    if template is None:
        return None
    rendered = str(
        template.async_render({"entity_id": entity_id, "camera_id": camera_id}, parse_result=False)
    ).strip()
    if not rendered or rendered.endswith("/"):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_filename",
            translation_placeholders={"filename": rendered},
        )
    if suffix is not None and not rendered.lower().endswith(suffix):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_file_extension",
            translation_placeholders={"filename": rendered, "extension": suffix},
        )
    # An absolute name replaces the directory.
    relative = not Path(rendered).is_absolute()
    return await _async_allowed(hass, directory / rendered, directory if relative else None)


async def _async_allowed(hass: HomeAssistant, path: Path, inside: Path | None = None) -> Path:
    """Return `path` (`a/../b` as `b`) if it is allowed and, with `inside`, stays inside it."""

    def check() -> Path | None:
        # normpath, like is_allowed_path and is_inside, on the file system's terms: executor.
        normal = Path(os.path.normpath(path))
        allowed = hass.config.is_allowed_path(str(normal))
        return normal if allowed and (inside is None or is_inside(normal, inside)) else None

    if (checked := await hass.async_add_executor_job(check)) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_not_allowed",
            translation_placeholders={"path": str(path)},
        )
    return checked


def _parse_resolution(value: str | None) -> Resolution | None:
    """Return the resolution of a key (`uxga`), name (`UXGA`) or index (`10`); None for none."""
    if value is None:
        return None
    resolution = (
        resolution_by_index(int(value)) if value.strip().isdigit() else resolution_by_key(value)
    )
    if resolution is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_resolution",
            translation_placeholders={
                "resolution": value,
                "options": ", ".join(resolution.key for resolution in RESOLUTIONS),
            },
        )
    return resolution


def _dimensions(frame: Frame) -> tuple[int, int] | None:
    """Return the frame's size: from its `img_start` header, else from the JPEG's SOF."""
    if frame.width is not None and frame.height is not None:
        return frame.width, frame.height
    return jpeg_dimensions(frame.data)


async def _async_frame_started_after(
    hub: Esp32CameraHub,
    camera_id: str,
    started_after: float,
    deadline: float,
    accept: Callable[[Frame], bool] = lambda _frame: True,
) -> Frame | None:
    """Return the first accepted frame whose transfer started after `started_after`, by `deadline`.

    Both are monotonic times. A frame in transfer when the action was called completes after that moment but shows the
    scene from before it: it is skipped.
    """
    newer_than = started_after
    while (remaining := deadline - time.monotonic()) > 0:
        frame = await hub.frames.async_wait_for_frame(
            camera_id, newer_than=newer_than, timeout=remaining
        )
        if frame is None:
            return None
        if frame.started_at > started_after and accept(frame):
            return frame
        newer_than = frame.completed_at
    return None


async def _async_frame_at_resolution(
    hass: HomeAssistant,
    hub: Esp32CameraHub,
    camera_id: str,
    resolution: Resolution,
    deadline: float,
) -> Frame | None:
    """Switch the camera to `resolution`, take its first frame there, and switch it back."""
    locks = hass.data.setdefault(_RESOLUTION_LOCKS, {})
    async with locks.setdefault((hub.entry.entry_id, camera_id), asyncio.Lock()):
        previous = await _async_current_resolution(hub, camera_id, deadline)
        if previous is None:
            return None
        switched_at = time.monotonic()

        def at_resolution(frame: Frame) -> bool:
            return _dimensions(frame) == (resolution.width, resolution.height)

        if previous == resolution:
            return await _async_frame_started_after(
                hub, camera_id, switched_at, deadline, at_resolution
            )
        try:
            # A detour, not the user's choice: what is re-applied after a reboot stays as it was.
            await hub.async_send_command(
                camera_id, RESOLUTION_COMMAND, resolution.index, choose=False
            )
            return await _async_frame_started_after(
                hub, camera_id, switched_at, deadline, at_resolution
            )
        finally:
            # Shielded: a cancelled action must still leave the camera as it was.
            await asyncio.shield(_async_restore_resolution(hub, camera_id, previous))


async def _async_current_resolution(
    hub: Esp32CameraHub, camera_id: str, deadline: float
) -> Resolution | None:
    """Return the resolution the camera streams at: as reported or set, or of its latest frame."""
    if (current := hub.settings.current(camera_id, RESOLUTION_COMMAND)) is not None:
        return resolution_by_index(int(current))
    frame = await hub.frames.async_latest_frame(camera_id, timeout=deadline - time.monotonic())
    size = None if frame is None else _dimensions(frame)
    return None if size is None else resolution_by_size(*size)


async def _async_restore_resolution(
    hub: Esp32CameraHub, camera_id: str, previous: Resolution
) -> None:
    try:
        await hub.async_send_command(camera_id, RESOLUTION_COMMAND, previous.index, choose=False)
    except HomeAssistantError as err:
        LOGGER.warning(
            "Could not switch %s back to %s after the snapshot: %s", camera_id, previous.name, err
        )


# record -----------------------------------------------------------------------------------------


async def _async_record(entity: Esp32Camera, call: ServiceCall) -> ServiceResponse:
    """Record a clip of one camera (pre-roll from its ring); return it once written."""
    hass, hub, camera_id = call.hass, entity.hub, entity.camera.camera_id
    directory = clips_directory(hub.save_directory, camera_id)
    path = await _async_chosen_path(
        hass,
        call.data,
        entity_id=entity.entity_id,
        camera_id=camera_id,
        directory=directory,
        suffix=CLIP_SUFFIX,
    )
    if path is None:  # the default layout, in the camera's clips folder
        await _async_allowed(hass, directory)
    save_directory = Path(hub.save_directory)
    pre_roll: float = call.data.get(ATTR_PRE_ROLL, hub.clips.settings(camera_id).pre_roll)
    result = await hub.clips.async_record(
        camera_id,
        duration=call.data[ATTR_DURATION],
        pre_roll=pre_roll,
        path=path,
        # Inside the save directory, no link below it is followed while writing.
        root=save_directory if path is not None and path.is_relative_to(save_directory) else None,
    )
    LOGGER.debug("Recorded a clip of %s to %s", camera_id, result.info.path)
    return result.as_dict()


# send_command -----------------------------------------------------------------------------------


async def _async_send_command(call: ServiceCall) -> ServiceResponse:
    """Send a validated command to every targeted camera; return each camera's answer."""
    command: str = call.data[ATTR_COMMAND]
    value: str | None = call.data.get(ATTR_VALUE)
    if command not in COMMANDS:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_command",
            translation_placeholders={"command": command, "commands": ", ".join(COMMANDS)},
        )
    try:
        wire_value(command, value)  # before any camera is sent anything
    except CommandValidationError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_command_value",
            translation_placeholders={"command": command, "error": str(err)},
        ) from err
    targets = _targeted_cameras(call)
    results = await asyncio.gather(
        *(hub.async_send_command(camera_id, command, value) for camera_id, hub in targets.items()),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return {
        "cameras": {
            camera_id: {"ok": result.ok, "value": result.value, "queued": result.queued}
            for camera_id, result in zip(targets, results, strict=True)
            if not isinstance(result, BaseException)
        }
    }


def _targeted_cameras(call: ServiceCall) -> dict[str, Esp32CameraHub]:
    """Return the cameras of the `camera_id` field and of the targeted devices and entities.

    Targeting the hub device targets every admitted camera of that hub.
    """
    hass = call.hass
    hubs = loaded_hubs(hass)
    if not hubs:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")
    found: dict[str, Esp32CameraHub] = {}
    if (camera_id := call.data.get(ATTR_CAMERA_ID)) is not None:
        hub = next((hub for hub in hubs if camera_id in hub.cameras), None)
        if hub is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_camera",
                translation_placeholders={"camera_id": camera_id},
            )
        found[camera_id] = hub

    selection = target_helpers.TargetSelection(call.data)
    selected = target_helpers.async_extract_referenced_entity_ids(hass, selection)
    entity_registry, device_registry = er.async_get(hass), dr.async_get(hass)
    device_ids = set(selected.referenced_devices)
    for entity_id in selected.referenced | selected.indirectly_referenced:
        if (entry := entity_registry.async_get(entity_id)) and entry.platform == DOMAIN:
            device_ids.add(entry.device_id or "")
    by_entry = {hub.entry.entry_id: hub for hub in hubs}
    for device_id in device_ids:
        if (device := device_registry.async_get(device_id)) is None:
            continue
        for entry_id in device.config_entries & by_entry.keys():
            hub = by_entry[entry_id]
            camera_id = camera_id_of_device(device, entry_id)
            if camera_id is None:  # the hub device: all its admitted cameras
                found.update((c.camera_id, hub) for c in hub.cameras.values() if c.admitted)
            elif camera_id in hub.cameras:
                found[camera_id] = hub
    if not found:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_camera_targeted"
        )
    return dict(sorted(found.items()))
