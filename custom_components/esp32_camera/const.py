"""Constants for the ESP32 Camera integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "esp32_camera"
LOGGER = logging.getLogger(__package__)

MANUFACTURER: Final = "Espressif"
DEFAULT_NAME: Final = "ESP32 Camera hub"

# Config entry data.
CONF_STREAM_PORT: Final = "stream_port"
CONF_CONTROL_PORT: Final = "control_port"
# CONF_HOST (bind address), CONF_NAME and CONF_TOKEN come from homeassistant.const.

DEFAULT_HOST: Final = "0.0.0.0"  # noqa: S104 - the cameras dial in from the LAN
DEFAULT_STREAM_PORT: Final = 6972
DEFAULT_CONTROL_PORT: Final = 6971

# Config entry options.
CONF_APPROVED_ADDRESSES: Final = "approved_addresses"
CONF_ALLOW_TOKENLESS: Final = "allow_tokenless"
CONF_TRUSTED_NETWORKS: Final = "trusted_networks"
CONF_FRAME_TIMEOUT: Final = "frame_timeout"
CONF_MAX_FRAME_SIZE: Final = "max_frame_size"
CONF_LIVENESS_TIMEOUT: Final = "liveness_timeout"
CONF_MAX_CONNECTIONS_PER_SOURCE: Final = "max_connections_per_source"
CONF_MAX_PENDING_CAMERAS: Final = "max_pending_cameras"
CONF_SAVE_DIRECTORY: Final = "save_directory"
CONF_RETENTION_DAYS: Final = "retention_days"
CONF_RETENTION_SIZE_MB: Final = "retention_size_mb"
CONF_EXPOSE_HTTP: Final = "expose_http"
# The H.264 streams' encoder (hub/h264_streams.py): libx264, or a hardware encoder of ffmpeg's.
CONF_H264_ENCODER: Final = "h264_encoder"
DEFAULT_H264_ENCODER: Final = "libx264"
H264_ENCODERS: Final = (DEFAULT_H264_ENCODER, "h264_vaapi", "h264_v4l2m2m", "h264_qsv")
# The snapshot and record actions may write into folders HA serves without login (www/): off.
CONF_ALLOW_SERVED_FILES: Final = "allow_served_files"

DEFAULT_LIVENESS_TIMEOUT: Final = 30.0
# Connections from one address (IPv6: one /64) and tokenless cameras waiting for approval at once.
DEFAULT_MAX_CONNECTIONS_PER_SOURCE: Final = 16
DEFAULT_MAX_PENDING_CAMERAS: Final = 32
DEFAULT_RETENTION_DAYS: Final = 7
DEFAULT_RETENTION_SIZE_MB: Final = 2048

# Fired on the bus when a clip's files are complete (see hub/clip_recording.py and docs/actions.md).
EVENT_CLIP_SAVED: Final = f"{DOMAIN}_clip_saved"

# A still image asked for before a camera's first frame waits this long for one (seconds).
STILL_WAIT: Final = 5.0
