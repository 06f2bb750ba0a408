"""Checking what the store file holds: keep every valid camera, setting and address, drop the rest.

The file is JSON that anything may have changed (a crash, a disk, a hand edit, a bug of another
release): every level is checked for its shape and types, and each record and field on its own,
so one bad value costs that value only. What was dropped is returned as paths (`("cameras",
"cam1", "saving_rate")`), which the store reports and may take from its last-good copy instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from ipaddress import ip_address
import math
from typing import Any

from ..protocol import (
    COMMANDS,
    CommandKind,
    CommandValidationError,
    normalize_camera_id,
    wire_value,
)

type StorePath = tuple[str, ...]
# Checks one section of a camera's record (its motion or recording settings, a JSON object):
# returns the valid fields and the names of the invalid ones.
type SectionCheck = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]

MAX_TEXT = 255  # camera ids, names, firmware versions and addresses are short


def _text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _optional_text(value: Any) -> bool:
    return value is None or _text(value)


def _address(value: Any) -> bool:
    if not _text(value):
        return False
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


def _camera_id(value: Any) -> bool:
    """Return whether a camera could have this id: a firmware's as the hub keeps it, or an address.

    Other text names folders (`..`, `a/b`) that no camera has.
    """
    return _text(value) and (normalize_camera_id(value) == value or _address(value))


def is_finite_number(value: Any) -> bool:
    """Return whether a value is a finite JSON number (json reads NaN and Infinity too)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_bool(value: Any) -> bool:
    """Return whether a value is a JSON boolean."""
    return isinstance(value, bool)


def is_integer(value: Any) -> bool:
    """Return whether a value is a JSON integer (a boolean is not one, though Python says so)."""
    return isinstance(value, int) and not isinstance(value, bool)


def takes_field(settings: Callable[..., object], name: str, value: Any) -> bool:
    """Return whether a settings dataclass accepts `value` as its field `name`, the others default.

    A stored section is checked field by field: one bad value costs that choice only.
    """
    try:
        settings(**{name: value})
    except TypeError, ValueError:
        return False
    return True


def setting_is_valid(name: str, value: Any) -> bool:
    """Whether a stored setting is a setting the firmware knows, with its exact wire value."""
    spec = COMMANDS.get(name)
    if spec is None or spec.kind is CommandKind.NONE or not isinstance(value, str):
        return False
    try:
        return wire_value(name, value) == value
    except CommandValidationError:
        return False


# The fields of a camera's record: a check each (motion and recording: their section's check).
_CAMERA_FIELDS: dict[str, Callable[[Any], bool]] = {
    "name": _optional_text,
    "firmware": _optional_text,
    "saving": is_bool,
    "saving_rate": lambda value: is_finite_number(value) and value >= 0,
    "h264": is_bool,  # not in CAMERA_DEFAULTS: absent until the user switches it (off)
}
CAMERA_DEFAULTS: dict[str, Any] = {
    "name": None,
    "firmware": None,
    "settings": {},
    "saving": False,
    "saving_rate": 0.0,
    "motion": {},
    "recording": {},
}


def _camera(
    raw: Any, path: StorePath, sections: Mapping[str, SectionCheck], dropped: list[StorePath]
) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        dropped.append(path)
        return None
    camera: dict[str, Any] = {
        name: (value.copy() if isinstance(value, dict) else value)
        for name, value in CAMERA_DEFAULTS.items()
    }
    for name, value in raw.items():
        if name in _CAMERA_FIELDS:
            if _CAMERA_FIELDS[name](value):
                camera[name] = float(value) if name == "saving_rate" else value
            else:
                dropped.append((*path, name))
        elif name == "settings":
            if not isinstance(value, dict):
                dropped.append((*path, name))
                continue
            for setting, wire in value.items():
                if setting_is_valid(setting, wire):
                    camera["settings"][setting] = wire
                else:
                    dropped.append((*path, name, setting))
        elif name in sections:
            if not isinstance(value, dict):
                dropped.append((*path, name))
                continue
            kept, bad = sections[name](value)
            camera[name] = kept
            dropped.extend((*path, name, field) for field in bad)
        else:  # not a field of this release
            dropped.append((*path, name))
    return camera


def clean_hub(
    raw: Any, sections: Mapping[str, SectionCheck]
) -> tuple[dict[str, Any], list[StorePath]]:
    """Return the valid part of a stored hub (a complete hub) and the paths of what was dropped.

    `sections` checks the motion and recording sections of a camera. Never raises.
    """
    dropped: list[StorePath] = []
    hub: dict[str, Any] = {"cameras": {}, "approved": {}, "refused": []}
    if not isinstance(raw, dict):
        return hub, [()]
    for name, value in raw.items():
        if name == "cameras":
            if not isinstance(value, dict):
                dropped.append((name,))
                continue
            for camera_id, record in value.items():
                if not _camera_id(camera_id):
                    dropped.append((name, str(camera_id)[:MAX_TEXT]))
                elif (camera := _camera(record, (name, camera_id), sections, dropped)) is not None:
                    hub[name][camera_id] = camera
        elif name == "approved":
            if not isinstance(value, dict):
                dropped.append((name,))
                continue
            for address, camera_id in value.items():
                if _address(address) and (camera_id is None or _camera_id(camera_id)):
                    hub[name][address] = camera_id
                else:
                    dropped.append((name, str(address)[:MAX_TEXT]))
        elif name == "refused":
            if not isinstance(value, list):
                dropped.append((name,))
                continue
            seen: set[str] = set()  # a set: a list's `in` made a long list quadratic (seconds)
            for address in value:
                if not _address(address):
                    dropped.append((name, repr(address)[:MAX_TEXT]))
                elif address not in seen:
                    seen.add(address)
                    hub[name].append(address)
        else:
            dropped.append((name,))
    return hub, dropped


_MISSING = object()


def _get(data: Any, path: StorePath) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def complete_from(
    hub: dict[str, Any], dropped: Iterable[StorePath], copy: dict[str, Any]
) -> tuple[list[StorePath], list[StorePath]]:
    """Take what `hub` dropped from `copy` (a cleaned hub too), where the copy has it.

    Returns the paths taken from the copy and the paths still lost.
    """
    taken: list[StorePath] = []
    lost: list[StorePath] = []
    for path in dropped:
        value = _get(copy, path)
        if not path or value is _MISSING or (path[0] == "refused" and len(path) > 1):
            lost.append(path)  # a refused entry that was not an address has no name to look up
            continue
        target = hub
        for key in path[:-1]:  # there: a path is dropped at the first level that is wrong
            target = target[key]
        target[path[-1]] = value
        taken.append(path)
    return taken, lost


def describe(paths: Iterable[StorePath], limit: int = 20) -> str:
    """Return paths as text for a repair issue (`cameras/cam1/saving_rate, refused`)."""
    texts = ["/".join(path) if path else "everything" for path in paths]
    shown = ", ".join(texts[:limit])
    return shown + (f" (+{len(texts) - limit})" if len(texts) > limit else "")
