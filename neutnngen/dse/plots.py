"""The DSE report's plots: objective pairs with the Pareto front, parallel coordinates of
parameters and objectives, forecast vs measured cost."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..report.plots import mpl, save_figure
from .pareto import front
from .spec import DseSpec


def short(p: str) -> str:
    """A report path without its root (``synth.generic.cells`` -> ``generic.cells``)."""
    return p.split(".", 1)[1] if p.count(".") >= 2 else p


def _mpl():
    return mpl()


def _save(fig, path: Path) -> Path:
    return save_figure(fig, path, dpi=100)


def plot_pairs(d: dict, spec: DseSpec, path: Path) -> Path | None:
    paths = spec.objective_paths
    ok = [r for r in d["trials"] if r["state"] == "COMPLETE" and r["objectives"]]
    if len(paths) < 2 or not ok:
        return None
    plt = _mpl()
    pairs = [(i, j) for i in range(len(paths)) for j in range(i + 1, len(paths))]
    n = len(pairs)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.8 * rows), squeeze=False)
    front_n = {r["number"] for r in d["front"]}
    for ax, (i, j) in zip(axes.ravel(), pairs, strict=False):
        px, py = paths[i], paths[j]
        feas = [r for r in ok if r["feasible"] is not False]
        infe = [r for r in ok if r["feasible"] is False]
        ax.scatter([r["objectives"][px] for r in feas], [r["objectives"][py] for r in feas],
                   s=18, c="#9aa4b1", label="trial")
        if infe:
            ax.scatter([r["objectives"][px] for r in infe], [r["objectives"][py] for r in infe],
                       s=22, marker="x", c="#c77", label="infeasible")
        fr = sorted((r for r in ok if r["number"] in front_n), key=lambda r: r["objectives"][px])
        ax.scatter([r["objectives"][px] for r in fr], [r["objectives"][py] for r in fr],
                   s=40, c="#d62728", edgecolors="k", linewidths=0.5, label="Pareto front", zorder=3)
        # 2-D front of this projection as a step line
        pts2 = [[r["objectives"][px], r["objectives"][py]] for r in feas]
        idx2 = front(pts2, [spec.directions[i], spec.directions[j]])
        f2 = sorted((pts2[k] for k in idx2), key=lambda v: v[0])
        if len(f2) > 1:
            # attainment staircase: the best y reachable at x comes from the points on the
            # better side of x (left when x is minimised, right when it is maximised)
            ax.step([v[0] for v in f2], [v[1] for v in f2],
                    where="post" if spec.directions[i] == "minimize" else "pre",
                    c="#d62728", lw=0.8, alpha=0.6)
        ax.set_xlabel(f"{short(px)} ({spec.directions[i][:3]})")
        ax.set_ylabel(f"{short(py)} ({spec.directions[j][:3]})")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle("objective pairs (red: Pareto front over all objectives; line: 2-D front)")
    p = _save(fig, path)
    plt.close(fig)
    return p


def plot_parallel(d: dict, spec: DseSpec, path: Path) -> Path | None:
    ok = [r for r in d["trials"] if r["state"] == "COMPLETE" and r["objectives"]]
    if not ok:
        return None
    axes_names: list[tuple[str, Any]] = []
    cat_labels: dict[int, list] = {}  # axis -> category names (non-numeric choices)
    for p in spec.params:
        vals = [r["params"].get(p.key) for r in ok]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals)
        if p.kind == "choice" and not numeric:
            cats = list(p.choices)
            cat_labels[len(axes_names)] = cats
            axes_names.append((p.key, lambda r, k=p.key, c=cats: c.index(r["params"][k])
                               if r["params"].get(k) in c else np.nan))
        elif numeric:
            axes_names.append((p.key, lambda r, k=p.key: float(r["params"][k])))
    for pth in spec.objective_paths:
        axes_names.append((pth, lambda r, k=pth: float(r["objectives"][k])))
    M = np.array([[f(r) for _, f in axes_names] for r in ok], dtype=float)
    lo = np.nanmin(M, axis=0)
    hi = np.nanmax(M, axis=0)
    N = (M - lo) / np.where(hi > lo, hi - lo, 1.0)
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(max(7, 1.5 * len(axes_names)), 4.2))
    front_n = {r["number"] for r in d["front"]}
    xs = np.arange(len(axes_names))
    for r, row in zip(ok, N, strict=True):
        if r["number"] not in front_n:
            ax.plot(xs, row, c="#9aa4b1", alpha=0.45, lw=0.8)
    for r, row in zip(ok, N, strict=True):
        if r["number"] in front_n:
            ax.plot(xs, row, c="#d62728", alpha=0.9, lw=1.6)
    ax.set_xticks(xs)
    ax.set_xticklabels([short(n) if n.count(".") >= 2 else n for n, _ in axes_names],
                       rotation=25, ha="right", fontsize=8)
    for x, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if x in cat_labels:  # category names at their positions
            cats = cat_labels[x]
            for ci, name in enumerate(cats):
                y = (ci - a) / (b - a) if b > a else 0.0
                if 0 <= y <= 1:
                    ax.text(x + 0.04, y, str(name), fontsize=7, va="center")
            continue
        ax.text(x, -0.08, f"{a:.4g}", ha="center", fontsize=7, va="top")
        ax.text(x, 1.04, f"{b:.4g}", ha="center", fontsize=7)
    ax.set_ylim(-0.15, 1.12)
    ax.set_yticks([])
    ax.set_title("parallel coordinates: parameters and objectives (min..max per axis; red = front)")
    p = _save(fig, path)
    plt.close(fig)
    return p


def plot_forecast(d: dict, path: Path) -> Path | None:
    vs = d["forecast"].get("vs_measured") or []
    metrics = sorted({r["metric"] for r in vs})
    if not metrics:
        return None
    plt = _mpl()
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.8 * rows), squeeze=False)
    for ax, m in zip(axes.ravel(), metrics, strict=False):
        for mode, c in (("hardwired", "#1f77b4"), ("register", "#ff7f0e")):
            sub = [r for r in vs if r["metric"] == m and r["weights"] == mode]
            if sub:
                ax.scatter([r["measured"] for r in sub], [r["predicted_loo"] for r in sub], s=16,
                           c=c, label=mode)
        allv = [r["measured"] for r in vs if r["metric"] == m] + \
               [r["predicted_loo"] for r in vs if r["metric"] == m]
        a, b = min(allv), max(allv)
        ax.plot([a, b], [a, b], "k--", lw=0.7)
        mape = d["forecast"]["mape"].get(m)
        ax.set_title(f"{short(m)}: LOO MAPE {100 * mape:.1f}%" if mape is not None else short(m),
                     fontsize=9)
        ax.set_xlabel("measured")
        ax.set_ylabel("forecast (held out)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(metrics):]:
        ax.axis("off")
    p = _save(fig, path)
    plt.close(fig)
    return p
