"""The house's rules, read from the code with `ast`: no import circle, imports run downward.

Every import counts, wherever it stands: at the top, inside a function, under `TYPE_CHECKING`
(the bench's last circle was one: `bench.__main__` imported the workloads, and they imported its
`Bench` back for their annotations). docs/architecture.md draws the layers these tests keep.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INTEGRATION = "custom_components.esp32_camera"
# Every first-party package of the repository (tests are not imported by any of them).
PACKAGES = ("custom_components", "bench", "harness", "esp32_simulator", "scripts")

# The integration's layers, lowest first: a module imports from its own layer or below.
PURE = ("protocol", "listener", "motion", "clips")
LAYERS = {
    "const": 0,
    "protocol": 0,
    "listener": 1,
    "motion": 1,
    "clips": 1,
    "disk": 2,
    "hub": 3,
    "views": 4,
}
FACES = 5  # the modules at the integration's root: what Home Assistant loads by name
# The root holds what Home Assistant loads by name, and the faces its conventions name.
ROOT_MODULES = {
    "__init__",
    "binary_sensor",
    "button",
    "camera",
    "config_flow",
    "const",
    "diagnostics",
    "entity",
    "event",
    "media_source",
    "number",
    "select",
    "sensor",
    "services",
    "switch",
    "websocket_api",
}


def module_names(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of `packages` under `root` by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules that the module `name` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bench import attacks` imports the module bench.attacks.
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            # `import a.b.c` runs a, a.b and a.b.c: the deepest known module stands for them.
            module = target
            while module and module not in known:
                module = module.rpartition(".")[0]
            if module and module != name:
                imported.add(module)
    return imported


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Each module of `packages` and the modules of `packages` it imports."""
    known = module_names(root, packages)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports (its modules, the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        path.append(name)
        for imported in sorted(graph.get(name, ())):
            if cycle := visit(imported):
                return cycle
        path.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        if cycle := visit(name):
            return cycle
    return None


def layer_of(module: str) -> tuple[str, int]:
    """The integration module's layer: its top-level name below the integration, and its rank."""
    top = module.removeprefix(INTEGRATION).lstrip(".").split(".")[0] or "__init__"
    return top, LAYERS.get(top, FACES)


def test_no_import_circle_anywhere() -> None:
    graph = import_graph(REPO, PACKAGES)
    assert find_cycle(graph) is None
    # The graph is the real one: the runner reaches the workloads, they the test bed (under
    # TYPE_CHECKING: counted), the faces the hub, the hub the pure layers.
    assert {"bench.testbed", "bench.ingest", "bench.attacks"} <= graph["bench.runner"]
    assert "bench.testbed" in graph["bench.record"]
    assert f"{INTEGRATION}.hub.hub" in graph[f"{INTEGRATION}.websocket_api"]
    assert f"{INTEGRATION}.listener" in graph[f"{INTEGRATION}.hub.hub"]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """The imports of the integration that run up a layer, or across two pure layers."""
    upward = []
    for module, imported in sorted(graph.items()):
        top, rank = layer_of(module)
        for target in sorted(imported):
            target_top, target_rank = layer_of(target)
            across = top in PURE and target_top in PURE and target_top not in (top, "protocol")
            if target_rank > rank or across:
                upward.append(f"{module} -> {target}")
    return upward


def test_the_integration_imports_run_downward() -> None:
    """Faces -> views/ -> hub/ -> disk/ -> the pure layers; the pure layers import each other not."""
    assert upward_imports(import_graph(REPO, ("custom_components",))) == []


def test_the_pure_layers_and_disk_import_no_home_assistant() -> None:
    known = module_names(REPO, ("custom_components",))
    offenders = []
    for name, path in known.items():
        top, _ = layer_of(name)
        if top not in (*PURE, "disk"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            offenders += [f"{name}: {m}" for m in modules if m.split(".")[0] == "homeassistant"]
    assert offenders == []


def test_the_root_holds_only_what_home_assistant_loads_and_the_packages() -> None:
    root = REPO / "custom_components" / "esp32_camera"
    modules = {path.stem for path in root.glob("*.py")}
    packages = {path.parent.name for path in root.glob("*/__init__.py")}
    assert modules == ROOT_MODULES
    assert packages == {*PURE, "disk", "hub", "views"}


def test_no_two_modules_of_the_integration_share_a_name() -> None:
    """A platform module's name is Home Assistant's; every other name says one thing."""
    root = REPO / "custom_components" / "esp32_camera"
    names = Counter(path.name for path in root.rglob("*.py") if path.name != "__init__.py")
    assert [name for name, count in names.items() if count > 1] == []


def test_no_bench_module_imports_the_runner_or_an_entry_point() -> None:
    """Only the bench's entry point imports its runner; nothing imports an entry point."""
    graph = import_graph(REPO, PACKAGES)
    importers = {name for name, imported in graph.items() if "bench.runner" in imported}
    assert importers == {"bench.__main__"}
    assert not any(
        entry in imported
        for imported in graph.values()
        for entry in ("bench.__main__", "esp32_simulator.__main__")
    )


def test_a_circle_through_type_checking_and_a_function_is_found(tmp_path: Path) -> None:
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "top.py").write_text("def run():\n    from loop import middle\n")
    (package / "middle.py").write_text("from . import bottom\n")
    (package / "bottom.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from loop.top import run\n"
    )
    graph = import_graph(tmp_path, ("loop",))
    assert find_cycle(graph) == ["loop.bottom", "loop.top", "loop.middle", "loop.bottom"]
    (package / "bottom.py").write_text("import json\n")
    assert find_cycle(import_graph(tmp_path, ("loop",))) is None


def test_an_upward_import_is_found() -> None:
    """The layer rule catches what it is for: the hub importing a view, a pure layer another."""
    hub, view, listener = (
        f"{INTEGRATION}.hub.hub",
        f"{INTEGRATION}.views.panel",
        f"{INTEGRATION}.listener",
    )
    motion, protocol = f"{INTEGRATION}.motion", f"{INTEGRATION}.protocol"
    assert upward_imports({hub: {view}}) == [f"{hub} -> {view}"]
    assert upward_imports({listener: {hub}}) == [f"{listener} -> {hub}"]
    assert upward_imports({motion: {listener}}) == [f"{motion} -> {listener}"]
    assert upward_imports({view: {hub}, hub: {listener}, listener: {protocol}}) == []
    assert upward_imports({f"{INTEGRATION}.sensor": {hub}, INTEGRATION: {view}}) == []
