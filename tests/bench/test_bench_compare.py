"""The compare with the recorded run: which figures it takes, its arithmetic, its noise floors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.compare import THRESHOLD, compare_with, figures, recorded_run, regressions


def _ingest(hub: float, floor: float, size: str = "XGA") -> list[dict[str, Any]]:
    return [
        {"size": size, "target": "hub", "cpu_s_per_1000_frames": hub},
        {"size": size, "target": "floor", "cpu_s_per_1000_frames": floor},
    ]


def _run(**workloads: Any) -> dict[str, Any]:
    return {"mode": "quick", "date": "2026-12-06T00:00:00+00:00", **workloads}


def test_a_20_percent_slower_hub_is_flagged_with_its_ratio_to_the_floor() -> None:
    recorded = _run(ingest=_ingest(0.100, 0.050))
    current = _run(ingest=_ingest(0.120, 0.050))
    slower, compared = regressions(recorded, current)
    assert compared == 2
    assert {item.name: round(item.change, 3) for item in slower} == {
        "ingest XGA hub core: CPU s per 1,000 frames": 0.2,
        "ingest XGA hub core / floor": 0.2,
    }
    assert slower[0].before == pytest.approx(0.100)
    assert slower[0].after == pytest.approx(0.120)


def test_within_the_threshold_or_faster_is_not_flagged() -> None:
    recorded = _run(ingest=_ingest(0.100, 0.050))
    just_within = 0.100 * (1 + THRESHOLD) - 0.0001
    assert regressions(recorded, _run(ingest=_ingest(just_within, 0.050)))[0] == []
    assert regressions(recorded, _run(ingest=_ingest(0.050, 0.050)))[0] == []


def test_a_slower_floor_alone_flags_no_ratio() -> None:
    # The machine got slower for both: the hub's CPU is flagged, its ratio to the floor is not.
    slower, _ = regressions(_run(ingest=_ingest(0.100, 0.050)), _run(ingest=_ingest(0.130, 0.065)))
    assert [item.name for item in slower] == ["ingest XGA hub core: CPU s per 1,000 frames"]


def test_a_change_within_the_noise_floor_is_not_flagged() -> None:
    def budget(stage_us: float) -> dict[str, Any]:
        return {"size": "VGA", "stage_us_per_frame": {"ring": stage_us}, "floor_us_per_frame": 60}

    # +60 % of a 5 us stage is 3 us: below the budget's noise floor.
    assert regressions(_run(budget=[budget(5.0)]), _run(budget=[budget(8.0)]))[0] == []
    slower, _ = regressions(_run(budget=[budget(50.0)]), _run(budget=[budget(80.0)]))
    assert [item.name for item in slower] == ["budget VGA: ring us per frame"]


def test_a_recorded_cost_at_or_below_zero_is_not_compared_relatively() -> None:
    def budget(stage_us: float) -> dict[str, Any]:
        return {"size": "VGA", "stage_us_per_frame": {"ring": stage_us}}

    assert regressions(_run(budget=[budget(-4.0)]), _run(budget=[budget(90.0)]))[0] == []


def test_only_figures_of_both_runs_are_compared() -> None:
    fanout = [
        {"viewers": 1, "target": "hub", "cpu_ms_per_delivered_frame_above_idle": 0.5},
        {"viewers": 1, "target": "floor", "cpu_ms_per_delivered_frame_above_idle": 0.4},
    ]
    recorded = _run(ingest=_ingest(0.1, 0.05))
    current = _run(ingest=_ingest(0.1, 0.05), fanout=fanout)
    assert set(figures(current)) == {
        "ingest XGA hub core: CPU s per 1,000 frames",
        "ingest XGA hub core / floor",
        "fan-out 1 viewers, hub core: CPU ms per delivered frame above idle",
        "fan-out 1 viewers, hub core / relay",
    }
    assert regressions(recorded, current) == ([], 2)


def test_a_recorded_hub_row_is_compared_with_the_core_path_never_the_defaults() -> None:
    recorded = _run(ingest=_ingest(0.100, 0.050))  # before the core path had its own row
    current = _run(
        ingest=[
            {"size": "XGA", "target": "core", "cpu_s_per_1000_frames": 0.130},
            {"size": "XGA", "target": "defaults", "cpu_s_per_1000_frames": 0.300},
            {"size": "XGA", "target": "floor", "cpu_s_per_1000_frames": 0.050},
        ]
    )
    slower, compared = regressions(recorded, current)
    assert compared == 2  # the defaults at the ceiling are not compared (the worker sheds load)
    assert not any("defaults" in name for name in figures(current))
    assert [round(item.change, 3) for item in slower] == [0.3, 0.3]
    assert {item.name.split(":")[0] for item in slower} == {
        "ingest XGA hub core",
        "ingest XGA hub core / floor",
    }


def test_latency_percentiles_are_not_compared() -> None:
    latency = {"push_update_delay_ms": {"p50": 1.9, "p99": 14.3}}
    assert figures(_run(latency=latency)) == {}


def test_compare_with_prints_each_regression_and_records_it(tmp_path: Path) -> None:
    recorded = tmp_path / "quick.json"
    recorded.write_text(json.dumps(_run(ingest=_ingest(0.100, 0.050))), encoding="utf-8")
    lines, record = compare_with(recorded, _run(ingest=_ingest(0.125, 0.050)))
    assert "2 figures, 2 slower by more than 15%" in lines[1]
    assert "  SLOWER ingest XGA hub core: CPU s per 1,000 frames: 0.100 -> 0.125 s (+25%)" in lines
    assert [item["name"] for item in record["slower"]] == [
        "ingest XGA hub core: CPU s per 1,000 frames",
        "ingest XGA hub core / floor",
    ]
    lines, record = compare_with(tmp_path / "missing.json", _run())
    assert "No recorded run to compare with" in lines[1]
    assert "slower" not in record


def test_the_recorded_run_of_a_mode_is_the_committed_one() -> None:
    assert recorded_run("quick").name == "quick.json"
    assert recorded_run("quick").is_file()
    assert recorded_run("full").parent == recorded_run("quick").parent


def test_a_slower_assembler_is_flagged_above_its_noise_floor() -> None:
    def assembler(us: float) -> list[dict[str, Any]]:
        return [{"size": "VGA", "us_per_frame": us}]

    slower, _ = regressions(_run(assembler=assembler(6.0)), _run(assembler=assembler(7.3)))
    assert [(item.name, round(item.change, 2)) for item in slower] == [
        ("assembler VGA: us per frame", 0.22)
    ]
    # +17 % of 2 us is 0.34 us: within the noise floor of the bench's own thread.
    assert regressions(_run(assembler=assembler(2.0)), _run(assembler=assembler(2.34)))[0] == []
