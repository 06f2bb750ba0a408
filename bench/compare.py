"""A run against the last recorded run of its mode: every figure that got slower by over 15 %.

`scripts/bench` compares with docs/benchmarks/<mode>.json (quick.json, full.json: the runs
docs/performance.md quotes, committed, so a user has the same reference) or with `--compare PATH`.
Compared are costs, where lower is better and a run on the same machine repeats within a few
per cent: CPU per frame (ingest, the frame assembler alone, fan-out, saving, each stage of the
per-frame budget, motion analysis) and the ratios to the baselines of the same run, which carry
over between machines. On a busy machine the ingest figures move by 15 % or more from run to run;
the assembler's, measured in the bench's own thread, by a few per cent.
Latency percentiles are not compared: the push path's p99 moved from 5.9 to 14.3 ms between the
quick and the full run of the same day, and a p50 of 2 ms is the scheduler's more than the hub's.
A figure is flagged only when it also moved by more than its noise floor (a stage of a few
microseconds can double from one window to the next on a shared machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

from bench.measure import REPO
from bench.reference import REFERENCE_DATE, REFERENCE_TARGET

THRESHOLD = 0.15  # slower by more than this share is a regression
RECORDED = REPO / "docs" / "benchmarks"


@dataclass(frozen=True, kw_only=True)
class Figure:
    """One compared cost of a run: its value and the smallest change that is not noise."""

    value: float
    unit: str
    noise: float  # in `unit`


@dataclass(frozen=True, kw_only=True)
class Regression:
    """A figure slower than the recorded run's by more than the threshold and its noise."""

    name: str
    before: float
    after: float
    unit: str

    @property
    def change(self) -> float:
        """The relative change, +0.2 for 20 % slower."""
        return self.after / self.before - 1


def recorded_run(mode: str) -> Path:
    """The recorded run a run of `mode` is compared with."""
    return RECORDED / f"{mode}.json"


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return value / baseline if value is not None and baseline else None


# The hub's rows by target: "hub" is a run recorded before the core path (motion detection and
# recording off) had a row of its own; the hub then had no per-frame feature, so it is the core.
_HUB_TARGETS = {"hub": "core", "core": "core", "defaults": "defaults"}
# At the ingest ceiling the motion worker analyses as many frames as it finds CPU for (it sheds
# load by design): the defaults' CPU per frame follows the machine's spare CPU (0.363 -> 0.614 s
# per 1,000 UXGA frames between two runs of the same code), so only the core path is compared.
_INGEST_TARGETS = {"hub": "core", "core": "core"}


def _figures_of_ingest(results: dict[str, Any]) -> Iterator[tuple[str, Figure]]:
    rows = {(row["size"], row["target"]): row for row in results.get("ingest", [])}
    for (size, target), row in rows.items():
        hub = _INGEST_TARGETS.get(target)
        if hub is None or (cpu := row.get("cpu_s_per_1000_frames")) is None:
            continue
        name = f"ingest {size} hub {hub}"
        yield f"{name}: CPU s per 1,000 frames", Figure(value=cpu, unit="s", noise=0.002)
        floor = rows.get((size, "floor"), {}).get("cpu_s_per_1000_frames")
        if (ratio := _ratio(cpu, floor)) is not None:
            yield f"{name} / floor", Figure(value=ratio, unit="x", noise=0.1)


def _figures_of_fanout(results: dict[str, Any]) -> Iterator[tuple[str, Figure]]:
    rows = {(row["viewers"], row["target"]): row for row in results.get("fanout", [])}
    for (viewers, target), row in rows.items():
        hub = _HUB_TARGETS.get(target)
        if hub is None or (cpu := row.get("cpu_ms_per_delivered_frame_above_idle")) is None:
            continue
        name = f"fan-out {viewers} viewers, hub {hub}"
        yield (
            f"{name}: CPU ms per delivered frame above idle",
            Figure(value=cpu, unit="ms", noise=0.01),
        )
        relay = rows.get((viewers, "floor"), {}).get("cpu_ms_per_delivered_frame_above_idle")
        if (ratio := _ratio(cpu, relay)) is not None:
            yield f"{name} / relay", Figure(value=ratio, unit="x", noise=0.1)
        then = rows.get((viewers, REFERENCE_TARGET), {}).get(
            "cpu_ms_per_delivered_frame_above_idle"
        )
        if hub == "core" and (ratio := _ratio(cpu, then)) is not None:
            yield f"{name} / the {REFERENCE_DATE} hub", Figure(value=ratio, unit="x", noise=0.1)


def _figures_of_saving(results: dict[str, Any]) -> Iterator[tuple[str, Figure]]:
    for row in results.get("saving", []):
        if (cpu := row.get("cpu_ms_per_frame_above_idle")) is not None:
            state = "on" if row["saving"] else "off"
            yield (
                f"saving {state}: CPU ms per frame above idle",
                Figure(value=cpu, unit="ms", noise=0.02),
            )


def _figures_of_budget(results: dict[str, Any]) -> Iterator[tuple[str, Figure]]:
    for row in results.get("budget", []):
        for stage, cost in row["stage_us_per_frame"].items():
            if cost is not None:
                yield (
                    f"budget {row['size']}: {stage} us per frame",
                    Figure(value=cost, unit="us", noise=20.0),
                )
        shipped = row["stage_us_per_frame"].get("shipped")
        if (ratio := _ratio(shipped, row.get("floor_us_per_frame"))) is not None:
            yield f"budget {row['size']}: shipped / floor", Figure(value=ratio, unit="x", noise=0.3)


def _figures_of_motion(results: dict[str, Any]) -> Iterator[tuple[str, Figure]]:
    for row in results.get("motion", {}).get("cpu", []):
        yield (
            f"motion {row['size']}, {row['workload']}: ms per analysed frame",
            Figure(value=row["cpu_ms_per_analysed_frame"], unit="ms", noise=0.05),
        )


def _figures_of_assembler(results: dict[str, Any]) -> Iterator[tuple[str, Figure]]:
    for row in results.get("assembler", []):
        yield (
            f"assembler {row['size']}: us per frame",
            Figure(value=row["us_per_frame"], unit="us", noise=0.5),
        )


def figures(results: dict[str, Any]) -> dict[str, Figure]:
    """Every compared cost of a run's results, by name."""
    found: dict[str, Figure] = {}
    for extract in (
        _figures_of_ingest,
        _figures_of_assembler,
        _figures_of_fanout,
        _figures_of_saving,
        _figures_of_budget,
        _figures_of_motion,
    ):
        found.update(extract(results))
    return found


def regressions(
    recorded: dict[str, Any], current: dict[str, Any], threshold: float = THRESHOLD
) -> tuple[list[Regression], int]:
    """The figures of `current` slower than `recorded`'s; and how many figures both have."""
    before, after = figures(recorded), figures(current)
    shared = [name for name in after if name in before]
    slower = []
    for name in shared:
        old, new = before[name], after[name]
        # A cost at or below zero (a stage lost in the noise) has no relative change.
        if old.value <= 0 or new.value <= old.value * (1 + threshold):
            continue
        if new.value - old.value <= new.noise:
            continue
        slower.append(Regression(name=name, before=old.value, after=new.value, unit=new.unit))
    return slower, len(shared)


def report(
    recorded: dict[str, Any], current: dict[str, Any], source: str
) -> tuple[list[str], list[Regression]]:
    """The compare's printed lines, and its regressions (for the run's JSON)."""
    slower, compared = regressions(recorded, current)
    head = f"Compared with {source} ({recorded.get('mode')} run of {recorded.get('date')})"
    if not compared:
        return [
            "",
            f"{head}: no figure in common (run the same workloads to compare)",
        ], slower
    lines = [
        "",
        f"{head}: {compared} figures, {len(slower)} slower by more than {THRESHOLD:.0%}",
    ]
    lines.extend(
        f"  SLOWER {item.name}: {item.before:,.3f} -> {item.after:,.3f} {item.unit} "
        f"({item.change:+.0%})"
        for item in sorted(slower, key=lambda item: -item.change)
    )
    return lines, slower


def compare_with(path: Path, current: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Compare `current` with the run recorded at `path`: printed lines, and the JSON's record."""
    if not path.is_file():
        return ["", f"No recorded run to compare with ({path})"], {"with": str(path)}
    recorded = json.loads(path.read_text(encoding="utf-8"))
    try:
        source = str(path.relative_to(REPO))
    except ValueError:
        source = str(path)
    lines, slower = report(recorded, current, source)
    return lines, {
        "with": source,
        "recorded_date": recorded.get("date"),
        "threshold": THRESHOLD,
        "slower": [
            {"name": r.name, "before": r.before, "after": r.after, "unit": r.unit} for r in slower
        ],
    }
