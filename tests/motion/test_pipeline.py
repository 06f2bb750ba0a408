"""The whole pure pipeline on real sockets: a simulated camera plays the crossing scene into the
real listener; its frames go to the motion worker and the clip recorder the way the hub will wire
them (the worker's results hop back to the loop), and the clip holds every frame of its window."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from custom_components.esp32_camera.clips import (
    ClipFrame,
    ClipInfo,
    ClipRecorder,
    ClipRequest,
    FrameRing,
    ThreadedAviSink,
    read_avi,
)
from custom_components.esp32_camera.listener import (
    CameraRecord,
    DeviceListener,
    ListenerSettings,
)
from custom_components.esp32_camera.motion import (
    MotionDetector,
    MotionEvent,
    MotionEventType,
    MotionResult,
    MotionSettings,
    MotionWorker,
)
from custom_components.esp32_camera.protocol import Frame
from esp32_simulator import SimulatedCamera
from harness.hass_process import free_port
from tests.helpers import scene_jpegs, scene_labels

TOKEN = "motion-token"
FRAMES = 80  # the first crossing and the empty room after it


class Hub:
    """The wiring the Home Assistant side will do, without Home Assistant."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.get_running_loop()
        self.frames: list[Frame] = []
        self.events: list[MotionEvent] = []
        self.clips: list[ClipInfo | Exception] = []
        self.sinks: list[ThreadedAviSink] = []
        self.folder = folder
        self.detector = MotionDetector(MotionSettings(cooldown=0.5))
        self.worker = MotionWorker(self._result_in_thread)
        self.recorder = ClipRecorder(FrameRing(), self._open_sink, pre_roll=1.0, post_roll=0.5)

    def _open_sink(self, request: ClipRequest) -> ThreadedAviSink:
        self.sinks.append(ThreadedAviSink(self.folder / "clip.avi", self.clips.append))
        return self.sinks[-1]

    def _result_in_thread(self, camera_id: str, result: MotionResult) -> None:
        self.loop.call_soon_threadsafe(self._result, result)

    def _result(self, result: MotionResult) -> None:
        if result.event is None:
            return
        self.events.append(result.event)
        if result.event.type is MotionEventType.STARTED:
            self.recorder.motion_started(result.event.timestamp)
        else:
            self.recorder.motion_ended(result.event.timestamp)

    # The listener's observer: every call on the loop, none blocks.
    def frame_received(self, camera: CameraRecord, frame: Frame) -> None:
        self.frames.append(frame)
        self.recorder.add_frame(ClipFrame(frame.data, frame.completed_at))
        self.worker.submit(camera.camera_id, self.detector, frame.data, frame.completed_at)

    def camera_connected(self, camera: CameraRecord) -> None:
        """Nothing to do."""

    def camera_disconnected(self, camera: CameraRecord) -> None:
        """Nothing to do."""

    def camera_pending(self, camera: CameraRecord) -> None:
        """Nothing to do."""

    def camera_updated(self, camera: CameraRecord) -> None:
        """Nothing to do."""

    def authentication_failed(self, address: str, reason: str) -> None:
        """Nothing to do."""


@pytest.mark.usefixtures("socket_enabled")
async def test_a_crossing_streamed_through_the_listener_makes_a_complete_clip(
    tmp_path: Path,
) -> None:
    hub = Hub(tmp_path)
    settings = ListenerSettings(
        token=TOKEN, host="127.0.0.1", stream_port=free_port(), control_port=free_port()
    )
    listener = DeviceListener(settings, hub)
    await listener.start()
    hub.worker.start()
    jpegs = list(scene_jpegs("crossing")[:FRAMES])
    camera = SimulatedCamera(
        "127.0.0.1",
        settings.stream_port,
        camera_id="hall",
        token=TOKEN,
        fps=20,
        mode="speed",
        frames=jpegs,
    )
    try:
        camera.start()
        async with asyncio.timeout(30):
            while len(hub.frames) < FRAMES:
                await asyncio.sleep(0.05)
        await camera.stop()
        await asyncio.sleep(0.7)  # the cool-down and the post-roll pass: the worker ticks
        async with asyncio.timeout(10):
            while hub.recorder.recording:
                await asyncio.sleep(0.1)
                hub.recorder.tick(asyncio.get_running_loop().time())
    finally:
        hub.worker.stop()
        await listener.stop()
        for sink in hub.sinks:
            sink.join(10)

    sent = hub.frames[:FRAMES]
    assert [frame.data for frame in sent] == jpegs  # every frame arrived, in order
    (first, _end), _second = scene_labels("crossing")
    started = [event for event in hub.events if event.type is MotionEventType.STARTED]
    assert started
    start_frame = next(n for n, f in enumerate(sent) if f.completed_at == started[0].timestamp)
    assert first <= start_frame <= first + 2
    ended = [event for event in hub.events if event.type is MotionEventType.ENDED]
    assert ended

    (clip,) = hub.clips
    assert isinstance(clip, ClipInfo)
    window = [
        frame
        for frame in hub.frames
        if started[0].timestamp - 1.0 <= frame.completed_at <= ended[0].timestamp + 0.5
    ]
    assert list(read_avi(clip.path).iter_frames()) == [bytes(frame.data) for frame in window]
