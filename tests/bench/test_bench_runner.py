"""The bench's runner: every workload name runs, the soak and `--only` choose, the table's order."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

from bench.ingest import merge_rounds
from bench.runner import ASSEMBLER, HASS_WORKLOADS, LOCAL_WORKLOAD, WORKLOADS, chosen, table

REPO = Path(__file__).resolve().parents[2]


def test_every_workload_name_is_run_by_the_runner() -> None:
    assert len(set(WORKLOADS)) == len(WORKLOADS)
    assert set(WORKLOADS) == {*HASS_WORKLOADS, LOCAL_WORKLOAD, ASSEMBLER}


def test_the_soak_and_only_choose_the_workloads() -> None:
    assert chosen(None, None) == set(WORKLOADS)
    assert chosen("latency", None) == {"latency"}
    # The assembler alone runs with the workloads whose figures it is part of.
    assert chosen("ingest,latency", None) == {"ingest", "latency", ASSEMBLER}
    assert chosen("budget", None) == {"budget", ASSEMBLER}
    assert chosen("record", 5.0) == {"idle", "churn"}  # the soak wins, as it always did


def test_the_table_prints_each_section_in_order() -> None:
    results = json.loads((REPO / "docs" / "benchmarks" / "quick.json").read_text("utf-8"))
    lines = table(results).splitlines()
    titles = (
        "Idle hub: event loop lag",
        "Ingest ceiling",
        "Latency:",
        "Fan-out:",
        "Continuous saving",
        "Churn:",
        "Event loop lag under load",
    )
    places = [next(i for i, line in enumerate(lines) if line.startswith(t)) for t in titles]
    assert places == sorted(places)
    assert places[0] == 0  # the first section has no blank line before it
    assert table({}) == ""  # a section whose workload did not run prints nothing


def test_merge_rounds_keeps_each_groups_median_round_by_the_figure_compared() -> None:
    # The round of median frames/s (200) is not the round of median CPU per frame (0.05).
    rows = [
        {"size": "VGA", "target": "hub", "fps": fps, "cpu": cpu, "round": number}
        for number, (fps, cpu) in enumerate(((300.0, 0.04), (100.0, 0.05), (200.0, 0.09)))
    ] + [
        {"size": "VGA", "target": "floor", "fps": 500.0, "cpu": 0.02, "round": 0},
        {"size": "VGA", "target": "floor", "fps": 0.0, "cpu": None, "round": 1},
        {"size": "VGA", "target": "floor", "fps": 400.0, "cpu": 0.03, "round": 2},
    ]
    merged = merge_rounds(rows, ("size", "target"), by="cpu")
    assert [(row["target"], row["round"], row["rounds"]) for row in merged] == [
        ("hub", 1, 3),
        ("floor", 2, 3),  # a round that measured nothing sorts last
    ]


def test_the_entry_point_parses_and_lists_every_workload() -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stderr
    assert ", ".join(WORKLOADS) in " ".join(answer.stdout.split())
