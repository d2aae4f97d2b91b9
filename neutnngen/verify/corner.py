"""Seeded corner-case stimulus: volleys that real data rarely produces, chosen so that the
bench tells the design from its near neighbours.

:func:`corner_volleys` draws a seeded candidate pool (the all-silent volley, every line at
the same time ``t`` for each ``t``, line ladders, uniform random volleys with silence
densities 0 .. 0.99, perturbed and block-silenced real volleys, sparse volleys) plus the
threshold-exact volleys computed from the IR (:func:`threshold_volleys`: for every segment,
and every synapse of it, volleys that put the segment's potential exactly on its threshold,
or one below it, at a chosen step with that synapse saturated or still rising; a weight
+/- 1 or a threshold +/- 1 then moves the firing step), evaluates it
with the reference interpreter and picks volleys by greedy set cover of two goal sets:

* *sensitivity* (single-layer networks): for every present synapse weight +/- 1 and every
  segment threshold +/- 1, a volley on which that neighbouring network gives another output
  (this is what catches a trained weight 7 -> 6 or a threshold lowered by one);
* *coverage*: every output neuron at every output time and silent; every segment at every
  raw firing time; ties of 2, 3, 4+ neurons at the earliest time; threshold-exact firing
  (``V(z) == theta``) and near misses (``max V == theta - 1``); firing at the first and the
  last step; each segment's final potential in every power-of-two bucket (saturation).
  Networks of several layers: every neuron of every layer's output at every time.

Everything is seeded (``numpy`` Generator); the same network, ``k``, seed and real volleys
give the same volleys.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.interp import Interpreter, column_forward, first_crossing, inhibit, potentials
from ..ir.nodes import NONE, Layer, Network


def _tmax(net: Network) -> int:
    return (1 << net.time.timeres) - 1


def pool(net: Network, seed: int, real: np.ndarray | None = None, size: int = 3000
         ) -> np.ndarray:
    """The seeded candidate volleys ``[M, inputs]``."""
    rng = np.random.default_rng(seed)
    n, tmax = net.inputs, _tmax(net)
    parts = [np.full((1, n), NONE)]
    parts += [np.full((1, n), t) for t in range(tmax + 1)]
    lad = np.arange(n) % (tmax + 1)
    parts += [lad[None, :], (tmax - lad)[None, :]]
    per = max(6, size // 4)
    for dens in (0.0, 0.3, 0.6, 0.9, 0.97, 0.99):
        X = rng.integers(0, tmax + 1, size=(per // 6, n))
        X[rng.random(X.shape) < dens] = NONE
        parts.append(X)
    if real is not None and len(real):
        R = np.asarray(real, dtype=np.int64)
        X = R[rng.integers(0, len(R), size=per)].copy()
        shift = rng.integers(-tmax, tmax + 1, size=(per, 1))
        X = np.where(X >= 0, np.clip(X + shift, 0, tmax), NONE)
        X[rng.random(X.shape) < rng.random((per, 1)) * 0.5] = NONE
        parts.append(X)
        X = R[rng.integers(0, len(R), size=per)].copy()
        for r in range(per):
            a = int(rng.integers(0, n))
            b = int(rng.integers(a, n + 1))
            X[r, a:b] = NONE if rng.random() < 0.5 else int(rng.integers(0, tmax + 1))
        parts.append(X)
    X = np.full((per, n), NONE)
    for r in range(per):
        m = int(rng.integers(1, max(2, n // 4)))
        lines = rng.choice(n, size=m, replace=False)
        X[r, lines] = rng.integers(0, tmax + 1, size=m)
    parts.append(X)
    return np.concatenate(parts).astype(np.int64)


def _contrib(w: int, x: int, t: int, response: str) -> int:
    """One synapse's share of a segment potential at step ``t`` (arrival ``x``, weight ``w``)."""
    if x < 0 or t < x:
        return 0
    return min(t - x + 1, w) if response == "rnl" else w


def _fill(wg: np.ndarray, order: list[int], v: int, t1: int, fixed: dict[int, int],
          response: str, tmax: int) -> np.ndarray | None:
    """Arrival times (NONE: silent) of one column's lines that bring a segment with weights
    ``wg`` to exactly ``v`` at step ``t1``: the ``fixed`` lines at their times, then the
    lines of ``order`` early (their whole share at ``t1``) and the last one late enough that
    it still rises at ``t1`` (so the potential one step before is below ``v``); ``None``
    when the lines cannot make exactly ``v`` at ``t1``."""
    x = np.full(len(wg), NONE, dtype=np.int64)
    rest = v
    for j, xj in fixed.items():
        x[j] = xj
        rest -= _contrib(int(wg[j]), xj, t1, response)
    if rest < 0:
        return None
    for k in order:
        if rest == 0:
            break
        w = int(wg[k])
        if w <= 0 or k in fixed:
            continue
        full = _contrib(w, 0, t1, response)
        if rest > full:
            x[k], rest = 0, rest - full
        elif response == "rnl":
            xk = t1 - rest + 1
            if xk > tmax:
                return None
            x[k], rest = xk, 0
        elif rest == w and t1 <= tmax:
            x[k], rest = t1, 0
    return x if rest == 0 else None


def threshold_volleys(net: Network, seed: int = 0, per_target: int = 2) -> np.ndarray:
    """Volleys built from the IR that put one segment's potential exactly on its threshold
    (or one below it) at a step ``t1``, for every segment ``g`` of a single-layer network
    (no proximal lines): ``V_g(t1) == theta_g`` and ``V_g(t1 - 1) < theta_g`` (the segment
    fires at ``t1``; ``theta_g + 1`` or any present weight that is saturated at ``t1``
    lowered by one delays it), ``V_g(t1) == theta_g - 1`` (``theta_g - 1`` or a weight
    raised by one that still rises at ``t1`` makes it fire at ``t1``), and for every
    synapse ``j`` of ``g`` the same two with line ``j`` arriving so that its share at
    ``t1`` is saturated at ``w`` (for ``w - 1``) or still rising past ``w`` (for
    ``w + 1``). The other lines are taken in order of how little they raise the other
    segments of the column (so that ``g`` decides the output), the rest stay silent. Up to
    ``per_target`` steps ``t1`` per target, seeded. ``[M, inputs]``; no volleys for
    other networks."""
    rng = np.random.default_rng(seed)
    layer = _single(net)
    if layer is None or any(c.proximal_inputs for c in layer.columns):
        return np.zeros((0, net.inputs), dtype=np.int64)
    tmax = _tmax(net)
    resp = net.time.response
    out: list[np.ndarray] = []
    for ci, col in enumerate(layer.columns):
        lines = np.asarray(layer.column_inputs(ci))
        T = col.wave_length(net.time)
        G = col.neurons * col.dendrites * col.segments
        M = col.distal.mask.reshape(G, -1)
        Wm = np.where(M, col.distal.weights.reshape(G, -1), 0).astype(np.int64)
        wmax = (1 << col.distal.wres) - 1
        theta = col.theta.reshape(-1)
        for g in range(G):
            others = np.delete(Wm, g, axis=0)
            harm = (others.max(axis=0) if len(others) else np.zeros(Wm.shape[1])) - Wm[g]
            # fewest raise of the others first; ties in a seeded random order
            order = [int(k) for k in np.lexsort((rng.permutation(len(harm)), harm))]
            th = int(theta[g])
            targets: list[tuple[int | None, int, int]] = [(None, th, 0), (None, th - 1, 0)]
            for j in np.nonzero(M[g])[0]:
                w = int(Wm[g, j])
                if w > 0:
                    targets.append((int(j), th, w))  # w - 1 shows: saturated at t1
                if w < wmax:
                    targets.append((int(j), th - 1, w + 1))  # w + 1 shows: rising past w
            for j, v, need in targets:
                if v < 1:
                    continue
                steps = []
                for t1 in range(T):
                    if j is None:
                        steps.append((t1, {}))
                        continue
                    xj = t1 - need + 1 if resp == "rnl" else t1
                    if 0 <= xj <= tmax:
                        steps.append((t1, {j: xj}))
                pick = rng.permutation(len(steps))
                made = 0
                for p in pick:
                    t1, fixed = steps[int(p)]
                    x = _fill(Wm[g], order, v, t1, fixed, resp, tmax)
                    if x is None:
                        continue
                    full = np.full(net.inputs, NONE, dtype=np.int64)
                    full[lines] = x
                    out.append(full)
                    made += 1
                    if made >= per_target:
                        break
    if not out:
        return np.zeros((0, net.inputs), dtype=np.int64)
    return np.unique(np.asarray(out, dtype=np.int64), axis=0)


def _single(net: Network) -> Layer | None:
    st = net.stages
    return st[0] if len(st) == 1 and isinstance(st[0], Layer) else None


def coverage_goals(net: Network, X: np.ndarray) -> list[set]:
    """Per volley, the coverage goals it hits (module docstring)."""
    X = np.asarray(X, dtype=np.int64)
    goals: list[set] = [set() for _ in range(len(X))]
    layer = _single(net)
    if layer is None or any(c.proximal_inputs for c in layer.columns):
        Y = Interpreter(net).forward(X)
        for b in range(len(X)):
            goals[b] |= {("out", i, int(z)) for i, z in enumerate(Y[b])}
            fired = Y[b][Y[b] >= 0]
            if len(fired):
                goals[b].add(("tie", min(int((Y[b] == fired.min()).sum()), 4)))
            else:
                goals[b].add(("silent",))
        return goals
    for ci, col in enumerate(layer.columns):
        xs = X[:, layer.column_inputs(ci)]
        T = col.wave_length(net.time)
        tr = column_forward(col, net.time, xs)
        G = col.neurons * col.dendrites * col.segments
        W = col.distal.weights.reshape(G, -1)
        V = potentials(xs, W, col.distal.mask.reshape(G, -1), net.time.response, T)
        theta = col.theta.reshape(-1)
        seg = tr.segment.reshape(len(X), -1)
        vtop = np.maximum(1, W.sum(-1))
        for b in range(len(X)):
            g = goals[b]
            g |= {("out", ci, i, int(z)) for i, z in enumerate(tr.out[b])}
            neu = tr.neuron[b]
            fired = neu[neu >= 0]
            if len(fired):
                g.add(("tie", ci, min(int((neu == fired.min()).sum()), 4)))
            else:
                g.add(("silent", ci))
            for s, z in enumerate(seg[b]):
                z = int(z)
                g.add(("seg", ci, s, z))
                if z >= 0:
                    if V[b, s, z] == theta[s]:
                        g.add(("exact", ci, s))
                    if z == T - 1:
                        g.add(("last", ci, s))
                    if z == 0:
                        g.add(("first", ci, s))
                elif V[b, s, T - 1] == theta[s] - 1:
                    g.add(("miss1", ci, s))
                g.add(("vbucket", ci, s, int(np.log2(int(V[b, s, T - 1]) + 1)),
                       int(np.log2(int(vtop[s]) + 1))))
    return goals


def _col_out(col, V: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Column output volleys from segment potentials ``V[B, G, T]`` (no proximal lines)."""
    from ..ir.stages.layer.kernels import earliest

    B = V.shape[0]
    seg = first_crossing(V, theta).reshape(B, col.neurons, col.dendrites, col.segments)
    dend, _ = earliest(inhibit(seg, col.segment_inhibition), axis=-1)
    nd, _ = earliest(dend, axis=-1)
    return inhibit(nd, col.column_inhibition)


def sensitivity_goals(net: Network, X: np.ndarray) -> tuple[list[set], int]:
    """Per volley, the neighbouring networks (one weight or one threshold +/- 1) it tells
    apart from ``net`` by the output volley; and the number of neighbours. Single layer
    without proximal lines only (else no goals)."""
    X = np.asarray(X, dtype=np.int64)
    goals: list[set] = [set() for _ in range(len(X))]
    layer = _single(net)
    if layer is None or any(c.proximal_inputs for c in layer.columns):
        return goals, 0
    total = 0
    for ci, col in enumerate(layer.columns):
        xs = X[:, layer.column_inputs(ci)]
        T = col.wave_length(net.time)
        G = col.neurons * col.dendrites * col.segments
        W = col.distal.weights.reshape(G, -1)
        M = col.distal.mask.reshape(G, -1)
        wmax = (1 << col.distal.wres) - 1
        V = potentials(xs, W, M, net.time.response, T).astype(np.int64)
        theta = col.theta.reshape(-1)
        base = _col_out(col, V, theta)
        tt = np.arange(T)
        for g in range(G):
            for dt in (-1, 1):
                th = theta.copy()
                th[g] += dt
                if th[g] < 1:
                    continue
                total += 1
                for b in np.nonzero((_col_out(col, V, th) != base).any(axis=1))[0]:
                    goals[b].add(("theta", ci, g, dt))
            for j in np.nonzero(M[g])[0]:
                x = xs[:, j]
                ramp = np.clip(tt[None, :] - x[:, None] + 1, 0, None)
                ramp[x < 0] = 0
                for dw in (-1, 1):
                    w = int(W[g, j])
                    if not 0 <= w + dw <= wmax:
                        continue
                    total += 1
                    if net.time.response == "rnl":
                        delta = np.minimum(ramp, w + dw) - np.minimum(ramp, w)
                    else:
                        delta = (ramp > 0) * dw
                    hit = np.nonzero(delta.any(axis=1))[0]
                    if len(hit) == 0:
                        continue
                    Vh = V[hit].copy()
                    Vh[:, g, :] += delta[hit]
                    o = _col_out(col, Vh, theta)
                    for b in hit[np.nonzero((o != base[hit]).any(axis=1))[0]]:
                        goals[b].add(("w", ci, g, int(j), dw))
    return goals, total


def _cover(goals: list[set], covered: set, k: int) -> list[int]:
    chosen: list[int] = []
    remaining = set(range(len(goals)))
    while len(chosen) < k:
        best, gain = -1, 0
        for b in sorted(remaining):
            gn = len(goals[b] - covered)
            if gn > gain:
                best, gain = b, gn
        if best < 0:
            break
        chosen.append(best)
        covered |= goals[best]
        remaining.discard(best)
    return chosen


def corner_volleys(net: Network, k: int, seed: int = 0, real: np.ndarray | None = None,
                   pool_size: int = 3000, exact: bool = True
                   ) -> tuple[np.ndarray, dict[str, Any]]:
    """Up to ``k`` corner-case volleys ``[<=k, inputs]`` and their statistics (goals of
    each set, covered by ``real`` alone, covered with the corner volleys). ``exact``: add
    the threshold-exact volleys of :func:`threshold_volleys` to the candidate pool."""
    if k < 0:
        raise ValueError(f"corner={k!r}; expected a number of volleys >= 0")
    real_arr = None if real is None else np.asarray(real, dtype=np.int64)
    E = threshold_volleys(net, seed) if exact else np.zeros((0, net.inputs), dtype=np.int64)
    X = np.concatenate([pool(net, seed, real_arr, pool_size), E])
    sens, n_sens = sensitivity_goals(net, X)
    cov = coverage_goals(net, X)
    c_sens: set = set()
    c_cov: set = set()
    if real_arr is not None and len(real_arr):
        for g in sensitivity_goals(net, real_arr)[0]:
            c_sens |= g
        for g in coverage_goals(net, real_arr):
            c_cov |= g
    stats: dict[str, Any] = {
        "seed": seed, "pool": len(X), "threshold_pool": len(E), "sensitivity_goals": n_sens,
        "sensitivity_by_real": len(c_sens), "coverage_reachable": len(set().union(*cov) | c_cov),
        "coverage_by_real": len(c_cov)}
    chosen = _cover(sens, c_sens, k)
    for b in chosen:
        c_cov |= cov[b]
    cov_left = [g if b not in chosen else set() for b, g in enumerate(cov)]
    chosen += _cover(cov_left, c_cov, k - len(chosen))
    stats.update({"volleys": len(chosen), "sensitivity_covered": len(c_sens),
                  "coverage_covered": len(c_cov)})
    return X[np.array(chosen, dtype=np.int64)].reshape(-1, net.inputs), stats


def learn_streams(net: Network, k: int, seed: int = 0, block: int = 8) -> np.ndarray:
    """``k`` learn-mode volleys in blocks of ``block`` repeats: a random half of the lines
    early, the rest silent, then the complement, then the half late: repeated STDP
    pushes the weights of the winning segments to ``w_max`` and the others to 0."""
    rng = np.random.default_rng(seed)
    n, tmax = net.inputs, _tmax(net)
    out: list[np.ndarray] = []
    while len(out) < k:
        half = rng.random(n) < 0.5
        t = int(rng.integers(0, 2))
        for v in (np.where(half, t, NONE), np.where(~half, t, NONE), np.where(half, tmax, 0)):
            out += [v] * block
    return np.asarray(out[:k], dtype=np.int64).reshape(-1, n)
