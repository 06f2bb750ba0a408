"""The record benchmark's own tools: the clip against the sent window, the replayed ring, the table."""

from __future__ import annotations

from typing import Any

from bench.record import compare, loop_cpu_us_per_frame, table

SECOND = 1_000_000_000


def test_compare_counts_the_window_and_the_clip() -> None:
    sent = {sequence: sequence * SECOND // 20 for sequence in range(1, 101)}  # 20 fps, 5 s
    window = (SECOND, 2 * SECOND)  # sequences 20..40, both ends included
    exact = compare(list(range(20, 41)), sent, *window)
    assert exact == {
        "frames_in_clip": 21,
        "frames_sent_in_window": 21,
        "missing": 0,
        "extra": 0,
        "unreadable": 0,
        "gaps": 0,
        "identical": True,
    }
    # A lost frame, one from outside the window, and a frame without a sequence number.
    damaged = compare([*range(19, 30), *range(31, 41), None], sent, *window)
    assert damaged["missing"] == 1
    assert damaged["extra"] == 1
    assert damaged["gaps"] == 1
    assert damaged["unreadable"] == 1
    assert damaged["identical"] is False


def test_the_replayed_ring_costs_something_with_and_without_a_clip() -> None:
    # Figures belong in the report; here they must merely have been measured.
    assert loop_cpu_us_per_frame(10_000, open_clip=False) > 0
    assert loop_cpu_us_per_frame(10_000, open_clip=True) > 0


def test_the_table_shows_every_size_and_phase() -> None:
    costs: dict[str, Any] = {
        "ring_us_per_frame": 10.0,
        "loop_cpu_us_per_frame": 1.0,
        "hub_cpu_us_per_frame_above_idle": 1000.0,
    }
    row = {
        "size": "VGA",
        "pre_roll": 5.0,
        "duration": 5.0,
        "frames_in_clip": 200,
        "frames_sent_in_window": 200,
        "identical": True,
        "pre_roll_complete": False,
        "mp4": True,
        "ring_only": costs,
        "recording": {**costs, "hub_cpu_us_per_frame_above_idle": None},
    }
    lines = table({"record": [row]})
    assert any("VGA 5 s + 5 s" in line and " no " in f"{line} " for line in lines)
    assert any(line.startswith("VGA ring ") and "1.0 %" in line for line in lines)
    assert any(line.startswith("VGA ring + open clip") and line.endswith("-") for line in lines)
    assert table({}) == []
