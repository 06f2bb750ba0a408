"""Clips: the recorder's windows with real AVI files written by the threaded sink."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import threading

import pytest

from custom_components.esp32_camera.clips import (
    ClipFrame,
    ClipInfo,
    ClipReason,
    ClipRecorder,
    ClipRequest,
    ClipWriterPool,
    FrameRing,
    ThreadedAviSink,
    read_avi,
)
from esp32_simulator.scenes import FPS
from tests.helpers import scene_clip_frames

TIMEOUT = 10.0


class Clips:
    """A sink factory writing real AVIs into a folder, numbered in opening order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requests: list[ClipRequest] = []
        self.sinks: list[ThreadedAviSink] = []
        self.results: list[ClipInfo | Exception] = []
        self._lock = threading.Lock()

    def __call__(self, request: ClipRequest) -> ThreadedAviSink:
        self.requests.append(request)
        sink = ThreadedAviSink(self.folder / f"clip-{len(self.sinks)}.avi", self._done)
        self.sinks.append(sink)
        return sink

    def _done(self, result: ClipInfo | Exception) -> None:
        with self._lock:
            self.results.append(result)

    def wait(self) -> list[ClipInfo]:
        for sink in self.sinks:
            sink.join(TIMEOUT)
        assert all(isinstance(result, ClipInfo) for result in self.results), self.results
        return sorted(
            (result for result in self.results if isinstance(result, ClipInfo)),
            key=lambda info: info.path.name,
        )


def feed(
    recorder: ClipRecorder, sent: list[ClipFrame], actions: dict[int, Callable[[float], None]]
) -> None:
    """Send the frames; after frame n, call actions[n] with its timestamp."""
    for number, frame in enumerate(sent):
        recorder.add_frame(frame)
        if number in actions:
            actions[number](frame.timestamp)


def stored(info: ClipInfo) -> list[bytes]:
    return list(read_avi(info.path).iter_frames())


def test_motion_clip_holds_pre_roll_motion_and_post_roll(tmp_path: Path) -> None:
    clips = Clips(tmp_path)
    recorder = ClipRecorder(FrameRing(max_seconds=10.0), clips, pre_roll=2.0, post_roll=1.0)
    sent = scene_clip_frames(200)  # 10 s
    for frame in sent[:100]:
        recorder.add_frame(frame)
    recorder.motion_started(sent[99].timestamp)  # t = 4.95: pre-roll from 2.95
    for frame in sent[100:140]:
        recorder.add_frame(frame)
    recorder.motion_ended(sent[139].timestamp)  # t = 6.95: post-roll to 7.95
    for frame in sent[140:]:
        recorder.add_frame(frame)
    assert recorder.recording == 0
    (info,) = clips.wait()
    window = [frame for frame in sent if 2.95 - 1e-9 <= frame.timestamp <= 7.95 + 1e-9]
    assert stored(info) == [frame.data for frame in window]  # every frame, pre-roll included
    assert info.frames == len(window) == 101
    assert info.fps == pytest.approx(20.0)
    assert clips.requests == [ClipRequest(ClipReason.MOTION, sent[99].timestamp, 2.0, True)]


def test_a_late_start_loses_no_frame(tmp_path: Path) -> None:
    # The detector's verdict reaches the loop some frames after the frame it was about: the
    # clip still starts pre_roll before that frame and holds every frame since.
    clips = Clips(tmp_path)
    recorder = ClipRecorder(FrameRing(), clips, pre_roll=1.0, post_roll=0.5)
    sent = scene_clip_frames(100)
    feed(recorder, sent[:55], {})
    recorder.motion_started(sent[50].timestamp)
    recorder.motion_ended(sent[54].timestamp)
    feed(recorder, sent[55:], {})
    (info,) = clips.wait()
    assert stored(info) == [frame.data for frame in sent[50 - FPS : 54 + FPS // 2 + 1]]


def test_motion_again_in_the_post_roll_extends_the_clip(tmp_path: Path) -> None:
    clips = Clips(tmp_path)
    recorder = ClipRecorder(FrameRing(), clips, pre_roll=1.0, post_roll=2.0)
    sent = scene_clip_frames(200)

    def twice(now: float) -> None:
        recorder.motion_started(now)
        recorder.motion_started(now)  # already recording: no second clip

    feed(
        recorder,
        sent,
        {
            40: twice,
            60: recorder.motion_ended,
            80: recorder.motion_started,  # within the 2 s post-roll
            100: recorder.motion_ended,
        },
    )
    (info,) = clips.wait()
    first, last = 40 - FPS, 100 + 2 * FPS  # 1 s before the start, 2 s after the second end
    assert stored(info) == [frame.data for frame in sent[first : last + 1]]


def test_a_motion_clip_never_repeats_the_previous_motion_clips_frames(tmp_path: Path) -> None:
    """One clip per motion episode (issue 20): the next clip's pre-roll stops at the previous
    motion clip's last frame, however soon the next motion starts; every frame is kept once."""
    clips = Clips(tmp_path)
    recorder = ClipRecorder(FrameRing(), clips, pre_roll=1.5, post_roll=0.5)
    sent = scene_clip_frames(200)
    feed(
        recorder,
        sent,
        {
            40: recorder.motion_started,
            60: recorder.motion_ended,  # the clip ends at frame 70 (0.5 s post-roll)
            80: recorder.motion_started,  # 1.5 s of pre-roll would reach back to frame 50
            100: recorder.motion_ended,
            150: recorder.motion_started,  # long after: its whole pre-roll again
            160: recorder.motion_ended,
        },
    )
    recorder.tick(sent[-1].timestamp + 10)
    first, second, third = clips.wait()
    assert stored(first) == [frame.data for frame in sent[40 - 30 : 70 + 1]]
    assert stored(second) == [frame.data for frame in sent[71 : 110 + 1]]
    assert stored(third) == [frame.data for frame in sent[150 - 30 : 170 + 1]]
    # The trimmed pre-roll is what the clip says it holds, complete: nothing was lost.
    assert clips.requests[1].pre_roll == pytest.approx(
        sent[80].timestamp - sent[70].timestamp, abs=1e-3
    )
    assert clips.requests[1].pre_roll_complete is True
    assert clips.requests[2].pre_roll == 1.5


def test_an_action_clip_knows_its_length_a_motion_clip_does_not(tmp_path: Path) -> None:
    clips = Clips(tmp_path)
    recorder = ClipRecorder(FrameRing(), clips)
    sent = scene_clip_frames(40)
    feed(recorder, sent, {10: lambda now: recorder.record(now, duration=1.0, pre_roll=0.25)})
    feed(recorder, [], {})
    recorder.motion_started(sent[-1].timestamp)
    recorder.close()
    clips.wait()
    assert [(r.reason, r.duration) for r in clips.requests] == [
        (ClipReason.ACTION, 1.0),
        (ClipReason.MOTION, None),
    ]


def test_a_long_motion_is_cut_at_the_motion_clips_length_an_action_is_not(
    tmp_path: Path,
) -> None:
    clips = Clips(tmp_path)
    recorder = ClipRecorder(
        FrameRing(), clips, pre_roll=0.0, max_duration=10.0, max_motion_duration=1.0
    )
    sent = scene_clip_frames(100)  # 5 s
    feed(
        recorder,
        sent,
        {
            0: recorder.motion_started,  # never ends
            9: lambda now: recorder.record(now, duration=3.0, pre_roll=0.0),
        },
    )
    recorder.close()
    infos = clips.wait()
    by_reason = {
        reason: [
            info
            for info, request in zip(infos, clips.requests, strict=True)
            if request.reason is reason
        ]
        for reason in ClipReason
    }
    (action,) = by_reason[ClipReason.ACTION]
    assert stored(action) == [frame.data for frame in sent[9 : 9 + 3 * FPS + 1]]
    motion = by_reason[ClipReason.MOTION]
    assert len(motion) == 5  # one a second
    assert [frame for info in motion for frame in stored(info)] == [f.data for f in sent]


def test_action_clip_beside_a_motion_clip(tmp_path: Path) -> None:
    clips = Clips(tmp_path)
    recorder = ClipRecorder(FrameRing(), clips, pre_roll=1.0, post_roll=1.0)
    sent = scene_clip_frames(120)
    feed(
        recorder,
        sent,
        {
            30: recorder.motion_started,
            40: lambda now: recorder.record(now, duration=2.0, pre_roll=0.5),
            50: recorder.motion_ended,
        },
    )
    motion, action = clips.wait()
    assert stored(motion) == [frame.data for frame in sent[30 - FPS : 50 + FPS + 1]]
    assert stored(action) == [frame.data for frame in sent[40 - FPS // 2 : 40 + 2 * FPS + 1]]
    assert [request.reason for request in clips.requests] == [ClipReason.MOTION, ClipReason.ACTION]
    with pytest.raises(ValueError, match="duration"):
        recorder.record(10.0, duration=0, pre_roll=1.0)


def test_incomplete_pre_roll_and_a_motion_longer_than_max_duration(tmp_path: Path) -> None:
    clips = Clips(tmp_path)
    # A ring of 3 frames' bytes cannot hold a 2 s pre-roll.
    size = len(scene_clip_frames(1)[0].data)
    recorder = ClipRecorder(
        FrameRing(max_bytes=3 * size + 10), clips, pre_roll=2.0, post_roll=0.5, max_duration=3.0
    )
    sent = scene_clip_frames(200)
    feed(recorder, sent[:60], {})
    recorder.motion_started(sent[59].timestamp)
    assert clips.requests[0].pre_roll_complete is False
    feed(recorder, sent[60:180], {})
    recorder.motion_ended(sent[179].timestamp)
    feed(recorder, sent[180:], {})
    assert recorder.recording == 0
    stored_clips = clips.wait()
    # Consecutive clips of at most 3 s hold every frame from the 3 pre-roll frames the ring still
    # had to the end of the post-roll, each frame once.
    assert len(stored_clips) == 3
    assert all(info.duration <= 3.0 + 1 / FPS for info in stored_clips)
    joined = [data for info in stored_clips for data in stored(info)]
    assert joined == [frame.data for frame in sent[57 : 179 + FPS // 2 + 1]]
    assert [request.pre_roll for request in clips.requests] == [2.0, 0.0, 0.0]


def test_silence_and_close(tmp_path: Path) -> None:
    clips = Clips(tmp_path)
    recorder = ClipRecorder(FrameRing(), clips)
    jpeg = scene_clip_frames(1)[0].data
    # The camera goes silent during an action clip: tick closes it after its window.
    recorder.record(20.0, duration=1.0, pre_roll=0.0)
    recorder.tick(20.5)
    assert recorder.recording == 1
    recorder.add_frame(ClipFrame(jpeg, 20.2))
    recorder.tick(21.0)
    assert recorder.recording == 0
    # A motion clip at max_duration with the camera silent continues too, and close() ends all.
    recorder.record(30.0, duration=5.0, pre_roll=0.0)
    recorder.add_frame(ClipFrame(jpeg, 30.1))
    recorder.motion_started(30.1)
    recorder.tick(30.1 + recorder.max_duration + 1)
    assert recorder.recording == 1  # the continuation of the motion clip
    recorder.close()
    assert recorder.recording == 0
    recorder.motion_ended(31.0)  # nothing open: ignored
    for sink in clips.sinks:
        sink.join(TIMEOUT)
    infos = [result for result in clips.results if isinstance(result, ClipInfo)]
    assert sorted(info.frames for info in infos) == [1, 1, 1]  # silent, action and motion clips
    # The continuation got no frame: no file, an error reported.
    assert sum(isinstance(result, Exception) for result in clips.results) == 1


def test_sink_failures_leave_no_file(tmp_path: Path) -> None:
    results: list[ClipInfo | Exception] = []
    # The folder does not exist: the error is reported, queued frames are consumed.
    sink = ThreadedAviSink(tmp_path / "missing" / "clip.avi", results.append)
    sink.add(scene_clip_frames(1)[0])
    sink.finish()
    sink.join(TIMEOUT)
    assert isinstance(results[0], OSError)
    assert sink.dropped == 1

    # Only malformed frames: no clip.
    sink = ThreadedAviSink(tmp_path / "bad.avi", results.append)
    sink.add(ClipFrame(b"garbage", 0.0))
    sink.finish()
    sink.join(TIMEOUT)
    assert isinstance(results[1], Exception)
    assert sink.dropped == 1
    assert list(tmp_path.iterdir()) == []

    # The size limit: the clip keeps the frames that fit, the rest is counted.
    jpeg = scene_clip_frames(1)[0].data
    sink = ThreadedAviSink(tmp_path / "full.avi", results.append, max_bytes=3 * len(jpeg))
    for frame in scene_clip_frames(5):
        sink.add(ClipFrame(jpeg, frame.timestamp))
    sink.add(ClipFrame(b"garbage", 9.0))
    sink.finish()
    sink.join(TIMEOUT)
    info = results[2]
    assert isinstance(info, ClipInfo)
    assert info.frames == 2
    assert sink.dropped == 4
    assert [path.name for path in tmp_path.iterdir()] == ["full.avi"]


def test_a_failing_callback_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_result: ClipInfo | Exception) -> None:
        raise RuntimeError("broken")

    sink = ThreadedAviSink(tmp_path / "clip.avi", broken)
    sink.add(scene_clip_frames(1)[0])
    sink.finish()
    sink.join(TIMEOUT)
    assert "Clip callback failed" in caplog.text
    assert (tmp_path / "clip.avi").exists()


def test_the_sink_prepares_its_file_in_its_own_thread(tmp_path: Path) -> None:
    """`prepare` runs in the writer thread (folders, a free name); its failure fails the clip."""
    results: list[ClipInfo | Exception] = []
    threads: list[str] = []

    def prepare() -> Path:
        threads.append(threading.current_thread().name)
        (tmp_path / "made").mkdir()
        return tmp_path / "made" / "renamed.avi"

    sink = ThreadedAviSink(tmp_path / "planned.avi", results.append, prepare=prepare)
    sink.add(scene_clip_frames(1)[0])
    sink.finish()
    sink.join(TIMEOUT)
    info = results[0]
    assert isinstance(info, ClipInfo)
    assert info.path == sink.path == tmp_path / "made" / "renamed.avi"
    assert threads == ["esp32_camera_clip planned.avi 0"]

    def refuse() -> Path:
        raise ValueError("outside the save directory")

    sink = ThreadedAviSink(tmp_path / "refused.avi", results.append, prepare=refuse)
    sink.add(scene_clip_frames(1)[0])
    sink.finish()
    sink.join(TIMEOUT)
    assert isinstance(results[1], ValueError)
    assert sink.dropped == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["made"]


def test_a_pool_of_two_threads_writes_many_clips(tmp_path: Path) -> None:
    """No thread per clip: 40 clips at once through 2 workers, each file opened at its first frame."""
    pool = ClipWriterPool(workers=2, name="esp32_camera_test")
    results: list[ClipInfo | Exception] = []
    lock = threading.Lock()

    def done(result: ClipInfo | Exception) -> None:
        with lock:
            results.append(result)

    sinks = [ThreadedAviSink(tmp_path / f"clip-{n}.avi", done, pool=pool) for n in range(40)]
    assert list(tmp_path.iterdir()) == []  # nothing is opened before a frame comes
    assert pool.threads == 0
    sent = scene_clip_frames(30)
    for frame in sent:
        for sink in sinks:
            sink.add(frame)
    assert pool.threads == 2
    for sink in sinks:
        sink.finish()
    assert all(sink.join(TIMEOUT) for sink in sinks)
    assert len(results) == 40
    for result in results:
        assert isinstance(result, ClipInfo)
        assert stored(result) == [frame.data for frame in sent]
    assert pool.backlog_bytes == 0
    assert pool.shutdown(TIMEOUT)
    assert pool.threads == 0
    with pytest.raises(RuntimeError, match="shut down"):
        ThreadedAviSink(tmp_path / "late.avi", done, pool=pool).add(sent[0])


def test_the_pools_backlog_is_bounded(tmp_path: Path) -> None:
    """A disk slower than the cameras: frames past the backlog bound are dropped and counted."""
    jpeg = scene_clip_frames(1)[0].data
    pool = ClipWriterPool(workers=1, max_backlog_bytes=10 * len(jpeg), name="esp32_camera_test")
    release = threading.Event()
    results: list[ClipInfo | Exception] = []

    def stuck() -> Path:  # the worker hangs on a slow disk
        release.wait(TIMEOUT)
        return tmp_path / "slow.avi"

    slow = ThreadedAviSink(tmp_path / "planned.avi", results.append, prepare=stuck, pool=pool)
    other = ThreadedAviSink(tmp_path / "other.avi", results.append, pool=pool)
    # Distinct frames for the first sink; the second shares the same ones (counted once).
    sent = [ClipFrame(bytes(bytearray(jpeg)), number / 20) for number in range(30)]
    for frame in sent:
        slow.add(frame)
        other.add(frame)
    assert pool.backlog_bytes <= 10 * len(jpeg)
    assert slow.dropped == other.dropped == 20
    release.set()
    slow.finish()
    other.finish()
    assert slow.join(TIMEOUT)
    assert other.join(TIMEOUT)
    assert [result.frames for result in results if isinstance(result, ClipInfo)] == [10, 10]
    assert pool.backlog_bytes == 0
    assert pool.shutdown(TIMEOUT)


def test_an_unexpected_error_fails_the_clip_once_and_the_pool_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pool = ClipWriterPool(workers=1, name="esp32_camera_test")
    results: list[ClipInfo | Exception] = []

    def broken() -> Path:
        raise RuntimeError("a bug")

    bad = ThreadedAviSink(tmp_path / "bad.avi", results.append, prepare=broken, pool=pool)
    good = ThreadedAviSink(tmp_path / "good.avi", results.append, pool=pool)
    for frame in scene_clip_frames(5):
        bad.add(frame)
        good.add(frame)
    bad.finish()
    good.finish()
    assert bad.join(TIMEOUT)
    assert good.join(TIMEOUT)
    assert isinstance(results[0], RuntimeError)
    assert isinstance(results[1], ClipInfo)
    assert results[1].frames == 5
    assert bad.dropped == 5
    assert caplog.text.count("Unexpected error writing the clip") == 1
    assert pool.shutdown(TIMEOUT)
