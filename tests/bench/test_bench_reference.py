"""The 11-29 integration, run beside today's in the fan-out (bench/reference.py, issue 22)."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
from typing import cast

import pytest

from bench import fanout, ingest, reference
from bench.compare import figures, regressions
from bench.measure import REPO
from bench.testbed import Bench
from tests.bench.fanout_rows import fanout_row


def _git(*arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *arguments], capture_output=True, check=True, text=True
    ).stdout


def test_the_export_is_exactly_the_integration_of_the_commit(tmp_path: Path) -> None:
    """Checked with this checkout's own commit: a shallow clone (CI's may be one) has no 11-29."""
    commit = _git("rev-parse", "HEAD").strip()
    component = reference.export(tmp_path, commit)
    assert component == tmp_path / "custom_components" / "esp32_camera"
    manifest = json.loads((component / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["domain"] == "esp32_camera"
    listed = _git("ls-tree", "-r", "--name-only", commit, "custom_components/esp32_camera")
    exported = sorted(
        str(path.relative_to(tmp_path)) for path in component.rglob("*") if path.is_file()
    )
    assert exported == sorted(listed.split())
    # The commit's content, not the working tree's.
    assert (component / "manifest.json").read_bytes() == subprocess.run(
        ["git", "-C", str(REPO), "show", f"{commit}:custom_components/esp32_camera/manifest.json"],
        capture_output=True,
        check=True,
    ).stdout


def test_a_clone_without_the_commit_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(reference.ReferenceUnavailableError, match="cannot export 0000000"):
        reference.export(tmp_path, "0" * 40)
    assert not (tmp_path / "custom_components").exists()


def test_the_fanout_table_gives_the_core_path_against_the_11_29_hub() -> None:
    rows = [
        fanout_row(ingest.CORE, 1, 0.60),
        fanout_row("floor", 1, 0.44),
        fanout_row(reference.REFERENCE_TARGET, 1, 0.68),
    ]
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
            "fanout": [
                fanout_row(ingest.CORE, 1, core),
                fanout_row("floor", 1, 0.44),
                fanout_row(reference.REFERENCE_TARGET, 1, 0.60),
            ],
        }

    slower, _ = regressions(run(0.60), run(0.72))
    assert {item.name: round(item.change, 2) for item in slower} == {
        "fan-out 1 viewers, hub core: CPU ms per delivered frame above idle": 0.2,
        "fan-out 1 viewers, hub core / relay": 0.2,
        "fan-out 1 viewers, hub core / the 2026-11-29 hub": 0.2,
    }


def test_a_defaults_row_gets_no_ratio_to_the_11_29_hub() -> None:
    """The limit is the core path's: the defaults (motion detection on) are not held to it."""
    run = {
        "mode": "quick",
        "fanout": [
            fanout_row(ingest.CORE, 1, 0.6),
            fanout_row(ingest.DEFAULTS, 1, 1.5),
            fanout_row(reference.REFERENCE_TARGET, 1, 0.7),
        ],
    }
    against = [name for name in figures(run) if "11-29" in name]
    assert against == ["fan-out 1 viewers, hub core / the 2026-11-29 hub"]


def test_each_of_three_targets_runs_first_second_and_third_once_in_three_rounds() -> None:
    orders = [fanout._order(1, number, 1, reference=True) for number in range(3)]
    assert orders[0][-1] == ingest.DEFAULTS  # the defaults once, after the first round's three
    rounds = [order[:3] for order in orders]
    for place in range(3):
        assert sorted(order[place] for order in rounds) == sorted(
            (ingest.CORE, "floor", reference.REFERENCE_TARGET)
        )
    # Without the reference, and for more viewers, the hub and the relay alternate.
    assert fanout._order(1, 1, 1, reference=False) == ("floor", ingest.CORE)
    assert fanout._order(10, 0, 1, reference=True) == ("floor", ingest.CORE)
    assert fanout._order(10, 1, 1, reference=True) == (ingest.CORE, "floor")


class _FakeBench:
    """What the fan-out asks of the reference's Bench to start and stop it."""

    def __init__(self, *, fails: bool) -> None:
        self.fails = fails
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")
        if self.fails:
            raise RuntimeError("config flow refused")

    async def stop(self) -> None:
        self.calls.append("stop")


async def test_the_reference_runs_only_for_the_fanout_windows() -> None:
    fake = _FakeBench(fails=False)
    bench = cast("Bench", fake)
    async with fanout._started(bench) as started:
        assert started is bench
        assert fake.calls == ["start"]
    assert fake.calls == ["start", "stop"]


async def test_a_reference_that_does_not_start_is_stopped_and_left_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = _FakeBench(fails=True)
    async with fanout._started(cast("Bench", fake)) as started:
        assert started is None
    assert fake.calls == ["start", "stop"]
    assert "without the 2026-11-29 reference: it did not start: config flow refused" in (
        capsys.readouterr().err
    )


def test_the_11_29_rows_are_measured_in_the_reference_hass_only() -> None:
    today, then = cast("Bench", object()), cast("Bench", object())
    assert fanout._server(today, then, reference.REFERENCE_TARGET) is then
    for target in (ingest.CORE, ingest.DEFAULTS, "floor"):
        assert fanout._server(today, then, target) is today
    with pytest.raises(ValueError, match="no 2026-11-29 reference"):
        fanout._server(today, None, reference.REFERENCE_TARGET)
