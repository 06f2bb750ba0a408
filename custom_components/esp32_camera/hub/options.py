"""A hub entry's options with their defaults, and the listener's settings made from them."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from aiohttp.web_urldispatcher import StaticResource
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
import probatio

from ..const import (
    CONF_ALLOW_SERVED_FILES,
    CONF_ALLOW_TOKENLESS,
    CONF_CONTROL_PORT,
    CONF_EXPOSE_HTTP,
    CONF_FRAME_TIMEOUT,
    CONF_H264_ENCODER,
    CONF_LIVENESS_TIMEOUT,
    CONF_MAX_CONNECTIONS_PER_SOURCE,
    CONF_MAX_FRAME_SIZE,
    CONF_MAX_PENDING_CAMERAS,
    CONF_RETENTION_DAYS,
    CONF_RETENTION_SIZE_MB,
    CONF_SAVE_DIRECTORY,
    CONF_STREAM_PORT,
    CONF_TRUSTED_NETWORKS,
    DEFAULT_H264_ENCODER,
    DEFAULT_LIVENESS_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
    DEFAULT_MAX_PENDING_CAMERAS,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_RETENTION_SIZE_MB,
    DOMAIN,
    H264_ENCODERS,
)
from ..listener import ListenerSettings
from ..protocol import DEFAULT_FRAME_TIMEOUT, DEFAULT_MAX_FRAME_SIZE


def default_save_directory(hass: HomeAssistant) -> str:
    """Return the default save directory: inside the local media folder, so the Media browser shows it."""
    media = hass.config.media_dirs.get("local") or hass.config.path("media")
    return str(Path(media) / DOMAIN)


def served_directories(hass: HomeAssistant) -> list[str]:
    """Return the folders Home Assistant serves to anyone, without login.

    `www/` (at /local/, served once it exists at a start, so even before) and every folder
    registered as a static path over HTTP (HACS's, panels', other integrations'). The media folders
    are not among them: Home Assistant serves those to signed-in users only (signed URLs). Nothing
    of the integration's is written into them: not the save directory, not an action's file
    (unless the hub's `allow_served_files` option says so).
    """
    folders = [hass.config.path("www")]
    if hass.http is not None:
        folders.extend(
            str(resource.get_info()["directory"])
            for resource in hass.http.app.router.resources()
            if isinstance(resource, StaticResource)
        )
    return folders


def hub_options(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """Return a hub entry's options with the defaults of those never set."""
    return {
        CONF_ALLOW_TOKENLESS: True,
        CONF_TRUSTED_NETWORKS: [],
        CONF_FRAME_TIMEOUT: DEFAULT_FRAME_TIMEOUT,
        CONF_MAX_FRAME_SIZE: DEFAULT_MAX_FRAME_SIZE,
        CONF_LIVENESS_TIMEOUT: DEFAULT_LIVENESS_TIMEOUT,
        CONF_MAX_CONNECTIONS_PER_SOURCE: DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
        CONF_MAX_PENDING_CAMERAS: DEFAULT_MAX_PENDING_CAMERAS,
        CONF_SAVE_DIRECTORY: default_save_directory(hass),
        CONF_RETENTION_DAYS: DEFAULT_RETENTION_DAYS,
        CONF_RETENTION_SIZE_MB: DEFAULT_RETENTION_SIZE_MB,
        CONF_EXPOSE_HTTP: False,
        CONF_ALLOW_SERVED_FILES: False,
        CONF_H264_ENCODER: DEFAULT_H264_ENCODER,
        **entry.options,
    }


def listener_settings(entry: ConfigEntry, options: Mapping[str, Any]) -> ListenerSettings:
    """Return the listener's settings (approvals and refusals come from the store at start)."""
    data = entry.data
    return ListenerSettings(
        token=data[CONF_TOKEN],
        host=data[CONF_HOST],
        stream_port=data[CONF_STREAM_PORT],
        control_port=data[CONF_CONTROL_PORT],
        allow_tokenless=options[CONF_ALLOW_TOKENLESS],
        trusted_networks=tuple(
            ip_network(network, strict=False) for network in options[CONF_TRUSTED_NETWORKS]
        ),
        frame_timeout=options[CONF_FRAME_TIMEOUT],
        max_frame_size=int(options[CONF_MAX_FRAME_SIZE]),
        liveness_timeout=options[CONF_LIVENESS_TIMEOUT],
        max_connections_per_source=int(options[CONF_MAX_CONNECTIONS_PER_SOURCE]),
        max_pending_cameras=int(options[CONF_MAX_PENDING_CAMERAS]),
    )


# The options form's sections, in order, and the options each holds (stored flat, as before
# the form had sections: the form's shape is not the stored shape).
SECTIONS: dict[str, tuple[str, ...]] = {
    "connections": (CONF_ALLOW_TOKENLESS, CONF_TRUSTED_NETWORKS, CONF_EXPOSE_HTTP),
    "saving": (
        CONF_SAVE_DIRECTORY,
        CONF_RETENTION_DAYS,
        CONF_RETENTION_SIZE_MB,
        CONF_ALLOW_SERVED_FILES,
    ),
    # What protects Home Assistant from a misbehaving device: rarely changed, shown collapsed.
    "limits": (
        CONF_MAX_CONNECTIONS_PER_SOURCE,
        CONF_MAX_PENDING_CAMERAS,
        CONF_MAX_FRAME_SIZE,
        CONF_FRAME_TIMEOUT,
        CONF_LIVENESS_TIMEOUT,
    ),
    # The H.264 streams' encoder: software unless the machine has a hardware one (advanced).
    "h264": (CONF_H264_ENCODER,),
}
COLLAPSED_SECTIONS = frozenset({"limits", "h264"})
# The largest frame is stored in bytes and shown in MiB (8 MiB, not 8388608).
MIB = 1 << 20
# Options stored as whole numbers (the form's number boxes give floats).
_WHOLE_NUMBERS = (CONF_MAX_CONNECTIONS_PER_SOURCE, CONF_MAX_PENDING_CAMERAS, CONF_MAX_FRAME_SIZE)


def _box(
    minimum: float, maximum: float | None = None, unit: str | None = None, step: float = 1
) -> selector.NumberSelector:
    """Return a number box (never a slider: the value matters and is typed)."""
    config = selector.NumberSelectorConfig(
        min=minimum, mode=selector.NumberSelectorMode.BOX, step=step
    )
    if maximum is not None:
        config["max"] = maximum
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def _fields() -> dict[str, Any]:
    """Return each option's field in the form."""
    return {
        CONF_ALLOW_TOKENLESS: selector.BooleanSelector(),
        CONF_TRUSTED_NETWORKS: selector.TextSelector(selector.TextSelectorConfig(multiple=True)),
        CONF_EXPOSE_HTTP: selector.BooleanSelector(),
        CONF_SAVE_DIRECTORY: selector.TextSelector(),
        CONF_RETENTION_DAYS: _box(0, unit="d", step=0.5),
        CONF_RETENTION_SIZE_MB: _box(0, unit="MB"),
        CONF_ALLOW_SERVED_FILES: selector.BooleanSelector(),
        CONF_MAX_CONNECTIONS_PER_SOURCE: _box(2, 256),
        CONF_MAX_PENDING_CAMERAS: _box(1, 256),
        # 64 KiB to 64 MiB; any fraction of a MiB, so a stored 65536 bytes (0.0625) stays valid.
        CONF_MAX_FRAME_SIZE: selector.NumberSelector(
            selector.NumberSelectorConfig(
                min=65536 / MIB,
                max=64,
                step="any",
                mode=selector.NumberSelectorMode.BOX,
                unit_of_measurement="MiB",
            )
        ),
        CONF_FRAME_TIMEOUT: _box(1, 60, "s"),
        CONF_LIVENESS_TIMEOUT: _box(5, 600, "s"),
        CONF_H264_ENCODER: selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=list(H264_ENCODERS),
                translation_key=CONF_H264_ENCODER,
                mode=selector.SelectSelectorMode.DROPDOWN,
            )
        ),
    }


def options_schema(options: Mapping[str, Any]) -> probatio.Schema:
    """Return the options form in its sections, filled in with `options` (see `hub_options`)."""
    shown = {**options, CONF_MAX_FRAME_SIZE: options[CONF_MAX_FRAME_SIZE] / MIB}
    fields = _fields()
    return probatio.Schema(
        {
            probatio.Required(name): section(
                probatio.Schema(
                    {probatio.Required(key, default=shown[key]): fields[key] for key in keys}
                ),
                {"collapsed": name in COLLAPSED_SECTIONS},
            )
            for name, keys in SECTIONS.items()
        }
    )


def options_from_form(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options as stored (flat, the largest frame in bytes) from the form's sections."""
    options = {key: user_input[name][key] for name, keys in SECTIONS.items() for key in keys}
    options[CONF_MAX_FRAME_SIZE] = options[CONF_MAX_FRAME_SIZE] * MIB
    for key in _WHOLE_NUMBERS:
        options[key] = round(options[key])
    return options
