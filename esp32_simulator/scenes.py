"""Scenes with ground truth for motion detection: what a camera sees, and when something moves.

Each scene is a static room (a lit wall with a gradient, furniture, a bright window, a fixed
texture) seen through a sensor with temporal noise, plus one kind of event: an object crossing the
picture (the only real motion), or a disturbance that is not motion (a lamp switched on, an
exposure or white-balance step, strong sensor noise, camera shake, a JPEG quality change, a
resolution change). ``Scene.motion`` labels the frames where an object is in view (its visible area
at least ``VISIBLE_AREA`` percent of the picture), as half-open frame ranges.

Frames are rendered deterministically from the frame number (noise comes from seeded layers), so a
test and a benchmark see the same pictures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
import functools
import io
import random
from statistics import NormalDist

from PIL import Image, ImageChops, ImageDraw

from .jpeg import DEFAULT_QUALITY, RESOLUTIONS, Resolution, pillow_quality

FPS = 20
VISIBLE_AREA = 1.0  # percent of the picture an object must cover to count as "in view"
NOISE_SIGMA = 3.0  # temporal sensor noise of every scene (grey levels)
STRONG_NOISE_SIGMA = 12.0  # the noise scene's (a dark room at high gain)
NOISE_LAYERS = 16  # pre-computed noise pictures, shifted differently on every frame


@dataclass(frozen=True, slots=True)
class Crossing:
    """An object walking across the picture from left to right during frames [start, end)."""

    start: int
    end: int
    colour: tuple[int, int, int]
    width: float = 0.12  # share of the picture width
    height: float = 0.45  # share of the picture height
    top: float = 0.4  # share of the picture height

    def box(self, frame: int, width: int, height: int) -> tuple[int, int, int, int] | None:
        """Return the object's rectangle in pixels at ``frame`` (None outside its frames)."""
        if not self.start <= frame < self.end:
            return None
        progress = (frame - self.start) / (self.end - self.start - 1)
        object_width = self.width * width
        left = round(-object_width + progress * (width + object_width))
        top = round(self.top * height)
        return left, top, left + round(object_width), top + round(self.height * height)

    def visible_area(self, frame: int, width: int, height: int) -> float:
        """Percent of the picture the object covers at ``frame``."""
        box = self.box(frame, width, height)
        if box is None:
            return 0.0
        left, top, right, bottom = box
        visible = max(0, min(right, width) - max(left, 0)) * max(0, min(bottom, height) - top)
        return 100.0 * visible / (width * height)


@dataclass(frozen=True, slots=True)
class FrameLook:
    """How frame n is taken: resolution, quality, gain field, colour balance, shift, noise."""

    width: int
    height: int
    quality: int = DEFAULT_QUALITY  # the firmware's (lower is better)
    gain: tuple[float, float] = (1.0, 1.0)  # brightness gain at the left and right edges
    balance: tuple[float, float, float] = (1.0, 1.0, 1.0)  # red, green, blue gains
    shift: tuple[int, int] = (0, 0)  # camera shake, pixels
    noise: float = NOISE_SIGMA


@dataclass(frozen=True, slots=True)
class Scene:
    """A named sequence of frames with its labelled motion."""

    name: str
    description: str
    frames: int
    look: Callable[[int], FrameLook]
    crossings: tuple[Crossing, ...] = ()
    fps: int = FPS
    seed: int = 1

    @property
    def motion(self) -> tuple[tuple[int, int], ...]:
        """Frame ranges [first, end) with an object in view (the ground truth)."""
        intervals: list[tuple[int, int]] = []
        for crossing in self.crossings:
            visible = [
                frame
                for frame in range(crossing.start, crossing.end)
                if crossing.visible_area(frame, *self._size(frame)) >= VISIBLE_AREA
            ]
            if visible:
                intervals.append((visible[0], visible[-1] + 1))
        return tuple(sorted(intervals))

    def _size(self, frame: int) -> tuple[int, int]:
        look = self.look(frame)
        return look.width, look.height

    def render(self, frame: int) -> bytes:
        """Render frame ``frame`` (0-based) as a JPEG."""
        look = self.look(frame)
        margin = _margin(look.width)
        room = _room(look.width, look.height, self.seed)
        dx, dy = look.shift
        image = room.crop(
            (margin + dx, margin + dy, margin + dx + look.width, margin + dy + look.height)
        )
        draw = ImageDraw.Draw(image)
        for crossing in self.crossings:
            box = crossing.box(frame, look.width, look.height)
            if box is not None:
                draw.rectangle(box, fill=crossing.colour)
                head = (box[2] - box[0]) // 2
                centre = (box[0] + box[2]) // 2
                draw.ellipse(
                    (centre - head // 2, box[1] - head, centre + head // 2, box[1]),
                    fill=crossing.colour,
                )
        image = _expose(image, look)
        if look.noise:
            noise = _noise(image.size, look.noise, frame % NOISE_LAYERS)
            noise = ImageChops.offset(noise, frame * 37 % image.width, frame * 11 % image.height)
            image = ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)
        output = io.BytesIO()
        image.save(output, "JPEG", quality=pillow_quality(look.quality), subsampling=1)
        return output.getvalue()

    def __iter__(self) -> Iterator[bytes]:
        """Every frame's JPEG, in order."""
        return (self.render(frame) for frame in range(self.frames))


@functools.lru_cache(maxsize=64)
def _noise(size: tuple[int, int], sigma: float, layer: int) -> Image.Image:
    """Gaussian noise around 128 (uniform bytes through the inverse normal CDF), reproducible."""
    normal = NormalDist(128, sigma)
    table = [max(0, min(255, round(normal.inv_cdf((value + 0.5) / 256)))) for value in range(256)]
    uniform = random.Random(layer).randbytes(size[0] * size[1])
    return Image.frombytes("L", size, uniform).point(table)


def _margin(width: int) -> int:
    return max(8, width // 40)


@functools.lru_cache(maxsize=8)
def _room(width: int, height: int, seed: int) -> Image.Image:
    """Draw the static room, with a margin on every side for camera shake."""
    margin = _margin(width)
    full_width, full_height = width + 2 * margin, height + 2 * margin
    wall = (
        Image.linear_gradient("L")
        .resize((full_width, full_height))
        .point(lambda value: 110 + value * 60 // 255)
    )
    room = Image.merge(
        "RGB", (wall, wall.point(lambda value: value - 8), wall.point(lambda v: v - 20))
    )
    draw = ImageDraw.Draw(room)

    def box(left: float, top: float, right: float, bottom: float, colour: tuple[int, ...]) -> None:
        draw.rectangle(
            (
                margin + left * width,
                margin + top * height,
                margin + right * width,
                margin + bottom * height,
            ),
            fill=colour,
        )

    box(0.62, 0.08, 0.9, 0.42, (245, 245, 240))  # a bright window
    box(0.64, 0.24, 0.88, 0.26, (90, 80, 70))  # its frame
    box(0.05, 0.55, 0.35, 1.0, (120, 70, 40))  # a cupboard
    box(0.08, 0.6, 0.32, 0.75, (150, 95, 60))
    box(0.4, 0.8, 0.95, 1.0, (70, 90, 60))  # a sofa
    box(0.1, 0.1, 0.25, 0.35, (40, 60, 120))  # a picture on the wall
    rng = random.Random(seed)
    texture = Image.frombytes(
        "L", (full_width, full_height), rng.randbytes(full_width * full_height)
    )
    return Image.blend(room, Image.merge("RGB", (texture, texture, texture)), 0.06)


def _expose(image: Image.Image, look: FrameLook) -> Image.Image:
    """Apply the gain field (left to right) and the colour balance; values clip at 255."""
    left, right = look.gain
    if (left, right) == (1.0, 1.0) and look.balance == (1.0, 1.0, 1.0):
        return image
    # Gain as a horizontal ramp, multiplied in (ImageChops.multiply divides by 255): a 2x2 ramp
    # resized is the cheap way to a smooth field. Gains above 1 go through a scaled multiply.
    top = max(left, right) * max(look.balance)
    ramp = Image.frombytes(
        "L", (2, 1), bytes((round(255 * left / top), round(255 * right / top)))
    ).resize(image.size, Image.Resampling.BILINEAR)
    channels = []
    for channel, balance in zip(image.split(), look.balance, strict=True):
        scaled = ImageChops.multiply(channel, ramp)
        channels.append(
            scaled.point(lambda value, factor=top * balance: min(255, round(value * factor)))
        )
    return Image.merge("RGB", channels)


def _steps(changes: dict[int, FrameLook]) -> Callable[[int], FrameLook]:
    """Return a look that changes at the given frames (the entry at 0 is the first)."""
    starts = sorted(changes)

    def look(frame: int) -> FrameLook:
        current = starts[0]
        for start in starts:
            if start <= frame:
                current = start
        return changes[current]

    return look


def _shake(width: int, height: int, start: int, end: int) -> Callable[[int], FrameLook]:
    amplitude = max(2, width // 160)  # half an analysis pixel

    def look(frame: int) -> FrameLook:
        if not start <= frame < end:
            return FrameLook(width, height)
        rng = random.Random(frame)
        return FrameLook(
            width,
            height,
            shift=(rng.randint(-amplitude, amplitude), rng.randint(-amplitude, amplitude)),
        )

    return look


@dataclass(frozen=True, slots=True)
class SceneSize:
    """A picture size, e.g. VGA (640x480)."""

    width: int = 640
    height: int = 480
    alternate: tuple[int, int] = field(default=(800, 600))  # the resolution scene's other size


def build_scenes(size: SceneSize | None = None) -> dict[str, Scene]:
    """Every scene at ``size`` (default VGA), by name."""
    size = size or SceneSize()
    w, h = size.width, size.height
    plain = FrameLook(w, h)
    return {
        scene.name: scene
        for scene in (
            Scene(
                "crossing",
                "two people cross the room: a fast one (1 s) and a slow, low-contrast one (4 s)",
                frames=320,
                look=lambda _frame: plain,
                crossings=(
                    Crossing(start=30, end=52, colour=(40, 50, 80)),
                    Crossing(start=200, end=282, colour=(65, 70, 85), width=0.1),
                ),
            ),
            Scene(
                "lamp",
                "a lamp is switched on (brighter, warmer, more on the right) and off again",
                frames=160,
                look=_steps(
                    {
                        0: plain,
                        40: FrameLook(w, h, gain=(1.35, 1.8), balance=(1.1, 1.0, 0.85)),
                        110: plain,
                    }
                ),
            ),
            Scene(
                "exposure",
                "auto-exposure steps down and up, then the white balance steps",
                frames=160,
                look=_steps(
                    {
                        0: plain,
                        30: FrameLook(w, h, gain=(0.7, 0.7)),
                        60: plain,
                        90: FrameLook(w, h, balance=(1.2, 1.0, 0.8)),
                        120: FrameLook(w, h, gain=(1.25, 1.25), balance=(0.9, 1.0, 1.1)),
                    }
                ),
            ),
            Scene(
                "noise",
                "a dark room at high gain: strong sensor noise on every frame",
                frames=160,
                look=lambda _frame: FrameLook(w, h, gain=(0.5, 0.5), noise=STRONG_NOISE_SIGMA),
            ),
            Scene(
                "shake",
                "the camera shakes (wind, a door slammed) for two seconds",
                frames=160,
                look=_shake(w, h, 40, 80),
            ),
            Scene(
                "quality",
                "the JPEG quality changes from 10 to 30, to 50 and back to 10",
                frames=160,
                look=_steps(
                    {
                        0: FrameLook(w, h, quality=10),
                        40: FrameLook(w, h, quality=30),
                        80: FrameLook(w, h, quality=50),
                        120: FrameLook(w, h, quality=10),
                    }
                ),
            ),
            Scene(
                "resolution",
                "the camera changes its resolution and back",
                frames=160,
                look=_steps({0: plain, 50: FrameLook(*size.alternate), 100: plain}),
            ),
        )
    }


SCENE_NAMES = ("crossing", "lamp", "exposure", "noise", "shake", "quality", "resolution")


def scene_frames(name: str, resolution: Resolution) -> Iterator[bytes]:
    """Render scene ``name`` at ``resolution``; the resolution scene switches to the next size."""
    following = RESOLUTIONS[(resolution.index + 1) % len(RESOLUTIONS)]
    size = SceneSize(resolution.width, resolution.height, (following.width, following.height))
    return iter(build_scenes(size)[name])
