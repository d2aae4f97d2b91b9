"""The cycle-level reference interpreter (numpy, integers only): the oracle of SPEC §§2-5.

Everything that computes output spikes or weight updates elsewhere (PyTorch model, RTL,
on-chip learning) is tested against this module. It favours clarity over speed, but it is
vectorised over the samples of a batch (inference) and over segments and synapses (learning).

Time convention: ``NONE == -1`` is a silent line. Internally, silent is ``BIG`` so that
"earliest" is a plain minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .nodes import NONE, Column, Inhibition, Layer, LearningRule, Network, Retime, TimeSpec
from .rng import advance, draws_per_wave, stabilisation_table
from .verify import check

BIG = 1 << 20


# --------------------------------------------------------------------------- primitives
def potentials(x: np.ndarray, w: np.ndarray, mask: np.ndarray, response: str, T: int) -> np.ndarray:
    """Membrane potentials ``V[b, g, t]`` of segments ``g`` for input volleys ``x[b, j]``.

    RNL: ``r(t) = min(t - x + 1, w)`` for ``t >= x``; SNL: ``r(t) = w`` for ``t >= x``.
    ``w`` and ``mask`` are ``[G, n]``; silent inputs (NONE) contribute nothing.
    """
    x = np.asarray(x, dtype=np.int64)
    B, n = x.shape
    G = w.shape[0]
    wm = np.where(mask, w, 0).astype(np.int32)
    out = np.zeros((B, G, T), dtype=np.int32)
    tt = np.arange(T, dtype=np.int32)
    chunk = max(1, (1 << 22) // max(1, G * n * T))
    for b0 in range(0, B, chunk):
        xb = x[b0:b0 + chunk]
        silent = xb < 0
        if response == "rnl":
            ramp = tt[None, None, :] - xb[:, :, None].astype(np.int32) + 1  # [b, n, T]
            ramp = np.clip(ramp, 0, None)
            ramp[silent] = 0
            r = np.minimum(ramp[:, None, :, :], wm[None, :, :, None])  # [b, G, n, T]
        else:
            on = (tt[None, None, :] >= xb[:, :, None]) & ~silent[:, :, None]
            r = on[:, None, :, :].astype(np.int32) * wm[None, :, :, None]
        out[b0:b0 + chunk] = r.sum(axis=2)
    return out


def first_crossing(V: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """First step where ``V[..., t] >= theta`` (NONE if never). ``theta`` broadcasts to
    ``V.shape[:-1]``."""
    fired = V >= np.asarray(theta)[..., None]
    t = np.argmax(fired, axis=-1)
    return np.where(fired.any(axis=-1), t, NONE).astype(np.int64)


def inhibit(times: np.ndarray, inh: Inhibition) -> np.ndarray:
    """Apply a lateral-inhibition policy along the last axis (SPEC §4)."""
    z = np.asarray(times, dtype=np.int64)
    if inh.policy == "none":
        return z.copy()
    big = np.where(z < 0, BIG, z)
    if inh.policy == "twta":
        keep = (big == big.min(axis=-1, keepdims=True)) & (z >= 0)
        return np.where(keep, z, NONE)
    k = 1 if inh.policy == "wta1" else inh.k
    order = np.argsort(big, axis=-1, kind="stable")[..., :k]  # ties -> lowest index
    keep = np.zeros(z.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep & (z >= 0), z, NONE)


def earliest(times: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """``(min time, index of it)`` along ``axis``; NONE and -1 when all are silent."""
    big = np.where(times < 0, BIG, times)
    idx = np.argmin(big, axis=axis)
    m = np.min(big, axis=axis)
    silent = m >= BIG
    return np.where(silent, NONE, m), np.where(silent, -1, idx)


def retime(z: np.ndarray, rt: Retime) -> np.ndarray:
    """``x' = min(z >> shift, t_max)``, NONE stays NONE."""
    z = np.asarray(z, dtype=np.int64)
    return np.where(z < 0, NONE, np.minimum(z >> rt.shift, rt.t_max))


# --------------------------------------------------------------------------- column forward
@dataclass
class ColumnTrace:
    """Every intermediate time of a column for a batch of waves (leading axis = wave)."""

    segment: np.ndarray  # [B, q, D, S] raw segment firing times
    segment_won: np.ndarray  # [B, q, D, S] after segment inhibition inside each dendrite
    dendrite: np.ndarray  # [B, q, D]
    dendrite_won: np.ndarray  # [B, q] index of the neuron's earliest dendrite, -1 if none
    proximal: np.ndarray  # [B, q] proximal segment time (gate) / enable bit (enable) / NONE
    neuron: np.ndarray  # [B, q] after proximal combination, before column inhibition
    out: np.ndarray  # [B, q] after column inhibition: the column's output volley


def column_forward(
    col: Column,
    time: TimeSpec,
    x: np.ndarray,
    prox: np.ndarray | None = None,
    distal_w: np.ndarray | None = None,
    proximal_w: np.ndarray | None = None,
) -> ColumnTrace:
    """Evaluate a column on input volleys ``x[B, inputs]``.

    ``prox[B, proximal_inputs]``: proximal spike times (sum, gate) or enable bits (enable;
    ``None`` means every line set). ``distal_w`` / ``proximal_w`` override the IR weights
    (the interpreter's learning state).
    """
    x = np.asarray(x, dtype=np.int64)
    B = x.shape[0]
    q, D, S = col.neurons, col.dendrites, col.segments
    T = col.wave_length(time)
    dw = col.distal.weights if distal_w is None else distal_w
    V = potentials(x, dw.reshape(q * D * S, -1), col.distal.mask.reshape(q * D * S, -1),
                   time.response, T)
    P = col.proximal_inputs
    if prox is None:
        prox = (np.ones((B, P), dtype=np.int64) if col.proximal_mode == "enable"
                else np.full((B, P), NONE, dtype=np.int64))
    prox = np.asarray(prox, dtype=np.int64)
    pw = np.zeros((q, 0), dtype=np.int64)
    if col.proximal is not None:
        pw = col.proximal.weights if proximal_w is None else proximal_w
    if col.proximal_mode == "sum" and col.proximal is not None and P > 0:
        V = V + potentials(prox, pw.reshape(q * D * S, -1),
                           col.proximal.mask.reshape(q * D * S, -1), time.response, T)
    seg = first_crossing(V, col.theta.reshape(-1)).reshape(B, q, D, S)
    seg_won = inhibit(seg, col.segment_inhibition)
    dend, _ = earliest(seg_won, axis=-1)  # [B, q, D]
    nd, dend_arg = earliest(dend, axis=-1)  # [B, q]
    prox_t = np.full((B, q), NONE, dtype=np.int64)
    if col.proximal_mode == "sum":
        neuron = nd
    elif col.proximal_mode == "enable":
        prox_t = (prox != 0).astype(np.int64)
        neuron = np.where(prox_t == 1, nd, NONE)
    else:  # gate
        assert col.proximal is not None and col.proximal_theta is not None
        Vp = potentials(prox, pw, col.proximal.mask, time.response, T)
        prox_t = first_crossing(Vp, col.proximal_theta)
        neuron = np.where((prox_t >= 0) & (nd >= 0), np.maximum(prox_t, nd), NONE)
    out = inhibit(neuron, col.column_inhibition)
    return ColumnTrace(seg, seg_won, dend, dend_arg, prox_t, neuron, out)


def credited(tr: ColumnTrace, rule: LearningRule, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Post-inhibition times ``z`` used by STDP: ``(segments [B,q,D,S], proximal [B,q])``."""
    if rule.credit == "dendrite":
        zs = tr.segment_won.copy()
        zp = tr.proximal.copy() if mode == "gate" else np.full(tr.out.shape, NONE)
        return zs, zp
    fired = tr.out >= 0  # [B, q]
    D = tr.segment.shape[2]
    dsel = tr.dendrite_won[..., None] == np.arange(D)  # [B, q, D]
    ok = fired[..., None, None] & dsel[..., None] & (tr.segment_won >= 0)
    zs = np.where(ok, tr.segment_won, NONE)
    zp = np.where(fired, tr.proximal, NONE) if mode == "gate" else np.full(tr.out.shape, NONE)
    return zs, zp


def reward(out: np.ndarray, label: int) -> int:
    """R-STDP reward of one wave: +1 winner == label, 0 nothing fired, -1 otherwise."""
    t, idx = earliest(out[None, :])
    if t[0] < 0:
        return 0
    return 1 if int(idx[0]) == int(label) else -1


def stdp_bank(
    w: np.ndarray,
    mask: np.ndarray,
    w_max: int,
    x: np.ndarray,
    z: np.ndarray,
    draws: np.ndarray,
    rule: LearningRule,
    r: int | None,
) -> np.ndarray:
    """One wave of STDP on a bank ``w[G, n]`` whose segment ``g`` has credited time ``z[g]``
    and draws ``draws[g, :]``; ``x[n]`` (shared) or ``x[G, n]`` are the input times.
    ``r`` is the R-STDP reward, or ``None`` for plain STDP."""
    u_up, u_down = stabilisation_table(w_max)
    bc, bm, bs, bb, bmin = (draws[:, k] < u for k, u in enumerate(rule.mus()))
    lvl = draws[:, 5:5 + w_max + 1]
    fup = lvl < u_up[None, :]
    fdown = lvl < u_down[None, :]
    G = w.shape[0]
    rows = np.arange(G)[:, None]
    up = fup[rows, w]  # [G, n]: Fup(w) bit of each synapse's level
    dn = fdown[rows, w]
    x = np.broadcast_to(np.asarray(x, dtype=np.int64), w.shape)
    z = np.asarray(z, dtype=np.int64)[:, None]
    xf = x >= 0
    zf = z >= 0
    cap = xf & zf & (x <= z)
    minus = xf & zf & (x > z)
    search = xf & ~zf
    back = ~xf & zf
    if r is not None:
        if r == 0:
            cap = minus = back = np.zeros_like(cap)
        else:
            search = np.zeros_like(search)
    bmin = bmin[:, None]
    inc_cap = cap & bc[:, None] & (bmin | up)
    dec_cap = np.zeros_like(cap)
    if r == -1:
        dec_cap = cap & bc[:, None] & (bmin | dn)
        inc_cap = np.zeros_like(cap)
    inc = inc_cap | (search & bs[:, None])
    dec = dec_cap | (minus & bm[:, None] & (bmin | dn)) | (back & bb[:, None] & (bmin | dn))
    new = np.clip(w + inc.astype(np.int64) - dec.astype(np.int64), 0, w_max)
    return np.where(mask, new, 0)


# --------------------------------------------------------------------------- interpreter
def label_proximal(net: Network, labels: np.ndarray,
                   layers: set[int] | None = None) -> dict[int, np.ndarray]:
    """Proximal lines derived from labels for supervised learning through ``enable``.

    For every learning layer (restricted to ``layers`` when given: the layers being trained,
    so frozen layers below are not gated) that has an ``enable`` column, line ``i`` of such a
    column is set iff the label is ``i``; the lines of its other columns are silent. Layers
    without an ``enable`` column get no entry (their proximal lines keep their defaults).
    """
    out: dict[int, np.ndarray] = {}
    labels = np.asarray(labels).reshape(-1)
    for li, layer in enumerate(net.layers):
        if layer.learning is None or (layers is not None and li not in layers):
            continue
        if not any(c.proximal_mode == "enable" for c in layer.columns):
            continue
        parts = []
        for col in layer.columns:
            if col.proximal_mode == "enable":
                parts.append((labels[:, None] == np.arange(col.neurons)[None, :]).astype(np.int64))
            else:
                parts.append(np.full((len(labels), col.proximal_inputs), NONE, dtype=np.int64))
        out[li] = np.concatenate(parts, axis=1)
    return out


@dataclass
class WaveResult:
    """Per layer: the input volley it saw and one trace per column (batch axis of 1 removed
    by the caller as needed)."""

    inputs: list[np.ndarray]
    traces: list[list[ColumnTrace]]
    outputs: list[np.ndarray]


class Interpreter:
    """Golden model of a network. Holds the learning state (weights and random-generator
    states); the IR it was built from is never modified.

    * :meth:`forward`: batched inference with the current weights;
    * :meth:`step`: one wave, optionally learning (SPEC §5), returns every intermediate;
    * :meth:`network`: the IR with the current weights (and generator states as seeds, so
      training can continue bit-exactly from it).
    """

    def __init__(self, net: Network, validate: bool = True):
        if validate:
            check(net)
        self.net = net
        self.distal: list[list[np.ndarray]] = []
        self.proximal: list[list[np.ndarray | None]] = []
        self.rng: list[list[np.ndarray | None]] = []
        self.waves = 0
        for layer in net.layers:
            self.distal.append([np.array(c.distal.weights) for c in layer.columns])
            self.proximal.append(
                [None if c.proximal is None else np.array(c.proximal.weights) for c in layer.columns]
            )
            self.rng.append(
                [None if c.random is None else np.array(c.random.seeds) for c in layer.columns]
            )

    # -- inference -------------------------------------------------------------------------
    def forward(self, X: np.ndarray, proximal: dict[int, np.ndarray] | None = None,
                all_layers: bool = False):
        """Output volleys of the last layer for input volleys ``X[N, inputs]`` (or the list of
        every layer's outputs with ``all_layers``)."""
        res = self._evaluate(np.asarray(X, dtype=np.int64), proximal or {})
        return res.outputs if all_layers else res.outputs[-1]

    def _evaluate(self, X: np.ndarray, proximal: dict[int, np.ndarray]) -> WaveResult:
        ts = self.net.time
        h = X
        ins: list[np.ndarray] = []
        traces: list[list[ColumnTrace]] = []
        outs: list[np.ndarray] = []
        li = -1
        for st in self.net.stages:
            if isinstance(st, Retime):
                h = retime(h, st)
                continue
            li += 1
            ins.append(h)
            ptot = proximal.get(li)
            pofs = 0
            layer_tr = []
            for ci, col in enumerate(st.columns):
                xc = h[:, st.column_inputs(ci)]
                pc = None
                if ptot is not None and col.proximal_inputs:
                    pc = ptot[:, pofs:pofs + col.proximal_inputs]
                pofs += col.proximal_inputs
                layer_tr.append(column_forward(col, ts, xc, pc, self.distal[li][ci],
                                               self.proximal[li][ci]))
            traces.append(layer_tr)
            h = np.concatenate([t.out for t in layer_tr], axis=1)
            outs.append(h)
        return WaveResult(ins, traces, outs)

    # -- learning ----------------------------------------------------------------------------
    def proximal_for_labels(self, labels: np.ndarray, learn: bool,
                            layers: set[int] | None = None) -> dict[int, np.ndarray]:
        """Label-driven proximal lines while learning (see :func:`label_proximal`)."""
        return label_proximal(self.net, labels, layers) if learn else {}

    def step(self, x: np.ndarray, learn: bool = False, label: int | None = None,
             proximal: dict[int, np.ndarray] | None = None,
             layers: set[int] | None = None) -> WaveResult:
        """Process one wave ``x[inputs]``. With ``learn``, every learning layer (or those in
        ``layers``) updates its weights by STDP after the wave (effective next wave)."""
        x = np.asarray(x, dtype=np.int64).reshape(1, -1)
        prox = dict(proximal or {})
        if label is not None and not prox:
            prox = self.proximal_for_labels(np.array([label]), learn, layers)
        res = self._evaluate(x, prox)
        if learn:
            for li, layer in enumerate(self.net.layers):
                if layer.learning is None or (layers is not None and li not in layers):
                    continue
                pofs = 0
                for ci, col in enumerate(layer.columns):
                    pc = None
                    if li in prox and col.proximal_inputs:
                        pc = prox[li][0, pofs:pofs + col.proximal_inputs]
                    pofs += col.proximal_inputs
                    xc = res.inputs[li][0, layer.column_inputs(ci)]
                    self._learn_column(li, ci, layer, col, xc, pc, res.traces[li][ci], label)
        self.waves += 1
        return res

    def _learn_column(self, li: int, ci: int, layer: Layer, col: Column, x: np.ndarray,
                      prox: np.ndarray | None, tr: ColumnTrace, label: int | None) -> None:
        rule = layer.learning
        assert rule is not None and col.random is not None
        state = self.rng[li][ci]
        if state is None:  # the IR verifier guarantees a RandomSource on learning columns
            raise ValueError(f"layer {li} column {ci} learns but has no RandomSource")
        draws, self.rng[li][ci] = advance(col.random, state, draws_per_wave(col.w_max))
        q, D, S = col.neurons, col.dendrites, col.segments
        nseg = q * D * S
        if col.random.sharing == "column":
            draws = np.repeat(draws, nseg + (q if col.proximal_mode == "gate" else 0), axis=0)
        r = None
        if rule.kind == "rstdp":
            if label is None:
                raise ValueError("R-STDP needs a label for every learning wave")
            r = reward(tr.out[0], label)
        zs, zp = credited(tr, rule, col.proximal_mode)
        zs = zs[0].reshape(nseg)
        dw = self.distal[li][ci].reshape(nseg, -1)
        self.distal[li][ci] = stdp_bank(dw, col.distal.mask.reshape(nseg, -1), col.distal.w_max,
                                        x, zs, draws[:nseg], rule, r).reshape(col.distal.weights.shape)
        pb = col.proximal
        if pb is None or col.proximal_inputs == 0:
            return
        xp = np.full(col.proximal_inputs, NONE) if prox is None else np.asarray(prox)
        cur = self.proximal[li][ci]
        if cur is None:
            return
        if col.proximal_mode == "sum":
            pw = cur.reshape(nseg, -1)
            self.proximal[li][ci] = stdp_bank(pw, pb.mask.reshape(nseg, -1), pb.w_max, xp, zs,
                                              draws[:nseg], rule, r).reshape(pb.weights.shape)
        elif col.proximal_mode == "gate":
            self.proximal[li][ci] = stdp_bank(cur, pb.mask, pb.w_max, xp,
                                              zp[0], draws[nseg:nseg + q], rule, r)

    def run(self, X: np.ndarray, labels: np.ndarray | None = None, learn: bool = False,
            layers: set[int] | None = None, on_wave=None) -> np.ndarray:
        """Process waves in order; returns the last layer's output volleys ``[N, outputs]``.
        ``on_wave(n, result, interpreter)`` is called after each wave (and its update)."""
        X = np.asarray(X, dtype=np.int64)
        if not learn and on_wave is None:
            prox = self.proximal_for_labels(labels, False) if labels is not None else None
            return self.forward(X, prox)
        outs = np.empty((X.shape[0], self.net.outputs), dtype=np.int64)
        for n in range(X.shape[0]):
            lab = None if labels is None else int(labels[n])
            res = self.step(X[n], learn=learn, label=lab, layers=layers)
            outs[n] = res.outputs[-1][0]
            if on_wave is not None:
                on_wave(n, res, self)
        return outs

    # -- state -------------------------------------------------------------------------------
    def network(self) -> Network:
        """The IR with the current weights and generator states."""
        from dataclasses import replace

        net = self.net
        for li, layer in enumerate(net.layers):
            cols = []
            for ci, col in enumerate(layer.columns):
                c = col.with_weights(self.distal[li][ci], self.proximal[li][ci])
                st = self.rng[li][ci]
                if c.random is not None and st is not None:
                    c = replace(c, random=replace(c.random, seeds=st))
                cols.append(c)
            net = net.replace_layer(li, replace(layer, columns=tuple(cols)))
        return net
