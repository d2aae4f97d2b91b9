"""Dotted paths into a report dict (``metrics.test.rand_index``): what objectives and
constraints name. Below both the evaluation and the forecast, which read reports."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["get_path", "held_out", "number_at"]


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


def held_out(report: dict, objective_paths) -> dict[str, float]:
    """For every objective on the validation split (``metrics.val.X``), the trial's test value
    ``metrics.test.X`` where its report has one: shown beside the front, never optimized
    (the front is picked on the validation split, the test split is only reported)."""
    out: dict[str, float] = {}
    for p in objective_paths:
        parts = p.split(".")
        if len(parts) == 3 and parts[:2] == ["metrics", "val"]:
            tp = f"metrics.test.{parts[2]}"
            try:
                out[tp] = number_at(report, tp)
            except (KeyError, ValueError):
                continue
    return out
