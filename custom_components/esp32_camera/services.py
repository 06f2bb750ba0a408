"""Actions: `snapshot`, `record` (camera entities) and `send_command` (raw commands).

They are registered once in `async_setup` (quality-scale rule action-setup) and find their hub per
call, so they exist, and fail with a clear message, while no hub is loaded. The snapshot and the
record action write files by the same rules (`_async_chosen_path`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
from functools import partial
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

from .const import CONF_ALLOW_SERVED_FILES, DOMAIN, LOGGER
from .disk.layout import clips_directory, folder_holding, is_inside, snapshot_path
from .disk.writing import Reservation, release_file, reserve_file, write_file_atomic
from .hub.clip_recording import MAX_CLIP_SECONDS
from .hub.devices import camera_id_of_device
from .hub.hub import Esp32CameraHub, camera_on_several_hubs, hub_of_camera, loaded_hubs
from .hub.options import served_directories
from .hub.permissions import async_caller, check_admin, has_admin_reach
from .hub.recording_settings import RING_SECONDS
from .listener import CommandResult
from .protocol import (
    COMMANDS,
    RESOLUTIONS,
    CommandValidationError,
    Frame,
    Resolution,
    resolution_by_index,
    resolution_by_key,
    resolution_by_size,
    wire_value,
)

if TYPE_CHECKING:
    from homeassistant.auth.models import User

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
ATTR_OVERWRITE: Final = "overwrite"

DEFAULT_TIMEOUT: Final = 10.0
RESOLUTION_COMMAND: Final = "resolution"

SNAPSHOT_SCHEMA: Final[VolDictType] = {
    probatio.Optional(ATTR_FILENAME): cv.template,
    probatio.Optional(ATTR_FRESH, default=False): cv.boolean,
    probatio.Optional(ATTR_RESOLUTION): cv.string,
    probatio.Optional(ATTR_TIMEOUT, default=DEFAULT_TIMEOUT): probatio.All(
        probatio.Coerce(float), probatio.Range(min=1, max=120)
    ),
    probatio.Optional(ATTR_OVERWRITE, default=False): cv.boolean,
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
    probatio.Optional(ATTR_OVERWRITE, default=False): cv.boolean,
}
# A file's type follows its name when it is served (www/, media): only these, whatever the case.
SNAPSHOT_SUFFIXES: Final = (".jpg", ".jpeg")
CLIP_SUFFIXES: Final = (".avi", ".mp4")  # `.mp4` names the clip: its AVI is written beside it
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
    # Actions of a camera entity: what a household member may do (permissions.py).
    for name, schema, func in (
        (SERVICE_SNAPSHOT, SNAPSHOT_SCHEMA, _async_snapshot),
        (SERVICE_RECORD, RECORD_SCHEMA, _async_record),
    ):
        service.async_register_platform_entity_service(
            hass,
            DOMAIN,
            name,
            entity_domain=Platform.CAMERA,
            schema=schema,
            func=func,
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
    overwrite: bool = call.data[ATTR_OVERWRITE]
    deadline = called_at + timeout
    resolution = _parse_resolution(call.data.get(ATTR_RESOLUTION))
    user = await async_caller(hass, call.context)
    if resolution is not None:  # the camera switches for a moment: a setting (permissions.py)
        check_admin(user, f"{DOMAIN}.snapshot resolution", call.context)
    caller = _caller(hass, call, user, hub.save_directory, SERVICE_SNAPSHOT)
    target = await _async_chosen_path(
        hass,
        call.data,
        entity_id=entity.entity_id,
        camera_id=camera_id,
        directory=caller.save_directory,
        suffixes=SNAPSHOT_SUFFIXES,
        caller=caller,
        allow_served=hub.entry.options.get(CONF_ALLOW_SERVED_FILES, False),
    ) or _Target(
        await _async_allowed(
            hass, snapshot_path(caller.save_directory, camera_id, dt_util.now()), caller
        ),
        caller.save_directory,
    )

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
    path = target.path
    try:
        async with hub.clips.async_snapshot_write():  # capped per hub (issue 18)
            await hass.async_add_executor_job(
                partial(write_file_atomic, path, frame.data, root=target.root, overwrite=overwrite)
            )
    except FileExistsError as err:  # taken since the check: the exclusive write kept it
        raise _file_exists(caller, path) from err
    except (OSError, ValueError) as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="snapshot_write_failed",
            translation_placeholders={"path": caller.show(path), "error": caller.reason(err)},
        ) from err
    # Counted with the saved images when it is in the camera's snapshot folder ("save now").
    hub.saver.async_snapshot_saved(camera_id, path, len(frame.data))
    width, height = frame.dimensions or (None, None)
    LOGGER.debug("Saved a snapshot of %s to %s", camera_id, path)
    return {"path": caller.show(path), "size": len(frame.data), "width": width, "height": height}


# Where files may go, and who may choose ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Caller:
    """Who called an action: whether they may choose any folder, and how paths are shown to them.

    Administrators and automations (no user, as HA's admin services treat them) choose any allowed
    folder and see absolute paths; other users write inside the save directory and see paths
    relative to it (where Home Assistant's files are is not theirs to learn).
    """

    admin: bool
    save_directory: Path  # normalised (`a/../b` as `b`), as the paths compared with it
    config_directory: str

    def show(self, path: str | Path) -> str:
        """Return `path` as this caller may see it."""
        if self.admin:
            return str(path)
        try:
            return Path(os.path.normpath(path)).relative_to(self.save_directory).as_posix()
        except ValueError:
            return Path(path).name

    def redact(self, text: str) -> str:
        """Return `text` (an error's words) without the save directory's location for non-admins."""
        if self.admin:
            return text
        text = text.replace(f"{self.save_directory}{os.sep}", "")
        return text.replace(str(self.save_directory), ".").replace(self.config_directory, "config")

    def reason(self, err: Exception) -> str:
        """Return why a write failed (an `OSError`'s words name no path)."""
        return self.redact(err.strerror if isinstance(err, OSError) and err.strerror else str(err))

    def error(self, err: HomeAssistantError) -> HomeAssistantError:
        """Return `err`, or for non-admins the same translated error with its paths shown to them."""
        if self.admin or err.translation_key is None or type(err) not in _REDACTABLE:
            return err
        return type(err)(
            translation_domain=err.translation_domain,
            translation_key=err.translation_key,
            translation_placeholders={
                key: self.redact(value)
                for key, value in (err.translation_placeholders or {}).items()
            },
        )


# Errors rebuilt with their paths redacted: these take only the translation arguments.
_REDACTABLE: Final = (HomeAssistantError, ServiceValidationError)


@dataclass(frozen=True, slots=True)
class _Target:
    """A checked file to write, and the save directory when the file is below it."""

    path: Path
    root: Path | None  # nothing below it is followed if it is a link while writing


def _caller(
    hass: HomeAssistant, call: ServiceCall, user: User | None, save_directory: str, action: str
) -> _Caller:
    """Return who called `action` (`user`: `async_caller`'s), once the rule allows its file fields.

    The rule (permissions.py) applies to what in a file's fields is more than a snapshot or a
    clip: a template renders on the event loop with no bound on its loops (a household member's
    could stall Home Assistant for hours), and `overwrite` replaces a file, any camera's
    recordings included: both an administrator's (and an automation's). No user (an automation
    or a script) has an administrator's reach.
    """
    template: Template | None = call.data.get(ATTR_FILENAME)
    if template is not None and not template.is_static:
        check_admin(user, f"{DOMAIN}.{action} filename template", call.context)
    if call.data[ATTR_OVERWRITE]:
        check_admin(user, f"{DOMAIN}.{action} overwrite", call.context)
    # normpath is string work, no file system access.
    save = Path(os.path.normpath(save_directory))
    return _Caller(has_admin_reach(user), save, os.path.normpath(hass.config.config_dir))


def _file_exists(caller: _Caller, path: Path) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="file_exists",
        translation_placeholders={"path": caller.show(path)},
    )


def _clip_files(path: Path) -> tuple[Path, ...]:
    """Return a clip's files for its AVI (the names clip_recording derives: AVI, thumbnail, MP4)."""
    return (path, path.with_suffix(".jpg"), path.with_suffix(".mp4"))


async def _async_chosen_path(
    hass: HomeAssistant,
    data: dict[str, Any],
    *,
    entity_id: str,
    camera_id: str,
    directory: Path,
    suffixes: tuple[str, ...],
    caller: _Caller,
    allow_served: bool,
    clip: bool = False,
) -> _Target | None:
    """Return the file of the `filename` template (None without one), checked.

    Variables `entity_id` and `camera_id`. A relative name goes into `directory` and must stay
    there (no `..` out of it, no link below it leading elsewhere); an absolute one is for
    administrators and automations only. Any name must be allowed (`allowlist_external_dirs`),
    outside the folders served without login unless `allow_served`, end in one of `suffixes`
    (any case), and, unless the call says `overwrite`, name no existing file. With `clip`, an
    `.mp4` name stands for the clip whose AVI is beside it, and the clip's every file is checked.
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
    if Path(rendered).suffix.lower() not in suffixes:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_file_extension",
            translation_placeholders={"filename": rendered, "extension": "/".join(suffixes)},
        )
    # An absolute name replaces the directory.
    relative = not Path(rendered).is_absolute()
    if not relative and not caller.admin:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="absolute_path_admin_only"
        )
    refusal, path = await hass.async_add_executor_job(
        partial(
            _check_file,
            rendered,
            directory,
            served=[] if allow_served else served_directories(hass),
            is_allowed=hass.config.is_allowed_path,
            overwrite=data[ATTR_OVERWRITE],
            clip=clip,
        )
    )
    if refusal == "file_exists":
        raise _file_exists(caller, path)
    if refusal is not None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=refusal,
            translation_placeholders={"path": str(path) if caller.admin else rendered},
        )
    root = caller.save_directory if path.is_relative_to(caller.save_directory) else None
    return _Target(path, root)


def _check_file(
    name: str,
    directory: Path,
    *,
    served: list[str],
    is_allowed: Callable[[str], bool],
    overwrite: bool,
    clip: bool,
) -> tuple[str | None, Path]:
    """Return what refuses the file `name` (a translation key) or None, and the file (executor).

    A relative `name` is in `directory` and must stay there; links and `..` are resolved before
    the folders are compared (`is_allowed`: HA's allowlist; `served`: refused).
    """
    relative = not Path(name).is_absolute()
    # normpath, like is_allowed_path and is_inside; links resolved on the file system's terms.
    normal = Path(os.path.normpath(directory / name))
    if relative and not is_inside(normal, directory):
        return "path_not_allowed", normal
    # Written where it was checked: through no link swapped in later (an absolute name).
    path = normal if relative else normal.resolve()
    if clip and path.suffix.lower() == ".mp4":
        path = path.with_suffix(CLIP_SUFFIX)
    resolved = path.resolve()
    if not is_allowed(str(resolved)):
        return "path_not_allowed", path
    if folder_holding(resolved, served) is not None:
        return "path_served", path
    files = _clip_files(path) if clip else (path,)
    # A courtesy before waiting for frames; the write itself is exclusive.
    if not overwrite and any(os.path.lexists(file) for file in files):
        return "file_exists", path
    return None, path


async def _async_allowed(hass: HomeAssistant, path: Path, caller: _Caller) -> Path:
    """Return `path` (`a/../b` as `b`) if it is allowed (a default file in the save directory)."""

    def check() -> Path | None:
        # normpath, like is_allowed_path, on the file system's terms: executor.
        normal = Path(os.path.normpath(path))
        return normal if hass.config.is_allowed_path(str(normal)) else None

    if (checked := await hass.async_add_executor_job(check)) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_not_allowed",
            translation_placeholders={"path": caller.show(path)},
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
            return frame.dimensions == (resolution.width, resolution.height)

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
    size = None if frame is None else frame.dimensions
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
    """Record a clip of one camera (pre-roll from its ring); return its AVI once written.

    The MP4 follows (`mp4_pending`), announced by the `esp32_camera_clip_saved` event.
    """
    hass, hub, camera_id = call.hass, entity.hub, entity.camera.camera_id
    hub.clips.check_can_record(camera_id)  # past the caps: refused before any work
    user = await async_caller(hass, call.context)
    caller = _caller(hass, call, user, hub.save_directory, SERVICE_RECORD)
    directory = clips_directory(caller.save_directory, camera_id)
    target = await _async_chosen_path(
        hass,
        call.data,
        entity_id=entity.entity_id,
        camera_id=camera_id,
        directory=directory,
        suffixes=CLIP_SUFFIXES,
        caller=caller,
        allow_served=hub.entry.options.get(CONF_ALLOW_SERVED_FILES, False),
        clip=True,
    )
    if target is None:  # the default layout, in the camera's clips folder
        await _async_allowed(hass, directory, caller)
    pre_roll: float = call.data.get(ATTR_PRE_ROLL, hub.clips.settings(camera_id).pre_roll)
    async with _async_clip_name(hass, target, caller, overwrite=call.data[ATTR_OVERWRITE]):
        response = await hub.clips.async_record(
            camera_id,
            duration=call.data[ATTR_DURATION],
            pre_roll=pre_roll,
            path=None if target is None else target.path,
            # Inside the save directory, no link below it is followed while writing.
            root=None if target is None else target.root,
        )
    LOGGER.debug("Recorded a clip of %s to %s", camera_id, response["path"])
    for key in ("path", "thumbnail"):
        if response[key] is not None:
            response[key] = caller.show(response[key])
    return response


@contextlib.asynccontextmanager
async def _async_clip_name(
    hass: HomeAssistant, target: _Target | None, caller: _Caller, *, overwrite: bool
) -> AsyncIterator[None]:
    """Hold a chosen clip's name from the call on; show the recording's errors to the caller.

    Unless `overwrite`, the AVI's name is created empty and exclusively now, and the clip's AVI
    is renamed onto it when written: nobody else's file is replaced, whoever comes first.
    """
    reservation: Reservation | None = None
    if target is not None and not overwrite:
        try:
            reservation = await hass.async_add_executor_job(
                partial(reserve_file, target.path, root=target.root)
            )
        except FileExistsError as err:
            raise _file_exists(caller, target.path) from err
        except (OSError, ValueError) as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="record_failed",
                translation_placeholders={
                    "path": caller.show(target.path),
                    "error": caller.reason(err),
                },
            ) from err
    try:
        yield
    except HomeAssistantError as err:
        # Refused, or its writer failed: nothing will be renamed onto the name, so it goes. After
        # a timeout the writer may still finish onto it: kept.
        if reservation is not None and err.translation_key != "record_timeout":
            await hass.async_add_executor_job(release_file, reservation)
        if (shown := caller.error(err)) is err:
            raise
        raise shown from err


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
    # Every camera is sent the command, whatever the others answer.
    results = await asyncio.gather(
        *(hub.async_send_command(camera_id, command, value) for camera_id, hub in targets.items()),
        return_exceptions=True,
    )
    answers: dict[str, CommandResult] = {}
    failures: dict[str, HomeAssistantError] = {}
    for camera_id, result in zip(targets, results, strict=True):
        if isinstance(result, HomeAssistantError):
            failures[camera_id] = result
        elif isinstance(result, BaseException):
            raise result  # not a camera's answer: a bug, or the call was cancelled
        else:
            answers[camera_id] = result
    if failures:
        raise _command_failures(command, failures, answers)
    return {
        "cameras": {
            camera_id: {"ok": result.ok, "value": result.value, "queued": result.queued}
            for camera_id, result in answers.items()
        }
    }


def _command_failures(
    command: str, failures: dict[str, HomeAssistantError], answers: dict[str, CommandResult]
) -> HomeAssistantError:
    """Return the error of a send_command that failed on some or all of its cameras.

    A refusal fails the action (as an entity action fails when one of its entities does); its
    error names each camera that failed, with why, and those that took the command.
    """
    if len(failures) == 1 and not answers:  # one camera: its own error
        return next(iter(failures.values()))
    # Invalid for every camera (e.g. one that is gone): the call's data; else the cameras failed.
    kind = (
        ServiceValidationError
        if all(isinstance(err, ServiceValidationError) for err in failures.values())
        else HomeAssistantError
    )
    placeholders = {
        "command": command,
        "failures": "; ".join(f"{camera_id} ({err})" for camera_id, err in failures.items()),
    }
    if answers:
        return kind(
            translation_domain=DOMAIN,
            translation_key="command_failed_on_some",
            translation_placeholders={**placeholders, "succeeded": ", ".join(answers)},
        )
    return kind(
        translation_domain=DOMAIN,
        translation_key="command_failed_on_every",
        translation_placeholders=placeholders,
    )


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
        found[camera_id] = hub_of_camera(hass, camera_id)

    selection = target_helpers.TargetSelection(call.data)
    selected = target_helpers.async_extract_referenced_entity_ids(hass, selection)
    entity_registry, device_registry = er.async_get(hass), dr.async_get(hass)
    device_ids = set(selected.referenced_devices)
    for entity_id in selected.referenced | selected.indirectly_referenced:
        if (entry := entity_registry.async_get(entity_id)) and entry.platform == DOMAIN:
            device_ids.add(entry.device_id or "")
    by_entry = {hub.entry.entry_id: hub for hub in hubs}

    def add(camera_id: str, hub: Esp32CameraHub) -> None:
        # The response names cameras by id: one id of two hubs would answer for one of them.
        if found.setdefault(camera_id, hub) is not hub:
            raise camera_on_several_hubs(camera_id, (found[camera_id], hub))

    for device_id in device_ids:
        if (device := device_registry.async_get(device_id)) is None:
            continue
        for entry_id in device.config_entries & by_entry.keys():
            hub = by_entry[entry_id]
            camera_id = camera_id_of_device(device, entry_id)
            if camera_id is None:  # the hub device: all its admitted cameras
                for camera in hub.cameras.values():
                    if camera.admitted:
                        add(camera.camera_id, hub)
            elif camera_id in hub.cameras:
                add(camera_id, hub)
    if not found:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_camera_targeted"
        )
    return dict(sorted(found.items()))
