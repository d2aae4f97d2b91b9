"""The run report's plots (matplotlib, Agg): weight map, output raster, metric bars."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def mpl():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Save a figure atomically (temporary file + rename), without a software tag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    os.replace(tmp, path)
    return path


def plot_weights(net, path: Path, xlabel: str = "input line") -> Path:
    """Weight map of every segment of the first layer's first column (rows = segments);
    ``xlabel`` says what its input lines are."""
    plt = mpl()
    col = net.layers[0].columns[0]
    q, D, S, p = col.distal.weights.shape
    w = np.where(col.distal.mask, col.distal.weights, np.nan).reshape(q * D * S, p)
    fig, ax = plt.subplots(figsize=(min(14, 3 + p / 15), 1.2 + 0.45 * q * D * S))
    im = ax.imshow(w, aspect="auto", cmap="viridis", vmin=0, vmax=col.distal.w_max,
                   interpolation="nearest")
    ax.set_yticks(range(q * D * S))
    ax.set_yticklabels([f"n{i}/d{d}/s{s}" for i in range(q) for d in range(D) for s in range(S)])
    ax.set_xlabel(xlabel)
    ax.set_title(f"{net.layers[0].name}/{col.name}: trained weights (0..{col.distal.w_max}; "
                 "blank = pruned)")
    fig.colorbar(im, ax=ax, label="weight")
    p_ = save_figure(fig, path)
    plt.close(fig)
    return p_


def plot_raster(out: np.ndarray, labels: np.ndarray, path: Path, title: str) -> Path:
    """Output spike raster: x = test sample (sorted by true class), y = neuron, colour = time."""
    plt = mpl()
    order = np.argsort(labels, kind="stable")
    o = out[order]
    n, q = o.shape
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.5 * q))
    ii, jj = np.nonzero(o >= 0)
    sc = ax.scatter(ii, jj, c=o[ii, jj], cmap="plasma_r", s=12, marker="|", linewidths=2)
    bounds = np.flatnonzero(np.diff(labels[order])) + 0.5
    for b in bounds:
        ax.axvline(b, color="k", lw=0.8, ls="--")
    ax.set_yticks(range(q))
    ax.set_yticklabels([f"n{i}" for i in range(q)])
    ax.set_ylim(-0.5, q - 0.5)
    ax.set_xlabel("test sample (sorted by true class; dashed = class boundary)")
    ax.set_title(title)
    fig.colorbar(sc, ax=ax, label="output spike time")
    p_ = save_figure(fig, path)
    plt.close(fig)
    return p_


def plot_metrics(report: dict, path: Path, bars: tuple[list[str], list[float], list[float], str, str]
                 ) -> Path:
    """Bars of the task's metrics next to its baseline's; ``bars`` = ``(labels, network
    values, baseline values, baseline name, y label)`` (the task's ``metric_bars``)."""
    plt = mpl()
    labels, tnn, base, bname, ylab = bars
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(x - 0.2, tnn, 0.4, label="TNN (neutnngen)")
    ax.bar(x + 0.2, base, 0.4, label=bname)
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    if ylab != "cm":
        ax.set_ylim(min(0, min(tnn + base)) - 0.05, 1.05)
    ax.set_ylabel(ylab)
    ax.legend()
    ax.set_title(f"{report['dataset']['name']}: test split")
    p_ = save_figure(fig, path)
    plt.close(fig)
    return p_
