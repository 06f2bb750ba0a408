"""Motion detection on a camera's own JPEGs: a 1/8-scale grey picture against a running background.

Pipeline of one analysed frame (all Pillow C operations on a picture of about 80x60 at VGA):

1. Decode at 1/8 scale in grayscale: libjpeg's DCT scaling keeps only each 8x8 block's DC term,
   so the decode skips the inverse DCT and colour conversion, and sensor noise and JPEG
   quantisation (which live in the AC terms) are averaged out.
2. Map brightness to a log scale (a lookup table): a lamp, an exposure or a white-balance step
   multiplies brightness, which becomes an offset in the log domain.
3. Remove the illumination field: the median difference to the background in each cell of a
   4x3 grid (robust to an object covering less than half a cell), interpolated bilinearly over
   the picture. A global or smoothly varying gain leaves nothing behind; a local object stays.
4. Compare with the background's 3x3 neighbourhood range (min..max): a shift of the whole picture
   by up to one analysis pixel (8 camera pixels) is not a change. Pixels saturated in the frame or
   the background are not compared (a lamp's gain is lost where the sensor clips).
5. A pixel changes when it leaves that range by more than the sensitivity's threshold; isolated
   pixels are dropped (a 3x3 majority), and changed pixels are counted per zone (histogram with
   a mask). Motion is a zone's changed area at or above the minimum area.
6. Update the background: a fast running average where nothing changed, a slow one where something
   did (so a parked object is absorbed in a few seconds and a moving one leaves no ghost).

A change of the camera's resolution resets the background; a frame where most of the picture
changes at once (a light change the field cannot explain, a picture that is suddenly another one)
resets it too and is not motion.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import io
from itertools import accumulate
import math
import threading
import time

from PIL import Image, ImageChops, ImageDraw, ImageFilter, UnidentifiedImageError

from ..protocol.frames import jpeg_dimensions

type Point = tuple[float, float]

SCALE = 8  # libjpeg decodes at 1/1, 1/2, 1/4 or 1/8: 1/8 is the cheapest
MAX_ANALYSIS_WIDTH = 128  # larger pictures (UXGA: 200x150 at 1/8) are halved again
MAX_ANALYSIS_HEIGHT = 128  # and so are taller ones (a portrait or a hostile 100x3000)
MIN_ANALYSIS_PIXELS = 64 * 48  # smaller ones (QVGA: 40x30 at 1/8) are decoded at 1/4 or 1/2
# Pictures the analysis refuses (counted as unsupported, never decoded): the 4x3 grid, the 3x3
# neighbourhood and the one-pixel border need at least 8 analysis pixels each way, and the largest
# ESP32 sensor (OV5640, 2592x1944) is far below 4096x4096; a header claiming more is a bomb.
MIN_ANALYSIS_SIDE = 8
MAX_FRAME_PIXELS = 4096 * 4096
# Scans (SOS markers) of a JPEG the analysis decodes: a baseline JPEG has one, libjpeg's
# progressive ones 6 to 10. Each scan walks the whole picture even at 1/8 scale, and a repeated
# refinement scan costs 14 bytes: 1,000 of them in 26 kB held the hub's motion thread 1.7 s at
# QXGA (issue 18, red team). A marker cannot hide in the entropy-coded data (0xFF is stuffed).
MAX_SCANS = 32
GRID = (4, 3)  # cells of the illumination field
LOG_OFFSET = 16  # brightness offset of the log table: dark pixels are not amplified
SATURATED = 250  # linear brightness at which the sensor clips: not compared
GLOBAL_CHANGE = 0.6  # a frame changing this much of the picture resets the background
ALPHA_STILL = 0.1  # background update weight where nothing changed
ALPHA_CHANGED = 0.03  # and where something changed
COST_SAMPLES = 1000  # analysis times kept for the mean and p99


def _log_table() -> list[int]:
    scale = 255 / math.log((255 + LOG_OFFSET) / LOG_OFFSET)
    return [round(scale * math.log((value + LOG_OFFSET) / LOG_OFFSET)) for value in range(256)]


_LOG_TABLE = _log_table()
_SATURATION_TABLE = [255 if value >= SATURATED else 0 for value in range(256)]
_MAJORITY_TABLE = [255 if value >= 4 * 255 // 9 else 0 for value in range(256)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """A named polygon of the picture, in normalised coordinates (0..1, origin top left)."""

    name: str
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        """Reject polygons with fewer than three points or coordinates outside 0..1."""
        if len(self.points) < 3:
            raise ValueError(f"zone {self.name!r}: a polygon needs at least 3 points")
        for x, y in self.points:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"zone {self.name!r}: point ({x}, {y}) is outside 0..1")

    @classmethod
    def rectangle(cls, name: str, left: float, top: float, right: float, bottom: float) -> Zone:
        """Make a rectangular zone."""
        return cls(name=name, points=((left, top), (right, top), (right, bottom), (left, bottom)))


@dataclass(frozen=True, slots=True, kw_only=True)
class MotionSettings:
    """What the user chose for one camera's motion detection."""

    enabled: bool = True
    sensitivity: int = 50  # 0..100: the higher, the smaller a brightness change that counts
    min_area: float = 1.0  # percent of the picture that must change (in one zone)
    cooldown: float = 5.0  # seconds without motion before the motion ends
    max_rate: float = 10.0  # analyses per second at most (0: every frame)
    zones: tuple[Zone, ...] = ()  # empty: the whole picture is one zone (name None)
    mask: tuple[Zone, ...] = ()  # areas never analysed (a road, a tree)

    def __post_init__(self) -> None:
        """Reject values outside their ranges."""
        if not 0 <= self.sensitivity <= 100:
            raise ValueError(f"sensitivity must be 0..100, not {self.sensitivity}")
        if not 0.0 < self.min_area <= 100.0:
            raise ValueError(f"min_area must be above 0 and at most 100 %, not {self.min_area}")
        if self.cooldown < 0 or self.max_rate < 0:
            raise ValueError("cooldown and max_rate must not be negative")

    @property
    def threshold(self) -> int:
        """Change of a pixel, in log-brightness steps (90 per e-fold), that counts as motion."""
        return round(40 - 0.3 * self.sensitivity)  # 50 -> 25 steps, about 30 % brighter/darker


class MotionEventType(StrEnum):
    """What happened to a camera's motion."""

    STARTED = "started"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class MotionEvent:
    """Motion started (in a zone) or ended, at a frame's timestamp (seconds, caller's clock)."""

    type: MotionEventType
    timestamp: float
    zone: str | None  # the zone with the largest changed area when it started; None: no zones


@dataclass(frozen=True, slots=True)
class MotionResult:
    """The outcome of one analysed frame."""

    timestamp: float
    score: float  # changed share of the analysed picture, percent (0..100)
    zone_scores: dict[str | None, float]  # changed share of the picture per zone, percent
    moving: bool  # this frame shows motion
    active: bool  # the camera's motion state after this frame (moving or cooling down)
    event: MotionEvent | None = None
    reset: bool = False  # the background was (re)started by this frame
    analysed: bool = True  # False: a tick's or a failure's result, no picture behind it
    error: str | None = None  # the analysis raised this (type: message); see MotionDetector.fail

    @classmethod
    def without_picture(
        cls, timestamp: float, event: MotionEvent | None, error: str | None = None
    ) -> MotionResult:
        """Return a cool-down tick's or a failed analysis's result: no picture, no motion."""
        return cls(
            timestamp=timestamp,
            score=0.0,
            zone_scores={},
            moving=False,
            active=False,
            event=event,
            analysed=False,
            error=error,
        )


@dataclass(slots=True)
class MotionStats:
    """Cost accounting for diagnostics."""

    analysed: int = 0
    skipped: int = 0  # frames not analysed because of the rate cap or a newer frame
    errors: int = 0  # frames that could not be decoded
    unsupported: int = 0  # frames of a size not analysed (too small, or a bomb): see decode_small
    failures: int = 0  # analyses that raised (a bug or a picture nobody foresaw): see fail()
    resets: int = 0  # background restarts (first frame, resolution change, global change)
    events: int = 0  # motion started
    _costs: deque[float] = field(default_factory=lambda: deque(maxlen=COST_SAMPLES))

    def record_cost(self, milliseconds: float) -> None:
        """Remember one analysis time."""
        self._costs.append(milliseconds)

    @property
    def mean_ms(self) -> float | None:
        """Mean analysis time of the recent frames (decode included), milliseconds."""
        return sum(self._costs) / len(self._costs) if self._costs else None

    @property
    def p99_ms(self) -> float | None:
        """99th percentile of the recent analysis times, milliseconds."""
        if not self._costs:
            return None
        ordered = sorted(self._costs)
        return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]

    def as_dict(self) -> dict[str, int | float | None]:
        """Return the figures as a plain dict (diagnostics)."""
        return {
            "analysed": self.analysed,
            "skipped": self.skipped,
            "errors": self.errors,
            "unsupported": self.unsupported,
            "failures": self.failures,
            "resets": self.resets,
            "events": self.events,
            "mean_ms": None if self.mean_ms is None else round(self.mean_ms, 3),
            "p99_ms": None if self.p99_ms is None else round(self.p99_ms, 3),
        }


class MotionDecodeError(ValueError):
    """The frame is not a decodable JPEG."""


class MotionSizeError(MotionDecodeError):
    """The JPEG's size is one the analysis refuses (too small either way, or too many pixels)."""


def _supported(width: int, height: int) -> bool:
    return min(width, height) >= MIN_ANALYSIS_SIDE and width * height <= MAX_FRAME_PIXELS


def decode_small(jpeg: bytes | bytearray) -> tuple[tuple[int, int], Image.Image]:
    """Return the JPEG's full size and its grey picture at 1/8 scale (1/4 or 1/2 for small ones).

    The analysis picture has at least MIN_ANALYSIS_PIXELS and at most MAX_ANALYSIS_WIDTH x
    MAX_ANALYSIS_HEIGHT where the JPEG allows: 80x60 at VGA (1/8), 80x60 at QVGA (1/4), 100x75 at
    UXGA (1/8, then halved). Raises MotionSizeError before decoding anything for a size the
    analysis refuses (from the SOF header) or for more than MAX_SCANS scans, MotionDecodeError
    for data Pillow cannot decode.
    """
    declared = jpeg_dimensions(jpeg)
    if declared is not None and not _supported(*declared):
        raise MotionSizeError(f"{declared[0]}x{declared[1]} is not analysed")
    if (scans := jpeg.count(b"\xff\xda")) > MAX_SCANS:
        raise MotionSizeError(f"{scans} scans are not analysed")
    try:
        image = Image.open(io.BytesIO(jpeg))
        size = image.size
        if image.format != "JPEG":
            raise MotionDecodeError(f"not a JPEG but {image.format}")
        if not _supported(*size):  # Pillow found another SOF than the header scan
            raise MotionSizeError(f"{size[0]}x{size[1]} is not analysed")
        scale = SCALE
        while scale > 1 and not _analysable(size[0] // scale, size[1] // scale):
            scale //= 2
        image.draft("L", (max(1, size[0] // scale), max(1, size[1] // scale)))
        grey = image.convert("L")  # no-op for a draft-decoded picture; loads it
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as error:
        if isinstance(error, MotionDecodeError):
            raise
        raise MotionDecodeError(str(error)) from error
    # Halve each way independently (a stretched picture is fine: zones are fractions of it).
    factor_x = factor_y = 1
    while grey.width // factor_x > MAX_ANALYSIS_WIDTH:
        factor_x *= 2
    while grey.height // factor_y > MAX_ANALYSIS_HEIGHT:
        factor_y *= 2
    if factor_x > 1 or factor_y > 1:
        grey = grey.reduce((factor_x, factor_y))
    if min(grey.size) < MIN_ANALYSIS_SIDE:  # a draft Pillow decoded smaller than asked
        raise MotionSizeError(f"{size[0]}x{size[1]} decodes to {grey.width}x{grey.height}")
    return size, grey


def _analysable(width: int, height: int) -> bool:
    return width * height >= MIN_ANALYSIS_PIXELS and min(width, height) >= MIN_ANALYSIS_SIDE


def _neighbourhood(image: Image.Image, combine: Callable[..., Image.Image]) -> Image.Image:
    """3x3 max (combine=lighter) or min (darker), separably from copies shifted by one pixel.

    Crops beyond the edge are padded with black, which is why the outermost pixels are never
    counted.
    """
    width, height = image.size
    rows = combine(
        combine(image, image.crop((1, 0, width + 1, height))),
        image.crop((-1, 0, width - 1, height)),
    )
    return combine(
        combine(rows, rows.crop((0, 1, width, height + 1))), rows.crop((0, -1, width, height - 1))
    )


def _threshold_table(threshold: int) -> list[int]:
    return [255 if value > threshold else 0 for value in range(256)]


def _median(histogram: Sequence[int]) -> int:
    cumulative = list(accumulate(histogram))
    return bisect_left(cumulative, (cumulative[-1] + 1) // 2)


@dataclass(slots=True)
class _Geometry:
    """Masks of one analysis size, rasterised once per size and settings."""

    size: tuple[int, int]
    allowed: Image.Image  # the picture without its border and the user's mask
    zones: list[tuple[str | None, Image.Image]]
    cells: list[tuple[int, int, int, int]]


def _geometry(size: tuple[int, int], settings: MotionSettings) -> _Geometry:
    width, height = size

    def polygon(draw: ImageDraw.ImageDraw, zone: Zone, fill: int) -> None:
        draw.polygon([(x * width, y * height) for x, y in zone.points], fill=fill)

    allowed = Image.new("L", size, 0)
    draw = ImageDraw.Draw(allowed)
    draw.rectangle((1, 1, width - 2, height - 2), fill=255)  # the border wraps in _neighbourhood
    for area in settings.mask:
        polygon(draw, area, 0)
    zones: list[tuple[str | None, Image.Image]] = []
    if not settings.zones:
        zones.append((None, allowed))
    for zone in settings.zones:
        shape = Image.new("L", size, 0)
        polygon(ImageDraw.Draw(shape), zone, 255)
        zones.append((zone.name, ImageChops.darker(shape, allowed)))
    columns, rows = GRID
    cells = [
        (
            column * width // columns,
            row * height // rows,
            (column + 1) * width // columns,
            (row + 1) * height // rows,
        )
        for row in range(rows)
        for column in range(columns)
    ]
    return _Geometry(size, allowed, zones, cells)


class MotionDetector:
    """One camera's motion detector.

    Thread-safe. ``due`` and ``count_skip`` (the event loop's per-frame calls) take only a counter
    lock and never wait for an analysis; ``analyse``, ``tick``, ``update_settings`` and ``reset``
    take the analysis lock, so they wait for an analysis in progress (about 1 ms at VGA, 3 ms at
    UXGA): call them from the worker thread or the executor. Timestamps are seconds of one
    monotonic clock (a frame's ``completed_at``, ``time.monotonic``).
    """

    def __init__(self, settings: MotionSettings | None = None) -> None:
        """Start with no background; the first analysed frame becomes it."""
        self._lock = threading.Lock()
        self._counter_lock = threading.Lock()
        self._settings = settings or MotionSettings()
        self._geometry: _Geometry | None = None
        self._frame_size: tuple[int, int] | None = None
        self._background: Image.Image | None = None
        self._background_min: Image.Image | None = None
        self._background_max: Image.Image | None = None
        self._background_saturated: Image.Image | None = None
        self._last_analysed: float | None = None
        self._last_motion: float | None = None
        self._active = False
        self._threshold_table = _threshold_table(self._settings.threshold)
        self.last_result: MotionResult | None = None
        self.stats = MotionStats()

    @property
    def settings(self) -> MotionSettings:
        """The current settings."""
        return self._settings

    @property
    def active(self) -> bool:
        """Motion is going on (started and not yet ended)."""
        return self._active

    def stats_snapshot(self) -> dict[str, int | float | None]:
        """Return the cost accounting as a plain dict (diagnostics); safe from any thread."""
        with self._counter_lock:
            return self.stats.as_dict()

    def update_settings(self, settings: MotionSettings) -> MotionEvent | None:
        """Apply new settings; disabling ends an active motion (returned as an ENDED event)."""
        with self._lock:
            self._settings = settings
            self._threshold_table = _threshold_table(settings.threshold)
            self._geometry = None
            if not settings.enabled and self._active:
                return self._end(self._last_analysed or 0.0)
            return None

    def reset(self) -> None:
        """Forget the background (the next analysed frame starts a new one)."""
        with self._lock:
            self._background = None

    def due(self, timestamp: float) -> bool:
        """Whether a frame at ``timestamp`` should be analysed (enabled and within the rate cap).

        Cheap (no decoding): the event loop calls it for every frame and counts a skip when False.
        """
        with self._counter_lock:
            if not self._settings.enabled:
                return False
            if self._last_analysed is None or self._settings.max_rate <= 0:
                return True
            # 10 % slack: at 20 fps and a cap of 10/s, jitter must not turn every other frame
            # into every third.
            return timestamp - self._last_analysed >= 0.9 / self._settings.max_rate

    def count_skip(self, frames: int = 1) -> None:
        """Count frames that were not analysed."""
        with self._counter_lock:
            self.stats.skipped += frames

    def tick(self, now: float) -> MotionEvent | None:
        """End an active motion whose cool-down has passed with no analysed frame (camera silent)."""
        with self._lock:
            if self._active and self._cooled_down(now):
                return self._end(now)
            return None

    def fail(self, timestamp: float, error: BaseException) -> MotionResult:
        """Account for an analysis that raised; return a result that ends an active motion.

        The background and the masks are dropped (the failure may have left them half updated):
        the camera's next good frame starts a new one. Never raises.
        """
        with self._lock:
            self._background = None
            self._geometry = None
            event = self._end(timestamp) if self._active else None
            with self._counter_lock:
                self.stats.failures += 1
            return MotionResult.without_picture(
                timestamp, event, f"{type(error).__name__}: {error}"[:200]
            )

    def analyse(self, jpeg: bytes | bytearray, timestamp: float) -> MotionResult | None:
        """Analyse one frame; None when it cannot be decoded (counted in ``stats.errors``).

        Blocking (about 0.5 ms for VGA): call it off the event loop.
        """
        with self._lock:
            started = time.perf_counter()
            try:
                frame_size, grey = decode_small(jpeg)
            except MotionSizeError:
                with self._counter_lock:
                    self.stats.unsupported += 1
                return None
            except MotionDecodeError:
                with self._counter_lock:
                    self.stats.errors += 1
                return None
            result = self._compare(frame_size, grey, timestamp)
            with self._counter_lock:
                self._last_analysed = timestamp
                self.stats.analysed += 1
                self.stats.record_cost((time.perf_counter() - started) * 1000)
            self.last_result = result
            return result

    # -- internals (called with the lock held) ----------------------------------------------------

    def _cooled_down(self, now: float) -> bool:
        return self._last_motion is None or now - self._last_motion >= self._settings.cooldown

    def _end(self, timestamp: float) -> MotionEvent:
        self._active = False
        return MotionEvent(MotionEventType.ENDED, timestamp, None)

    def _restart(self, frame_size: tuple[int, int], grey: Image.Image, log: Image.Image) -> None:
        self._frame_size = frame_size
        self.stats.resets += 1
        self._set_background(log, grey.point(_SATURATION_TABLE))
        if self._geometry is None or self._geometry.size != grey.size:
            self._geometry = _geometry(grey.size, self._settings)

    def _set_background(self, background: Image.Image, saturated: Image.Image) -> None:
        self._background = background
        self._background_saturated = saturated
        self._background_min = _neighbourhood(background, ImageChops.darker)
        self._background_max = _neighbourhood(background, ImageChops.lighter)

    def _compare(
        self, frame_size: tuple[int, int], grey: Image.Image, timestamp: float
    ) -> MotionResult:
        log = grey.point(_LOG_TABLE)
        background = self._background
        if background is None or frame_size != self._frame_size:
            self._restart(frame_size, grey, log)
            return self._decide(timestamp, 0.0, {}, moving=False, reset=True)
        if self._geometry is None:  # new settings: new zones and mask, same background
            self._geometry = _geometry(grey.size, self._settings)
        geometry = self._geometry
        assert self._background_min is not None
        assert self._background_max is not None
        assert self._background_saturated is not None

        # The illumination field: per-cell median of (frame - background), offset by 128.
        difference = ImageChops.subtract(log, background, 1.0, 128)
        medians = bytes(_median(difference.crop(cell).histogram()) for cell in geometry.cells)
        field_image = Image.frombytes("L", GRID, medians).resize(
            grey.size, Image.Resampling.BILINEAR
        )
        corrected = ImageChops.subtract(log, field_image, 1.0, 128)  # log - field

        # Distance outside the background's 3x3 range, then the threshold, the saturation mask
        # and a 3x3 majority against isolated pixels.
        outside = ImageChops.lighter(
            ImageChops.subtract(corrected, self._background_max),
            ImageChops.subtract(self._background_min, corrected),
        )
        changed = outside.point(self._threshold_table)
        saturated = ImageChops.lighter(grey.point(_SATURATION_TABLE), self._background_saturated)
        changed = ImageChops.subtract(changed, saturated)
        changed = changed.filter(ImageFilter.BoxBlur(1)).point(_MAJORITY_TABLE)

        pixels = grey.width * grey.height
        zone_scores = {
            name: 100.0 * changed.histogram(mask=zone_mask)[255] / pixels
            for name, zone_mask in geometry.zones
        }
        score = 100.0 * changed.histogram(mask=geometry.allowed)[255] / pixels

        if score >= 100.0 * GLOBAL_CHANGE:
            self._restart(frame_size, grey, log)
            return self._decide(timestamp, score, zone_scores, moving=False, reset=True)

        # Background update: fast where nothing changed, slow where something did.
        self._set_background(
            Image.composite(
                Image.blend(background, log, ALPHA_CHANGED),
                Image.blend(background, log, ALPHA_STILL),
                changed,
            ),
            grey.point(_SATURATION_TABLE),
        )
        moving = max(zone_scores.values(), default=0.0) >= self._settings.min_area
        return self._decide(timestamp, score, zone_scores, moving=moving, reset=False)

    def _decide(
        self,
        timestamp: float,
        score: float,
        zone_scores: dict[str | None, float],
        *,
        moving: bool,
        reset: bool,
    ) -> MotionResult:
        event: MotionEvent | None = None
        if moving:
            self._last_motion = timestamp
            if not self._active:
                self._active = True
                self.stats.events += 1
                zone = max(zone_scores, key=lambda name: zone_scores[name])
                event = MotionEvent(MotionEventType.STARTED, timestamp, zone)
        elif self._active and self._cooled_down(timestamp):
            event = self._end(timestamp)
        return MotionResult(
            timestamp=timestamp,
            score=score,
            zone_scores=zone_scores,
            moving=moving,
            active=self._active,
            event=event,
            reset=reset,
        )
