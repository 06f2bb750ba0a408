"""The simulator's scenes: labels, sizes, and the --scene option."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageStat
import pytest

from esp32_simulator.__main__ import build_cameras, build_parser
from esp32_simulator.jpeg import jpeg_dimensions
from esp32_simulator.scenes import SCENE_NAMES, SceneSize, build_scenes
from tests.helpers import SCENES_FOLDER_VARIABLE, scene_jpegs


def test_every_scene_and_its_labels() -> None:
    scenes = build_scenes(SceneSize(160, 120, (320, 240)))
    assert tuple(scenes) == SCENE_NAMES
    crossing = scenes["crossing"]
    # Labelled from the first frame the walker covers 1 % of the picture to the last one.
    assert crossing.motion == ((31, 51), (202, 280))
    for first, end in crossing.motion:
        walker = next(c for c in crossing.crossings if c.start <= first < c.end)
        assert walker.visible_area(first, 160, 120) >= 1.0
        assert walker.visible_area(first - 1, 160, 120) < 1.0
        assert walker.visible_area(end, 160, 120) < 1.0
    assert all(scenes[name].motion == () for name in SCENE_NAMES if name != "crossing")


def test_frames_are_jpegs_of_the_scene_size_and_reproducible() -> None:
    scenes = build_scenes(SceneSize(160, 120, (320, 240)))
    resolution = scenes["resolution"]
    sizes = {jpeg_dimensions(resolution.render(number)) for number in (0, 60, 120)}
    assert sizes == {(160, 120), (320, 240)}
    assert scenes["noise"].render(7) == scenes["noise"].render(7)
    assert scenes["noise"].render(7) != scenes["noise"].render(8)
    lamp = scenes["lamp"]
    dark, lit = (Image.open(io.BytesIO(lamp.render(n))).convert("L") for n in (39, 40))
    assert ImageStat.Stat(lit).mean[0] > 1.2 * ImageStat.Stat(dark).mean[0]  # the lamp is on
    shake = scenes["shake"]
    assert shake.render(50) != shake.render(51)


def test_scene_option_streams_the_scene() -> None:
    args = build_parser().parse_args(["--scene", "lamp", "--resolution", "QQVGA"])
    (camera,) = build_cameras(args)
    frames = camera._fixed_frames
    assert frames is not None
    assert len(frames) == 160
    assert {jpeg_dimensions(frame) for frame in frames} == {(160, 120)}


def test_the_tests_share_each_rendered_scene_through_the_runs_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/helpers.scene_jpegs: the first xdist worker renders a scene, the others read it."""
    monkeypatch.setenv(SCENES_FOLDER_VARIABLE, str(tmp_path))
    size = SceneSize(96, 72, (160, 120))
    rendered = tuple(build_scenes(size)["shake"])
    render_once = scene_jpegs.__wrapped__  # past this process's own cache, as another worker
    assert render_once("shake", size) == rendered
    (written,) = (path for path in tmp_path.iterdir() if path.suffix != ".lock")
    assert written.name == "shake-96x72-160x120"
    written.write_bytes(written.read_bytes()[:-1] + b"\x00")  # what the next worker reads
    read = render_once("shake", size)
    assert read[:-1] == rendered[:-1]
    assert read[-1] == rendered[-1][:-1] + b"\x00"
