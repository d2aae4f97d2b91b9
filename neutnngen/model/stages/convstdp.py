"""Torch side of the convolutional STDP kinds (:mod:`neutnngen.ir.stages.convstdp`) and their
greedy layer-wise trainer (docs/model.md §14).

The modules compute exactly what the interpreter computes on int64 tensors (the
convolutions run in float64 on integers below 2**40, which is exact). The trainer keeps
every sample as *first-spike steps* ``[n]`` (NONE = -1) instead of trains: a ``convstdp``
layer only sees when a line first spikes, and a ``maxpool`` of trains first spikes at the
earliest first spike of its window, so the two representations give the same layer inputs.
Its loops go one digit at a time, so they run on one torch thread
(:func:`~neutnngen.model.threads.one_thread`).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as Fn
from torch import nn

from ...errors import ConfigError
from ...ir.common import NONE, TimeSpec
from ...ir.network import Network
from ...ir.stages.convstdp import INF_KEY, POT_BITS, ConvSTDP, RankCode
from ...ir.stages.snn import Flatten, MaxPool
from ..kinds import TorchKind
from ..threads import one_thread


def _exact(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x).to(torch.int64)


# ------------------------------------------------------------------------- first-spike steps
def trains_to_times(x: torch.Tensor) -> torch.Tensor:
    fired = x > 0
    return torch.where(fired.any(dim=1), fired.to(torch.int8).argmax(dim=1),
                       torch.full(fired.shape[:1] + fired.shape[2:], NONE, dtype=torch.int64))


def times_to_trains(t: torch.Tensor, steps: int) -> torch.Tensor:
    s = torch.arange(steps, dtype=torch.int64)[None, :, None]
    return (s == t[:, None, :]).to(torch.int64)


def rank_times(node: RankCode, x: torch.Tensor) -> torch.Tensor:
    """``[B, C*Ho*Wo]`` spike steps of pixels ``x[B, H*W]`` (docs/model.md §14 ``rankcode``)."""
    B = x.shape[0]
    img = x.to(torch.float64).reshape(B, *node.in_shape)
    k = torch.as_tensor(np.array(node.kernels), dtype=torch.float64)[:, None]
    v = _exact(Fn.conv2d(img, k, padding=node.padding)).reshape(B, -1)
    v = torch.where(v > node.threshold, v, torch.zeros_like(v))
    order = torch.argsort(-v, dim=1, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(v.shape[1], dtype=torch.int64).expand(B, -1))
    nz = (v > 0).sum(dim=1, keepdim=True)
    return torch.where(v > 0, rank * node.steps // nz.clamp(min=1), torch.full_like(v, NONE))


def pool_times(node: MaxPool, t: torch.Tensor) -> torch.Tensor:
    """First spike of a ``maxpool`` of single-spike trains: the window's earliest spike."""
    B = t.shape[0]
    big = torch.iinfo(torch.int64).max
    key = torch.where(t >= 0, t, torch.full_like(t, big)).reshape(B, *node.in_shape)
    win = key.unfold(2, node.kernel, node.stride).unfold(3, node.kernel, node.stride)
    m = win.amin(dim=(-2, -1)).reshape(B, -1)
    return torch.where(m == big, torch.full_like(m, NONE), m)


def potentials(node: ConvSTDP, w: torch.Tensor, tx: torch.Tensor, steps: int) -> torch.Tensor:
    """``V[B, T, F, Ho, Wo]`` int64: the convolution of the cumulative input at every step.

    One im2col per sample of ``u = steps - tx`` (0 for silent lines and the zero padding), so
    a window entry has spiked by step ``t`` iff ``u >= steps - t``; then a float64 matrix
    product per step: every partial sum is an integer below 2**40, exact in any order.
    Entries that cannot change what :func:`layer_fire` computes are left 0 (see below)."""
    B = tx.shape[0]
    C, H, W = node.in_shape
    u = torch.where(tx >= 0, steps - tx, torch.zeros_like(tx)).to(torch.float64)
    cols = Fn.unfold(u.reshape(B, C, H, W), node.kernel, padding=node.padding)  # [B, Ckk, L]
    wm = w.reshape(w.shape[0], -1).to(torch.float64)
    if node.threshold == 0:  # threshold 0 reads only the last step (fire() looks at no other)
        V = torch.zeros((B, steps, *node.out_shape), dtype=torch.int64)
        V[:, -1] = torch.matmul(wm, (cols > 0).to(torch.float64)).to(torch.int64).reshape(
            B, *node.out_shape)
        return V
    # V only grows over the steps: a position where no feature reaches the threshold at the
    # last step never fires, so its steps are left 0 (fire() reads them as silent either way)
    cand = (torch.matmul(wm, (cols > 0).to(torch.float64)) >= node.threshold).any(dim=1)
    lim = (steps - torch.arange(steps, dtype=torch.float64))[:, None, None]
    V = torch.zeros((B, steps, wm.shape[0], cols.shape[-1]), dtype=torch.int64)
    for b in range(B):
        idx = cand[b].nonzero().squeeze(1)
        if len(idx):
            mask = (cols[b][None, :, idx] >= lim).to(torch.float64)  # [T, Ckk, L']
            V[b][:, :, idx] = torch.matmul(wm, mask).to(torch.int64)
    return V.reshape(B, steps, *node.out_shape)


def layer_fire(node: ConvSTDP, w: torch.Tensor, tx: torch.Tensor, steps: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tf, vf)`` ``[B, F, Ho, Wo]`` of first-spike steps ``tx[B, C*H*W]``: potentials
    of the cumulative input at every step, first crossing, pointwise inhibition. The
    weights are >= 0 (verified), so ``V`` never decreases over the steps and the steps at or
    above the threshold are a suffix: ``tf = T - count(V >= threshold)``."""
    V = potentials(node, w, tx, steps)
    none = torch.full(V.shape[:1] + V.shape[2:], NONE, dtype=torch.int64)
    if node.threshold > 0:
        n_above = (V >= node.threshold).sum(dim=1)
        tf = torch.where(n_above > 0, steps - n_above, none)
    else:
        tf = torch.where(V[:, -1] > 0, torch.full_like(none, steps - 1), none)
    vf = torch.gather(V, 1, tf.clamp(min=0)[:, None]).squeeze(1)
    vf = torch.where(tf >= 0, vf, torch.zeros_like(vf))
    if node.inhibit:
        key = order_key(tf, vf)
        best = key.argmin(dim=1, keepdim=True)
        keep = torch.arange(tf.shape[1])[None, :, None, None] == best
        tf = torch.where(keep, tf, none)
        vf = torch.where(keep, vf, torch.zeros_like(vf))
    return tf, vf


def order_key(tf: torch.Tensor, vf: torch.Tensor) -> torch.Tensor:
    return torch.where(tf >= 0, (tf << POT_BITS) - vf, torch.full_like(tf, INF_KEY))


def winners(tf: torch.Tensor, vf: torch.Tensor, kwta: int, radius: int) -> list[tuple[int, int, int]]:
    """k-WTA of one sample ``[F, Ho, Wo]`` (the interpreter's order and tie-breaking)."""
    key = order_key(tf, vf).clone()
    shape = tuple(key.shape)
    out = []
    for _ in range(kwta):
        idx = int(key.reshape(-1).argmin())
        if int(key.reshape(-1)[idx]) == INF_KEY:
            break
        f, i, j = (int(v) for v in np.unravel_index(idx, shape))
        out.append((f, i, j))
        key[f] = INF_KEY
        key[:, max(0, i - radius):i + radius + 1, max(0, j - radius):j + radius + 1] = INF_KEY
    return out


def decide(node: ConvSTDP, tf: torch.Tensor, vf: torch.Tensor) -> torch.Tensor:
    out = torch.full((tf.shape[0], 1), NONE, dtype=torch.int64)
    for b in range(tf.shape[0]):
        w = winners(tf[b], vf[b], 1, 0)
        if w:
            out[b, 0] = node.decide(w[0][0])
    return out


def learn_one(node: ConvSTDP, w: torch.Tensor, tx: torch.Tensor, tf: torch.Tensor,
              vf: torch.Tensor, label: int | None) -> int:
    """Apply one sample's (R-)STDP to ``w`` in place; returns the number of winners."""
    wins = winners(tf, vf, node.kwta if node.rule == "stdp" else 1, node.radius)
    if not wins:
        return 0
    updates = [(wins, node.a_plus, node.a_minus)]
    if node.rule == "rstdp" and node.decide(wins[0][0]) != int(label):
        updates = [(wins, node.p_plus, node.p_minus)]
        if node.teach:  # the label's first neuron gets the reward it would have had
            per = node.features // node.classes
            f0 = int(label) * per
            updates.append(([(f0 + f, i, j) for f, i, j in
                             winners(tf[f0:f0 + per], vf[f0:f0 + per], 1, 0)],
                            node.a_plus, node.a_minus))
    C, H, W = node.in_shape
    p, k = node.padding, node.kernel
    txp = Fn.pad(tx.reshape(C, H, W), (p, p, p, p), value=NONE)
    F2 = 2 * node.frac_bits
    for ws, ap, am in updates:
        for f, i, j in ws:
            patch = txp[:, i:i + k, j:j + k]
            ltp = (patch >= 0) & (patch <= tf[f, i, j])
            a = torch.where(ltp, torch.tensor(ap), torch.tensor(am))
            wf = w[f]
            if node.stabilize:
                d = (a * (wf - node.w_lo) * (node.w_hi - wf) + (1 << (F2 - 1))) >> F2
            else:
                d = a
            w[f] = (wf + d).clamp(node.w_lo, node.w_hi)
    return len(wins)


# ------------------------------------------------------------------------- modules
class TorchRankCode(nn.Module):
    def __init__(self, node: RankCode):
        super().__init__()
        self.node = node

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return times_to_trains(rank_times(self.node, x.to(torch.int64)), self.node.steps)

    def to_node(self) -> RankCode:
        return self.node


class TorchConvSTDP(nn.Module):
    """A ``convstdp`` layer; ``weights`` is an int64 buffer (the trainer updates it)."""

    def __init__(self, node: ConvSTDP):
        super().__init__()
        self.node = node
        self.register_buffer("weights", torch.as_tensor(np.array(node.weights), dtype=torch.int64))

    def forward(self, x: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
        steps = x.shape[1]
        tf, vf = layer_fire(self.node, self.weights, trains_to_times(x), steps)
        if self.node.rule == "rstdp":
            return decide(self.node, tf, vf)
        return times_to_trains(tf.reshape(tf.shape[0], -1), steps)

    def to_node(self) -> ConvSTDP:
        return replace(self.node, weights=self.weights.numpy().copy())


class _Kind(TorchKind):
    def to_torch(self, node, time: TimeSpec) -> nn.Module:
        return self.module(node)

    def from_torch(self, module, path):
        return module.to_node()


class RankCodeTorchKind(_Kind):
    name = "rankcode"
    module = TorchRankCode


class ConvSTDPTorchKind(_Kind):
    name = "convstdp"
    module = TorchConvSTDP


RANKCODE_KIND = RankCodeTorchKind()
KIND = ConvSTDPTorchKind()


# ------------------------------------------------------------------------- the trainer
@dataclass
class LayerStats:
    layer: int
    epochs: int
    samples: int  # samples presented (epochs x N)
    seconds: float  # the online loop only (the frozen layers' forward pass excluded)
    winners: int
    train_accuracy: float | None = None  # rule=rstdp: decided == label during training


@dataclass
class TrainResult:
    net: Network
    stats: list[LayerStats] = field(default_factory=list)


def _chain(net: Network) -> tuple[RankCode, list]:
    if not net.stages or not isinstance(net.stages[0], RankCode):
        raise ConfigError(f"network {net.name!r}: the convstdp trainer needs a 'rankcode' "
                          f"first stage; got {type(net.stages[0]).__name__ if net.stages else 'none'}")
    for st in net.stages[1:]:
        if not isinstance(st, (ConvSTDP, MaxPool, Flatten)):
            raise ConfigError(f"network {net.name!r}: stage {st.name!r} "
                              f"({type(st).__name__}) is not trained by the convstdp trainer; "
                              f"expected convstdp, maxpool or flatten stages")
    return net.stages[0], list(net.stages[1:])


@one_thread
def layer_inputs(net: Network, X: np.ndarray, layer: int, batch: int = 1) -> np.ndarray:
    """First-spike steps ``[N, lines]`` (int16) entering ``convstdp`` layer ``layer`` (0-based
    among the network's layers; ``net.depth`` = the output of the last one, rstdp excluded)."""
    enc, rest = _chain(net)
    outs = []
    Xt = torch.as_tensor(np.asarray(X, dtype=np.int64))
    for s in range(0, len(Xt), batch):
        t = rank_times(enc, Xt[s:s + batch])
        li = 0
        for st in rest:
            if isinstance(st, ConvSTDP):
                if li == layer:
                    break
                tf, _ = layer_fire(st, torch.as_tensor(np.array(st.weights)), t, enc.steps)
                t = tf.reshape(tf.shape[0], -1)
                li += 1
            elif isinstance(st, MaxPool):
                t = pool_times(st, t)
        outs.append(t.to(torch.int16))
    return torch.cat(outs).numpy()


@one_thread
def predict(net: Network, X: np.ndarray, batch: int = 1) -> np.ndarray:
    """Decided class per sample (NONE when the decision layer is silent)."""
    enc, rest = _chain(net)
    last = rest[-1] if rest else None
    if not isinstance(last, ConvSTDP) or last.rule != "rstdp":
        raise ConfigError(f"network {net.name!r}: predict needs a convstdp rule=rstdp last stage")
    tx = torch.as_tensor(layer_inputs(net, X, net.depth - 1, batch).astype(np.int64))
    out = []
    for s in range(0, len(tx), batch):
        tf, vf = layer_fire(last, torch.as_tensor(np.array(last.weights)), tx[s:s + batch], enc.steps)
        out.append(decide(last, tf, vf))
    return torch.cat(out)[:, 0].numpy()


@one_thread
def train_layer(net: Network, layer: int, X: np.ndarray, labels: np.ndarray | None = None, *,
                epochs: int = 1, seed: int = 0, shuffle: bool = True,
                report: Callable[[int], None] | None = None,
                rates: Callable[[int, float | None], tuple[int, int, int, int]] | None = None
                ) -> TrainResult:
    """Train ``convstdp`` layer ``layer`` online, the stages below frozen (docs/model.md §14,
    the training stream of §5: every epoch a permutation from one
    ``np.random.default_rng(seed)``; ``shuffle=False`` keeps the order).

    ``rates(epoch, accuracy)`` is a host-side schedule (not in the contract): it gets the
    previous epoch's training accuracy of a ``rule=rstdp`` layer (None for the first epoch or
    another rule) and returns that epoch's ``(a_plus, a_minus, p_plus, p_minus)``; the
    returned network keeps the layer's own rates."""
    enc, _ = _chain(net)
    node = net.layers[layer]
    if not isinstance(node, ConvSTDP):
        raise ConfigError(f"layer {layer} of {net.name!r} is not a convstdp layer")
    if epochs < 0:
        raise ConfigError(f"epochs={epochs}; expected >= 0")
    if node.rule == "rstdp" and labels is None:
        raise ConfigError(f"layer {node.name!r} (rule=rstdp) needs labels")
    tx = torch.as_tensor(layer_inputs(net, X, layer).astype(np.int64))
    w = torch.as_tensor(np.array(node.weights), dtype=torch.int64)
    rng = np.random.default_rng(seed)
    N = len(tx)
    n_win = right = seen = 0
    t0 = _time.perf_counter()
    base, last_acc = node, None
    for e in range(epochs):
        if rates is not None:
            ap, am, pp, pm = (int(v) for v in rates(e, last_acc))
            one = 1 << node.frac_bits
            if max(abs(ap), abs(am), abs(pp), abs(pm)) > one:
                raise ConfigError(f"rate schedule gave {(ap, am, pp, pm)} at epoch {e}; "
                                  f"expected |rate| <= {one} (2**frac_bits)")
            node = replace(base, a_plus=ap, a_minus=am, p_plus=pp, p_minus=pm)
        order = rng.permutation(N) if shuffle else np.arange(N)
        r0 = right
        for n in order:
            tf, vf = layer_fire(node, w, tx[n:n + 1], enc.steps)
            lab = None if labels is None else int(labels[n])
            if node.rule == "rstdp":
                d = decide(node, tf, vf)
                right += int(d[0, 0]) == lab
            n_win += learn_one(node, w, tx[n], tf[0], vf[0], lab)
            seen += 1
            if report is not None and seen % 256 == 0:
                report(seen)
        last_acc = (right - r0) / N if node.rule == "rstdp" and N else None
    node = base
    secs = _time.perf_counter() - t0
    new = net.replace_layer(layer, replace(node, weights=w.numpy().copy()))
    acc = right / seen if node.rule == "rstdp" and seen else None
    return TrainResult(new, [LayerStats(layer, epochs, seen, secs, n_win, acc)])


__all__ = [
    "KIND", "RANKCODE_KIND", "LayerStats", "TorchConvSTDP", "TorchRankCode", "TrainResult",
    "decide", "layer_fire", "layer_inputs", "learn_one", "pool_times", "predict", "rank_times",
    "train_layer", "trains_to_times", "winners",
]
_ = Flatten
