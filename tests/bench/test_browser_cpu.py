"""The browser CPU workload's own parts, for real: /proc read from real processes, Chromium's
processes told apart by their command lines, painted rates and the tables with their ratios.

The browser run itself is `scripts/bench --only browser_cpu`; no timing is asserted here.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
import subprocess
import sys
import textwrap
from typing import Any

from PIL import Image
import pytest

from bench.browser_cpu import (
    BASELINE,
    NO_BROWSER,
    LoopingCamera,
    chromium_kind,
    counter_rates,
    cpu_snapshot,
    descendants,
    load_average,
    load_range,
    markdown_table,
    never_loaded,
    painted_per_view,
    painted_rates,
    parse_stat,
    percent_of_core,
    read_processes,
    stamp_fractions,
    stamped_loop,
    summarize_pages,
    table,
    tree_ticks,
    used_ticks,
)
from esp32_simulator.jpeg import read_frame_stamp

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# Burns `seconds` of its own CPU, says so, then waits for its stdin to close.
BURN = textwrap.dedent(
    """
    import sys, time
    seconds = float(sys.argv[1])
    while time.process_time() < seconds:
        pass
    print("burnt", flush=True)
    sys.stdin.read()
    """
)


def start(*command: str) -> subprocess.Popen[str]:
    """Start a process that runs until its stdin closes."""
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/"
    )


def finish(process: subprocess.Popen[str]) -> None:
    """Close its stdin and wait for it."""
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=30)


@pytest.fixture
def fake_chromium(tmp_path: Path) -> Path:
    """A Python interpreter under a Chromium-like name (its command line reads as Chromium's)."""
    link = tmp_path / "chromium"
    link.symlink_to(os.path.realpath(sys.executable))
    return link


def test_a_stat_line_with_spaces_and_parentheses_in_the_name_is_parsed() -> None:
    """A real process renamed `a) (b c`: its name, parent and start read as /proc has them."""
    child = start(
        sys.executable,
        "-c",
        "import sys; open('/proc/self/comm', 'w').write('a) (b c'); print('named', flush=True);"
        " sys.stdin.read()",
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "named"
        stat = read_processes()[child.pid]
        assert stat.name == "a) (b c"
        assert stat.parent == os.getpid()
        assert stat.started > 0
        again = parse_stat(Path(f"/proc/{child.pid}/stat").read_text(encoding="utf-8"))
        assert (again.pid, again.name, again.started) == (child.pid, "a) (b c", stat.started)
    finally:
        finish(child)


def test_the_tree_counts_a_grandchilds_cpu() -> None:
    """A child whose own child burns 0.3 s of CPU: the tree's ticks include the grandchild's."""
    parent = start(
        sys.executable,
        "-c",
        "import subprocess, sys;"
        f"g = subprocess.Popen([sys.executable, '-c', {BURN!r}, '0.3'], stdin=subprocess.PIPE);"
        "sys.stdin.read(); g.stdin.close(); g.wait()",
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "burnt"  # the grandchild's, on our pipe
        processes = read_processes()
        grandchildren = [p.pid for p in processes.values() if p.parent == parent.pid]
        assert grandchildren, "the grandchild started"
        tree = descendants(processes, parent.pid)
        assert tree == {parent.pid, grandchildren[0]}
        assert os.getpid() not in tree
        assert tree_ticks(parent.pid) >= 0.3 * TICKS_PER_SECOND - 1
        assert descendants(processes, -5) == set()
    finally:
        finish(parent)


def test_chromiums_processes_are_told_apart_by_their_command_lines() -> None:
    """Renderers, Chromium's other processes (either argument form), and other programs."""
    assert chromium_kind("/usr/lib/chromium/chromium\0--type=renderer\0--lang=en\0") == "renderer"
    assert chromium_kind("/usr/lib/chromium/chromium --type=renderer --lang=en") == "renderer"
    assert chromium_kind("/usr/lib/chromium/chromium\0--type=gpu-process\0") == "other"
    assert chromium_kind("/usr/lib/chromium/chromium\0--headless\0") == "other"
    assert chromium_kind("/usr/lib/chromium/chrome_crashpad_handler\0--no-upload\0") == "other"
    assert chromium_kind("/usr/bin/node\0driver.js\0--type=renderer\0") is None
    assert chromium_kind("") is None


def test_the_chromium_snapshot_sums_renderers_and_the_rest(fake_chromium: Path) -> None:
    """Real processes: a 'renderer' and another 'Chromium' process burn CPU between two
    snapshots; a process of another name burns too and is not counted."""
    before = cpu_snapshot(os.getpid())
    renderer = start(str(fake_chromium), "-c", BURN, "0.2", "--type=renderer")
    gpu = start(str(fake_chromium), "-c", BURN, "0.1", "--type=gpu-process")
    other = start(sys.executable, "-c", BURN, "0.2")
    try:
        for process in (renderer, gpu, other):
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "burnt"
        after = cpu_snapshot(os.getpid())
        assert {kind for kind, _ticks in after.values()} == {"renderer", "other"}
        assert (other.pid, read_processes()[other.pid].started) not in after
        used = used_ticks(before, after)
        assert used["renderer"] >= 0.2 * TICKS_PER_SECOND - 1
        assert used["other"] >= 0.1 * TICKS_PER_SECOND - 1
        assert used["all"] == used["renderer"] + used["other"]
        # Nothing burnt since: the same snapshot twice uses nothing.
        assert used_ticks(after, after) == {"renderer": 0, "other": 0, "all": 0}
    finally:
        for process in (renderer, gpu, other):
            finish(process)


def test_percent_of_core_and_the_load_average() -> None:
    assert percent_of_core(TICKS_PER_SECOND * 3, 10.0) == pytest.approx(30.0)
    load = load_average().split()
    assert len(load) == 3
    assert all(float(value) >= 0 for value in load)


def test_the_stamp_strip_is_the_simulators() -> None:
    """18 blocks of 16 px along the bottom of a 640x480 frame."""
    assert stamp_fractions() == (18 * 16 / 640, 16 / 480)


async def test_a_looping_camera_never_sends_the_same_bytes_twice() -> None:
    """Each pass of the loop is the same pictures, stamps included, in other bytes (a page that
    keeps decoded `data:` URLs must decode every frame, as for a real camera)."""
    frames = stamped_loop("cpu-1")[:2]
    camera = LoopingCamera("127.0.0.1", 1, camera_id="cpu-1", frames=frames)
    sent = [await camera._next_jpeg() for _ in range(4)]
    assert [index for _, index in sent] == [0, 1, 0, 1]
    assert len({jpeg for jpeg, _ in sent}) == 4
    for number, (jpeg, _) in enumerate(sent):
        picture = Image.open(io.BytesIO(jpeg))
        assert picture.size == (640, 480)
        assert read_frame_stamp(picture) == number % 2
        assert picture.tobytes() == Image.open(io.BytesIO(frames[number % 2])).tobytes()


def test_painted_rates_and_the_pages_own_counters() -> None:
    sample = {
        "seconds": 10.0,
        "views": {
            "video": {"changes": 199, "loaded": True, "last": 3},
            "tile cpu-1": {"changes": 100, "loaded": True, "last": 5},
            "tile cpu-2": {"changes": 0, "loaded": False, "last": None},
        },
    }
    assert painted_rates(sample) == {"video": 19.9, "tile cpu-1": 10.0, "tile cpu-2": None}
    assert counter_rates({"tile cpu-1": 10, "tile cpu-2": 5}, {"tile cpu-1": 310}, 30.0) == {
        "tile cpu-1": 10.0
    }
    # A counter that went back (the panel made anew) is no rate.
    assert counter_rates({"tile cpu-1": 300}, {"tile cpu-1": 2}, 30.0) == {}


def test_a_views_own_counter_wins_over_the_stamps() -> None:
    """The counter's rate (over the CPU window itself) where the page keeps one; a counter still
    at 0 with no stamp read is a picture that never loaded; one that stopped painted 0 fps."""
    stamps = {"video": 19.0, "tile cpu-1": None, "tile cpu-2": None, "tile cpu-3": 9.0}
    counted = {"tile cpu-1": 0.0, "tile cpu-2": 0.0, "tile cpu-3": 15.0}
    after = {"tile cpu-1": 0, "tile cpu-2": 120, "tile cpu-3": 900}
    assert painted_per_view(stamps, counted, after) == {
        "video": 19.0,
        "tile cpu-1": None,
        "tile cpu-2": 0.0,
        "tile cpu-3": 15.0,
    }
    row_ = {"painted": {"card 1": None, "card 2": None, "card 3": 20.0}, "off_screen": ["card 2"]}
    assert never_loaded(row_) == 1


def row(page: str, run: int, hass: float, **figures: Any) -> dict[str, Any]:
    """One measured window of four cameras."""
    return {
        "cameras": 4,
        "page": page,
        "run": run,
        "hass": hass,
        "sent_fps": 19.5 + run / 4,
        "load": "3.1 2.0 1.5",
        **figures,
    }


FIGURES: dict[str, Any] = {
    "camera": "VGA cameras at 20 fps",
    "seconds": 30.0,
    "paint_seconds": 10.0,
    "runs": 2,
    "rows": [
        row(NO_BROWSER, 1, 12.0),
        row(NO_BROWSER, 2, 14.0),
        *(
            row(
                "panel",
                run,
                23.0 + run,
                renderer=44.0 + run,
                chromium=56.0 + run,
                painted={"video": 20.0, **{f"tile cpu-{n}": 10.0 for n in range(1, 5)}},
            )
            for run in (1, 2)
        ),
        *(
            row(
                "card",
                run,
                14.0,
                renderer=42.0,
                chromium=51.0,
                painted={f"card {n}": 20.0 for n in range(1, 5)},
            )
            for run in (1, 2)
        ),
        *(
            row(
                BASELINE,
                run,
                14.0,
                renderer=49.0 + run,
                chromium=60.0 + run,
                painted={"card 1": None, **{f"card {n}": 20.0 for n in range(2, 5)}},
                off_screen=["card 4"],
            )
            for run in (1, 2)
        ),
    ],
}


def test_each_page_is_compared_with_home_assistants_cards() -> None:
    """Means over the runs; per painted frame, hass above its no-browser mean (13 %)."""
    by_page = {summary.page: summary for summary in summarize_pages(FIGURES["rows"])}
    assert list(by_page) == [NO_BROWSER, "panel", "card", BASELINE]
    panel, card, baseline = by_page["panel"], by_page["card"], by_page[BASELINE]
    assert panel.hass == [24.0, 25.0]
    assert panel.hass_ratio == pytest.approx(24.5 / 14.0)
    assert panel.browser_ratio == pytest.approx(57.5 / 61.5)
    # The panel paints 60 frames a second (video 20 + 4 tiles at 10); the HA cards 60 (3 of 4).
    assert panel.hass_per_frame_ratio == pytest.approx(((24.5 - 13) / 60) / ((14 - 13) / 60))
    assert panel.browser_per_frame_ratio == pytest.approx((57.5 / 60) / (61.5 / 60))
    assert card.browser_per_frame_ratio == pytest.approx((51 / 80) / (61.5 / 60))
    assert panel.painted == "video 20, tiles 10 fps"
    assert card.painted == "20 fps"
    assert baseline.painted == "20 fps; 1 never load; 1 off screen"
    assert baseline.hass_ratio is None
    # hass below its no-browser figure is noise: no ratio per frame rather than a negative one.
    quiet = [dict(row_, hass=12.5) if row_["page"] == "card" else row_ for row_ in FIGURES["rows"]]
    quiet_card = next(summary for summary in summarize_pages(quiet) if summary.page == "card")
    assert quiet_card.hass_per_frame_ratio is None
    assert quiet_card.hass_ratio == pytest.approx(12.5 / 14)
    assert by_page[NO_BROWSER].renderer == []


def test_the_load_range_is_by_the_one_minute_figure() -> None:
    rows = [{"load": "9.50 3.0 1.0"}, {"load": "10.20 4.0 2.0"}, {"load": "2.10 1.0 1.0"}]
    assert load_range(rows) == "2.10 1.0 1.0 .. 10.20 4.0 2.0"


def by_page_sent(figures: dict[str, Any]) -> list[float]:
    """What the cameras sent per second while the panel was measured, per run."""
    return next(s.sent for s in summarize_pages(figures["rows"]) if s.page == "panel")


def test_the_tables_show_every_page_beside_the_baseline() -> None:
    lines = table({"browser_cpu": FIGURES})
    assert lines[0] == ""
    assert "machine load" in lines[2]
    assert "3.1 2.0 1.5" in lines[2]
    panel_line = next(line for line in lines if line.startswith("4: the panel"))
    assert "45-46" in panel_line
    assert "1.75" in panel_line  # hass: 24.5 % against 14 %
    assert "video 20, tiles 10 fps" in panel_line
    assert table({}) == []
    markdown = markdown_table(FIGURES).splitlines()
    assert markdown[2].startswith("| | renderer | all Chromium | hass |")
    rows = [line for line in markdown if line.startswith("| 4 cameras")]
    assert len(rows) == 4
    assert rows[0].startswith("| 4 cameras: no browser | - | - | 12-14 |")
    assert rows[3].endswith("| 20 fps | 20 fps; 1 never load; 1 off screen |")  # sent 19.75-20
    assert by_page_sent(FIGURES) == [19.75, 20.0]
