"""Command line: run N simulated cameras against a server (``scripts/simulate --help``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
from pathlib import Path
import signal
import sys
import time

from . import __version__
from .camera import Mode, SimulatedCamera
from .jpeg import DEFAULT_QUALITY, DEFAULT_RESOLUTION_INDEX, RESOLUTIONS, make_test_jpeg
from .scenes import SCENE_NAMES, scene_frames


def _resolution_index(text: str) -> int:
    """Accept an index (``5``) or a name (``VGA``)."""
    names = {resolution.name.lower(): resolution.index for resolution in RESOLUTIONS}
    if text.lower() in names:
        return names[text.lower()]
    try:
        index = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"unknown resolution {text!r}") from None
    if not 0 <= index < len(RESOLUTIONS):
        raise argparse.ArgumentTypeError(f"resolution index must be 0..{len(RESOLUTIONS) - 1}")
    return index


def build_parser() -> argparse.ArgumentParser:
    """Build the CLI's argument parser."""
    table = ", ".join(resolution.table_entry for resolution in RESOLUTIONS)
    parser = argparse.ArgumentParser(
        prog="scripts/simulate",
        description="Simulate ESP32-S3 / OV3660 cameras that push JPEG frames over WebSocket.",
        epilog=f"Resolutions: {table}.",
    )
    parser.add_argument("--count", "-n", type=int, default=1, help="number of cameras (default 1)")
    parser.add_argument("--host", default="127.0.0.1", help="server host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=6972, help="server port (default 6972)")
    parser.add_argument("--fps", type=int, default=20, help="target fps, 1-30; 0 = unlimited")
    parser.add_argument(
        "--resolution",
        type=_resolution_index,
        default=DEFAULT_RESOLUTION_INDEX,
        help="boot resolution, index 0-12 or name (default 7 = XGA)",
    )
    parser.add_argument(
        "--quality", type=int, default=DEFAULT_QUALITY, help="JPEG quality 5-63, lower is better"
    )
    parser.add_argument(
        "--mode", choices=[mode.value for mode in Mode], default=Mode.STABILITY.value
    )
    parser.add_argument("--token", help="token sent in register (extension)")
    parser.add_argument(
        "--id", dest="id_prefix", default="sim", help="id prefix: cameras are <prefix>-1..N"
    )
    parser.add_argument("--name", help="camera name (extension); numbered when --count > 1")
    parser.add_argument(
        "--identity-in-url", action="store_true", help="send id and token as ?id=&token="
    )
    parser.add_argument(
        "--stock",
        action="store_true",
        help="stock firmware: no id, name, token or firmware fields",
    )
    parser.add_argument(
        "--source-address-base",
        help="bind camera i to this IPv4 address + (i-1), e.g. 127.0.0.2 (distinct stock cameras)",
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--no-pacing", action="store_true", help="no pauses inside framed transfers (benchmarks)"
    )
    parser.add_argument("--health-interval", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--reconnect-interval", type=float, default=3.0, help="seconds (default 3)")
    parser.add_argument(
        "--summary-interval", type=float, default=5.0, help="seconds between summaries; 0 = off"
    )
    parser.add_argument(
        "--jpeg",
        action="append",
        type=Path,
        metavar="FILE",
        help="stream this JPEG file (repeatable; cycles through the list)",
    )
    parser.add_argument(
        "--frame-size",
        action="append",
        type=int,
        metavar="BYTES",
        help="stream a test JPEG padded to exactly BYTES (repeatable; cycles through the list)",
    )
    parser.add_argument(
        "--scene",
        choices=SCENE_NAMES,
        help="stream a scene with labelled motion at --resolution, in a loop (esp32_simulator/scenes.py)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"esp32_simulator {__version__}")
    return parser


def build_cameras(args: argparse.Namespace) -> list[SimulatedCamera]:
    """Create the cameras described by the parsed arguments."""
    frames: list[bytes] | None = None
    if args.scene:
        frames = list(scene_frames(args.scene, RESOLUTIONS[args.resolution]))
    elif args.jpeg or args.frame_size:
        frames = [path.read_bytes() for path in args.jpeg or ()]
        frames += [make_test_jpeg(size=size) for size in args.frame_size or ()]
    base_address = (
        ipaddress.IPv4Address(args.source_address_base) if args.source_address_base else None
    )
    cameras = []
    for number in range(1, args.count + 1):
        camera_id = name = token = firmware = None
        if not args.stock:
            camera_id = f"{args.id_prefix}-{number}"
            token = args.token
            firmware = f"esp32_simulator {__version__}"
            if args.name:
                name = f"{args.name} {number}" if args.count > 1 else args.name
        cameras.append(
            SimulatedCamera(
                args.host,
                args.port,
                camera_id=camera_id,
                name=name,
                token=token,
                firmware=firmware,
                identity_in_url=args.identity_in_url,
                resolution=args.resolution,
                quality=args.quality,
                fps=args.fps,
                mode=args.mode,
                pacing=not args.no_pacing,
                frames=frames,
                health_interval=args.health_interval,
                reconnect_interval=args.reconnect_interval,
                source_address=str(base_address + number - 1) if base_address else None,
                label=name or camera_id or f"stock camera {number}",
            )
        )
    return cameras


class _Summary:
    """Per-camera one-line summaries with the fps since the previous line."""

    def __init__(self, cameras: list[SimulatedCamera]) -> None:
        self.cameras = cameras
        self._started = time.monotonic()
        self._previous = {id(camera): (self._started, 0) for camera in cameras}

    def print(self, prefix: str, *, overall: bool = False) -> None:
        """One line per camera; fps since the previous line, or since the start if ``overall``."""
        now = time.monotonic()
        for number, camera in enumerate(self.cameras, start=1):
            since, frames_then = (self._started, 0) if overall else self._previous[id(camera)]
            fps = (camera.frames_sent - frames_then) / max(now - since, 1e-9)
            self._previous[id(camera)] = (now, camera.frames_sent)
            state = "up  " if camera.connected else "down"
            last = f"{camera.last_frame_size:,} B" if camera.last_frame_size else "-"
            label = camera.camera_id or camera.source_address or f"stock-{number}"
            print(
                f"[{prefix}] {label:<12} {state} frames={camera.frames_sent} fps={fps:.1f} "
                f"last={last} sent={camera.bytes_sent / 1e6:.1f} MB dropped={camera.frames_dropped} "
                f"res={camera.resolution.name} q={camera.quality} mode={camera.mode} "
                f"conns={camera.connection_count}"
                + (
                    f" error={camera.last_error}"
                    if camera.last_error and not camera.connected
                    else ""
                ),
                flush=True,
            )


async def run_cameras(
    args: argparse.Namespace, cameras: list[SimulatedCamera] | None = None
) -> None:
    """Run the cameras (built from ``args`` if not given) until --duration or SIGINT/SIGTERM."""
    if cameras is None:
        cameras = build_cameras(args)
    if args.stock and args.count > 1 and not args.source_address_base:
        print(
            "[simulate] warning: stock cameras from one address are one camera to the server; "
            "use --source-address-base 127.0.0.2 to give each its own loopback address",
            file=sys.stderr,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signal_number, stop.set)
    summary = _Summary(cameras)
    for camera in cameras:
        camera.start()
    started = time.monotonic()
    try:
        while not stop.is_set():
            waits = [
                value
                for value in (
                    args.summary_interval or None,
                    args.duration - (time.monotonic() - started) if args.duration else None,
                )
                if value is not None
            ]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, min(waits)) if waits else None):
                    await stop.wait()
            if args.duration and time.monotonic() - started >= args.duration:
                break
            if args.summary_interval and not stop.is_set():
                summary.print("simulate")
    finally:
        await asyncio.gather(*(camera.stop() for camera in cameras), return_exceptions=True)
        summary.print("final", overall=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m esp32_simulator``."""
    args = build_parser().parse_args(argv)
    if args.count < 1:
        print("[simulate] error: --count must be at least 1", file=sys.stderr)
        return 2
    if args.stock and (args.token or args.name):
        print("[simulate] error: --stock sends no token or name", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        cameras = build_cameras(args)
    except (ValueError, OSError) as error:  # bad option values, unreadable --jpeg files
        print(f"[simulate] error: {error}", file=sys.stderr)
        return 2
    asyncio.run(run_cameras(args, cameras))
    return 0


if __name__ == "__main__":
    sys.exit(main())
