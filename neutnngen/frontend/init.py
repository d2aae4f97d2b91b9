"""Seeded initial networks for configs: :func:`init_column_network`.

The threshold rule (documented in :func:`default_theta`) makes a fresh column fire on most
samples with its first crossing around the middle of the wave, so that STDP has something to
capture and to depress from the first wave on.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..ir.interp import potentials
from ..ir.nodes import (
    Column,
    Inhibition,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    SynapseBank,
    TimeSpec,
    default_seeds,
)
from ..ir.verify import check

W_INITS = ("uniform", "half", "max", "data", "data_segments", "data_maximin",
           "data_segments_maximin")
#: the data-seeded initialisations (M6) and whether each is one prototype per neuron
DATA_INITS = {"data": False, "data_segments": True, "data_maximin": False,
              "data_segments_maximin": True}
DEFAULT_LEARNING = LearningRule()


def _response(response: str, x: np.ndarray, w: np.ndarray, t: int) -> np.ndarray:
    """``r(t)`` for input times ``x`` and weights ``w`` (broadcast)."""
    if response == "rnl":
        return np.where(x <= t, np.minimum(t - x + 1, w), 0)
    return np.where(x <= t, w, 0)


def mid_wave_step(time: TimeSpec) -> int:
    """The middle of the input window, ``t_mid = t_max_in // 2`` (3 for 3-bit times)."""
    return time.t_max_in // 2


def default_theta(weights: np.ndarray, mask: np.ndarray, time: TimeSpec, w_max: int,
                  X: np.ndarray | None = None, quantile: float = 0.5) -> int:
    """The default threshold of a column (one value for all its segments).

    Rule: the potential at the mid-wave step ``t_mid = (T - 1) // 2`` should typically just
    reach the threshold, so a fresh segment fires around mid-wave.

    * With training volleys ``X[N, p]``: ``theta`` is the ``quantile`` (default the median)
      of ``V_g(t_mid)`` over all samples and segments ``g`` with the initial weights: a
      segment crosses by mid-wave on about that share of the samples, and every segment
      still fires later in the wave on the samples whose potential keeps rising.
    * Without data: ``theta = round(mean_g sum_j E_x[r(t_mid; x, w_gj)])`` with ``x``
      uniform over ``0 .. t_max_in`` (every line spiking once, as the bipolar time-series
      code does): the expected potential of a segment at mid-wave.

    Either way ``theta`` is clamped to ``1 .. min_g sum_j w_gj`` so that every segment can
    reach it with its initial weights (a larger threshold is a neuron that never fires).
    """
    G = int(np.prod(weights.shape[:-1]))
    w = np.where(mask, weights, 0).reshape(G, -1)
    m = mask.reshape(G, -1)
    t_mid = mid_wave_step(time)
    if X is not None and len(X):
        V = potentials(np.asarray(X, dtype=np.int64), w, m, time.response, t_mid + 1)[:, :, t_mid]
        theta = int(np.ceil(np.quantile(V.reshape(-1), quantile)))
    else:
        xs = np.arange(time.t_max_in + 1)
        er = _response(time.response, xs[:, None, None], w[None], t_mid).mean(axis=0)  # [G, p]
        theta = int(round(float(er.sum(axis=1).mean())))
    cap = int(w.sum(axis=1).min()) if w.size else 1
    return max(1, min(theta, max(cap, 1)))


def relative_theta(weights: np.ndarray, mask: np.ndarray, time: TimeSpec, w_max: int,
                   X: np.ndarray | None, quantile: float = 0.5, shift: int = 1,
                   volleys: int = 200, best: bool = False) -> np.ndarray:
    """Per-segment thresholds for a relative-threshold rule (M2, docs/model.md §3):
    ``theta_g = max(1, (sum_j w_gj >> shift) + c)`` with one offset ``c`` per column, the
    ``quantile`` (default the median) over the first ``volleys`` training volleys and every
    segment of ``V_g(t_cal) - (sum_j w_gj >> shift)``, ``t_cal = w_max - 1`` (at most
    ``T - 1``), rounded up; with ``best`` the quantile over volleys of the largest such value
    among the segments (for sparse codes: ``quantile = 0.1`` lets the best segment reach its
    threshold by ``t_cal`` on 90% of the volleys). Without volleys ``c = 0``."""
    shape = weights.shape[:-1]
    G = int(np.prod(shape))
    w = np.where(mask, weights, 0).reshape(G, -1).astype(np.int64)
    m = mask.reshape(G, -1)
    base = w.sum(axis=1) >> shift
    c = 0
    if X is not None and len(X):
        T = time.wave_length(w_max)
        t_cal = max(0, min(w_max - 1, T - 1))
        Xc = np.asarray(X, dtype=np.int64)[:volleys]
        V = potentials(Xc, w, m, time.response, t_cal + 1)[:, :, t_cal]
        R = V - base[None, :]
        R = R.max(axis=1) if best else R.reshape(-1)
        c = int(np.ceil(np.quantile(R, quantile)))
    return np.maximum(1, base + c).reshape(shape).astype(np.int64)


def data_prototypes(X: np.ndarray, n: int, t_max_in: int, rng: np.random.Generator,
                    maximin: bool = False) -> np.ndarray:
    """Indices of ``n`` training volleys chosen by k-means++ seeding (docs/model.md, M6).

    Integer squared distances with a silent line as ``t_max_in + 1``; the first prototype is
    ``rng.integers(N)``, each next one ``r = rng.integers(sum d)`` and the index
    ``searchsorted(cumsum(d), r, side="right")``, ``d`` = the distance of every volley to its
    nearest chosen prototype (``rng.integers(N)`` again when every ``d`` is 0).
    ``maximin``: farthest-first traversal instead: each next one is ``argmax(d)`` (the
    lowest index among equals), so the prototypes spread evenly over the volleys' range
    instead of following their density (only the first one is random)."""
    Xl = np.where(X < 0, t_max_in + 1, X).astype(np.int64)
    idx = [int(rng.integers(len(Xl)))]
    d = ((Xl - Xl[idx[0]]) ** 2).sum(axis=1)
    for _ in range(n - 1):
        tot = int(d.sum())
        if maximin:
            cand = int(np.argmax(d))
        elif tot == 0:
            cand = int(rng.integers(len(Xl)))
        else:
            cand = int(np.searchsorted(np.cumsum(d), int(rng.integers(tot)), side="right"))
        idx.append(cand)
        d = np.minimum(d, ((Xl - Xl[cand]) ** 2).sum(axis=1))
    return np.asarray(idx, dtype=np.int64)


def _data_weights(w_init: str, shape: tuple[int, ...], w_max: int, rng: np.random.Generator,
                  X: np.ndarray | None, t_max_in: int) -> np.ndarray:
    """M6: weights ``w_max - x * w_max // t_max_in`` of k-means++-chosen training volleys
    (0 on silent lines): one prototype per segment (``data``) or one per neuron copied to all
    its segments (``data_segments``); the ``_maximin`` forms choose the volleys by
    farthest-first traversal."""
    if X is None or not len(X):
        raise ConfigError(f"w_init={w_init!r} seeds the weights from training volleys, but none "
                          "were given; use w_init='uniform' or pass the training data")
    X = np.asarray(X, dtype=np.int64)
    q, G = shape[0], int(np.prod(shape[:-1]))
    per = G // q
    per_neuron = DATA_INITS[w_init]
    n = q if per_neuron else G
    if n > len(X):
        raise ConfigError(f"w_init={w_init!r} needs {n} prototypes but there are only {len(X)} "
                          "training volleys; use fewer neurons or w_init='uniform'")
    P = X[data_prototypes(X, n, t_max_in, rng, maximin=w_init.endswith("_maximin"))]
    w = np.where(P < 0, 0, w_max - (np.clip(P, 0, t_max_in) * w_max) // max(t_max_in, 1))
    if per_neuron:
        w = np.repeat(w, per, axis=0)
    return w.reshape(shape).astype(np.int64)


def _initial_weights(w_init, shape: tuple[int, ...], w_max: int, rng: np.random.Generator,
                     X: np.ndarray | None = None, t_max_in: int = 7) -> np.ndarray:
    if isinstance(w_init, str):
        if w_init in DATA_INITS:
            return _data_weights(w_init, shape, w_max, rng, X, t_max_in)
        if w_init == "uniform":
            return rng.integers(0, w_max + 1, size=shape)
        if w_init == "half":
            return (w_max // 2 + rng.integers(0, 2, size=shape)).clip(0, w_max)
        if w_init == "max":
            return np.full(shape, w_max)
        raise ConfigError(f"w_init={w_init!r}; expected one of {', '.join(W_INITS)}, an integer "
                          f"0..{w_max} or an array of shape {list(shape)}")
    if isinstance(w_init, int | np.integer):
        if not 0 <= int(w_init) <= w_max:
            raise ConfigError(f"w_init={w_init}; expected 0..{w_max}")
        return np.full(shape, int(w_init))
    a = np.asarray(w_init)
    if a.shape != shape:
        raise ConfigError(f"w_init has shape {a.shape}; expected {list(shape)}")
    if a.min(initial=0) < 0 or a.max(initial=0) > w_max:
        raise ConfigError(f"w_init values must lie in 0..{w_max}")
    return a.astype(np.int64)


def init_column_network(
    inputs: int,
    neurons: int,
    *,
    dendrites: int = 1,
    segments: int = 1,
    timeres: int = 3,
    wres: int = 3,
    response: str = "rnl",
    theta: int | np.ndarray | None = None,
    w_init="uniform",
    seed: int = 0,
    learning: LearningRule | None = DEFAULT_LEARNING,
    X: np.ndarray | None = None,
    theta_quantile: float = 0.5,
    theta_mode: str = "fixed",
    theta_best: bool = False,
    tie: str = "lowest",
    segment_inhibition: Inhibition | str = "wta1",
    column_inhibition: Inhibition | str = "wta1",
    sharing: str = "segment",
    name: str = "tnn",
    column_name: str = "col0",
    layer_name: str = "layer0",
) -> Network:
    """A one-layer, one-column network over ``inputs`` lines with ``neurons`` neurons of
    ``dendrites`` x ``segments`` segments, seeded random initial weights and LFSR seeds.

    * ``w_init``: ``"uniform"`` (default; independent integers ``0 .. w_max``, mean
      ``w_max / 2``: every neuron starts different), ``"half"`` (``w_max // 2`` plus a random
      0/1), ``"max"``, ``"data"`` / ``"data_segments"`` (M6: seeded k-means++ prototypes of
      the training volleys ``X``, see :func:`data_prototypes`), ``"data_maximin"`` /
      ``"data_segments_maximin"`` (the same with farthest-first prototypes), an integer, or an array
      ``[neurons, dendrites, segments, inputs]``.
    * ``theta``: an integer, an array ``[neurons, dendrites, segments]``, or ``None`` for the
      default rule of :func:`default_theta`: the ``theta_quantile`` (median) of the
      mid-wave potentials ``V(t_mid)``, ``t_mid = (T - 1) // 2``, on the training volleys
      ``X`` when given, else the expected mid-wave potential for inputs uniform over the
      wave; clamped so that every segment can reach it. On GunPoint (p = 150, 3/3 bits, RNL)
      this fires on every training sample before training.
    * ``learning``: the layer's STDP rule (``None``: a frozen layer without random source).
    * LFSR seeds: ``default_seeds(generators, seed)`` (``sharing`` segment or column).
    """
    from ..ir.nodes import Inhibition as _Inh

    ts = TimeSpec(timeres, response)
    w_max = (1 << wres) - 1
    shape = (neurons, dendrites, segments, inputs)
    rng = np.random.default_rng(seed)
    if X is not None:
        X = np.asarray(X, dtype=np.int64)
        if X.ndim != 2 or X.shape[1] != inputs:
            raise ConfigError(f"X has shape {X.shape}; expected [samples, {inputs}]")
    w = _initial_weights(w_init, shape, w_max, rng, X, ts.t_max_in)
    mask = np.ones(shape, dtype=bool)
    if theta is None and theta_mode == "relative":
        sh = learning.theta_shift if learning is not None else 1
        th = relative_theta(w, mask, ts, w_max, X, theta_quantile, sh, best=theta_best)
    elif theta is None:
        th = np.full(shape[:3], default_theta(w, mask, ts, w_max, X, theta_quantile), dtype=np.int64)
    else:
        th = np.broadcast_to(np.asarray(theta, dtype=np.int64), shape[:3]).copy()
    seg_inh = segment_inhibition if isinstance(segment_inhibition, _Inh) else Inhibition.parse(segment_inhibition)
    col_inh = column_inhibition if isinstance(column_inhibition, _Inh) else Inhibition.parse(column_inhibition)
    random = None
    if learning is not None:
        n_gen = 1 if sharing == "column" else neurons * dendrites * segments
        random = RandomSource(seeds=default_seeds(n_gen, seed), sharing=sharing)
    col = Column(column_name, inputs, SynapseBank(w, mask, wres), th, seg_inh, col_inh,
                 random=random, tie=tie)
    net = Network(name, ts, inputs, (Layer(layer_name, inputs, (col,), learning=learning),))
    return check(net)
