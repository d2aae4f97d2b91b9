"""Convolutional STDP / R-STDP networks (docs/model.md §14): integer, deterministic.

The family of Kheradpisheh et al. 2018 and Mozafari et al. 2019 (SpykeTorch, Spyker): an
image is filtered (DoG or Gabor kernels) and rank-order coded into at most one spike per
line; weight-shared convolutional layers of integrate-and-fire neurons fire at most once
per sample, with pointwise (per position, across features) lateral inhibition and a
k-winners-take-all that picks which neurons learn; the feature layers learn with STDP
(soft bound ``w (1 - w)``) and a decision layer learns with R-STDP (reward +1 / -1 from the
label). Pooling between layers is the SNN ``maxpool`` kind (docs/model.md §11).

Kinds:

* ``rankcode`` (a stage, not a layer): pixels ``[B, H*W]`` -> single-spike trains
  ``[B, steps, C*Ho*Wo]`` (integer filter, threshold, rank order -> time bin);
* ``convstdp`` (a layer): single-spike trains in -> single-spike trains out (``rule=stdp``)
  or the decided class ``[B, 1]`` (``rule=rstdp``, NONE = -1 when no neuron fires).

Every value is int64; the only arithmetic is integer sums, products and shifts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common import NONE, frozen_array
from ..kinds import Err, StageContext, StageKind, StageState
from ..text import fmt_list, fmt_str

RULES = ("stdp", "rstdp")
MAX_STEPS = 4096
MAX_FRAC = 20  # keeps a * (w - lo) * (hi - w) below 2**62
POT_BITS = 40  # every potential is below 2**POT_BITS (checked by the verifier)
KERNEL_LIMIT = 1 << 15  # |rankcode kernel entries| < 2**15
INF_KEY = np.iinfo(np.int64).max


def _shape3(a: Any, what: str) -> tuple[int, int, int]:
    t = tuple(int(v) for v in a)
    if len(t) != 3:
        raise ValueError(f"{what}={list(t)}; expected 3 integers (C, H, W)")
    return t  # type: ignore[return-value]


def _windows(img: np.ndarray, k: int) -> np.ndarray:
    """``[..., H, W]`` -> ``[..., Ho, Wo, k, k]`` stride-1 windows (a view)."""
    return np.lib.stride_tricks.sliding_window_view(img, (k, k), axis=(-2, -1))


def _conv(img: np.ndarray, w: np.ndarray, pad: int) -> np.ndarray:
    """Integer convolution (cross-correlation, stride 1, zero padding): ``img[N, C, H, W]``,
    ``w[F, C, k, k]`` -> ``[N, F, Ho, Wo]`` int64, exact."""
    if pad:
        img = np.pad(img, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    F, C, k, _ = w.shape
    win = _windows(img, k)  # [N, C, Ho, Wo, k, k]
    N, _, Ho, Wo = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * k * k)
    out = cols @ w.reshape(F, C * k * k).T  # int64 matmul: exact
    return out.reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)


def first_times(x: np.ndarray) -> np.ndarray:
    """First spike step of every line of trains ``[B, T, n]``; NONE where it never spikes."""
    fired = x > 0
    return np.where(fired.any(axis=1), fired.argmax(axis=1), NONE)


# =========================================================================== rankcode
@dataclass(frozen=True, eq=False)
class RankCode:
    """Filter then rank-order code (docs/model.md §14 ``rankcode``)::

        v[c, i, j] = sum_{a,b} K[c, a, b] * x[i + a - padding, j + b - padding]   (0 outside)
        v = v if v > threshold else 0
        nz = count(v > 0);  r = rank of v among the nonzero values, descending, ties by the
        lower flat index (c, i, j);  the line spikes once, at step r * steps // nz
    """

    name: str
    in_shape: tuple[int, int, int]  # (1, H, W)
    kernels: np.ndarray  # int [C, k, k], |K| < 2**15
    padding: int = 0
    threshold: int = 0
    steps: int = 15
    in_bits: int = 8

    def __post_init__(self):
        object.__setattr__(self, "in_shape", tuple(int(v) for v in self.in_shape))
        object.__setattr__(self, "kernels", frozen_array(self.kernels, np.int64))

    @property
    def out_shape(self) -> tuple[int, int, int]:
        _, H, W = self.in_shape
        C, k = (self.kernels.shape[0], self.kernels.shape[-1]) if self.kernels.ndim == 3 else (0, 1)
        return (int(C), H + 2 * self.padding - k + 1, W + 2 * self.padding - k + 1)


def rank_values(x: np.ndarray, node: RankCode) -> np.ndarray:
    """The thresholded filter values ``v[B, C*Ho*Wo]`` (before rank coding)."""
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 2:
        raise ValueError(f"rankcode {node.name!r} takes pixels [B, lines]; got shape {x.shape}")
    B = x.shape[0]
    img = x.reshape(B, *node.in_shape)
    v = _conv(img, node.kernels[:, None], node.padding).reshape(B, -1)
    return np.where(v > node.threshold, v, 0)


def rank_times(v: np.ndarray, steps: int) -> np.ndarray:
    """Spike step of every line ``[B, n]`` from values ``v`` (NONE for 0): rank ``r`` in the
    stable descending order, step ``r * steps // nz``."""
    B, n = v.shape
    out = np.full((B, n), NONE, dtype=np.int64)
    for b in range(B):
        order = np.argsort(-v[b], kind="stable")
        nz = int(np.count_nonzero(v[b] > 0))
        if nz:
            out[b, order[:nz]] = np.arange(nz, dtype=np.int64) * steps // nz
    return out


def times_to_trains(times: np.ndarray, steps: int) -> np.ndarray:
    """``[B, n]`` spike steps (NONE: none) -> single-spike trains ``[B, steps, n]``."""
    t = np.arange(steps, dtype=np.int64)[None, :, None]
    return (t == times[:, None, :]).astype(np.int64)


def rank_code(x: np.ndarray, node: RankCode) -> np.ndarray:
    return times_to_trains(rank_times(rank_values(x, node), node.steps), node.steps)


class RankCodeState(StageState):
    node: RankCode

    def forward(self, x, side):
        return rank_code(x, self.node), None


class RankCodeKind(StageKind):
    name = "rankcode"
    node = RankCode

    def outputs(self, node: RankCode, width: int) -> int:
        return int(np.prod(node.out_shape))

    def max_time(self, node, time, max_in):
        return node.steps - 1

    def verify(self, node: RankCode, ctx: StageContext, err: Err) -> None:
        p = ctx.path
        C, H, W = node.in_shape
        if C != 1 or C * H * W != ctx.width or min(node.in_shape) < 1:
            err(p, f"in_shape={list(node.in_shape)}; expected [1, H, W] with H*W = {ctx.width}")
            return
        K = node.kernels
        if K.ndim != 3 or K.shape[0] < 1 or K.shape[1] != K.shape[2] or K.shape[1] < 1:
            err(p, f"kernels shape {K.shape}; expected (C, k, k)")
            return
        if int(np.abs(K).max()) >= KERNEL_LIMIT:
            err(p, f"kernel entry {int(np.abs(K).max())} out of range; expected |K| < 2**15")
        elif ((1 << node.in_bits) - 1) * int(np.abs(K).sum(axis=(1, 2)).max()) >= 1 << POT_BITS:
            err(p, f"filter values can reach 2**{POT_BITS} (in_bits={node.in_bits}); expected "
                   f"(2**in_bits - 1) * sum|K[c]| < 2**{POT_BITS}")
        if not (0 <= node.padding < K.shape[1]):
            err(p, f"padding={node.padding}; expected 0..{K.shape[1] - 1}")
        if min(node.out_shape[1:]) < 1:
            err(p, f"kernel {K.shape[1]}x{K.shape[1]} larger than the padded input {H}x{W}")
        if node.threshold < 0:
            err(p, f"threshold={node.threshold}; expected >= 0")
        if not (1 <= node.steps <= MAX_STEPS):
            err(p, f"steps={node.steps}; expected 1..{MAX_STEPS}")
        if not (1 <= node.in_bits <= 16):
            err(p, f"in_bits={node.in_bits}; expected 1..16")

    def to_text(self, node: RankCode) -> list[str]:
        C, k, _ = node.kernels.shape
        L = [f"rankcode name={fmt_str(node.name)} in_shape={fmt_list(node.in_shape)} "
             f"channels={C} kernel={k} padding={node.padding} threshold={node.threshold} "
             f"steps={node.steps} in_bits={node.in_bits}"]
        L += [f"  filter c={c} w={fmt_list(node.kernels[c])}" for c in range(C)]
        return L

    def from_text(self, lines):
        (_, _, a), *rows = lines
        C, k = a["channels"], a["kernel"]
        K = np.zeros((C, k, k), dtype=np.int64)
        seen = set()
        for n, kw, r in rows:
            if kw != "filter" or not (0 <= r.get("c", -1) < C) or len(r.get("w", [])) != k * k:
                raise ValueError(f"line {n}: expected 'filter c=0..{C - 1} w=[{k * k} ints]'")
            K[r["c"]] = np.asarray(r["w"]).reshape(k, k)
            seen.add(r["c"])
        if len(seen) != C:
            raise ValueError(f"rankcode {a['name']!r}: {C - len(seen)} of {C} filters missing")
        return RankCode(a["name"], _shape3(a["in_shape"], "in_shape"), K, a["padding"],
                        a["threshold"], a["steps"], a["in_bits"])

    def to_json(self, node: RankCode, prefix, arr) -> dict:
        return {"name": node.name, "in_shape": list(node.in_shape), "padding": node.padding,
                "threshold": node.threshold, "steps": node.steps, "in_bits": node.in_bits,
                "kernels": arr(f"{prefix}/kernels", node.kernels, np.int32)}

    def from_json(self, doc, get):
        return RankCode(doc["name"], tuple(doc["in_shape"]), get(doc["kernels"]), doc["padding"],
                        doc["threshold"], doc["steps"], doc["in_bits"])

    def init_state(self, node, time):
        return RankCodeState(node)


# =========================================================================== convstdp
@dataclass(frozen=True, eq=False)
class ConvSTDP:
    """A weight-shared convolutional layer of integrate-and-fire neurons that fire at most
    once, with pointwise lateral inhibition, k-WTA and (R-)STDP (docs/model.md §14).

    Weights are unsigned fixed point: ``w / 2**frac_bits`` is the real weight, kept in
    ``w_lo .. w_hi``. Rates ``a_plus``/``a_minus`` (reward) and ``p_plus``/``p_minus``
    (punishment, ``rule=rstdp`` only) are signed, in the same units."""

    name: str
    in_shape: tuple[int, int, int]
    weights: np.ndarray  # int [F, C, k, k]
    padding: int = 0
    threshold: int = 0  # >= 1: fire at the first step V >= threshold; 0: fire at the last step if V > 0
    frac_bits: int = 16
    kwta: int = 1
    radius: int = 0
    inhibit: bool = True
    rule: str = "stdp"  # RULES
    a_plus: int = 0
    a_minus: int = 0
    p_plus: int = 0
    p_minus: int = 0
    stabilize: bool = True
    w_lo: int = 0
    w_hi: int = 1 << 16
    classes: int = 0  # rule=rstdp: feature f decides class f // (F // classes)
    learning: bool = True
    teach: bool = False  # rule=rstdp: a punished sample also rewards the label's first neuron

    def __post_init__(self):
        object.__setattr__(self, "in_shape", tuple(int(v) for v in self.in_shape))
        object.__setattr__(self, "weights", frozen_array(self.weights, np.int64))
        object.__setattr__(self, "inhibit", bool(self.inhibit))
        object.__setattr__(self, "stabilize", bool(self.stabilize))
        object.__setattr__(self, "learning", bool(self.learning))
        object.__setattr__(self, "teach", bool(self.teach))

    @property
    def features(self) -> int:
        return int(self.weights.shape[0]) if self.weights.ndim == 4 else 0

    @property
    def kernel(self) -> int:
        return int(self.weights.shape[-1]) if self.weights.ndim == 4 else 1

    @property
    def out_shape(self) -> tuple[int, int, int]:
        _, H, W = self.in_shape
        k, p = self.kernel, self.padding
        return (self.features, H + 2 * p - k + 1, W + 2 * p - k + 1)

    def decide(self, f: int) -> int:
        return f // (self.features // self.classes)


@dataclass
class ConvTrace:
    """One pass of a ``convstdp`` layer: per sample, each neuron's firing step ``tf`` (NONE:
    silent, after inhibition) and its potential ``vf`` at that step, ``[B, F, Ho, Wo]``."""

    tf: np.ndarray
    vf: np.ndarray


def potentials(x: np.ndarray, weights: np.ndarray, node: ConvSTDP) -> np.ndarray:
    """``V[B, T, F, Ho, Wo]``: the convolution of the cumulative input (a line counts from
    its first spike on) at every step."""
    B, T, _ = x.shape
    xc = np.maximum.accumulate((x > 0).astype(np.int64), axis=1)
    return _conv(xc.reshape(B * T, *node.in_shape), weights, node.padding).reshape(
        B, T, *node.out_shape)


def fire(V: np.ndarray, node: ConvSTDP) -> tuple[np.ndarray, np.ndarray]:
    """``(tf, vf)`` ``[B, F, Ho, Wo]`` from potentials ``V[B, T, ...]`` (no inhibition)."""
    T = V.shape[1]
    if node.threshold > 0:
        crossed = V >= node.threshold
        tf = np.where(crossed.any(axis=1), crossed.argmax(axis=1), NONE)
    else:
        tf = np.where(V[:, T - 1] > 0, T - 1, NONE)
    vf = np.take_along_axis(V, np.maximum(tf, 0)[:, None], axis=1)[:, 0]
    return tf, np.where(tf >= 0, vf, 0)


def order_key(tf: np.ndarray, vf: np.ndarray) -> np.ndarray:
    """Earlier is better, then the larger potential at that step; silent: ``INF_KEY``."""
    return np.where(tf >= 0, (tf << POT_BITS) - vf, INF_KEY)


def pointwise_inhibition(tf: np.ndarray, vf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At every position only the best feature (``order_key``; ties: the lowest feature)
    keeps its spike."""
    key = order_key(tf, vf)
    best = key.argmin(axis=1)  # [B, Ho, Wo], first (lowest) feature on ties
    keep = np.arange(tf.shape[1])[None, :, None, None] == best[:, None]
    return np.where(keep, tf, NONE), np.where(keep, vf, 0)


def winners(tf: np.ndarray, vf: np.ndarray, kwta: int, radius: int) -> list[tuple[int, int, int]]:
    """k-WTA of one sample ``[F, Ho, Wo]``: repeatedly the best neuron by ``order_key``
    (ties: the lowest flat index over (f, i, j)); each winner removes its feature and every
    neuron within ``radius`` rows and columns of it."""
    key = order_key(tf, vf).copy()
    out = []
    for _ in range(kwta):
        idx = int(key.argmin())
        if key.flat[idx] == INF_KEY:
            break
        f, i, j = (int(v) for v in np.unravel_index(idx, key.shape))
        out.append((f, i, j))
        key[f] = INF_KEY
        key[:, max(0, i - radius):i + radius + 1, max(0, j - radius):j + radius + 1] = INF_KEY
    return out


def forward_layer(x: np.ndarray, weights: np.ndarray, node: ConvSTDP
                  ) -> tuple[np.ndarray, ConvTrace]:
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 3:
        raise ValueError(f"convstdp {node.name!r} needs spike trains [B, steps, lines]; got "
                         f"shape {x.shape} (put a 'rankcode' stage first)")
    B, T, _ = x.shape
    tfs, vfs = [], []
    for s in range(0, B, 4):  # chunks bound the memory of the im2col matrix
        tf, vf = fire(potentials(x[s:s + 4], weights, node), node)
        if node.inhibit:
            tf, vf = pointwise_inhibition(tf, vf)
        tfs.append(tf)
        vfs.append(vf)
    tf = np.concatenate(tfs) if tfs else np.zeros((0, *node.out_shape), np.int64)
    vf = np.concatenate(vfs) if vfs else np.zeros((0, *node.out_shape), np.int64)
    trace = ConvTrace(tf, vf)
    if node.rule == "rstdp":
        return decisions(trace, node), trace
    return times_to_trains(tf.reshape(B, -1), T), trace


def decisions(trace: ConvTrace, node: ConvSTDP) -> np.ndarray:
    """``[B, 1]``: the class of the first k-WTA winner (``k = 1``), NONE if none fired."""
    out = np.full((trace.tf.shape[0], 1), NONE, dtype=np.int64)
    for b in range(trace.tf.shape[0]):
        w = winners(trace.tf[b], trace.vf[b], 1, 0)
        if w:
            out[b, 0] = node.decide(w[0][0])
    return out


def stdp_delta(w: np.ndarray, a: np.ndarray, node: ConvSTDP) -> np.ndarray:
    """The update of weights ``w`` with signed rates ``a`` (docs/model.md §14): stabilized,
    ``(a (w - lo) (hi - w) + 2**(2F-1)) >> 2F`` (round half up); else ``a``."""
    if not node.stabilize:
        return a
    F2 = 2 * node.frac_bits
    return (a * (w - node.w_lo) * (node.w_hi - w) + (1 << (F2 - 1))) >> F2


def learn_sample(weights: np.ndarray, x: np.ndarray, trace: ConvTrace, b: int,
                 node: ConvSTDP, label: int | None) -> np.ndarray:
    """Weights after one sample ``b`` of trains ``x[B, T, n]`` (returns a new array)."""
    wins = winners(trace.tf[b], trace.vf[b], node.kwta if node.rule == "stdp" else 1,
                   node.radius)
    if not wins:
        return weights
    ap, am = node.a_plus, node.a_minus
    updates = [(wins, ap, am)]
    if node.rule == "rstdp":
        if label is None:
            raise ValueError(f"convstdp {node.name!r} (rule=rstdp) learns from labels; got none")
        if node.decide(wins[0][0]) != int(label):
            updates = [(wins, node.p_plus, node.p_minus)]
            if node.teach:  # the label's first neuron gets the reward it would have had
                updates.append((teacher(trace.tf[b], trace.vf[b], node, int(label)), ap, am))
    C, H, W = node.in_shape
    p, k = node.padding, node.kernel
    tx = np.pad(first_times(x[b:b + 1])[0].reshape(C, H, W), ((0, 0), (p, p), (p, p)),
                constant_values=NONE)
    W_ = weights.copy()
    for ws, ap, am in updates:
        for f, i, j in ws:
            patch = tx[:, i:i + k, j:j + k]
            ltp = (patch >= 0) & (patch <= trace.tf[b, f, i, j])
            a = np.where(ltp, ap, am).astype(np.int64)
            W_[f] = np.clip(W_[f] + stdp_delta(W_[f], a, node), node.w_lo, node.w_hi)
    return W_


def teacher(tf: np.ndarray, vf: np.ndarray, node: ConvSTDP, label: int) -> list[tuple[int, int, int]]:
    """``teach = 1``: the first neuron (k-WTA order, k = 1) among the features of class
    ``label`` of one sample ``[F, Ho, Wo]``; empty when none of them fired."""
    per = node.features // node.classes
    f0 = label * per
    return [(f0 + f, i, j) for f, i, j in winners(tf[f0:f0 + per], vf[f0:f0 + per], 1, 0)]


class ConvSTDPState(StageState):
    node: ConvSTDP

    def __init__(self, node: ConvSTDP):
        super().__init__(node)
        self.weights = node.weights.copy()

    def forward(self, x, side):
        return forward_layer(x, self.weights, self.node)

    def learn(self, x, side, trace, label):
        self.weights = learn_sample(self.weights, np.asarray(x, dtype=np.int64), trace, 0,
                                    self.node, label)

    def to_node(self):
        from dataclasses import replace

        return replace(self.node, weights=self.weights.copy())


_BOOLS = ("inhibit", "stabilize", "learning", "teach")
_OPTIONAL = {"teach": 0}  # fields added after v13: absent in older files


def _flags(d: dict) -> dict[str, bool]:
    """The boolean fields of a parsed text line or JSON object (:data:`_OPTIONAL` ones may be
    absent)."""
    return {x: bool(d[x] if x not in _OPTIONAL else d.get(x, _OPTIONAL[x])) for x in _BOOLS}
_INTS = ("padding", "threshold", "frac_bits", "kwta", "radius", "a_plus", "a_minus", "p_plus",
         "p_minus", "w_lo", "w_hi", "classes")


class ConvSTDPKind(StageKind):
    name = "convstdp"
    node = ConvSTDP
    is_layer = True
    has_synapses = True
    synapse_layout = "convstdp"

    def outputs(self, node: ConvSTDP, width: int) -> int:
        return 1 if node.rule == "rstdp" else int(np.prod(node.out_shape))

    def max_time(self, node, time, max_in):
        return max_in

    def synapses(self, node: ConvSTDP) -> int:
        return int(node.weights.size)

    def learns(self, node: ConvSTDP) -> bool:
        return node.learning

    def needs_labels(self, node: ConvSTDP) -> bool:
        return node.learning and node.rule == "rstdp"

    def verify(self, node: ConvSTDP, ctx: StageContext, err: Err) -> None:
        p = ctx.path
        C, H, W = node.in_shape
        if C * H * W != ctx.width or min(node.in_shape) < 1:
            err(p, f"in_shape={list(node.in_shape)} ({C * H * W} lines); expected {ctx.width} "
                   f"lines")
            return
        w = node.weights
        if w.ndim != 4 or w.shape[1] != C or w.shape[2] != w.shape[3] or min(w.shape) < 1:
            err(p, f"weights shape {w.shape}; expected (F, {C}, k, k)")
            return
        if not (0 <= node.padding < node.kernel):
            err(p, f"padding={node.padding}; expected 0..{node.kernel - 1}")
        elif min(node.out_shape[1:]) < 1:
            err(p, f"kernel {node.kernel}x{node.kernel} larger than the padded input {H}x{W}")
        if not (1 <= node.frac_bits <= MAX_FRAC):
            err(p, f"frac_bits={node.frac_bits}; expected 1..{MAX_FRAC}")
            return
        one = 1 << node.frac_bits
        if not (0 <= node.w_lo < node.w_hi <= one):
            err(p, f"w_lo={node.w_lo} w_hi={node.w_hi}; expected 0 <= w_lo < w_hi <= {one} "
                   f"(2**frac_bits)")
            return
        bad = np.argwhere((w < node.w_lo) | (w > node.w_hi))
        if len(bad):
            idx = tuple(int(i) for i in bad[0])
            err(p, f"{len(bad)} weight(s) outside {node.w_lo}..{node.w_hi}, first "
                   f"{int(w[idx])} at {idx}")
        if C * node.kernel ** 2 * node.w_hi >= 1 << POT_BITS:
            err(p, f"potentials up to {C * node.kernel ** 2 * node.w_hi} reach 2**{POT_BITS}; "
                   f"expected C*k*k*w_hi < 2**{POT_BITS}")
        if node.threshold < 0:
            err(p, f"threshold={node.threshold}; expected >= 0 (0: fire at the last step)")
        if node.kwta < 1:
            err(p, f"kwta={node.kwta}; expected >= 1")
        if node.radius < 0:
            err(p, f"radius={node.radius}; expected >= 0")
        for r in ("a_plus", "a_minus", "p_plus", "p_minus"):
            v = getattr(node, r)
            if abs(v) > one:
                err(p, f"{r}={v}; expected |{r}| <= {one} (2**frac_bits)")
        if node.rule not in RULES:
            err(p, f"rule={node.rule!r}; expected one of {', '.join(RULES)}")
        elif node.rule == "rstdp":
            if not (1 <= node.classes <= node.features) or node.features % node.classes:
                err(p, f"classes={node.classes}; expected a divisor of features={node.features}")
            if node.kwta != 1:
                err(p, f"kwta={node.kwta}; rule=rstdp decides by one winner: expected 1")
        elif node.classes != 0:
            err(p, f"classes={node.classes}; expected 0 with rule=stdp")
        if node.teach and node.rule != "rstdp":
            err(p, f"teach=1 with rule={node.rule!r}; expected rule=rstdp (teaching needs labels)")

    def to_text(self, node: ConvSTDP) -> list[str]:
        F, C, k, _ = node.weights.shape
        ints = " ".join(f"{a}={getattr(node, a)}" for a in _INTS)
        bools = " ".join(f"{a}={int(getattr(node, a))}" for a in _BOOLS)
        L = [f"convstdp name={fmt_str(node.name)} in_shape={fmt_list(node.in_shape)} "
             f"features={F} kernel={k} rule={node.rule} {ints} {bools}"]
        L += [f"  filter f={f} w={fmt_list(node.weights[f])}" for f in range(F)]
        return L

    def from_text(self, lines):
        (_, _, a), *rows = lines
        C, H, W = _shape3(a["in_shape"], "in_shape")
        F, k = a["features"], a["kernel"]
        w = np.zeros((F, C, k, k), dtype=np.int64)
        seen = set()
        for n, kw, r in rows:
            if kw != "filter" or not (0 <= r.get("f", -1) < F) or len(r.get("w", [])) != C * k * k:
                raise ValueError(f"line {n}: expected 'filter f=0..{F - 1} w=[{C * k * k} ints]'")
            w[r["f"]] = np.asarray(r["w"]).reshape(C, k, k)
            seen.add(r["f"])
        if len(seen) != F:
            raise ValueError(f"convstdp {a['name']!r}: {F - len(seen)} of {F} filters missing")
        kw = {x: a[x] for x in _INTS}
        kw.update(_flags(a))
        return ConvSTDP(a["name"], (C, H, W), w, rule=a["rule"], **kw)

    def to_json(self, node: ConvSTDP, prefix, arr) -> dict:
        d = {"name": node.name, "in_shape": list(node.in_shape), "rule": node.rule,
             "weights": arr(f"{prefix}/weights", node.weights, np.int32)}
        d.update({x: getattr(node, x) for x in _INTS})
        d.update({x: getattr(node, x) for x in _BOOLS})
        return d

    def from_json(self, doc, get):
        kw = {x: int(doc[x]) for x in _INTS}
        kw.update(_flags(doc))
        return ConvSTDP(doc["name"], tuple(doc["in_shape"]), get(doc["weights"]),
                        rule=doc["rule"], **kw)

    def init_state(self, node, time):
        return ConvSTDPState(node)


RANKCODE_KIND = RankCodeKind()
CONVSTDP_KIND = ConvSTDPKind()
KIND = CONVSTDP_KIND  # this module is the registry's ``neutnngen.ir.stages.convstdp``

__all__ = [
    "CONVSTDP_KIND", "KIND", "RANKCODE_KIND", "ConvSTDP", "ConvTrace", "RankCode", "decisions",
    "fire", "first_times", "forward_layer", "learn_sample", "order_key", "pointwise_inhibition",
    "potentials", "rank_code", "rank_times", "rank_values", "stdp_delta", "teacher",
    "times_to_trains", "winners",
]
