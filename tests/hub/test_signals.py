"""Dispatcher signals cannot collide with camera ids, and the package imports run downward."""

from __future__ import annotations

import ast
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.hub import signals
from tests.helpers import HUB_TOKEN, INTEGRATION, jpeg_bytes, wait_for

# Ids that collided with the hub's own signal names when those were joined with "_".
TRICKY_IDS = ("camera_added", "camera_removed", "hub", "garden_saver", "garden", "saver")


def test_every_signal_name_is_distinct() -> None:
    entry_id = "01JENTRY"
    ids = (*TRICKY_IDS, "cam1", "garden_saver_settings", "192.168.1.20", "fd00::5", "a.b-c_d")
    names = [signals.camera_added(entry_id), signals.camera_removed(entry_id)]
    names.append(signals.hub_updated(entry_id))
    for camera_id in ids:
        names += [
            signals.camera_updated(entry_id, camera_id),
            signals.saver_updated(entry_id, camera_id),
            signals.saver_settings_updated(entry_id, camera_id),
        ]
    assert len(set(names)) == len(names)


async def test_cameras_named_like_signals_stream_beside_others(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    hub = hub_entry.runtime_data
    ids = ("cam1", *TRICKY_IDS[:4])
    cameras = [await connect_camera(f"?token={HUB_TOKEN}&id={camera_id}") for camera_id in ids]
    for round_ in range(3):
        for camera in cameras:
            await camera.send_frame(jpeg_bytes(color=(round_ * 50, 0, 0)))
    await wait_for(
        lambda: all(
            (camera := hub.cameras.get(camera_id)) is not None and camera.stats.frames_received == 3
            for camera_id in ids
        )
    )
    await hass.async_block_till_done()
    for camera_id in ids:
        state = hass.states.get(f"binary_sensor.esp32_camera_{camera_id}_connectivity")
        assert state is not None
        assert state.state == "on", camera_id
    # A camera connecting after them does not disturb them either.
    late = await connect_camera(f"?token={HUB_TOKEN}&id=late")
    await late.send_frame(jpeg_bytes())
    await wait_for(lambda: "late" in hub.cameras and hub.cameras["late"].latest_frame is not None)
    await hass.async_block_till_done()
    errors = [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]
    # HA's camera component logs one error when libturbojpeg is missing on this machine.
    assert [r.getMessage() for r in errors if "turbojpeg" not in r.getMessage()] == []


def _imports(module: str, tree: ast.Module) -> set[str]:
    """Return the package modules a module imports (type-checking imports included)."""
    package = module.rsplit(".", 1)[0] if not module.endswith("__init__") else module
    package = package.removesuffix(".__init__")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*base, node.module] if node.module else base)
            names = [target] if node.module else [f"{target}.{alias.name}" for alias in node.names]
            found.update(names)
    return found


def test_no_import_circle() -> None:
    """Build the package's import graph (modules and sub-packages) and look for a cycle."""
    modules: dict[str, set[str]] = {}
    for path in INTEGRATION.rglob("*.py"):
        relative = path.relative_to(INTEGRATION).with_suffix("")
        name = ".".join(("pkg", *relative.parts))
        modules[name.removesuffix(".__init__") or "pkg"] = _imports(
            name, ast.parse(path.read_text())
        )
    graph = {
        module: {target for target in imports if target in modules and target != module}
        for module, imports in modules.items()
    }
    # The package's own __init__ (setup) may import everything; nothing may import it back.
    assert not [module for module, targets in graph.items() if "pkg" in targets]
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, f"import circle: {' -> '.join([*visiting, module])}"
        visiting.append(module)
        for target in sorted(graph[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert "pkg.hub" in graph
    assert len(graph) > 30
