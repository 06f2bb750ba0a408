"""The H.264 benchmark's own tools: the default's rule, the SSIM of real encodes, process lookup."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess

from bench.h264 import (
    FRAME_BYTES,
    CurvePoint,
    choose_default,
    ffmpeg_children,
    ssim,
    to_raw,
)


def point(crf: int, kbit_s: float, ssim_value: float, denoise: str = "none") -> CurvePoint:
    return CurvePoint(
        scene="crossing",
        denoise=denoise,
        crf=crf,
        kbit_s=kbit_s,
        mjpeg_kbit_s=8000.0,
        ssim=ssim_value,
        ssim_clean=None,
        core_percent=7.0,
    )


def test_the_default_meets_the_target_with_the_best_ssim_when_one_does() -> None:
    points = [point(23, 4000, 0.95), point(25, 1500, 0.93), point(26, 1000, 0.925)]
    assert choose_default(points).crf == 25  # 5.3x at 0.93 beats 8x at 0.925


def test_without_a_plain_encode_meeting_both_the_smallest_enough_with_the_best_ssim() -> None:
    points = [
        point(25, 2400, 0.924),  # 3.3x: not small enough
        point(26, 1000, 0.898),
        point(28, 200, 0.878),
        point(24, 1500, 0.93, denoise="hqdn3d"),  # meets both, but a denoise is not a default
    ]
    assert choose_default(points).crf == 26


def test_ssim_of_a_picture_with_itself_is_one_and_falls_with_noise(tmp_path: Path) -> None:
    source = tmp_path / "source.mjpeg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=20:duration=0.5",
         "-c:v", "mjpeg", "-f", "mjpeg", str(source)],
        check=True,
    )  # fmt: skip
    noisy = tmp_path / "noisy.mjpeg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-vf", "noise=alls=40:allf=t", "-c:v",
         "mjpeg", "-f", "mjpeg", str(noisy)],
        check=True,
    )  # fmt: skip
    raw, noisy_raw = tmp_path / "source.yuv", tmp_path / "noisy.yuv"
    assert to_raw(source, raw) == 10
    assert raw.stat().st_size == 10 * FRAME_BYTES
    assert to_raw(noisy, noisy_raw) == 10
    assert ssim(raw, raw) == 1.0
    assert ssim(noisy_raw, raw) < 0.9


def test_ffmpeg_children_finds_only_ffmpeg_children_of_the_parent() -> None:
    process = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "nullsrc", "-f", "null", "-"],
        stdin=subprocess.DEVNULL,
    )
    try:
        assert ffmpeg_children(os.getpid()) == [process.pid]
        assert ffmpeg_children(process.pid) == []
    finally:
        process.kill()
        process.wait()
