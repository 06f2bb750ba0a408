"""The per-frame budget's arithmetic: above idle per frame, each stage minus what it needs."""

from __future__ import annotations

import pytest

from bench.budget import STAGES, _per_analysis, per_frame_us, stage_costs, table


def test_cpu_per_frame_is_above_idle() -> None:
    # 0.5 s of CPU in 4 s, idle 0.025 of a core: 0.4 s over 800 frames = 500 us.
    assert per_frame_us(0.5, 4.0, 800, 0.025) == pytest.approx(500.0)
    assert per_frame_us(0.5, 4.0, 0, 0.025) is None


def test_each_stage_costs_its_configuration_minus_the_one_it_needs() -> None:
    configurations: dict[str, float | None] = {
        "receive": 100.0,
        "statistics": 104.0,
        "broker": 110.0,
        "ring": 112.0,
        "motion_handoff": 115.0,
        "motion_analysis": 515.0,
        "live": 140.0,
        "saving": 300.0,
        "shipped": 530.0,
    }
    assert stage_costs(configurations) == {
        "receive": 100.0,
        "statistics": 4.0,
        "broker": 10.0,
        "ring": 2.0,
        "motion_handoff": 5.0,
        "motion_analysis": 400.0,
        "live": 30.0,
        "saving": 190.0,
        "shipped": 530.0,
    }
    missing = stage_costs({**configurations, "broker": None})
    assert missing["ring"] is None
    assert missing["broker"] is None
    assert missing["statistics"] == 4.0


def test_motion_per_analysis_is_its_cost_per_frame_over_the_share_analysed() -> None:
    # 400 us per frame at 160 frames/s, 80 analyses/s: 0.8 ms per analysis.
    analysing = {"frames_per_s": 160.0, "analysed_per_s": 80.0}
    assert _per_analysis({"motion_analysis": 400.0}, analysing) == pytest.approx(0.8)
    assert _per_analysis({"motion_analysis": 400.0}, {**analysing, "analysed_per_s": 0}) is None


def test_every_stage_needs_a_measured_configuration() -> None:
    names = [stage.name for stage in STAGES]
    assert len(set(names)) == len(names)
    assert all(stage.needs in names for stage in STAGES if stage.needs)


def test_the_table_has_a_row_per_stage_and_the_floor() -> None:
    costs = {stage.name: 10.0 for stage in STAGES}
    row = {
        "size": "VGA",
        "stage_us_per_frame": costs,
        "sum_of_shipped_parts_us": 60.0,
        "floor_us_per_frame": 50.0,
        "motion_percent_of_core_per_camera": 0.04,
        "motion_ms_per_analysis": 0.9,
    }
    lines = table({"budget": [row]})
    assert lines[1].startswith("Per-frame budget")
    assert len(lines) == 3 + len(STAGES) + 4
    assert any(line.startswith("floor (read and discard)") for line in lines)
    assert table({}) == []
