"""JPEG side of the simulator: the resolution table, JPEG checks and the test-pattern renderer.

Rendering strategy (the cost that matters when 8 cameras stream 20 fps each on 2 cores):
every frame is encoded live, but the expensive part of the picture is pre-rendered. Per
(resolution, brightness, contrast) we build once a background twice as wide as the frame:
colour bars over a grey ramp plus a fixed layer of "sensor noise" that gives the JPEG a realistic
size (about 0.11 bytes per pixel at the firmware's default quality 12, i.e. ~85 KB at XGA and
~330 KB at QXGA, which is what an OV3660 produces). A frame is then a crop of that background at a
sliding offset (one memory copy), a bouncing box, a small text label (camera name, frame counter,
wall clock, resolution) and an optional mirror/flip, followed by one libjpeg-turbo encode. Every
frame therefore differs from the previous one, and the cost is dominated by the encode
(~0.2 ms at QVGA, ~1 ms at VGA, ~2.5 ms at XGA on one core).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
import io
import random
import struct
import threading
from typing import cast

from PIL import Image, ImageDraw, ImageFont

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
# The firmware refuses to send anything shorter than this or without SOI/EOI markers.
MIN_FIRMWARE_JPEG_SIZE = 100
EOI_SEARCH_WINDOW = 100


@dataclass(frozen=True, slots=True)
class Resolution:
    """One entry of the OV3660 frame-size table."""

    index: int
    name: str
    width: int
    height: int

    @property
    def label(self) -> str:
        """Health-message form, e.g. ``XGA (1024x768)``."""
        return f"{self.name} ({self.width}x{self.height})"

    @property
    def table_entry(self) -> str:
        """Info-message form, e.g. ``7:XGA(1024x768)``."""
        return f"{self.index}:{self.name}({self.width}x{self.height})"


RESOLUTIONS: tuple[Resolution, ...] = tuple(
    Resolution(index, name, width, height)
    for index, (name, width, height) in enumerate(
        [
            ("QQVGA", 160, 120),
            ("QCIF", 176, 144),
            ("HQVGA", 240, 176),
            ("QVGA", 320, 240),
            ("CIF", 400, 296),
            ("VGA", 640, 480),
            ("SVGA", 800, 600),
            ("XGA", 1024, 768),
            ("HD", 1280, 720),
            ("SXGA", 1280, 1024),
            ("UXGA", 1600, 1200),
            ("FHD", 1920, 1080),
            ("QXGA", 2048, 1536),
        ]
    )
)
DEFAULT_RESOLUTION_INDEX = 7  # XGA, the firmware's boot default
DEFAULT_QUALITY = 12  # firmware JPEG quality, lower is better


def resolutions_text() -> str:
    """Return the ``resolutions`` string of the ``info`` message (all 13 entries)."""
    return ",".join(resolution.table_entry for resolution in RESOLUTIONS)


def pillow_quality(firmware_quality: int) -> int:
    """Map the sensor's quality (5..63, lower is better) to Pillow's (1..95, higher is better)."""
    return max(5, min(95, round(100 - firmware_quality * 1.5)))


def is_firmware_sendable(data: bytes) -> bool:
    """Apply the firmware's pre-send check: at least 100 bytes, SOI first, EOI near the end."""
    return (
        len(data) >= MIN_FIRMWARE_JPEG_SIZE
        and data.startswith(SOI)
        and EOI in data[-EOI_SEARCH_WINDOW:]
    )


# Start-of-frame markers (baseline, extended, progressive, lossless, ...) carry the dimensions.
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE})


def jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` from the SOF segment, or None if the headers are unreadable."""
    if not data.startswith(SOI):
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in {0x01, *range(0xD0, 0xD8)}:  # markers without a length field
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        if marker in _SOF_MARKERS:
            if position + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, position + 5)
            return width, height
        if marker == 0xDA:  # start of scan: no SOF before the entropy data
            return None
        position += 2 + length
    return None


def pad_jpeg(data: bytes, size: int) -> bytes:
    """Grow a JPEG to exactly ``size`` bytes by inserting COM segments right after SOI.

    Decoders skip comments, so the picture is unchanged; benchmarks and tests use this to hit
    framing thresholds (10,000 / 30,000 bytes) exactly.
    """
    if not data.startswith(SOI):
        raise ValueError("not a JPEG: missing SOI")
    missing = size - len(data)
    if missing == 0:
        return data
    if missing < 4:  # a COM segment needs at least 4 bytes (marker + length)
        raise ValueError(f"cannot pad {len(data)} bytes to {size}: need 0 or at least 4 more")
    segments = bytearray()
    while missing > 0:
        # One segment holds at most 65,533 payload bytes; never leave a remainder under 4 bytes.
        payload = min(missing - 4, 65533)
        if 0 < missing - (payload + 4) < 4:
            payload -= 4
        segments += b"\xff\xfe" + struct.pack(">H", payload + 2) + b"\x00" * payload
        missing -= payload + 4
    return SOI + bytes(segments) + data[2:]


def make_test_jpeg(
    width: int | None = None,
    height: int | None = None,
    *,
    quality: int = DEFAULT_QUALITY,
    size: int | None = None,
    label: str = "fixed",
    frame_number: int = 0,
) -> bytes:
    """Render one test-pattern JPEG, optionally padded to exactly ``size`` bytes.

    Without ``width``/``height``: QVGA, or with ``size`` the largest table resolution (at the
    given quality, then at lower qualities) whose JPEG still fits, so the padding stays small.
    """
    renderer = PatternRenderer(label)
    if width is not None and height is not None:
        data = renderer.render(width, height, quality=quality, frame_number=frame_number)
        return data if size is None else _pad_or_raise(data, size)
    if size is None:
        return renderer.render(320, 240, quality=quality, frame_number=frame_number)
    # Largest table resolution first, at the requested quality and then coarser ones; tiny
    # non-table sizes last, for frames of a few hundred bytes.
    attempts = [
        (resolution.width, resolution.height, try_quality)
        for try_quality in dict.fromkeys((quality, 30, 63))
        for resolution in reversed(RESOLUTIONS)
        # The pattern costs well over 0.05 byte per pixel: skip what cannot fit.
        if resolution.width * resolution.height * 0.05 <= size
    ] + [(80, 60, 63), (32, 24, 63), (16, 16, 63)]
    smallest = 0
    for width_, height_, try_quality in attempts:
        data = renderer.render(width_, height_, quality=try_quality, frame_number=frame_number)
        if len(data) == size or len(data) + 4 <= size:
            return pad_jpeg(data, size)
        smallest = len(data)
    raise ValueError(f"cannot make a test JPEG of {size} bytes (the smallest is {smallest})")


def _pad_or_raise(data: bytes, size: int) -> bytes:
    if len(data) > size:
        raise ValueError(f"the JPEG is already {len(data)} bytes, more than {size}")
    return pad_jpeg(data, size)


# --- the renderer ---------------------------------------------------------------------------

# SMPTE-like bars, slightly inside 16..235 like a real sensor's output.
_BAR_COLOURS = (
    (235, 235, 235),
    (235, 235, 16),
    (16, 235, 235),
    (16, 235, 16),
    (235, 16, 235),
    (235, 16, 16),
    (16, 16, 235),
    (16, 16, 16),
)
_NOISE_AMPLITUDE = 0.05  # blend weight of the noise layer; tuned for OV3660-like JPEG sizes
_BACKGROUND_CACHE_SIZE = 8
_background_cache: OrderedDict[tuple[int, int, int, int], Image.Image] = OrderedDict()
_background_lock = threading.Lock()  # renders may run in worker threads


def _build_background(width: int, height: int, brightness: int, contrast: int) -> Image.Image:
    """Pre-render the static part: bars and ramp with noise, tiled twice horizontally."""
    tile = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(tile)
    bars_bottom = height * 2 // 3
    for bar, colour in enumerate(_BAR_COLOURS):
        draw.rectangle(
            (bar * width // 8, 0, (bar + 1) * width // 8 - 1, bars_bottom - 1), fill=colour
        )
    ramp_height = height - bars_bottom
    ramp = Image.linear_gradient("L").rotate(90).resize((width, ramp_height))
    tile.paste(Image.merge("RGB", (ramp, ramp, ramp)), (0, bars_bottom))
    # Deterministic noise: identical backgrounds (and JPEG sizes) in every run.
    noise = Image.frombytes(
        "L", (width, height), random.Random(width * height).randbytes(width * height)
    )
    tile = Image.blend(tile, Image.merge("RGB", (noise, noise, noise)), _NOISE_AMPLITUDE)
    if brightness or contrast:
        gain = 1 + 0.2 * contrast
        offset = 20 * brightness
        tile = tile.point(lambda value: round((value - 128) * gain + 128 + offset))
    # Two copies side by side: a crop at any offset in [0, width) is a seamless sliding pattern.
    background = Image.new("RGB", (width * 2, height))
    background.paste(tile, (0, 0))
    background.paste(tile, (width, 0))
    return background


def _background(width: int, height: int, brightness: int, contrast: int) -> Image.Image:
    key = (width, height, brightness, contrast)
    with _background_lock:
        cached = _background_cache.get(key)
        if cached is not None:
            _background_cache.move_to_end(key)
            return cached
    built = _build_background(width, height, brightness, contrast)
    with _background_lock:
        _background_cache[key] = built
        while len(_background_cache) > _BACKGROUND_CACHE_SIZE:
            _background_cache.popitem(last=False)
    return built


# Frame-number stamp: a row of blocks along the bottom-left edge, read back by a page sampling the
# displayed image (browser latency benchmarks). Two marker blocks (white, black), then the number's
# bits, most significant first, white for 1. Blocks are whole JPEG blocks of pure black or white,
# so any quality decodes them far from the threshold.
STAMP_BITS = 16
STAMP_MODULUS = 1 << STAMP_BITS
STAMP_BLOCKS = 2 + STAMP_BITS


def stamp_block_size(width: int, height: int) -> int | None:
    """Return the side of a stamp block for a frame size, None when the frame is too small."""
    for side in (16, 8):
        if STAMP_BLOCKS * side <= width and side <= height:
            return side
    return None


def draw_frame_stamp(image: Image.Image, number: int) -> None:
    """Draw `number` (modulo STAMP_MODULUS) as blocks along the bottom-left edge of `image`."""
    side = stamp_block_size(image.width, image.height)
    if side is None:
        return
    bits = [
        1,
        0,
        *((number % STAMP_MODULUS) >> shift & 1 for shift in range(STAMP_BITS - 1, -1, -1)),
    ]
    draw = ImageDraw.Draw(image)
    top = image.height - side
    for index, bit in enumerate(bits):
        shade = 255 if bit else 0
        draw.rectangle(
            (index * side, top, index * side + side - 1, image.height - 1), fill=(shade,) * 3
        )


def read_frame_stamp(image: Image.Image) -> int | None:
    """Return the number stamped by `draw_frame_stamp`, None when there is no stamp.

    The browser's reader (bench/browser.py) reads the same blocks the same way: the mean of the
    block's central quarter against mid-grey.
    """
    side = stamp_block_size(image.width, image.height)
    if side is None:
        return None
    grey = image.convert("L")
    top = image.height - side
    bits = []
    for index in range(STAMP_BLOCKS):
        centre = grey.crop(
            (
                index * side + side // 4,
                top + side // 4,
                index * side + 3 * side // 4,
                top + 3 * side // 4,
            )
        )
        # A grey ("L") picture: one number per pixel.
        pixels = cast("tuple[float, ...]", centre.get_flattened_data())
        bits.append(1 if sum(pixels) / len(pixels) >= 128 else 0)
    if bits[:2] != [1, 0]:
        return None
    return int("".join(map(str, bits[2:])), 2)


def _triangle(step: int, span: int) -> int:
    """Bounce between 0 and ``span`` (inclusive) as ``step`` grows."""
    if span <= 0:
        return 0
    phase = step % (2 * span)
    return phase if phase <= span else 2 * span - phase


class PatternRenderer:
    """Draws the moving test pattern for one camera and encodes it as a baseline JPEG.

    Text is the expensive part at small resolutions (FreeType layout costs more than encoding a
    QQVGA frame), so the label panel with the static lines is rendered once per (size, quality)
    and the changing line (frame counter and clock) is pasted from cached per-character tiles.
    One render at a time per instance; the shared background cache is locked.
    """

    def __init__(self, label: str) -> None:
        """Create a renderer that writes ``label`` (usually the camera name) on every frame."""
        self.label = label
        self._panels: dict[tuple[int, int, int], tuple[Image.Image, tuple[int, int]]] = {}
        self._glyphs: dict[tuple[int, str], Image.Image] = {}

    @staticmethod
    def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        return ImageFont.load_default(size=size)

    def _glyph(self, font_size: int, character: str) -> Image.Image:
        key = (font_size, character)
        glyph = self._glyphs.get(key)
        if glyph is None:
            font = self._font(font_size)
            advance = max(1, round(font.getlength(character)))
            glyph = Image.new("RGB", (advance, round(font_size * 1.2)))
            ImageDraw.Draw(glyph).text((0, 0), character, font=font, fill=(255, 255, 255))
            self._glyphs[key] = glyph
        return glyph

    def _panel(self, width: int, height: int, quality: int) -> tuple[Image.Image, tuple[int, int]]:
        """Return the black label panel with the static lines, and where the dynamic line goes."""
        key = (width, height, quality)
        cached = self._panels.get(key)
        if cached is not None:
            return cached
        font_size = max(8, height // 18)
        font = self._font(font_size)
        line_height = round(font_size * 1.2)
        margin = max(2, font_size // 4)
        dynamic_width = round(font.getlength("#000000  00:00:00.000")) + 2
        static_lines = (self.label, f"{width}x{height} q{quality}")
        panel_width = min(
            width,
            2 * margin
            + max(dynamic_width, *(round(font.getlength(line)) for line in static_lines)),
        )
        panel_height = min(height, 2 * margin + 3 * line_height)
        panel = Image.new("RGB", (panel_width, panel_height))
        draw = ImageDraw.Draw(panel)
        draw.text((margin, margin), static_lines[0], font=font, fill=(255, 255, 255))
        draw.text(
            (margin, margin + 2 * line_height), static_lines[1], font=font, fill=(255, 255, 255)
        )
        cached = self._panels[key] = (panel, (margin, margin + line_height))
        return cached

    def render(
        self,
        width: int,
        height: int,
        *,
        quality: int = DEFAULT_QUALITY,
        frame_number: int = 0,
        hmirror: bool = False,
        vflip: bool = False,
        brightness: int = 0,
        contrast: int = 0,
        clock: datetime | None = None,
        stamp: bool = False,
    ) -> bytes:
        """Render frame ``frame_number`` and return the JPEG bytes.

        ``quality`` is the firmware's (5..63, lower is better); mirror/flip apply to the whole
        picture, text included, like the sensor does. ``stamp`` draws the frame number as blocks
        (after mirror/flip, so a reader always finds them).
        """
        background = _background(width, height, brightness, contrast)
        offset = frame_number * max(1, width // 120) % width
        image = background.crop((offset, 0, offset + width, height))

        box_side = max(8, height // 6)
        box_x = _triangle(frame_number * max(1, width // 80), width - box_side)
        box_y = _triangle(frame_number * max(1, height // 60), height - box_side)
        ImageDraw.Draw(image).rectangle(
            (box_x, box_y, box_x + box_side - 1, box_y + box_side - 1),
            fill=(250, 250, 250),
            outline=(0, 0, 0),
            width=max(1, box_side // 12),
        )

        panel, (line_x, line_y) = self._panel(width, height, quality)
        image.paste(panel, (0, 0))
        now = clock or datetime.now().astimezone()
        font_size = max(8, height // 18)
        for (
            character
        ) in f"#{frame_number % 1_000_000:06d}  {now:%H:%M:%S}.{now.microsecond // 1000:03d}":
            glyph = self._glyph(font_size, character)
            if line_x + glyph.width > panel.width:
                break
            image.paste(glyph, (line_x, line_y))
            line_x += glyph.width

        if hmirror:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if vflip:
            image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        if stamp:
            draw_frame_stamp(image, frame_number)

        output = io.BytesIO()
        # Baseline 4:2:2 like the OV3660's hardware encoder; no optimisation pass (it is slower).
        image.save(output, "JPEG", quality=pillow_quality(quality), subsampling=1)
        return output.getvalue()
