"""No import circle in the bench: every import of every bench module, read with `ast`, runs down.

Every import counts, wherever it stands: at the top, inside a function, under `TYPE_CHECKING`
(the bench's last circle was one: `bench.__main__` imported the workloads, and they imported its
`Bench` back for their annotations).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The bench and the first-party tools it imports: a circle through them is the bench's too.
PACKAGES = ("bench", "harness", "esp32_simulator")


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


def test_the_bench_has_no_import_circle() -> None:
    graph = import_graph(REPO, PACKAGES)
    assert find_cycle(graph) is None
    # The graph is the real one: the runner reaches the workloads, and they the test bed.
    assert {"bench.testbed", "bench.ingest", "bench.attacks"} <= graph["bench.runner"]
    assert "bench.testbed" in graph["bench.record"]  # under TYPE_CHECKING: counted
    assert "bench.attack_tools" in graph["bench.attacks_store"]


def test_no_bench_module_imports_the_runner_or_an_entry_point() -> None:
    """Imports run down: only the entry point imports the runner, nothing imports the entry."""
    graph = import_graph(REPO, PACKAGES)
    importers = {name for name, imported in graph.items() if "bench.runner" in imported}
    assert importers == {"bench.__main__"}
    assert not any("bench.__main__" in imported for imported in graph.values())


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
