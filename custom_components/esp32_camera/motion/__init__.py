"""Motion detection on the cameras' JPEGs (pure: Pillow and threads, no Home Assistant).

See docs/motion.md for the method and the interface the Home Assistant side uses.
"""

from .detector import (
    MotionDecodeError,
    MotionDetector,
    MotionEvent,
    MotionEventType,
    MotionResult,
    MotionSettings,
    MotionStats,
    Zone,
    decode_small,
)
from .worker import MotionWorker, ResultCallback

__all__ = [
    "MotionDecodeError",
    "MotionDetector",
    "MotionEvent",
    "MotionEventType",
    "MotionResult",
    "MotionSettings",
    "MotionStats",
    "MotionWorker",
    "ResultCallback",
    "Zone",
    "decode_small",
]
