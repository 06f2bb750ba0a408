"""The ingest and fan-out tables: the core path's row and the defaults' beside the floor (issue 22)."""

from __future__ import annotations

from typing import Any

from bench import fanout, ingest
from tests.bench.fanout_rows import fanout_row


def _ingest_row(target: str, cpu: float) -> dict[str, Any]:
    return {
        "size": "XGA",
        "target": target,
        "fps": 1000.0,
        "mb_per_s": 80.0,
        "cpu_s_per_1000_frames": cpu,
    }


def test_the_ingest_table_gives_each_hub_configuration_its_ratio_to_the_floor() -> None:
    rows = [
        _ingest_row(ingest.DEFAULTS, 0.30),
        _ingest_row("floor", 0.10),
        _ingest_row(ingest.CORE, 0.20),
    ]
    lines = ingest.table({"ingest": rows})
    by_name = {line.split("  ")[0].strip(): line.split()[-2] for line in lines[3:]}
    # The core path first, then the defaults, then the floor, whatever order they ran in.
    assert list(by_name) == ["XGA hub core", "XGA hub defaults", "XGA floor (baseline)"]
    assert by_name == {
        "XGA hub core": "2.00x",
        "XGA hub defaults": "3.00x",
        "XGA floor (baseline)": "1.00x",
    }


def test_a_run_recorded_before_the_core_path_still_prints() -> None:
    """Its hub rows were the defaults, named `hub` (docs/benchmarks/quick-2026-11-29.json)."""
    lines = ingest.table({"ingest": [_ingest_row("hub", 0.24), _ingest_row("floor", 0.10)]})
    assert [line.split("  ")[0] for line in lines[3:]] == ["XGA hub", "XGA floor (baseline)"]
    lines = fanout.table({"fanout": [fanout_row("hub", 1, 0.4), fanout_row("floor", 1, 0.4)]})
    assert [line.split("  ")[0] for line in lines[3:]] == ["1 hub", "1 floor (baseline)"]


def test_the_fanout_table_names_the_core_path_and_the_defaults() -> None:
    rows = [
        fanout_row(fanout.CORE, 1, 0.5),
        fanout_row("floor", 1, 0.4),
        fanout_row(fanout.DEFAULTS, 1, 1.5),
        fanout_row("floor", 50, 0.06),
        fanout_row(fanout.CORE, 50, 0.07),
    ]
    lines = fanout.table({"fanout": rows})
    assert [line.split("  ")[0] for line in lines[3:]] == [
        "1 hub core",
        "1 floor (baseline)",
        "1 hub defaults",
        "50 floor (baseline)",
        "50 hub core",
    ]
    assert lines[3].split()[-4] == "0.500"  # above idle, as measured


def test_the_core_path_switches_off_every_per_frame_feature_it_names() -> None:
    assert set(ingest.CORE_PATH_OFF) == {"motion_detection", "record_on_motion"}
    assert set(ingest.HUB_CONFIGS) == {ingest.CORE, ingest.DEFAULTS}
