"""Browser CPU: the panel and the card beside Home Assistant's own picture-entity cards.

    scripts/bench --only browser_cpu            # 4 and 8 cameras, 30 s windows, two runs each
    scripts/bench --only browser_cpu --quick    # 10 s windows, one run

N simulated VGA cameras at 20 fps (esp32_simulator, frames rendered once beforehand so that the
cameras cost the machine little) stream into the hub; headless Chromium opens, one at a time and as
a user would, three pages:

- `panel`: the integration's sidebar panel (the selected camera's video and the grid's tiles);
- `card`: a dashboard of the integration's cards, one per camera;
- `ha_cards`: a dashboard of Home Assistant's picture-entity cards with `camera_view: live`, the
  MJPEG baseline the other two are compared with.

Each page gets a warm-up, then a window in which nothing instruments Chromium (no DevTools
domain enabled: Chromium is driven over a bare DevTools connection, bench/quiet_browser.py, as
Playwright's Network domain copies every WebSocket message to its client; no script in the
page): the CPU time of hass's process tree and of every Chromium process
(renderers apart) is read from /proc/<pid>/stat before and after. What each camera's picture
painted: the page's own counter where it keeps one (`data-frames`, read before and after the
window), else, only after the window, a sampler in the page reading the frame numbers the simulator
stamped into the pictures; and the cameras whose picture never loads. Whatever the tree's frontend
does (MJPEG <img>, frames over a WebSocket into an <img> or a <canvas>) is measured as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import statistics
import time
from typing import TYPE_CHECKING, Any, override

from bench.browser import CHROMIUM_ARGS, STAMP_OF, login_storage, page_url
from bench.measure import REPO
from bench.quiet_browser import DevToolsError, QuietChromium, QuietPage
from bench.table_format import cells, number, ratio
from bench.testbed import log
from bench.wire import with_sequence
from esp32_simulator import SimulatedCamera
from esp32_simulator.jpeg import STAMP_BLOCKS, PatternRenderer, stamp_block_size
from harness.hass_process import camera_entities, wait_until

if TYPE_CHECKING:
    from bench.testbed import Bench

CAMERA_COUNTS = (4, 8)
PREFIX = "cpu"
FPS = 20
VGA = (640, 480)
VGA_INDEX = 5  # esp32_simulator's resolution index of VGA
# Frames rendered per camera and streamed in a loop: the sampler counts changes of the stamped
# number, so a loop of 64 reads as a new frame every time.
LOOP_FRAMES = 64
# A desktop screen (HA lays the cards out in 3 columns: 6 of 8 on screen); a camera's view off
# screen is reported as such (the integration's pictures receive nothing while out of view).
VIEWPORT = {"width": 1920, "height": 1200}
PANEL_PATH = "/esp32-cameras"
CARDS_DASHBOARD = "bench-cpu-cards"
HA_CARDS_DASHBOARD = "bench-cpu-ha"
# The pages, in the order each run opens them; the last is the baseline.
PAGES = ("panel", "card", "ha_cards")
BASELINE = "ha_cards"
NO_BROWSER = "no browser"
PAGE_TITLES = {
    NO_BROWSER: "no browser",
    "panel": "the panel",
    "card": "the cards",
    "ha_cards": "HA's cards (baseline)",
}
# A page whose pictures are not all found by then is measured as it is (cameras that never load).
VIEWS_TIMEOUT = 30.0
RESULTS_TABLE = REPO / "bench" / "results" / "browser_cpu.md"
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")

# Finds each camera's view in a page, through every open shadow root: the panel's video and
# tiles, each integration card's video, each picture-entity card. A view has its pictures (every
# shown <img>, <canvas> or <video>: the sampler reads whichever carries a stamp), the painted
# counter the page keeps itself when it has one (`data-frames`), and whether it is on screen.
FIND_VIEWS = """
const deepAll = (node, selector, found = []) => {
  if (node.shadowRoot) deepAll(node.shadowRoot, selector, found);
  for (const element of node.querySelectorAll("*")) {
    if (element.matches(selector)) found.push(element);
    if (element.shadowRoot) deepAll(element.shadowRoot, selector, found);
  }
  return found;
};
const shown = (element) => !element.hidden && getComputedStyle(element).display !== "none";
const onScreen = (element) => {
  const box = element.getBoundingClientRect();
  return box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
    && box.top < innerHeight && box.left < innerWidth;
};
const view = (label, root) => {
  const counted = root && (root.matches("[data-frames]") ? root : deepAll(root, "[data-frames]")[0]);
  return {
    label,
    pictures: root ? deepAll(root, "img, canvas, video").filter(shown) : [],
    counter: counted ? Number(counted.dataset.frames) : null,
    onScreen: Boolean(root && onScreen(root)),
  };
};
const videoOf = (root) => deepAll(deepAll(root, "esp32-camera-viewer")[0] ?? root, ".video")[0];
// The panel's tiles of this workload's cameras only (other workloads' cameras are offline tiles).
const findViews = (kind, prefix) => {
  if (kind === "panel") {
    const panel = deepAll(document, "esp32-camera-panel")[0];
    if (!panel) return [];
    const tiles = deepAll(panel, ".tile[data-camera]")
      .filter((tile) => tile.dataset.camera.startsWith(prefix))
      .map((tile) => view(`tile ${tile.dataset.camera}`, tile));
    return [view("video", videoOf(panel)), ...tiles];
  }
  const selector = kind === "card" ? "esp32-camera-card" : "hui-picture-entity-card";
  // Labelled by their entity (the masonry's columns put the cards out of their order).
  return deepAll(document, selector).map((card, index) =>
    view(card.config?.entity ?? card._config?.entity ?? `card ${index + 1}`,
      kind === "card" ? videoOf(card) : card));
};
"""
# The views now: how many have a picture, their own painted counters (read before and after the
# CPU window: the page's own counting, nothing added to it) and which are off screen.
COUNT_VIEWS = f"""
([kind, prefix]) => {{
  {FIND_VIEWS}
  const views = findViews(kind, prefix);
  return {{
    views: views.length,
    pictures: views.filter((view) => view.pictures.length).length,
    counters: Object.fromEntries(
      views.filter((view) => view.counter !== null).map((view) => [view.label, view.counter])),
    off_screen: views.filter((view) => !view.onScreen).map((view) => view.label),
  }};
}}
"""
# The sampler: every 5 ms it reads each view's stamp (the strip along the bottom-left edge,
# scaled from the frame's size to the picture's, so a smaller canvas reads too) and counts the
# changes of the number. Views are looked up again every 500 ms (a page may re-render them).
SAMPLE = f"""
([kind, prefix, fractionWide, fractionHigh, blocks]) => {{
  {FIND_VIEWS}
  {STAMP_OF}
  const side = 16;
  const canvas = document.createElement("canvas");
  canvas.width = blocks * side;
  canvas.height = side;
  const context = canvas.getContext("2d", {{ willReadFrequently: true }});
  const size = (element) =>
    element instanceof HTMLImageElement ? [element.naturalWidth, element.naturalHeight]
    : element instanceof HTMLVideoElement ? [element.videoWidth, element.videoHeight]
    : [element.width, element.height];
  const read = (element) => {{
    const [width, height] = size(element);
    if (!width || !height || !element.isConnected) return null;
    try {{
      context.drawImage(element, 0, height * (1 - fractionHigh), width * fractionWide,
        height * fractionHigh, 0, 0, canvas.width, canvas.height);
    }} catch {{
      return null;
    }}
    return stampOf(context.getImageData(0, 0, canvas.width, canvas.height).data, side, blocks);
  }};
  const state = {{}};
  let views = [];
  let found = 0;
  const tick = () => {{
    const now = performance.now();
    if (now - found > 500) {{
      views = findViews(kind, prefix);
      found = now;
    }}
    for (const view of views) {{
      const seen = (state[view.label] ??= {{ changes: 0, last: null, loaded: false }});
      let value = null;
      for (const picture of view.pictures) {{
        value = read(picture);
        if (value !== null) break;
      }}
      if (value === null) continue;
      if (seen.loaded && value !== seen.last) seen.changes += 1;
      seen.loaded = true;
      seen.last = value;
    }}
  }};
  window.__esp32PaintSampler = {{ timer: setInterval(tick, 5), state, started: performance.now() }};
}}
"""
# The panel's tile of a camera, clicked as a user would (it selects the camera for the video).
CLICK_TILE = f"""
(camera) => {{
  {FIND_VIEWS}
  const panel = deepAll(document, "esp32-camera-panel")[0];
  const tile = panel && deepAll(panel, ".tile[data-camera]").find((t) => t.dataset.camera === camera);
  if (!tile) throw new Error(`no tile of ${{camera}}`);
  tile.click();
}}
"""
STOP_SAMPLE = """
() => {
  const sampler = window.__esp32PaintSampler;
  clearInterval(sampler.timer);
  return { seconds: (performance.now() - sampler.started) / 1000, views: sampler.state };
}
"""


# --- /proc: CPU time of process trees -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcessStat:
    """What the bench reads of one process's /proc/<pid>/stat."""

    pid: int
    name: str
    parent: int
    started: int  # clock ticks after boot: with the pid, names one process (pids are reused)
    cpu_ticks: int  # utime + stime, every thread


def parse_stat(text: str) -> ProcessStat:
    """Parse a /proc/<pid>/stat line; the name may hold spaces and parentheses."""
    head, _, tail = text.rpartition(")")
    pid_text, _, name = head.partition(" (")
    # Fields after the name, from the third (state): ppid is the 4th, utime and stime the 14th
    # and 15th, starttime the 22nd (proc(5)).
    fields = tail.split()
    return ProcessStat(
        pid=int(pid_text),
        name=name,
        parent=int(fields[1]),
        started=int(fields[19]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
    )


def read_processes(proc: Path = Path("/proc")) -> dict[int, ProcessStat]:
    """Every process of the machine now (those that end while being read are left out)."""
    processes = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = parse_stat((entry / "stat").read_text(encoding="utf-8", errors="replace"))
        except OSError, ValueError, IndexError:
            continue
        processes[stat.pid] = stat
    return processes


def descendants(processes: Mapping[int, ProcessStat], root: int) -> set[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for stat in processes.values():
        children.setdefault(stat.parent, []).append(stat.pid)
    found = {root} if root in processes else set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def chromium_kind(command_line: str) -> str | None:
    """`renderer` or `other` for a Chromium process's command line; None for any other program.

    Chromium may rewrite its arguments into one space-separated string: both forms are read.
    """
    words = command_line.replace("\0", " ").split()
    if not words or not Path(words[0]).name.startswith("chrom"):
        return None
    return "renderer" if "--type=renderer" in words else "other"


def read_command_line(pid: int, proc: Path = Path("/proc")) -> str:
    """The process's command line ('' once it ended)."""
    try:
        return (proc / str(pid) / "cmdline").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


type CpuSnapshot = dict[tuple[int, int], tuple[str, int]]


def cpu_snapshot(root: int, proc: Path = Path("/proc")) -> CpuSnapshot:
    """CPU ticks of the Chromium processes below `root`, by (pid, started): (kind, ticks)."""
    processes = read_processes(proc)
    snapshot: CpuSnapshot = {}
    for pid in descendants(processes, root):
        kind = chromium_kind(read_command_line(pid, proc))
        if kind is not None:
            stat = processes[pid]
            snapshot[pid, stat.started] = (kind, stat.cpu_ticks)
    return snapshot


def tree_ticks(root: int, proc: Path = Path("/proc")) -> int:
    """CPU ticks of `root` and every process below it."""
    processes = read_processes(proc)
    return sum(processes[pid].cpu_ticks for pid in descendants(processes, root))


def used_ticks(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, int]:
    """Ticks used between two snapshots, per kind and `all` (a process started since counts whole;
    one that ended is lost, which the bench avoids by opening pages before the window)."""
    used = {"renderer": 0, "other": 0}
    for key, (kind, ticks) in after.items():
        used[kind] += ticks - before.get(key, (kind, 0))[1]
    return {**used, "all": used["renderer"] + used["other"]}


def percent_of_core(ticks: int, seconds: float) -> float:
    """CPU ticks over `seconds` as % of one core."""
    return ticks / _TICKS_PER_SECOND / seconds * 100


def load_average(proc: Path = Path("/proc")) -> str:
    """The machine's 1, 5 and 15 minute load averages, as `uptime` prints them."""
    return " ".join((proc / "loadavg").read_text(encoding="ascii").split()[:3])


# --- what was painted ------------------------------------------------------------------------


def stamp_fractions() -> tuple[float, float]:
    """The stamp's strip as fractions of a VGA frame's width and height (the sampler scales it)."""
    side = stamp_block_size(*VGA)
    assert side is not None, "a VGA frame holds a stamp"
    return STAMP_BLOCKS * side / VGA[0], side / VGA[1]


def painted_rates(sample: Mapping[str, Any]) -> dict[str, float | None]:
    """Per view, the pictures painted per second in the sampler's window; None if never loaded."""
    seconds = sample["seconds"]
    return {
        label: (seen["changes"] / seconds if seen["loaded"] else None)
        for label, seen in sample["views"].items()
    }


def counter_rates(
    before: Mapping[str, float], after: Mapping[str, float], seconds: float
) -> dict[str, float]:
    """Per view with its own painted counter, its rate over the CPU window."""
    return {
        label: (after[label] - before[label]) / seconds
        for label in after
        if label in before and after[label] >= before[label]
    }


def painted_per_view(
    stamps: Mapping[str, float | None],
    counted: Mapping[str, float],
    counters_after: Mapping[str, float],
) -> dict[str, float | None]:
    """Per view: the rate its own counter gave over the CPU window where the page keeps one
    (exact, and nothing added to the page meanwhile), else the stamps' rate after the window;
    None for a view that never painted a picture."""
    painted: dict[str, float | None] = dict(stamps)
    for label, rate in counted.items():
        painted[label] = rate if counters_after.get(label) or stamps.get(label) else None
    return painted


# --- the table -------------------------------------------------------------------------------


def _span(values: Sequence[float], digits: int = 0) -> str:
    """`lo-hi` of the runs (one figure when they agree at this precision)."""
    if not values:
        return "-"
    low, high = number(min(values), digits), number(max(values), digits)
    return low if low == high else f"{low}-{high}"


def never_loaded(row: Mapping[str, Any]) -> int:
    """Views on screen that never painted a picture."""
    off_screen = set(row.get("off_screen", ()))
    return sum(rate is None and label not in off_screen for label, rate in row["painted"].items())


def painted_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """What the runs of one page painted per camera, e.g. `video 20, tiles 10 fps`."""
    rates = [rate for row in rows for rate in row["painted"].values() if rate is not None]
    never = max(never_loaded(row) for row in rows)
    off_screen = max(len(row.get("off_screen", ())) for row in rows)
    if rows[0]["page"] == "panel":
        video = [row["painted"].get("video") for row in rows]
        tiles = [
            rate
            for row in rows
            for label, rate in row["painted"].items()
            if label.startswith("tile") and rate is not None
        ]
        text = (
            f"video {_span([rate for rate in video if rate is not None])}, tiles {_span(tiles)} fps"
        )
    else:
        text = f"{_span(rates)} fps"
    if never:
        text += f"; {never} never load"
    if off_screen:
        text += f"; {off_screen} off screen"
    return text


def painted_total(row: Mapping[str, Any]) -> float:
    """Frames painted per second on the page, every picture counted (the panel's video too)."""
    return float(sum(rate for rate in row["painted"].values() if rate is not None))


def _mean(rows: Iterable[Mapping[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return statistics.fmean(values) if values else None


@dataclass(frozen=True, slots=True)
class PageSummary:
    """The runs of one page with N cameras, and its ratios to the baseline page."""

    cameras: int
    page: str
    renderer: list[float]
    chromium: list[float]
    hass: list[float]
    sent: list[float]  # frames per second per camera the cameras sent in the windows
    painted: str
    hass_ratio: float | None
    browser_ratio: float | None
    hass_per_frame_ratio: float | None
    browser_per_frame_ratio: float | None


def summarize_pages(rows: Sequence[Mapping[str, Any]]) -> list[PageSummary]:
    """Group the measured windows by camera count and page; ratios to the HA cards' page.

    Per painted frame: the browser's CPU over every picture's painted rate, and hass's CPU above
    the same cameras with no browser (what the page costs hass) over the same rate.
    """
    summaries = []
    for count in sorted({row["cameras"] for row in rows}):
        of_count = [row for row in rows if row["cameras"] == count]
        floor = _mean((row for row in of_count if row["page"] == NO_BROWSER), "hass")
        means: dict[str, dict[str, float | None]] = {}
        for page in (NO_BROWSER, *PAGES):
            page_rows = [row for row in of_count if row["page"] == page]
            if not page_rows:
                continue
            hass = _mean(page_rows, "hass")
            chromium = _mean(page_rows, "chromium")
            painted = (
                statistics.fmean(painted_total(row) for row in page_rows)
                if page != NO_BROWSER
                else None
            )
            means[page] = {
                "hass": hass,
                "chromium": chromium,
                # Below the no-browser figure is noise, not a cost: no ratio.
                "hass_per_frame": (hass - floor) / painted
                if hass is not None and floor is not None and painted and hass > floor
                else None,
                "browser_per_frame": chromium / painted
                if chromium is not None and painted
                else None,
            }
        baseline = means.get(BASELINE, {})
        for page, mean in means.items():
            page_rows = [row for row in of_count if row["page"] == page]
            compared = page not in {BASELINE, NO_BROWSER}

            def versus(
                key: str,
                mean: dict[str, float | None] = mean,
                baseline: dict[str, float | None] = baseline,
                compared: bool = compared,
            ) -> float | None:
                return ratio(mean[key], baseline.get(key)) if compared else None

            summaries.append(
                PageSummary(
                    cameras=count,
                    page=page,
                    renderer=[row["renderer"] for row in page_rows if "renderer" in row],
                    chromium=[row["chromium"] for row in page_rows if "chromium" in row],
                    hass=[row["hass"] for row in page_rows],
                    sent=[row["sent_fps"] for row in page_rows if "sent_fps" in row],
                    painted="-" if page == NO_BROWSER else painted_text(page_rows),
                    hass_ratio=versus("hass"),
                    browser_ratio=versus("chromium"),
                    hass_per_frame_ratio=versus("hass_per_frame"),
                    browser_per_frame_ratio=versus("browser_per_frame"),
                )
            )
    return summaries


def load_range(rows: Sequence[Mapping[str, Any]]) -> str:
    """The lowest and highest load average of the windows (by the 1-minute figure)."""
    loads = sorted({row["load"] for row in rows}, key=lambda load: float(load.split()[0]))
    return f"{loads[0]} .. {loads[-1]}"


def table_lines(figures: Mapping[str, Any]) -> list[str]:
    """The workload's section of the bench table."""
    loads = load_range(figures["rows"])
    lines = [
        "",
        (
            f"Browser CPU ({figures['camera']}; % of one core over {figures['seconds']:g} s "
            f"windows, {figures['runs']} run(s); Chromium not instrumented while measured; "
            "painted: frames per second per camera, by the page's own counters over the window, "
            f"else by the stamps over {figures['paint_seconds']:g} s after it)"
        ),
        f"machine load (1/5/15 min) during the windows: {loads}",
        cells(
            "cameras: page",
            "renderer",
            "all Chromium",
            "hass",
            "hass x HA",
            "browser x HA",
            "hass/frame x HA",
            "browser/frame x HA",
            "sent fps",
            "painted per camera",
        ),
    ]
    lines.extend(
        cells(
            f"{summary.cameras}: {PAGE_TITLES[summary.page]}",
            _span(summary.renderer),
            _span(summary.chromium),
            _span(summary.hass),
            number(summary.hass_ratio),
            number(summary.browser_ratio),
            number(summary.hass_per_frame_ratio),
            number(summary.browser_per_frame_ratio),
            _span(summary.sent),
            summary.painted,
        )
        for summary in summarize_pages(figures["rows"])
    )
    return lines


def markdown_table(figures: Mapping[str, Any]) -> str:
    """The figures as issue 20 (item 6) tabled them, with the ratios to HA's cards."""
    loads = load_range(figures["rows"])
    lines = [
        (
            f"{figures['camera']}; % of one core over {figures['seconds']:g} s windows, "
            f"{figures['runs']} run(s) each (lowest-highest); Chromium not instrumented while "
            "measured; painted per camera: the page's own counters over the window, else the "
            f"stamps over {figures['paint_seconds']:g} s after it. "
            "Ratios: mean over the runs, against HA's picture-entity cards with the same "
            "cameras; per painted frame, hass above its no-browser figure. "
            f"Machine load (1/5/15 min): {loads}."
        ),
        "",
        (
            "| | renderer | all Chromium | hass | hass x HA | browser x HA "
            "| hass per frame x HA | browser per frame x HA | sent per camera | painted per camera |"
        ),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines.extend(
        f"| {summary.cameras} cameras: {PAGE_TITLES[summary.page]} | {_span(summary.renderer)} "
        f"| {_span(summary.chromium)} | {_span(summary.hass)} | {number(summary.hass_ratio)} "
        f"| {number(summary.browser_ratio)} | {number(summary.hass_per_frame_ratio)} "
        f"| {number(summary.browser_per_frame_ratio)} | {_span(summary.sent)}{' fps' if summary.sent else ''} "
        f"| {summary.painted} |"
        for summary in summarize_pages(figures["rows"])
    )
    return "\n".join(lines) + "\n"


def table(results: dict[str, Any]) -> list[str]:
    """The bench's table section for the browser CPU workload, when it ran."""
    return table_lines(figures) if (figures := results.get("browser_cpu")) else []


# --- the run ---------------------------------------------------------------------------------


class LoopingCamera(SimulatedCamera):
    """A simulated camera streaming its fixed frames in a loop, each sent frame's bytes unique.

    A camera never sends the same bytes twice. A looped frame would be: Chromium keeps a `data:`
    URL's decoded picture, so a page showing frames as `data:` URLs would decode a loop's repeats
    only once (traced: 161 decodes for 404 frames with a loop of 64), while an MJPEG <img>
    decodes each part.
    """

    sent_numbers = 0

    @override
    async def _next_jpeg(self) -> tuple[bytes, int | None]:
        jpeg, index = await super()._next_jpeg()
        self.sent_numbers += 1
        return with_sequence(jpeg, self.sent_numbers), index


def stamped_loop(label: str) -> list[bytes]:
    """LOOP_FRAMES VGA frames of the simulator's test pattern, each stamped with its number."""
    renderer = PatternRenderer(label)
    return [renderer.render(*VGA, frame_number=number, stamp=True) for number in range(LOOP_FRAMES)]


async def start_cameras(bench: Bench, first: int, last: int) -> list[SimulatedCamera]:
    """Start cameras `cpu-<first>`..`cpu-<last>`, VGA at 20 fps, streaming pre-rendered frames."""
    cameras: list[SimulatedCamera] = []
    for number_ in range(first, last + 1):
        camera_id = f"{PREFIX}-{number_}"
        frames = await asyncio.to_thread(stamped_loop, camera_id)
        camera = LoopingCamera(
            "127.0.0.1",
            bench.stream_port,
            camera_id=camera_id,
            name=f"CPU {number_}",
            token=bench.hub_token,
            resolution=VGA_INDEX,
            fps=FPS,
            mode="speed",
            pacing=False,
            frames=frames,
        )
        camera.start()
        cameras.append(camera)
    for started in cameras:
        await started.wait_frames(3, timeout=30)
    return cameras


async def motion_detection_off(bench: Bench, camera_ids: Sequence[str]) -> None:
    """Switch the cameras' motion detection off (it is on by default).

    Its worker analyses fewer frames when the machine is busy, so with it on, hass's CPU would
    fall when a page loads the machine: hass's figure is what delivering the frames costs.
    """
    async with bench.hass.websocket() as call:
        found: dict[tuple[str, str], str] = {}

        async def registered() -> bool:
            found.update(await camera_entities(call, camera_ids))
            return all(
                ("switch", f"{camera_id}_motion_detection") in found for camera_id in camera_ids
            )

        await wait_until("the cameras' motion detection switches", registered, timeout=60)
        await call(
            "call_service",
            domain="switch",
            service="turn_off",
            target={
                "entity_id": [
                    found["switch", f"{camera_id}_motion_detection"] for camera_id in camera_ids
                ]
            },
        )


async def save_dashboards(bench: Bench, entity_ids: Sequence[str], *, create: bool) -> None:
    """The two dashboards: the integration's cards, and HA's picture-entity cards (live)."""
    configs = {
        CARDS_DASHBOARD: [
            {"type": "custom:esp32-camera-card", "entity": entity_id} for entity_id in entity_ids
        ],
        HA_CARDS_DASHBOARD: [
            {"type": "picture-entity", "entity": entity_id, "camera_view": "live"}
            for entity_id in entity_ids
        ],
    }
    async with bench.hass.websocket() as call:
        for url_path, cards in configs.items():
            if create:
                await call(
                    "lovelace/dashboards/create", url_path=url_path, title=url_path, mode="storage"
                )
            await call(
                "lovelace/config/save",
                url_path=url_path,
                config={"views": [{"title": "Cameras", "cards": cards}]},
            )


def page_path(page: str) -> str:
    """Where the browser opens `page`."""
    return {
        "panel": PANEL_PATH,
        "card": f"/{CARDS_DASHBOARD}/0",
        "ha_cards": f"/{HA_CARDS_DASHBOARD}/0",
    }[page]


async def wait_for_views(page: QuietPage, kind: str, expected: int) -> None:
    """Wait until the page shows `expected` pictures (or VIEWS_TIMEOUT; measured as it is)."""
    deadline = time.monotonic() + VIEWS_TIMEOUT
    found = {"pictures": 0}
    while time.monotonic() < deadline:
        with contextlib.suppress(DevToolsError):  # the page may still be loading
            found = await page.evaluate(COUNT_VIEWS, [kind, f"{PREFIX}-"])
            if found["pictures"] >= expected:
                return
        await asyncio.sleep(0.5)
    log(f"browser_cpu: {kind} shows {found['pictures']} of {expected} pictures; measured as it is")


def frames_sent(cameras: Sequence[SimulatedCamera]) -> int:
    """Frames the cameras have sent so far (on a loaded machine they may fall short of 20 fps)."""
    return sum(camera.frames_sent for camera in cameras)


async def measure_hass_alone(
    bench: Bench, cameras: Sequence[SimulatedCamera], run: int
) -> dict[str, Any]:
    """hass with the cameras streaming and no browser open: the floor of its CPU."""
    seconds = bench.plan.browser_cpu_seconds
    ticks, sent = tree_ticks(bench.hass.pid), frames_sent(cameras)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    hass_ticks, sent = tree_ticks(bench.hass.pid) - ticks, frames_sent(cameras) - sent
    seconds = time.monotonic() - started
    row = {
        "cameras": len(cameras),
        "page": NO_BROWSER,
        "run": run,
        "hass": percent_of_core(hass_ticks, seconds),
        "sent_fps": sent / len(cameras) / seconds,
        "load": load_average(),
    }
    log(
        f"browser_cpu {len(cameras)} cameras, no browser: hass {row['hass']:.0f} %, "
        f"sent {row['sent_fps']:.1f} fps per camera"
    )
    return row


async def measure_page(
    bench: Bench, browser: QuietChromium, kind: str, cameras: Sequence[SimulatedCamera], run: int
) -> dict[str, Any]:
    """Open `kind` as a user would; measure CPU over a quiet window, then count what it paints."""
    plan = bench.plan
    count = len(cameras)
    page = await browser.new_page(
        f"{page_url(bench.hass)}{page_path(kind)}",
        viewport=VIEWPORT,
        storage=login_storage(bench.hass),
    )
    try:
        await wait_for_views(page, kind, count + 1 if kind == "panel" else count)
        if kind == "panel":
            # As a user would: the video shows this workload's first camera (a fresh browser
            # opens the panel on the first camera by name, maybe another workload's, offline).
            await page.evaluate(CLICK_TILE, f"{PREFIX}-1")
        await asyncio.sleep(plan.browser_cpu_warmup)
        counters_before = (await page.evaluate(COUNT_VIEWS, [kind, f"{PREFIX}-"]))["counters"]
        chromium_before = cpu_snapshot(os.getpid())
        hass_before, sent_before = tree_ticks(bench.hass.pid), frames_sent(cameras)
        started = time.monotonic()
        await asyncio.sleep(plan.browser_cpu_seconds)
        hass_after, sent_after = tree_ticks(bench.hass.pid), frames_sent(cameras)
        chromium_after = cpu_snapshot(os.getpid())
        seconds = time.monotonic() - started
        load = load_average()
        after = await page.evaluate(COUNT_VIEWS, [kind, f"{PREFIX}-"])
        # The window is over: now the page may be instrumented to count what it paints.
        await page.evaluate(SAMPLE, [kind, f"{PREFIX}-", *stamp_fractions(), STAMP_BLOCKS])
        await asyncio.sleep(plan.browser_cpu_paint_seconds)
        sample = await page.evaluate(STOP_SAMPLE)
        # What the page looked like, to see that it showed what it was measured showing.
        await page.screenshot(RESULTS_TABLE.parent / f"browser_cpu-{count}-{kind}.png")
    finally:
        await page.close()
    used = used_ticks(chromium_before, chromium_after)
    stamps = painted_rates(sample)
    counted = counter_rates(counters_before, after["counters"], seconds)
    painted = painted_per_view(stamps, counted, after["counters"])
    row = {
        "cameras": count,
        "page": kind,
        "run": run,
        "hass": percent_of_core(hass_after - hass_before, seconds),
        "renderer": percent_of_core(used["renderer"], seconds),
        "chromium": percent_of_core(used["all"], seconds),
        "sent_fps": (sent_after - sent_before) / count / seconds,
        "painted": painted,
        "painted_by_counters": counted,
        "painted_by_stamps": stamps,
        "off_screen": after["off_screen"],
        "load": load,
    }
    loaded = [rate for rate in painted.values() if rate is not None]
    log(
        f"browser_cpu {count} cameras, {kind} run {run}: renderer {row['renderer']:.0f} %, "
        f"Chromium {row['chromium']:.0f} %, hass {row['hass']:.0f} %, painted "
        f"{min(loaded, default=0):.1f}-{max(loaded, default=0):.1f} fps, "
        f"{never_loaded(row)} never load, {len(after['off_screen'])} off screen (load {load})"
    )
    return row


async def run(bench: Bench) -> None:
    """The bench's `browser_cpu` workload: its figures in bench.results["browser_cpu"]."""
    plan = bench.plan
    rows: list[dict[str, Any]] = []
    cameras: list[SimulatedCamera] = []
    RESULTS_TABLE.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with QuietChromium("/usr/bin/chromium", CHROMIUM_ARGS) as browser:
            for index, count in enumerate(CAMERA_COUNTS):
                cameras += await start_cameras(bench, len(cameras) + 1, count)
                entities = await bench.camera_entities(f"{PREFIX}-", count)
                await motion_detection_off(bench, list(entities))
                entity_ids = [entities[f"{PREFIX}-{n}"] for n in range(1, count + 1)]
                await save_dashboards(bench, entity_ids, create=index == 0)
                for run_number in range(1, plan.browser_cpu_runs + 1):
                    rows.append(await measure_hass_alone(bench, cameras, run_number))
                    rows.extend(
                        [
                            await measure_page(bench, browser, kind, cameras, run_number)
                            for kind in PAGES
                        ]
                    )
    finally:
        for camera in cameras:
            await camera.stop()
    figures = bench.results["browser_cpu"] = {
        "camera": f"VGA cameras at {FPS} fps",
        "seconds": plan.browser_cpu_seconds,
        "warmup": plan.browser_cpu_warmup,
        "paint_seconds": plan.browser_cpu_paint_seconds,
        "runs": plan.browser_cpu_runs,
        "viewport": VIEWPORT,
        "rows": rows,
    }
    RESULTS_TABLE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_TABLE.write_text(markdown_table(figures), encoding="utf-8")
    log(f"browser_cpu: the table in {RESULTS_TABLE.relative_to(REPO)}")
