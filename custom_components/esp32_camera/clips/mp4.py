"""An H.264 MP4 made from a clip's AVI by ffmpeg, at low priority; a failure keeps the AVI.

Blocking (a subprocess that may run for about as long as the clip): call it in the executor. The
ffmpeg binary is the caller's (Home Assistant's ``ffmpeg`` integration knows where it is).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
import shutil
import subprocess
import tempfile
import threading
import time

from .avi import ClipError

NICENESS = 19  # the lowest CPU priority: the conversion never slows the live streams down
# How often a running conversion looks at its stop event: Home Assistant's stop waits for the
# executor's threads, and a minute-long clip's conversion once held it past its 30 s (issue 20).
STOP_POLL = 0.25  # seconds


class Mp4Error(ClipError):
    """ffmpeg could not make the MP4 (the AVI is kept)."""


def mp4_command(ffmpeg: str, source: Path, target: Path) -> list[str]:
    """Return the command converting ``source`` (MJPEG AVI) to ``target`` (H.264 MP4).

    One thread and the ``veryfast`` preset keep the load low; ``yuv420p`` with even dimensions is
    what browsers and phones play; ``+faststart`` puts the index first for streaming. The frame
    rate is the AVI's (the clip's average).
    """
    command = [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(source),
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-vf",
        "scale=trunc(iw/2)*2:trunc(ih/2)*2",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(target),
    ]
    nice = shutil.which("nice")
    return [nice, "-n", str(NICENESS), *command] if nice else command


def convert_to_mp4(
    source: Path,
    target: Path,
    *,
    ffmpeg: str = "ffmpeg",
    timeout: float = 600.0,
    stop: threading.Event | None = None,
) -> Path:
    """Convert ``source`` to ``target`` atomically; raise Mp4Error (and leave no target) on failure.

    The AVI is never touched. ffmpeg writes into a hidden temporary file next to ``target``,
    renamed onto it on success and deleted on any failure (missing ffmpeg, error, timeout). The
    caller decides how loudly to report a failure (a broken ffmpeg fails every clip). Setting
    ``stop`` kills ffmpeg within STOP_POLL seconds (Mp4Error, no target).
    """
    try:
        descriptor, temporary_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as error:
        raise Mp4Error(f"cannot write next to {target}: {error}") from error
    os.close(descriptor)
    temporary = Path(temporary_name)
    try:
        returncode, stderr = _run(mp4_command(ffmpeg, source, temporary), timeout, stop)
        if returncode != 0:
            output = stderr.decode(errors="replace").strip()[-500:]
            raise Mp4Error(f"ffmpeg exited with {returncode}: {output}")
        temporary.replace(target)
    except OSError as error:
        raise Mp4Error(str(error)) from error
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return target


def _run(command: list[str], timeout: float, stop: threading.Event | None) -> tuple[int, bytes]:
    """Run ``command``; return its exit code and error output. Killed past ``timeout`` or ``stop``."""
    deadline = time.monotonic() + timeout
    with subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        while True:
            try:
                _, stderr = process.communicate(timeout=STOP_POLL)
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    process.kill()
                    process.communicate()
                    raise Mp4Error("stopped (Home Assistant is stopping)") from None
                if time.monotonic() > deadline:
                    process.kill()
                    process.communicate()
                    raise Mp4Error(f"ffmpeg took longer than {timeout:g} s") from None
            else:
                return process.returncode, stderr
