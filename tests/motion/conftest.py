"""Scenes rendered once per session, and helpers to play them through a detector."""

from __future__ import annotations

from dataclasses import dataclass, field
import functools

from custom_components.esp32_camera.motion import (
    MotionDetector,
    MotionEvent,
    MotionEventType,
    MotionSettings,
)
from esp32_simulator.scenes import FPS, SceneSize, build_scenes

VGA = SceneSize(640, 480, (800, 600))
UXGA = SceneSize(1600, 1200, (1280, 720))


@functools.cache
def scene_jpegs(name: str, size: SceneSize = VGA) -> tuple[bytes, ...]:
    """Every frame of a scene (rendered once per session)."""
    return tuple(build_scenes(size)[name])


@functools.cache
def scene_labels(name: str, size: SceneSize = VGA) -> tuple[tuple[int, int], ...]:
    return build_scenes(size)[name].motion


@dataclass
class Playback:
    """What a detector made of a scene played at 20 fps."""

    events: list[tuple[int, MotionEvent]] = field(default_factory=list)
    active_frames: set[int] = field(default_factory=set)
    analysed: int = 0

    @property
    def starts(self) -> list[int]:
        return [frame for frame, event in self.events if event.type is MotionEventType.STARTED]


def play(
    name: str, settings: MotionSettings | None = None, size: SceneSize = VGA
) -> tuple[Playback, MotionDetector]:
    """Offer every frame of a scene like the hub does: analyse when due, else count a skip."""
    detector = MotionDetector(settings or MotionSettings())
    playback = Playback()
    for number, jpeg in enumerate(scene_jpegs(name, size)):
        timestamp = 100.0 + number / FPS
        if not detector.due(timestamp):
            detector.count_skip()
        else:
            result = detector.analyse(jpeg, timestamp)
            assert result is not None
            playback.analysed += 1
            if result.event is not None:
                playback.events.append((number, result.event))
        if detector.active:
            playback.active_frames.add(number)
    return playback, detector
