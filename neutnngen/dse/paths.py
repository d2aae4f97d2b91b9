"""Dotted paths into a report dict (``metrics.test.rand_index``): what objectives and
constraints name. Below both the evaluation and the forecast, which read reports."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["get_path", "number_at"]


def get_path(report: dict, path: str) -> Any:
    """Value at a dotted path of a report dict, or None."""
    cur: Any = report
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def number_at(report: dict, path: str) -> float:
    """Finite number at ``path``; raises ``KeyError``/``ValueError`` saying what is there."""
    v = get_path(report, path)
    if v is None:
        parent = path.rsplit(".", 1)[0]
        here = get_path(report, parent)
        have = ", ".join(sorted(here)) if isinstance(here, dict) else "nothing"
        raise KeyError(f"{path} is not in the report ({parent} has: {have})")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"{path}={v!r} is not a finite number")
    return float(v)
