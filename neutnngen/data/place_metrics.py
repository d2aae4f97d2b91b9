"""Metrics of a place-cell column (docs/model.md §8, place cells).

Conventions: the column's winner for a sample is the index of the winning neuron, ``-1``
when nothing fired; positions are ``[n, 2]`` arrays of ``(x, y)`` in cm inside an arena
``[0, w] x [0, h]``.

* Field centre of a neuron: the mean training position of the samples it won (NaN if it
  never won).
* Decoded position of a test sample: the field centre of its winner (NaN if nothing fired
  or the winner never won in training). Decoding error: the Euclidean distance to the true
  position over the decodable samples; ``decoded_share`` says how many those are.
* Chance level: the same test winners in a random order (same winner frequencies, no
  position information), median error, median over repeats.
* Field maps: the arena cut into square bins of ``bin_cm``; per bin the occupancy (visits)
  and per neuron the wins. A neuron's place field is the visited bins where it wins at least
  ``min_share`` of the visits.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from neutnngen.errors import ConfigError

__all__ = [
    "chance_decoding_error_cm",
    "decode_positions",
    "decoding_error_cm",
    "field_centres",
    "field_maps",
    "place_cell_metrics",
    "place_field_stats",
]


def _check_real(func: str, name: str, value, lo: float, hi: float, lo_open: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        lb = "(" if lo_open else "["
        raise ConfigError(
            f"{func}: {name}={value!r} is not accepted; expected a number in {lb}{lo}, {hi}]"
        )
    return float(value)


def _check_int(func: str, name: str, value, lo: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) < lo:
        raise ConfigError(f"{func}: {name}={value!r} is not accepted; expected an integer >= {lo}")
    return int(value)


# ---------------------------------------------------------------------------------------
# input checks for the metrics
# ---------------------------------------------------------------------------------------


def _winners(func: str, name: str, winners, n_neurons: int | None = None) -> np.ndarray:
    arr = np.asarray(winners)
    if arr.ndim != 1:
        raise ConfigError(f"{func}: {name} has shape {arr.shape}; expected a 1-D array of winners")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ConfigError(
                f"{func}: {name} holds non-integer values; expected neuron indices (-1 = none)"
            )
        arr = arr.astype(np.int64)
    if arr.size and arr.dtype.kind not in "iu":
        raise ConfigError(
            f"{func}: {name} has dtype {arr.dtype}; expected integer neuron indices (-1 = none)"
        )
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < -1:
        raise ConfigError(
            f"{func}: {name} contains {int(arr.min())}; expected neuron indices >= 0 or -1 "
            f"for no winner"
        )
    if n_neurons is not None and arr.size and arr.max() >= n_neurons:
        raise ConfigError(
            f"{func}: {name} contains neuron {int(arr.max())} but n_neurons={n_neurons}; "
            f"expected indices 0..{n_neurons - 1} or -1"
        )
    return arr


def _positions(func: str, name: str, pos, n: int | None = None, allow_nan: bool = False):
    try:
        arr = np.asarray(pos, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{func}: {name} cannot be read as numbers ({e}); expected [n, 2]") from e
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ConfigError(f"{func}: {name} has shape {arr.shape}; expected [n, 2] (x, y) in cm")
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ConfigError(
            f"{func}: {name} has {int(bad.sum())} non-finite value(s) (first at {first}); "
            f"expected finite positions{' (NaN allowed for undecodable samples)' if allow_nan else ''}"
        )
    if n is not None and arr.shape[0] != n:
        raise ConfigError(
            f"{func}: {name} has {arr.shape[0]} rows but there are {n} winners; expected one "
            f"position per sample"
        )
    return arr


def _arena(func: str, arena_cm) -> tuple[float, float]:
    try:
        w, h = (float(v) for v in arena_cm)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"{func}: arena_cm={arena_cm!r} is not accepted; expected (width, height) in cm"
        ) from e
    if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
        raise ConfigError(
            f"{func}: arena_cm={arena_cm!r} is not accepted; expected two finite numbers > 0"
        )
    return w, h


def _n_neurons(func: str, n_neurons) -> int:
    return _check_int(func, "n_neurons", n_neurons, 1)


# ---------------------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------------------


def field_centres(winners, pos, n_neurons: int) -> np.ndarray:
    """Centre of each neuron's field: the mean position of the samples it won.

    ``winners`` ``[n]`` (ints, ``-1`` = nothing fired), ``pos`` ``[n, 2]`` in cm. Returns
    float64 ``[n_neurons, 2]``; the row of a neuron that never won is NaN.
    """
    func = "field_centres"
    k = _n_neurons(func, n_neurons)
    w = _winners(func, "winners", winners, k)
    p = _positions(func, "pos", pos, w.shape[0])
    hit = w >= 0
    counts = np.bincount(w[hit], minlength=k).astype(np.float64)
    sums = np.stack([np.bincount(w[hit], weights=p[hit, a], minlength=k) for a in range(2)], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums / counts[:, None]
    out[counts == 0] = np.nan
    return out


def decode_positions(winners, centres) -> np.ndarray:
    """Decoded position per sample: the field centre of its winner.

    Returns float64 ``[n, 2]``; NaN where the winner is ``-1`` or its centre is NaN.
    """
    func = "decode_positions"
    c = _positions(func, "centres", centres, allow_nan=True)
    w = _winners(func, "winners", winners, c.shape[0])
    out = np.full((w.shape[0], 2), np.nan)
    hit = w >= 0
    out[hit] = c[w[hit]]
    return out


def _errors(true_pos: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    ok = np.isfinite(decoded).all(axis=1)
    return np.hypot(*(decoded[ok] - true_pos[ok]).T)


def decoding_error_cm(true_pos, decoded) -> dict:
    """Euclidean decoding error over the decodable samples (decoded position not NaN).

    Returns ``{"median": cm, "mean": cm, "decoded_share": share of samples decoded,
    "n": samples, "n_decoded": decodable samples}``; median and mean are NaN when no sample
    could be decoded.
    """
    func = "decoding_error_cm"
    t = _positions(func, "true_pos", true_pos)
    d = _positions(func, "decoded", decoded, allow_nan=True)
    if d.shape[0] != t.shape[0]:
        raise ConfigError(
            f"{func}: decoded has {d.shape[0]} rows but true_pos has {t.shape[0]}; expected "
            f"the same number"
        )
    if t.shape[0] == 0:
        raise ConfigError(f"{func}: got 0 samples; expected at least 1")
    e = _errors(t, d)
    return {
        "median": float(np.median(e)) if e.size else math.nan,
        "mean": float(e.mean()) if e.size else math.nan,
        "decoded_share": e.size / t.shape[0],
        "n": int(t.shape[0]),
        "n_decoded": int(e.size),
    }


def chance_decoding_error_cm(winners_test, centres, true_pos, seed: int, repeats: int = 20) -> float:
    """Chance level of the decoding error: the median error with shuffled winners.

    Each repeat permutes ``winners_test`` with ``np.random.default_rng(seed)`` (so winner
    frequencies, and the share of ``-1``, stay the same but the link to position is
    destroyed), decodes with ``centres`` and takes the median error over decodable samples.
    Returns the median over ``repeats`` of those medians (NaN if nothing is decodable).
    """
    func = "chance_decoding_error_cm"
    c = _positions(func, "centres", centres, allow_nan=True)
    w = _winners(func, "winners_test", winners_test, c.shape[0])
    t = _positions(func, "true_pos", true_pos, w.shape[0])
    seed = _check_int(func, "seed", seed, 0)
    repeats = _check_int(func, "repeats", repeats, 1)
    if w.shape[0] == 0:
        raise ConfigError(f"{func}: got 0 samples; expected at least 1")
    rng = np.random.default_rng(seed)
    meds = []
    for _ in range(repeats):
        e = _errors(t, decode_positions(w[rng.permutation(w.shape[0])], c))
        if e.size:
            meds.append(float(np.median(e)))
    return float(np.median(meds)) if meds else math.nan


# ---------------------------------------------------------------------------------------
# place fields
# ---------------------------------------------------------------------------------------


def field_maps(winners, pos, n_neurons: int, arena_cm, bin_cm: float = 5.0) -> dict:
    """Occupancy and per-neuron wins in square spatial bins over the arena.

    The arena ``[0, w] x [0, h]`` is cut into ``nx = ceil(w / bin_cm)`` by
    ``ny = ceil(h / bin_cm)`` bins (the last row/column may be narrower); a position on the
    far wall belongs to the last bin. Positions must lie inside the arena.

    Returns a dict: ``occupancy`` int64 ``[ny, nx]`` (samples per bin), ``wins`` int64
    ``[n_neurons, ny, nx]`` (samples per bin won by each neuron; samples with winner -1
    count only in occupancy), ``x_edges`` ``[nx + 1]``, ``y_edges`` ``[ny + 1]``,
    ``bin_area_cm2`` ``[ny, nx]`` and ``bin_cm``. Row index = y, column = x (``imshow``
    with ``origin="lower"``).
    """
    func = "field_maps"
    k = _n_neurons(func, n_neurons)
    w = _winners(func, "winners", winners, k)
    p = _positions(func, "pos", pos, w.shape[0])
    W, H = _arena(func, arena_cm)
    b = _check_real(func, "bin_cm", bin_cm, 0.0, math.inf)
    outside = (p[:, 0] < 0) | (p[:, 0] > W) | (p[:, 1] < 0) | (p[:, 1] > H)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ConfigError(
            f"{func}: {int(outside.sum())} position(s) lie outside the arena 0..{W} x 0..{H} "
            f"cm (first: sample {i} at {tuple(p[i].round(3))}); expected positions in cm "
            f"inside arena_cm"
        )
    nx, ny = max(1, math.ceil(W / b - 1e-9)), max(1, math.ceil(H / b - 1e-9))
    x_edges = np.minimum(np.arange(nx + 1) * b, W)
    y_edges = np.minimum(np.arange(ny + 1) * b, H)
    x_edges[-1], y_edges[-1] = W, H
    ix = np.minimum((p[:, 0] // b).astype(np.int64), nx - 1)
    iy = np.minimum((p[:, 1] // b).astype(np.int64), ny - 1)
    flat = iy * nx + ix
    occupancy = np.bincount(flat, minlength=nx * ny).reshape(ny, nx)
    hit = w >= 0
    wins = np.bincount(w[hit] * (nx * ny) + flat[hit], minlength=k * nx * ny).reshape(k, ny, nx)
    area = np.outer(np.diff(y_edges), np.diff(x_edges))
    return {
        "occupancy": occupancy.astype(np.int64),
        "wins": wins.astype(np.int64),
        "x_edges": x_edges,
        "y_edges": y_edges,
        "bin_area_cm2": area,
        "bin_cm": b,
    }


def place_field_stats(
    winners, pos, n_neurons: int, arena_cm, bin_cm: float = 5.0, min_share: float = 0.5
) -> dict:
    """Place-field statistics from :func:`field_maps`.

    A neuron's field is the set of visited bins where it wins at least ``min_share`` (in
    ``(0, 1]``) of the visits. Returns a dict:

    * ``coverage_arena``: share of the visited bins that lie in at least one field;
    * ``field_area_cm2``: float64 ``[n_neurons]``, the area of each neuron's field (0 if none);
    * ``median_field_area_cm2`` and ``median_field_diameter_cm`` (``2 sqrt(area / pi)``, the
      diameter of a disc of that area): medians over the neurons that have a field (NaN if
      none has);
    * ``active_neurons``: neurons that won at least one sample; ``neurons_with_field``;
      ``visited_bins``.
    """
    func = "place_field_stats"
    share = _check_real(func, "min_share", min_share, 0.0, 1.0)
    m = field_maps(winners, pos, n_neurons, arena_cm, bin_cm)
    occ, wins = m["occupancy"], m["wins"]
    visited = occ > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(visited, wins / np.where(visited, occ, 1), 0.0)
    fields = visited[None] & (wins > 0) & (rate >= share)
    area = (fields * m["bin_area_cm2"][None]).sum(axis=(1, 2)).astype(np.float64)
    has = area > 0
    n_visited = int(visited.sum())
    med = float(np.median(area[has])) if has.any() else math.nan
    return {
        "coverage_arena": float(fields.any(axis=0)[visited].sum() / n_visited) if n_visited else 0.0,
        "field_area_cm2": area,
        "median_field_area_cm2": med,
        "median_field_diameter_cm": 2.0 * math.sqrt(med / math.pi) if has.any() else math.nan,
        "active_neurons": int((wins.sum(axis=(1, 2)) > 0).sum()),
        "neurons_with_field": int(has.sum()),
        "visited_bins": n_visited,
    }


def place_cell_metrics(
    winners_train, pos_train, winners_test, pos_test, n_neurons: int, arena_cm, seed: int,
    bin_cm: float = 5.0, min_share: float = 0.5, repeats: int = 20,
) -> dict:
    """All place-cell metrics of one column, as one JSON-ready dict of numbers.

    Field centres and field maps come from the training split (the positions the column
    learned on); decoding is measured on the test split (later in time). Keys:

    * ``median_decoding_error_cm``, ``mean_decoding_error_cm``, ``decoded_share``
      (:func:`decoding_error_cm` of the test split);
    * ``chance_decoding_error_cm`` (:func:`chance_decoding_error_cm`, ``repeats`` shuffles);
    * ``coverage_arena``, ``median_field_area_cm2``, ``median_field_diameter_cm``,
      ``active_neurons``, ``neurons_with_field`` (:func:`place_field_stats` on the
      training split);
    * ``coverage``: share of test samples with a winner; ``n_train``, ``n_test``.
    """
    func = "place_cell_metrics"
    k = _n_neurons(func, n_neurons)
    wtr = _winners(func, "winners_train", winners_train, k)
    wte = _winners(func, "winners_test", winners_test, k)
    ptr = _positions(func, "pos_train", pos_train, wtr.shape[0])
    pte = _positions(func, "pos_test", pos_test, wte.shape[0])
    if wte.shape[0] == 0 or wtr.shape[0] == 0:
        raise ConfigError(
            f"{func}: got {wtr.shape[0]} training and {wte.shape[0]} test samples; expected at "
            f"least 1 of each"
        )
    centres = field_centres(wtr, ptr, k)
    dec = decoding_error_cm(pte, decode_positions(wte, centres))
    stats = place_field_stats(wtr, ptr, k, arena_cm, bin_cm, min_share)
    return {
        "median_decoding_error_cm": dec["median"],
        "mean_decoding_error_cm": dec["mean"],
        "chance_decoding_error_cm": chance_decoding_error_cm(wte, centres, pte, seed, repeats),
        "decoded_share": dec["decoded_share"],
        "coverage_arena": stats["coverage_arena"],
        "median_field_area_cm2": stats["median_field_area_cm2"],
        "median_field_diameter_cm": stats["median_field_diameter_cm"],
        "active_neurons": stats["active_neurons"],
        "neurons_with_field": stats["neurons_with_field"],
        "coverage": float((wte >= 0).mean()),
        "n_train": int(wtr.shape[0]),
        "n_test": int(wte.shape[0]),
    }
