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
from homeassistant.helpers import selector
import probatio

from ..const import (
    CONF_ALLOW_SERVED_FILES,
    CONF_ALLOW_TOKENLESS,
    CONF_CONTROL_PORT,
    CONF_EXPOSE_HTTP,
    CONF_FRAME_TIMEOUT,
    CONF_LIVENESS_TIMEOUT,
    CONF_MAX_CONNECTIONS_PER_SOURCE,
    CONF_MAX_FRAME_SIZE,
    CONF_MAX_PENDING_CAMERAS,
    CONF_RETENTION_DAYS,
    CONF_RETENTION_SIZE_MB,
    CONF_SAVE_DIRECTORY,
    CONF_STREAM_PORT,
    CONF_TRUSTED_NETWORKS,
    DEFAULT_LIVENESS_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
    DEFAULT_MAX_PENDING_CAMERAS,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_RETENTION_SIZE_MB,
    DOMAIN,
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


def options_schema(options: Mapping[str, Any]) -> probatio.Schema:
    """Return the options form, filled in with `options` (see `hub_options`)."""
    validators: dict[str, Any] = {
        CONF_FRAME_TIMEOUT: probatio.All(probatio.Coerce(float), probatio.Range(min=1, max=60)),
        CONF_MAX_FRAME_SIZE: probatio.All(
            probatio.Coerce(int), probatio.Range(min=65536, max=64 << 20)
        ),
        CONF_LIVENESS_TIMEOUT: probatio.All(probatio.Coerce(float), probatio.Range(min=5, max=600)),
        CONF_MAX_CONNECTIONS_PER_SOURCE: probatio.All(
            probatio.Coerce(int), probatio.Range(min=2, max=256)
        ),
        CONF_MAX_PENDING_CAMERAS: probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=256)
        ),
        CONF_SAVE_DIRECTORY: str,
        CONF_RETENTION_DAYS: probatio.All(probatio.Coerce(float), probatio.Range(min=0)),
        CONF_RETENTION_SIZE_MB: probatio.All(probatio.Coerce(float), probatio.Range(min=0)),
        CONF_EXPOSE_HTTP: bool,
        CONF_ALLOW_SERVED_FILES: bool,
    }
    return probatio.Schema(
        {
            probatio.Required(CONF_ALLOW_TOKENLESS, default=options[CONF_ALLOW_TOKENLESS]): bool,
            probatio.Optional(
                CONF_TRUSTED_NETWORKS, default=options[CONF_TRUSTED_NETWORKS]
            ): selector.TextSelector(selector.TextSelectorConfig(multiple=True)),
            **{
                probatio.Required(key, default=options[key]): validator
                for key, validator in validators.items()
            },
        }
    )
