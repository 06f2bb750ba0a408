"""The 11-29 integration, run beside today's in the fan-out (bench/reference.py, issue 22)."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess

import pytest

from bench import fanout, reference
from bench.compare import regressions
from bench.measure import REPO


def test_the_reference_is_the_integration_of_the_commit_of_the_11_29_runs(
    tmp_path: Path,
) -> None:
    component = reference.export(tmp_path)
    manifest = json.loads((component / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["domain"] == "esp32_camera"
    # The 11-29 layout: no motion detection and no clips yet (what issue 22 measures against).
    assert (component / "hub.py").is_file()
    assert not (component / "motion").exists()
    assert not (component / "clips").exists()
    # Exactly that commit's files, nothing of this checkout's.
    listed = subprocess.run(
        [
            "git",
            "-C",
            str(REPO),
            "ls-tree",
            "-r",
            "--name-only",
            reference.REFERENCE_COMMIT,
            "custom_components/esp32_camera",
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split()
    exported = sorted(
        str(path.relative_to(tmp_path)) for path in component.rglob("*") if path.is_file()
    )
    assert exported == sorted(listed)


def test_a_clone_without_the_commit_gets_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference, "REFERENCE_COMMIT", "0" * 40)
    with pytest.raises(reference.ReferenceUnavailableError, match="cannot export 0000000"):
        reference.export(tmp_path)
    assert not (tmp_path / "custom_components").exists()


def _row(target: str, above_idle: float, viewers: int = 1) -> dict[str, object]:
    return {
        "target": target,
        "viewers": viewers,
        "cpu_ms_per_delivered_frame": above_idle + 0.5,
        "cpu_ms_per_delivered_frame_above_idle": above_idle,
        "fast_latency_ms": {"p50": 1.0, "p99": 2.0},
        "rss_mib": {"growth": 0.0},
    }


def test_the_fanout_table_gives_the_core_path_against_the_11_29_hub() -> None:
    rows = [_row(fanout.CORE, 0.60), _row("floor", 0.44), _row(fanout.REFERENCE, 0.68)]
    lines = fanout.table({"fanout": rows})
    assert [line.split("  ")[0] for line in lines[3:6]] == [
        "1 hub core",
        "1 floor (baseline)",
        "1 hub 2026-11-29",
    ]
    assert lines[6] == "1 viewer(s): the core path costs 0.88x the 2026-11-29 hub above idle"


def test_a_core_path_slower_against_the_11_29_hub_is_flagged() -> None:
    def run(core: float) -> dict[str, object]:
        return {
            "mode": "quick",
            "fanout": [_row(fanout.CORE, core), _row("floor", 0.44), _row(fanout.REFERENCE, 0.60)],
        }

    slower, _ = regressions(run(0.60), run(0.72))
    assert {item.name: round(item.change, 2) for item in slower} == {
        "fan-out 1 viewers, hub core: CPU ms per delivered frame above idle": 0.2,
        "fan-out 1 viewers, hub core / relay": 0.2,
        "fan-out 1 viewers, hub core / the 11-29 hub": 0.2,
    }
