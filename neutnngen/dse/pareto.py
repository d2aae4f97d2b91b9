"""Pareto dominance and fronts; directions are "maximize" | "minimize" (anything but
"maximize" minimises). The front is moocore's non-dominated filter
(``moocore.is_nondominated``: Kung et al.'s dimension sweep, O(n log n) for up to three
objectives), instead of the O(n^2) pairwise loop this module used to run."""

from __future__ import annotations

import math
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
    """Indices (ascending) of the non-dominated points; of equal points only the first is
    kept. Objective values must be numbers, NaN excluded (``ValueError`` naming it)."""
    if len(points) == 0:
        return []
    import moocore
    import numpy as np

    for i, p in enumerate(points):
        if len(p) != len(directions):
            raise ValueError(f"point {i} has {len(p)} objective value(s); expected "
                             f"{len(directions)} (one per direction)")
        if any(math.isnan(float(v)) for v in p):
            raise ValueError(f"point {i} = {list(p)!r} has a NaN objective; a Pareto front "
                             "needs comparable numbers")
    arr = np.asarray(points, dtype=np.float64).reshape(len(points), len(directions))
    keep = moocore.is_nondominated(arr, maximise=[d == "maximize" for d in directions],
                                   keep_weakly=False)
    return [int(i) for i in np.flatnonzero(keep)]


def best(values: Sequence[float], direction: str) -> float | None:
    if not values:
        return None
    return max(values) if direction == "maximize" else min(values)


__all__ = ["best", "dominates", "front"]
