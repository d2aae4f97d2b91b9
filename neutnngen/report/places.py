"""Place-cell plots: per-neuron win-rate maps over the arena and decoded vs true path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .plots import mpl, save_figure

__all__ = ["plot_place_fields", "plot_decoded_path"]


def _id_colours(plt, k: int):
    name = "tab10" if k <= 10 else "tab20" if k <= 20 else "turbo"
    cmap = plt.get_cmap(name)
    if name == "turbo":
        return [cmap(i / max(1, k - 1)) for i in range(k)]
    return [cmap(i % cmap.N) for i in range(k)]


def plot_place_fields(
    winners, pos, n_neurons: int, arena_cm, path, bin_cm: float = 5.0, max_maps: int = 64
) -> Path:
    """Place fields of a column over the arena.

    Left: every visited bin coloured by the neuron that wins it most often (its id), with
    each neuron's field centre (mean position of the samples it won) marked and labelled.
    Right: a grid of small maps, one per neuron (the first ``max_maps``), of its win rate per
    bin (wins / visits; white = never visited), sharing one colour bar.
    """
    from neutnngen.data.place_metrics import field_centres, field_maps

    plt = mpl()
    from matplotlib.colors import BoundaryNorm, ListedColormap

    m = field_maps(winners, pos, n_neurons, arena_cm, bin_cm)
    centres = field_centres(winners, pos, n_neurons)
    W, H = float(m["x_edges"][-1]), float(m["y_edges"][-1])
    occ, wins = m["occupancy"], m["wins"]
    visited = occ > 0
    rate = np.where(visited[None], wins / np.maximum(occ, 1)[None], np.nan)
    k = int(n_neurons)
    shown = min(k, int(max_maps))
    ncol = max(1, math.ceil(math.sqrt(shown * H / W)))
    nrow = math.ceil(shown / ncol)

    fig = plt.figure(figsize=(13, 6.0), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.0, 1.25])

    # Left: map of the majority winner per bin, centres marked.
    ax = left.subplots()
    total = wins.sum(axis=0)
    owner = np.where(total > 0, wins.argmax(axis=0), -1).astype(float)
    owner[~visited | (total == 0)] = np.nan
    colours = _id_colours(plt, k)
    cmap = ListedColormap(colours).with_extremes(bad="white")
    norm = BoundaryNorm(np.arange(k + 1) - 0.5, k)
    im = ax.imshow(owner, origin="lower", extent=(0, W, 0, H), cmap=cmap, norm=norm,
                   interpolation="nearest", alpha=0.85)
    have = np.isfinite(centres).all(axis=1)
    ax.scatter(centres[have, 0], centres[have, 1], c="k", marker="x", s=30, linewidths=1.2,
               label="field centre")
    if k <= 64:
        for i in np.flatnonzero(have):
            ax.annotate(str(i), centres[i], xytext=(3, 3), textcoords="offset points",
                        fontsize=7)
    ax.set_xlim(0, W)
    ax.set_ylim(0, H)
    ax.set_aspect("equal")
    ax.set_xlabel("x (cm)")
    ax.set_ylabel("y (cm)")
    n_active = int((wins.sum(axis=(1, 2)) > 0).sum())
    ax.set_title(f"most frequent winner per {m['bin_cm']:g} cm bin ({n_active} of {k} "
                 f"neurons win)\nx = field centre; white = not visited / no winner", fontsize=9)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    ticks = np.arange(k) if k <= 20 else np.linspace(0, k - 1, 6).round().astype(int)
    left.colorbar(im, ax=ax, ticks=ticks, label="neuron id", shrink=0.8)

    # Right: grid of per-neuron win-rate maps.
    axs = np.atleast_1d(right.subplots(nrow, ncol, squeeze=False)).ravel()
    cm = plt.get_cmap("viridis").with_extremes(bad="white")
    last = None
    for j, a in enumerate(axs):
        if j >= shown:
            a.axis("off")
            continue
        last = a.imshow(rate[j], origin="lower", extent=(0, W, 0, H), cmap=cm, vmin=0, vmax=1,
                        interpolation="nearest")
        a.set_title(f"n{j} ({int(wins[j].sum())})", fontsize=7, pad=2)
        a.set_xticks([])
        a.set_yticks([])
        a.set_aspect("equal")
    axs[0].set_xticks([0, W])
    axs[0].set_yticks([0, H])
    axs[0].tick_params(labelsize=6)
    more = f" (first {shown} of {k})" if shown < k else ""
    right.suptitle(f"win rate per bin = wins / visits{more}; (n) = samples won; arena "
                   f"{W:g} x {H:g} cm", fontsize=9)
    if last is not None:
        right.colorbar(last, ax=axs.tolist(), label="win rate (share of visits)", shrink=0.8)
    p_ = save_figure(fig, Path(path))
    plt.close(fig)
    return p_


def plot_decoded_path(true_pos, decoded, path, t=None, max_points: int = 600) -> Path:
    """True vs decoded position: x(t), y(t) and the 2-D path, for the first ``max_points``.

    ``decoded`` rows that are NaN (no winner) are left out (gaps). ``t`` in seconds; sample
    index when not given.
    """
    plt = mpl()
    tp = np.asarray(true_pos, dtype=float)
    dp = np.asarray(decoded, dtype=float)
    if tp.ndim != 2 or tp.shape[1] != 2 or dp.shape != tp.shape:
        from neutnngen.errors import ConfigError

        raise ConfigError(
            f"plot_decoded_path: true_pos has shape {tp.shape} and decoded {dp.shape}; "
            f"expected two arrays of shape [n, 2]"
        )
    n_all = tp.shape[0]
    ok_all = np.isfinite(dp).all(axis=1)
    err_all = np.hypot(*(dp[ok_all] - tp[ok_all]).T)
    n = min(n_all, int(max_points))
    tp, dp = tp[:n], dp[:n]
    x = np.arange(n) if t is None else np.asarray(t, dtype=float)[:n]
    xlabel = "test sample" if t is None else "time (s)"

    fig = plt.figure(figsize=(13, 5.2))
    gs = fig.add_gridspec(2, 2, width_ratios=[1.9, 1.0])
    for row, (axis, name) in enumerate(((0, "x"), (1, "y"))):
        a = fig.add_subplot(gs[row, 0])
        a.plot(x, tp[:, axis], color="0.2", lw=1.2, label="true")
        a.plot(x, dp[:, axis], color="tab:red", lw=0, marker=".", ms=3, label="decoded")
        a.set_ylabel(f"{name} (cm)")
        if row == 1:
            a.set_xlabel(xlabel)
        else:
            a.legend(loc="upper right", fontsize=8, ncol=2)
    a = fig.add_subplot(gs[:, 1])
    a.plot(tp[:, 0], tp[:, 1], color="0.2", lw=0.8, label="true path")
    ok = np.isfinite(dp).all(axis=1)
    a.plot(np.stack([tp[ok, 0], dp[ok, 0]]), np.stack([tp[ok, 1], dp[ok, 1]]),
           color="tab:red", lw=0.4, alpha=0.35)
    a.scatter(dp[ok, 0], dp[ok, 1], color="tab:red", s=6, label="decoded (line = error)")
    a.set_aspect("equal")
    a.set_xlabel("x (cm)")
    a.set_ylabel("y (cm)")
    a.legend(loc="upper right", fontsize=7, framealpha=0.8)
    med = f"{np.median(err_all):.1f} cm" if err_all.size else "n/a"
    fig.suptitle(f"decoded vs true position (first {n} of {n_all} samples); median error {med} "
                 f"over {err_all.size} decoded samples ({err_all.size / max(1, n_all):.0%})",
                 fontsize=10)
    p_ = save_figure(fig, Path(path))
    plt.close(fig)
    return p_
