"""Pareto dominance and fronts (plain Python; directions are "maximize" | "minimize")."""

from __future__ import annotations

from collections.abc import Sequence


def _better_eq(a: float, b: float, direction: str) -> bool:
    return a >= b if direction == "maximize" else a <= b


def _better(a: float, b: float, direction: str) -> bool:
    return a > b if direction == "maximize" else a < b


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """``a`` is at least as good as ``b`` in every objective and better in one."""
    return (all(_better_eq(x, y, d) for x, y, d in zip(a, b, directions, strict=True))
            and any(_better(x, y, d) for x, y, d in zip(a, b, directions, strict=True)))


def front(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices of the non-dominated points; of equal points only the first is kept."""
    out: list[int] = []
    seen: set[tuple] = set()
    for i, p in enumerate(points):
        key = tuple(p)
        if key in seen:
            continue
        if not any(dominates(q, p, directions) for j, q in enumerate(points) if j != i):
            out.append(i)
            seen.add(key)
    return out


def best(values: Sequence[float], direction: str) -> float | None:
    if not values:
        return None
    return max(values) if direction == "maximize" else min(values)


__all__ = ["best", "dominates", "front"]
