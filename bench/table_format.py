"""The plain-text table's row and number formats, shared by the workloads' table sections."""

from __future__ import annotations


def cells(*values: object) -> str:
    """One table row: a left-aligned label, then right-aligned columns."""
    return "  ".join(f"{value:>14}" if i else f"{value:<30}" for i, value in enumerate(values))


def number(value: float | None, digits: int = 2) -> str:
    """A figure with thousands separators; `-` when it was not measured."""
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(value: float | None, baseline: float | None) -> float | None:
    """`value` over its baseline; None when either is missing (or the baseline is zero)."""
    return value / baseline if value is not None and baseline else None
