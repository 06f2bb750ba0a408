"""The attacks workload: every attack module's steps against one real `hass`, one table.

    scripts/bench --only attacks
    ESP32_CAMERA_ATTACKS="admin rule,paths" scripts/bench --only attacks   # only the steps named
    .venv/bin/python -m bench.attacks after.json [before.json]             # the Markdown table

One legitimate token camera streams QVGA at 20 fps (an agent process) to a real `hass` while an
MJPEG viewer watches it; then each attack runs from this process (the LAN floods of issue 11 in
bench/attacks_lan.py, issue 18's in the other `attacks_*.py` modules), each measured by
bench/attack_tools.py's `Phase`: hass RSS before, peak during and after the attackers left, the
camera's delivered frame rate, event loop lag p99, HA API latency p99, discovery flows and repair
issues created, connections refused (by reason, as the listener counts them), tracebacks in
hass's log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
import os
from pathlib import Path
import resource
import sys
from typing import Any

from bench import (
    attacks_clip_caps,
    attacks_device_input,
    attacks_lan,
    attacks_motion_avi,
    attacks_store,
)
from bench.attack_tools import LEGIT_FPS, log
from bench.attacks_admin_rule import admin_rule
from bench.attacks_paths import path_attacks
from bench.measure import Agent
from bench.testbed import Bench, proxy_stream_path

LEGIT_FRAME_BYTES = 10_000  # QVGA


async def run(bench: Bench) -> None:
    """Run every attack against the hub; store the figures in bench.results["attacks"]."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    hass_limit = (Path(f"/proc/{bench.hass.pid}/limits").read_text(encoding="ascii")).splitlines()
    files = next((line.split()[3:5] for line in hass_limit if "open files" in line), [])
    spec = bench.camera_spec("legit", 1, size=LEGIT_FRAME_BYTES, fps=LEGIT_FPS)
    camera = await Agent.run("legit camera", "cameras", spec)
    viewer: Agent | None = None
    rows: list[dict[str, Any]] = []
    try:
        entity = (await bench.camera_entities("legit-", 1))["legit-1"]
        record_dir = bench.work / "attack-viewer"
        record_dir.mkdir()
        viewer = await Agent.run(
            "viewer",
            "viewers",
            bench.viewer_spec(
                bench.hass.url, [{"path": proxy_stream_path(entity), "count": 1}], record_dir
            ),
        )
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            *attacks_lan.steps(bench, entity),
            ("admin rule", lambda: admin_rule(bench)),
            ("paths", lambda: path_attacks(bench)),
            *attacks_motion_avi.motion_avi_steps(bench),
            *attacks_device_input.steps(bench),
            ("clip_caps", lambda: attacks_clip_caps.run(bench, entity)),
            ("store", lambda: attacks_store.store_attacks(bench)),  # restarts hass: last
        ]
        # ESP32_CAMERA_ATTACKS="admin rule,paths": only these steps (their names above); a name
        # before a colon picks a group ("device-input" its two attacks).
        if only := os.environ.get("ESP32_CAMERA_ATTACKS"):
            chosen = {name.strip() for name in only.split(",")}
            steps = [s for s in steps if s[0] in chosen or s[0].split(":")[0] in chosen]
        for name, step in steps:
            if not bench.hass_alive:
                break
            try:
                result = await step()
            except Exception as err:  # noqa: BLE001 - one failed attack must not lose the others
                log(f"failed: {err!r}")
                result = {"attack": name, "error": repr(err), "hass_alive": bench.hass_alive}
            rows.extend(result if isinstance(result, list) else [result])
        seen = await viewer.stop()
        viewer = None
    finally:
        if viewer is not None:
            await viewer.kill()
        await camera.kill()
    view = seen["viewers"][0]
    bench.results["attacks"] = {
        "legit_camera": {"size": LEGIT_FRAME_BYTES, "fps": LEGIT_FPS},
        "attacker_fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "hass_fd_limit": files,
        "viewer_fps": round(view["frames"] / view["seconds"], 2) if view["seconds"] else None,
        "rows": rows,
        "pid": os.getpid(),
    }


_COLUMNS = (
    ("RSS peak +MiB", "rss_peak_growth_mib"),
    ("RSS after +MiB", "rss_after_growth_mib"),
    ("legit frames kept", "legit_frames_kept"),
    ("loop lag p99 ms", "loop_lag_p99_ms"),
    ("API p99 ms", "api_p99_ms"),
    ("flows", "flows_created"),
    ("repair issues", "issues_created"),
    ("refused", "refused"),
    ("tracebacks", "tracebacks"),
    ("choices kept", "kept"),  # the store attacks (bench/attacks_store.py)
    ("hub loaded", "hub_loaded"),
    ("loop stall at start ms", "loop_stall_ms"),  # the hostile store (bench/attacks_store.py)
    ("hass alive", "hass_alive"),
)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{reason} {count}" for reason, count in value.items()) or "0"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return "-" if value is None else str(value)


def markdown(after: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """Return the attack rows as a Markdown table; with `before`, each beside its baseline."""
    header = ["attack", "run", *(title for title, _ in _COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    earlier = {row["attack"]: row for row in (before or {}).get("rows", [])}
    for row in after.get("rows", []):
        runs = [("before", earlier.get(row["attack"])), ("after", row)] if before else []
        for which, data in runs or [("after", row)]:
            cells = [_cell((data or {}).get(key)) for _, key in _COLUMNS]
            lines.append(f"| {row['attack']} | {which} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(results: dict[str, Any]) -> list[str]:
    """The bench's table section for the attacks, when they ran."""
    if "attacks" not in results:
        return []
    return ["", "Attacks (issue 11)", markdown(results["attacks"])]


if __name__ == "__main__":
    runs = [json.loads(Path(path).read_text(encoding="utf-8"))["attacks"] for path in sys.argv[1:]]
    print(markdown(runs[0], runs[1] if len(runs) > 1 else None))
