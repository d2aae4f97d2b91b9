"""dse.pareto.front (moocore's non-dominated filter) gives the same fronts as the pairwise
definition it replaced, ties and duplicate points included."""

from __future__ import annotations

import numpy as np
import pytest

from neutnngen.dse.pareto import best, dominates, front


def _pairwise_front(points, directions) -> list[int]:
    """The previous implementation: every point against every other, first of equal points."""
    out, seen = [], set()
    for i, p in enumerate(points):
        if tuple(p) in seen:
            continue
        if not any(dominates(q, p, directions) for j, q in enumerate(points) if j != i):
            out.append(i)
            seen.add(tuple(p))
    return out


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_front_equals_the_pairwise_definition(m):
    rng = np.random.default_rng(100 + m)
    for trial in range(60):
        n = int(rng.integers(1, 40))
        dirs = [("maximize", "minimize")[int(b)] for b in rng.integers(0, 2, m)]
        if trial % 3 == 0:  # a coarse grid: many ties and exact duplicates
            pts = rng.integers(0, 4, (n, m)).astype(float).tolist()
        elif trial % 3 == 1:  # accuracy-like and cost-like magnitudes
            pts = np.column_stack([rng.random(n).round(3)]
                                  + [rng.integers(10, 5000, n) for _ in range(m - 1)]).tolist()
        else:
            pts = rng.normal(size=(n, m)).tolist()
        assert front(pts, dirs) == _pairwise_front(pts, dirs), (pts, dirs)


def test_front_hand_example_ties_and_infinities():
    dirs = ["maximize", "minimize"]
    pts = [[0.9, 100], [0.8, 50], [0.85, 120], [0.9, 100], [0.7, 50], [0.95, 300]]
    assert front(pts, dirs) == [0, 1, 5]  # [3] equals [0]: only the first is kept
    assert front([[1, float("inf")], [0.5, 1]], dirs) == [0, 1]
    assert front([[1, 2], [1, float("inf")]], dirs) == [0]
    assert front([], dirs) == []
    assert front([[3]], ["minimize"]) == [0]
    assert front([[3], [1], [1]], ["minimize"]) == [1]
    assert dominates([0.9, 100], [0.85, 120], dirs)
    assert not dominates([0.9, 100], [0.9, 100], dirs)
    assert best([3, 1, 2], "maximize") == 3 and best([], "minimize") is None


def test_front_rejects_nan_and_ragged_points():
    with pytest.raises(ValueError, match="point 1 .* NaN objective"):
        front([[1, 2], [float("nan"), 1]], ["maximize", "minimize"])
    with pytest.raises(ValueError, match="point 0 has 1 objective value"):
        front([[1]], ["maximize", "minimize"])
