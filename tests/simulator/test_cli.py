"""The scripts/simulate command line."""

from __future__ import annotations

import pytest

from esp32_simulator.__main__ import build_cameras, build_parser, main, run_cameras
from tests.helpers import RecordingServer, assemble_frames


def test_extension_mode_numbers_ids_and_names() -> None:
    args = build_parser().parse_args(
        ["--count", "3", "--id", "yard", "--name", "Yard", "--token", "t", "--resolution", "VGA"]
    )
    cameras = build_cameras(args)
    assert [camera.camera_id for camera in cameras] == ["yard-1", "yard-2", "yard-3"]
    assert [camera.name for camera in cameras] == ["Yard 1", "Yard 2", "Yard 3"]
    assert all(camera.token == "t" and not camera.is_stock for camera in cameras)
    assert all(camera.resolution.name == "VGA" for camera in cameras)


def test_stock_mode_with_source_addresses() -> None:
    args = build_parser().parse_args(
        ["--stock", "--count", "2", "--source-address-base", "127.0.0.5", "--mode", "speed"]
    )
    cameras = build_cameras(args)
    assert all(camera.is_stock for camera in cameras)
    assert [camera.source_address for camera in cameras] == ["127.0.0.5", "127.0.0.6"]
    assert all(
        camera.register_message() == {"type": "register", "device": "camera"} for camera in cameras
    )


def test_invalid_arguments() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--resolution", "13"])
    assert main(["--count", "0"]) == 2
    assert main(["--stock", "--token", "x"]) == 2
    assert main(["--quality", "70"]) == 2
    assert main(["--jpeg", "/nonexistent/frame.jpg"]) == 2


async def test_runs_for_a_duration_and_prints_summaries(
    server: RecordingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(
        [
            "--port",
            str(server.port),
            "--count",
            "2",
            "--resolution",
            "0",
            "--mode",
            "speed",
            "--no-pacing",
            "--frame-size",
            "12000",
            "--duration",
            "0.8",
            "--summary-interval",
            "0.4",
        ]
    )
    await run_cameras(args)
    output = capsys.readouterr().out
    assert output.count("[final] sim-") == 2
    assert "[simulate] sim-1" in output
    assert "last=12,000 B" in output
    await server.wait_for(lambda: all(session.closed for session in server.sessions))
    assert {session.texts("register")[0]["id"] for session in server.sessions} == {"sim-1", "sim-2"}
    for session in server.sessions:
        frames = assemble_frames(session.events)
        assert frames
        assert all(len(frame.data) == 12_000 for frame in frames)
        assert all(frame.framing == "frame" for frame in frames)
