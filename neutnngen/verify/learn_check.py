"""The reference side of learning verification: the registers a ``learn``-mode design
exposes and their expected values after every wave (the interpreter, wave by wave), how a
sampled register dump decodes, the comparison, and the chip-trained network
(:func:`trained_network`). Used by :mod:`neutnngen.verify.learn`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import VerificationMismatch
from ..ir.interp import Interpreter, credited, label_proximal, reward
from ..ir.nodes import NONE, Network
from .stages import Entry
from .stages import value as stage_value

# --------------------------------------------------------------------------- layout
_Entry = Entry  # an observable register (weights, LFSR states, M5 counters; names.json order)
WEIGHT_KINDS = ("w", "p")  # entries that are weights (read back through wread)


def _state_vector(entries: list[Entry], it: Interpreter) -> np.ndarray:
    v = np.empty(len(entries), dtype=np.int64)
    for n, e in enumerate(entries):
        v[n] = stage_value(e, it)
    return v


def check_layout(net: Network, entries: list[_Entry]) -> None:
    it = Interpreter(net)
    try:
        _state_vector(entries, it)
    except (IndexError, TypeError) as exc:
        raise VerificationMismatch(
            f"names.json lists weights or generators that the network does not have ({exc}); "
            "the Verilog was not generated from a network of this structure",
            first={"signal": "weights"}) from None


# --------------------------------------------------------------------------- reference
@dataclass
class _WaveArgs:
    learn: bool
    label: int | None
    proximal: dict[int, np.ndarray] | None
    layers: set[int] | None
    mu_shift: int = 0


def _wave_args(net: Network, n: int, learn: np.ndarray, labels: np.ndarray | None,
               prox: Mapping[int, np.ndarray], mus: np.ndarray | None = None) -> _WaveArgs:
    """The interpreter call that models what the chip does in wave ``n``: learning layers
    learn when ``learn_en``, R-STDP layers only with a valid label; a labelled learning wave
    drives an enable layer's proximal lines from the label (the chip ignores its
    ``prox_*`` lines then)."""
    lab = None
    if labels is not None and int(labels[n]) >= 0:
        lab = int(labels[n])
    on = bool(learn[n])
    layers: set[int] | None = None
    if on:
        layers = {k for k, ly in enumerate(net.layers) if ly.learning is not None
                  and (ly.learning.kind != "rstdp" or lab is not None)}
        on = bool(layers)
    P: dict[int, np.ndarray] = {}
    if on and lab is not None:
        P.update(label_proximal(net, np.array([lab]), layers))
    for k, v in prox.items():
        if k not in P:
            P[k] = np.asarray(v)[n:n + 1]
    return _WaveArgs(on, lab, P or None, layers if on else None,
                     0 if mus is None else int(mus[n]))


def expected_learning(net: Network, X: np.ndarray, entries: list[_Entry], learn: np.ndarray,
                      labels: np.ndarray | None, prox: Mapping[int, np.ndarray],
                      mus: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(outputs [N, Q], state after every wave [N, entries], initial state [entries])``;
    ``mus``: the M4 shift of every wave (None: 0)."""
    it = Interpreter(net)
    N = X.shape[0]
    outs = np.empty((N, net.outputs), dtype=np.int64)
    states = np.empty((N, len(entries)), dtype=np.int64)
    init = _state_vector(entries, it)
    for n in range(N):
        a = _wave_args(net, n, learn, labels, prox, mus)
        res = it.step(X[n], learn=a.learn, label=a.label, proximal=a.proximal, layers=a.layers,
                      mu_shift=a.mu_shift)
        outs[n] = res.outputs[-1][0]
        states[n] = _state_vector(entries, it)
    return outs, states, init


def _case(net: Network, X: np.ndarray, learn, labels, prox, wave: int, e: _Entry,
          mus: np.ndarray | None = None) -> dict:
    """STDP case of synapse ``e`` in ``wave`` (re-runs the interpreter up to that wave)."""
    it = Interpreter(net)
    for n in range(wave):
        a = _wave_args(net, n, learn, labels, prox, mus)
        it.step(X[n], learn=a.learn, label=a.label, proximal=a.proximal, layers=a.layers,
                mu_shift=a.mu_shift)
    a = _wave_args(net, wave, learn, labels, prox)
    res = it.step(X[wave], learn=False, label=a.label, proximal=a.proximal)
    layer = net.layers[e.layer]
    rule = layer.learning
    if not a.learn or rule is None or (a.layers is not None and e.layer not in a.layers):
        return {"case": "frozen", "x": None, "z": None, "reward": None}
    col = layer.columns[e.column]
    tr = res.traces[e.layer][e.column]
    zs, zp = credited(tr, rule, col.proximal_mode)
    if e.kind == "w":
        x = int(res.inputs[e.layer][0, layer.column_inputs(e.column)][e.index[3]])
    else:
        pofs = sum(c.proximal_inputs for c in layer.columns[:e.column])
        pv = None if a.proximal is None else a.proximal.get(e.layer)
        x = NONE if pv is None else int(pv[0, pofs + e.index[-1]])
    z = int(zs[0][e.index[:3]]) if len(e.index) == 4 else int(zp[0][e.index[0]])
    r = reward(tr.out[0], a.label) if rule.kind == "rstdp" else None
    if x >= 0 and z >= 0:
        case = "capture" if x <= z else "minus"
    elif x >= 0:
        case = "search"
    elif z >= 0:
        case = "backoff"
    else:
        case = "none"
    if r == 0 and case != "search":
        case = "none"
    elif r is not None and r != 0 and case == "search":
        case = "none"
    return {"case": case, "x": x, "z": z, "reward": r}


# --------------------------------------------------------------------------- analysis
def _decode(samples: list[str | None], entries: list[_Entry]) -> tuple[np.ndarray, np.ndarray]:
    """``(values [S, entries], known [S])`` from the ``dbg`` words (hex)."""
    width = sum(e.bits for e in entries)
    nbytes = max(1, (width + 7) // 8)
    S = len(samples)
    bits = np.zeros((S, nbytes * 8), dtype=np.int64)
    known = np.zeros(S, dtype=bool)
    for s, h in enumerate(samples):
        if h is None:
            continue
        b = np.frombuffer(int(h, 16).to_bytes(nbytes, "little"), dtype=np.uint8)
        bits[s] = np.unpackbits(b, bitorder="little")
        known[s] = True
    vals = np.zeros((S, len(entries)), dtype=np.int64)
    off = 0
    for n, e in enumerate(entries):
        vals[:, n] = bits[:, off:off + e.bits] @ (1 << np.arange(e.bits, dtype=np.int64))
        off += e.bits
    return vals, known


def _final(net: Network, entries: list[_Entry], vals: np.ndarray) -> tuple[list, list, list]:
    """The chip's final ``(weights, LFSR states, M5 counters)`` per layer and column."""
    weights: list = []
    rng: list = []
    hs: list = []
    for layer in net.layers:
        wl, rl = [], []
        win = layer.learning is not None and layer.learning.homeostasis == "winrate"
        hs.append([np.zeros(col.neurons, dtype=np.int64) if win else None
                   for col in layer.columns])
        for col in layer.columns:
            dw = np.zeros(col.distal.weights.shape, dtype=np.int64)
            pw = None if col.proximal is None else np.zeros(col.proximal.weights.shape,
                                                              dtype=np.int64)
            g = None if layer.learning is None or col.random is None else \
                np.array(col.random.seeds, dtype=np.int64)
            wl.append([dw, pw])
            rl.append(g)
        weights.append(wl)
        rng.append(rl)
    for n, e in enumerate(entries):
        v = int(vals[n])
        if e.kind == "w":
            weights[e.layer][e.column][0][e.index] = v
        elif e.kind == "p":
            weights[e.layer][e.column][1][e.index] = v
        elif e.kind == "h":
            if hs[e.layer][e.column] is not None:
                hs[e.layer][e.column][e.index[0]] = v - ((v >> (e.bits - 1)) << e.bits)
        elif rng[e.layer][e.column] is not None:
            rng[e.layer][e.column][e.index[0]] = v
    return weights, rng, hs


def trained_network(net: Network, final_weights, final_rng=None, final_h=None) -> Network:
    """The IR with the chip's weights (``LearnVerifyResult.final_weights``, nested lists or
    arrays) and, when given, its LFSR states as the generators' seeds (training continues
    bit-exactly from it). A layer with relative thresholds (M2) or win-rate counters (M5)
    gets the thresholds its next wave would use, as the trainer writes them: from ``net``'s
    offsets, the chip's weights and its counters ``final_h[k][c]`` (required for M5)."""
    from ..ir.stages.layer.state import LayerState

    for k, layer in enumerate(net.layers):
        cols = []
        rule = layer.learning
        dyn = rule is not None and (rule.theta == "relative" or rule.homeostasis == "winrate")
        st = LayerState(layer, net.time) if dyn else None
        for c, col in enumerate(layer.columns):
            fw = final_weights[k][c]
            d = fw["distal"] if isinstance(fw, Mapping) else fw[0]
            p = fw["proximal"] if isinstance(fw, Mapping) else fw[1]
            nc = col.with_weights(np.asarray(d), None if p is None else np.asarray(p))
            if st is not None:
                st.distal[c] = np.asarray(d, dtype=np.int64).reshape(col.distal.weights.shape)
                if st.winrate:
                    if final_h is None or final_h[k][c] is None:
                        raise ValueError(f"layer {k} column {c} learns with win-rate "
                                         "counters: trained_network needs final_h")
                    st.H[c] = np.asarray(final_h[k][c], dtype=np.int64)
                nc = replace(nc, theta=st.current_theta(c))
            if final_rng is not None and final_rng[k][c] is not None and nc.random is not None:
                nc = replace(nc, random=replace(nc.random, seeds=np.asarray(final_rng[k][c])))
            cols.append(nc)
        net = net.replace_layer(k, replace(layer, columns=tuple(cols)))
    return net


def describe_weight(first: Mapping[str, Any], count: int, waves: int) -> str:
    """One-paragraph description of the first weight (or LFSR state) mismatch."""
    if first.get("generator"):
        what = f"LFSR state of generator {first['generator']}"
    elif first.get("counter"):
        what = f"win-rate counter {first['counter']} (two's complement)"
    else:
        what = f"weight {first.get('synapse')} (STDP case {first.get('case')}"
        if first.get("x") is not None:
            what += f", x={first['x']}, z={first['z']}"
        if first.get("reward") is not None:
            what += f", reward {first['reward']}"
        what += f", weight before the wave {first.get('before')})"
    got = "X" if first.get("got") is None else first.get("got")
    return (f"on-chip learning differs from the reference interpreter after wave "
            f"{first.get('wave')}, layer {first.get('layer')}: {what}: expected "
            f"{first.get('expected')}, got {got}; {count} wrong value(s) over {waves} wave(s)")


def analyse(net: Network, X: np.ndarray, entries: list[Entry], taps: list[str],
             res: Mapping[str, Any], exp_state: np.ndarray, init_state: np.ndarray, learn,
             labels, prox, readout: bool, mus: np.ndarray | None = None) -> dict[str, Any]:
    """Compare the sampled states with the expected ones: the ``n``-th sample taken after a
    stage's ``done`` holds that stage's registers after wave ``n``."""
    N = exp_state.shape[0]
    raw = list(res.get("samples") or [])
    per_tap: list[list[str | None]] = [[] for _ in taps]
    for d, h in raw:
        for t in range(len(taps)):
            if d is not None and (int(d) >> t) & 1:
                per_tap[t].append(h)
    wrong = np.zeros((N, len(entries)), dtype=bool)
    got = np.full((N, len(entries)), -1, dtype=np.int64)
    tap_of = np.array([-1 if e.tap is None else e.tap for e in entries], dtype=np.int64)
    is_rng = np.array([e.kind == "g" for e in entries], dtype=bool)
    is_h = np.array([e.kind == "h" for e in entries], dtype=bool)
    last = np.zeros(len(entries), dtype=np.int64)
    for t in range(len(taps)):
        cols = np.flatnonzero(tap_of == t)
        if not len(cols):
            continue
        smp = per_tap[t][:N] + [None] * max(0, N - len(per_tap[t]))
        vals, known = _decode(smp, entries)
        g = vals[:, cols]
        ok = known[:, None]
        wrong[:, cols] = ~ok | (g != exp_state[:, cols])
        got[:, cols] = np.where(ok, g, -1)
        if N:
            last[cols] = vals[N - 1, cols]
    wrong[:, tap_of < 0] = True  # a register without a done tap cannot be observed
    w_wrong = wrong[:, ~is_rng & ~is_h]
    r_wrong = wrong[:, is_rng]
    h_wrong = wrong[:, is_h]
    first = None
    bad_waves = np.flatnonzero(wrong.any(axis=1))
    if len(bad_waves):
        n = int(bad_waves[0])
        i = int(np.flatnonzero(wrong[n])[0])
        e = entries[i]
        before = init_state[i] if n == 0 else exp_state[n - 1, i]
        first = {"wave": n, "layer": e.layer, "column": e.column,
                 "expected": int(exp_state[n, i]),
                 "got": None if got[n, i] < 0 else int(got[n, i]), "before": int(before),
                 "signal": e.signal}
        if e.kind == "g":
            first["generator"] = e.path
        elif e.kind == "h":
            first["counter"] = e.path
        else:
            first["synapse"] = e.path
            first.update(_case(net, X, learn, labels, prox, n, e, mus))
    final = _final(net, entries, last)
    rb = list(res.get("readout") or [])
    regs = [int(v) for v, e in zip(last, entries, strict=True) if e.kind in WEIGHT_KINDS]
    n_read = 0
    if readout:
        n_read = sum(1 for a, b in zip(rb, regs, strict=False) if a is None or int(a) != b)
        n_read += max(0, len(regs) - len(rb))
    return {
        "weights": int(w_wrong.sum()), "weight_waves": int(w_wrong.any(axis=1).sum()),
        "rng": int(r_wrong.sum()), "homeostasis": int(h_wrong.sum()),
        "readout": int(n_read), "first": first,
        "bad": int(wrong.sum() + n_read), "final": final,
    }
