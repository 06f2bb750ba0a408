"""A device simulator for the ESP32-S3 / OV3660 camera firmware (see docs/simulator.md).

Independent of the integration: it speaks the firmware's WebSocket protocol with the
``websockets`` client library and renders real JPEG frames with Pillow.
"""

from .camera import (
    BINARY_MAX_SIZE,
    CHUNK_SIZES,
    FRAMED_MAX_SIZE,
    CameraSettings,
    Framing,
    Mode,
    SentFrame,
    SimulatedCamera,
    arduino_to_bool,
    arduino_to_int,
    chunk_size_for,
    format_uptime,
    framing_for,
)
from .jpeg import (
    DEFAULT_QUALITY,
    DEFAULT_RESOLUTION_INDEX,
    RESOLUTIONS,
    STAMP_MODULUS,
    PatternRenderer,
    Resolution,
    draw_frame_stamp,
    is_firmware_sendable,
    jpeg_dimensions,
    make_test_jpeg,
    pad_jpeg,
    pillow_quality,
    read_frame_stamp,
    resolutions_text,
)

__version__ = "0.1.0"

__all__ = [
    "BINARY_MAX_SIZE",
    "CHUNK_SIZES",
    "DEFAULT_QUALITY",
    "DEFAULT_RESOLUTION_INDEX",
    "FRAMED_MAX_SIZE",
    "RESOLUTIONS",
    "STAMP_MODULUS",
    "CameraSettings",
    "Framing",
    "Mode",
    "PatternRenderer",
    "Resolution",
    "SentFrame",
    "SimulatedCamera",
    "__version__",
    "arduino_to_bool",
    "arduino_to_int",
    "chunk_size_for",
    "draw_frame_stamp",
    "format_uptime",
    "framing_for",
    "is_firmware_sendable",
    "jpeg_dimensions",
    "make_test_jpeg",
    "pad_jpeg",
    "pillow_quality",
    "read_frame_stamp",
    "resolutions_text",
]
