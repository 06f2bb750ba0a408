"""The suite's own order: each xdist worker starts on its share of the longest tests."""

from __future__ import annotations

import ast

from tests.helpers import LONGEST_TESTS, REPOSITORY, longest_first


def test_every_longest_test_named_exists() -> None:
    """A renamed test would silently lose its place at a worker's head."""
    for prefix in LONGEST_TESTS:
        path, _, name = prefix.partition("::")
        module = ast.parse((REPOSITORY / path).read_text())
        tests = [
            node.name
            for node in ast.walk(module)
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        ]
        assert not name or any(test.startswith(name.partition("[")[0]) for test in tests), prefix


def test_the_longest_tests_head_the_shares_worksteal_hands_out() -> None:
    longest = list(LONGEST_TESTS)  # the longest first, as written
    short = [f"tests/test_short.py::test_{number}" for number in range(90)]
    collection = short[:30] + longest[::-1] + short[30:]
    ordered = longest_first(collection, 4)
    assert sorted(ordered) == sorted(collection)  # nothing dropped or repeated
    # worksteal's shares of 101 tests: 25, 25, 25 and 26.
    shares = [ordered[0:25], ordered[25:50], ordered[50:75], ordered[75:]]
    assert [share[0] for share in shares] == longest[:4]  # the four longest, one per worker
    for share in shares:
        heads = [node for node in share if node in LONGEST_TESTS]
        assert share[: len(heads)] == heads  # before every short test of the share
        assert heads == sorted(heads, key=LONGEST_TESTS.__getitem__, reverse=True)
    # Each worker's share of the longest is about as long as the others'.
    loads = [sum(LONGEST_TESTS.get(node, 0) for node in share) for share in shares]
    assert max(loads) - min(loads) <= max(LONGEST_TESTS.values()) / 2
    # The short ones keep the collection's order.
    assert [node for node in ordered if node in short] == short


def test_without_workers_the_longest_come_first() -> None:
    collection = [
        "tests/test_a.py::test_one",
        "tests/scripts/test_demo.py::test_x",
        "tests/test_a.py::test_two",
    ]
    assert longest_first(collection, 1) == [collection[1], collection[0], collection[2]]
