"""Interpreter kernels of the ``layer`` stage kind (numpy, integers only): docs/model.md §§2-5.

Column inference (:func:`column_forward`: potentials, first crossings, segment / dendrite /
neuron / column inhibition, proximal combination) and one wave of STDP on a synapse bank
(:func:`stdp_bank`, with :func:`credited` and the R-STDP :func:`reward`). Vectorised over the
samples of a batch (inference) and over segments and synapses (learning).

Time convention: ``NONE == -1`` is a silent line. Internally, silent is ``BIG`` so that
"earliest" is a plain minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...common import NONE, Inhibition, LearningRule, TimeSpec
from ...rng import stabilisation_table
from .nodes import Column

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
    """Apply a lateral-inhibition policy along the last axis (docs/model.md §4)."""
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
    if col.tie == "overshoot":
        return _forward_overshoot(col, time, V, seg, prox)
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


KO = 1 << 24  # M1 keys: time * KO + (KO - 1 - min(overshoot, KO - 1))


def overshoot_keys(V: np.ndarray, seg: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """M1 sort keys of segment times ``seg[B, G]``: ``z * KO + KO - 1 - min(o, KO - 1)`` with
    the overshoot ``o = V(z) - theta`` (smaller key = earlier, then larger overshoot);
    NONE where the segment is silent."""
    z = np.maximum(seg, 0)
    vz = np.take_along_axis(V, z[..., None], axis=-1)[..., 0]
    o = np.minimum(vz - np.asarray(theta)[None, :], KO - 1)
    return np.where(seg >= 0, seg * KO + (KO - 1 - o), NONE)


KBIG = 1 << 62  # silent, for keys


def _keep(keys: np.ndarray, times: np.ndarray, inh: Inhibition) -> np.ndarray:
    """Which candidates survive ``inh``: wta1/kwta by key (time, then overshoot, then index),
    twta/none by time as always."""
    if inh.policy in ("twta", "none"):
        return inhibit(times, inh) >= 0
    k = 1 if inh.policy == "wta1" else inh.k
    big = np.where(keys < 0, KBIG, keys)
    order = np.argsort(big, axis=-1, kind="stable")[..., :k]  # equal keys -> lowest index
    keep = np.zeros(keys.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return keep & (keys >= 0)


def _earliest_key(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(min key, its lowest index)`` along the last axis; NONE and -1 when all silent."""
    big = np.where(keys < 0, KBIG, keys)
    idx = np.argmin(big, axis=-1)
    m = np.min(big, axis=-1)
    silent = m >= KBIG
    return np.where(silent, NONE, m), np.where(silent, -1, idx)


def _forward_overshoot(col: Column, time: TimeSpec, V: np.ndarray, seg: np.ndarray,
                       prox: np.ndarray) -> ColumnTrace:
    """column_forward with ``tie = overshoot`` (docs/model.md §4, M1; sum and enable modes)."""
    B, q, D, S = seg.shape
    keys = overshoot_keys(V, seg.reshape(B, -1), col.theta.reshape(-1)).reshape(B, q, D, S)
    seg_won = np.where(_keep(keys, seg, col.segment_inhibition), seg, NONE)
    kwon = np.where(seg_won >= 0, keys, NONE)
    dkey, _ = _earliest_key(kwon)  # [B, q, D]
    dend = np.where(dkey >= 0, dkey // KO, NONE)
    nkey, dend_arg = _earliest_key(dkey)  # [B, q]
    nd = np.where(nkey >= 0, nkey // KO, NONE)
    prox_t = np.full((B, q), NONE, dtype=np.int64)
    if col.proximal_mode == "enable":
        prox_t = (prox != 0).astype(np.int64)
        nd = np.where(prox_t == 1, nd, NONE)
        nkey = np.where(prox_t == 1, nkey, NONE)
    out = np.where(_keep(nkey, nd, col.column_inhibition), nd, NONE)
    return ColumnTrace(seg, seg_won, dend, dend_arg, prox_t, nd, out)


def weight_budget(w: np.ndarray, mask: np.ndarray, w_max: int, w_norm: int) -> np.ndarray:
    """M8 (docs/model.md §5): every row ``g`` of ``w[G, n]`` with ``n_g`` unmasked synapses
    whose unmasked weight sum ``s_g`` exceeds ``B_g = (n_g * w_max * w_norm) >> 8`` gets each
    unmasked weight set to ``(w * B_g) // s_g``; other rows (and masked weights) stay.
    ``w_norm = 0`` returns ``w`` unchanged."""
    if not w_norm:
        return w
    w = np.asarray(w, dtype=np.int64)
    m = np.asarray(mask, dtype=bool)
    s = np.where(m, w, 0).sum(axis=1)
    B = (m.sum(axis=1).astype(np.int64) * int(w_max) * int(w_norm)) >> 8
    over = s > B
    if not over.any():
        return w
    scaled = (w * B[:, None]) // np.maximum(s, 1)[:, None]
    return np.where(over[:, None] & m, scaled, w)


def stdp_bank(
    w: np.ndarray,
    mask: np.ndarray,
    w_max: int,
    x: np.ndarray,
    z: np.ndarray,
    draws: np.ndarray,
    rule: LearningRule,
    r: int | None,
    t_max_in: int = 7,
) -> np.ndarray:
    """One wave of STDP on a bank ``w[G, n]`` whose segment ``g`` has credited time ``z[g]``
    and draws ``draws[g, :]``; ``x[n]`` (shared) or ``x[G, n]`` are the input times.
    ``r`` is the R-STDP reward, or ``None`` for plain STDP. ``t_max_in`` (the latest input
    time) sets the targets of ``kind = targeted``."""
    bc, bm, bs, bb, bmin = (draws[:, k] < u for k, u in enumerate(rule.mus()))
    if rule.kind == "targeted":
        return targeted_bank(w, mask, w_max, x, z, (bc, bm, bs, bb), t_max_in)
    u_up, u_down = stabilisation_table(w_max)
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


def targeted_target(x: np.ndarray, w_max: int, t_max_in: int) -> np.ndarray:
    """The weight a credited segment steps toward (``kind = targeted``): the input's
    intensity ``((t_max_in - x) * w_max) // t_max_in`` when the line fired (0 when ``x`` is
    past ``t_max_in``), 0 when it is silent."""
    tm = max(int(t_max_in), 1)
    return np.where(x >= 0, np.maximum(0, ((tm - x) * w_max) // tm), 0)


def targeted_bank(w: np.ndarray, mask: np.ndarray, w_max: int, x: np.ndarray, z: np.ndarray,
                  bits: tuple[np.ndarray, ...], t_max_in: int) -> np.ndarray:
    """One wave of the targeted rule (docs/model.md §5, M3) on ``w[G, n]``: a credited
    segment steps each weight by one toward its target (``+1`` with ``B(mu_capture)`` below
    it; ``-1`` with ``B(mu_minus)`` above it on a fired line, ``B(mu_backoff)`` on a silent
    one); a segment without credit searches as in STDP (``+1`` with ``B(mu_search)`` on fired
    lines). No ``Fup``/``Fdown``/``mu_min``; saturates to ``0 .. w_max``."""
    bc, bm, bs, bb = (b[:, None] for b in bits)
    x = np.broadcast_to(np.asarray(x, dtype=np.int64), w.shape)
    z = np.asarray(z, dtype=np.int64)[:, None]
    xf = x >= 0
    zf = z >= 0
    tau = targeted_target(x, w_max, t_max_in)
    inc = (zf & (w < tau) & bc) | (~zf & xf & bs)
    dec = zf & (w > tau) & np.where(xf, bm, bb)
    new = np.clip(w + inc.astype(np.int64) - dec.astype(np.int64), 0, w_max)
    return np.where(mask, new, 0)
