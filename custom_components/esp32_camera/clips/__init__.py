"""Clips of the cameras' own JPEGs: ring buffer, MJPEG AVI, recorder, MP4 conversion (pure).

No Home Assistant import: see docs/motion.md for the interface the Home Assistant side uses.
"""

from .avi import (
    MAX_AVI_BYTES,
    AviClip,
    AviWriter,
    ClipError,
    ClipInfo,
    ClipTooLargeError,
    read_avi,
)
from .mp4 import Mp4Error, convert_to_mp4, mp4_command
from .recorder import (
    ClipDone,
    ClipReason,
    ClipRecorder,
    ClipRequest,
    ClipSink,
    ClipWriterPool,
    SinkFactory,
    ThreadedAviSink,
)
from .ring import ClipFrame, FrameRing

__all__ = [
    "MAX_AVI_BYTES",
    "AviClip",
    "AviWriter",
    "ClipDone",
    "ClipError",
    "ClipFrame",
    "ClipInfo",
    "ClipReason",
    "ClipRecorder",
    "ClipRequest",
    "ClipSink",
    "ClipTooLargeError",
    "ClipWriterPool",
    "FrameRing",
    "Mp4Error",
    "SinkFactory",
    "ThreadedAviSink",
    "convert_to_mp4",
    "mp4_command",
    "read_avi",
]
