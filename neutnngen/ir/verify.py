"""IR verification: collect every problem with its IR path, then raise once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import IRValidationError
from .nodes import (
    CREDITS,
    INHIBITION_POLICIES,
    LEARNING_KINDS,
    MU_NAMES,
    MU_ONE,
    PROXIMAL_MODES,
    RANDOM_KINDS,
    RANDOM_SHARING,
    RESPONSES,
    Column,
    Inhibition,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    Retime,
    SynapseBank,
)


@dataclass(frozen=True)
class Diagnostic:
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


def verify(net: Network) -> list[Diagnostic]:
    """Every problem of ``net``, each with its IR path. Empty list = valid."""
    out: list[Diagnostic] = []

    def err(path: str, msg: str, severity: str = "error") -> None:
        out.append(Diagnostic(path, msg, severity))

    root = net.name or "network"
    ts = net.time
    if not (1 <= ts.timeres <= 8):
        err(f"{root}/time", f"timeres={ts.timeres} out of range; expected 1..8")
    if ts.response not in RESPONSES:
        err(f"{root}/time", f"response={ts.response!r}; expected one of {', '.join(RESPONSES)}")
    if net.inputs < 1:
        err(root, f"inputs={net.inputs}; expected >= 1")
    if not net.layers:
        err(root, "network has no layer")

    names: set[str] = set()
    width = net.inputs
    max_time = ts.t_max_in  # largest time that can arrive at the next stage
    for si, st in enumerate(net.stages):
        spath = f"{root}/{st.name or f'stage{si}'}"
        if st.name in names:
            err(spath, f"duplicate stage name {st.name!r}")
        names.add(st.name)
        if isinstance(st, Retime):
            if st.shift < 0:
                err(spath, f"shift={st.shift}; expected >= 0")
            if st.t_max != ts.t_max_in:
                err(spath, f"t_max={st.t_max} but the next layer's t_max_in is {ts.t_max_in}")
            max_time = min(max_time >> max(st.shift, 0), st.t_max)
            continue
        if not isinstance(st, Layer):
            err(spath, f"unknown stage type {type(st).__name__}; expected Layer or Retime")
            continue
        if st.inputs != width:
            err(spath, f"inputs={st.inputs} but the previous stage delivers {width} lines")
        if max_time > ts.t_max_in:
            err(
                spath,
                f"input times reach {max_time} > t_max_in={ts.t_max_in}: silent truncation; "
                "insert an explicit Retime stage before this layer",
            )
        _verify_layer(st, spath, ts, err)
        width = st.outputs
        max_time = max((c.wave_length(ts) - 1 for c in st.columns), default=0)
    return out


def _verify_layer(layer: Layer, path: str, ts, err) -> None:
    if not layer.columns:
        err(path, "layer has no column")
    k = layer.kernel
    if k is not None:
        for fname in ("height", "width", "channels", "rfsize", "stride"):
            if getattr(k, fname) < 1:
                err(f"{path}/kernel", f"{fname}={getattr(k, fname)}; expected >= 1")
        if k.rfsize > min(k.height, k.width):
            err(f"{path}/kernel", f"rfsize={k.rfsize} larger than the image {k.height}x{k.width}")
        elif k.inputs != layer.inputs:
            err(f"{path}/kernel", f"covers {k.inputs} lines but the layer has inputs={layer.inputs}")
        elif k.windows != len(layer.columns):
            err(f"{path}/kernel", f"has {k.windows} windows but the layer has {len(layer.columns)} columns")
    if layer.learning is not None:
        _verify_learning(layer.learning, f"{path}/learning", err)
    cnames: set[str] = set()
    for ci, col in enumerate(layer.columns):
        cpath = f"{path}/{col.name or f'col{ci}'}"
        if col.name in cnames:
            err(cpath, f"duplicate column name {col.name!r}")
        cnames.add(col.name)
        expect = k.window_inputs if (k is not None and k.rfsize <= min(k.height, k.width)) else layer.inputs
        if col.inputs != expect:
            err(cpath, f"inputs={col.inputs} but its receptive field has {expect} lines")
        _verify_column(col, cpath, ts, layer.learning, err)


def _verify_learning(rule: LearningRule, path: str, err) -> None:
    if rule.kind not in LEARNING_KINDS:
        err(path, f"kind={rule.kind!r}; expected one of {', '.join(LEARNING_KINDS)}")
    if rule.credit not in CREDITS:
        err(path, f"credit={rule.credit!r}; expected one of {', '.join(CREDITS)}")
    for name, u in zip(MU_NAMES, rule.mus(), strict=True):
        if not (0 <= u <= MU_ONE):
            err(path, f"mu_{name}={u}; expected 0..{MU_ONE} (probability u/{MU_ONE})")


def _verify_inhibition(inh: Inhibition, n: int, path: str, err) -> None:
    if inh.policy not in INHIBITION_POLICIES:
        err(path, f"policy={inh.policy!r}; expected wta1, kwta(k), twta or none")
    if inh.policy == "kwta" and not (1 <= inh.k <= max(n, 1)):
        err(path, f"kwta k={inh.k}; expected 1..{n}")


def _verify_bank(bank: SynapseBank, shape: tuple[int, ...], path: str, err) -> bool:
    ok = True
    if not (1 <= bank.wres <= 8):
        err(path, f"wres={bank.wres} out of range; expected 1..8")
        ok = False
    if bank.weights.shape != shape:
        err(path, f"weights shape {bank.weights.shape}; expected {shape}")
        return False
    if bank.mask.shape != shape:
        err(path, f"mask shape {bank.mask.shape}; expected {shape}")
        return False
    if ok:
        w = bank.weights
        bad = np.argwhere((w < 0) | (w > bank.w_max))
        for idx in bad[:5]:
            err(path, f"weight {int(w[tuple(idx)])} at {tuple(int(i) for i in idx)} "
                      f"out of range 0..{bank.w_max} (wres={bank.wres})")
        if len(bad) > 5:
            err(path, f"... and {len(bad) - 5} more weights out of range 0..{bank.w_max}")
        absent = np.argwhere(~bank.mask & (w != 0))
        if len(absent):
            err(path, f"{len(absent)} absent (pruned) synapse(s) carry nonzero weights, "
                      f"first at {tuple(int(i) for i in absent[0])}; absent synapses must be 0")
        ok = ok and not len(bad) and not len(absent)
    return ok


def _verify_column(col: Column, path: str, ts, learning: LearningRule | None, err) -> None:
    shape = col.distal.weights.shape
    if len(shape) != 4:
        err(f"{path}/distal", f"weights have {len(shape)} axes; expected 4 "
                              "[neurons, dendrites, segments, inputs]")
        return
    q, d, s, p = shape
    if min(q, d, s) < 1:
        err(path, f"neurons={q}, dendrites={d}, segments={s}; each must be >= 1")
        return
    if p != col.inputs:
        err(f"{path}/distal", f"weights cover {p} inputs; column has inputs={col.inputs}")
    _verify_bank(col.distal, (q, d, s, col.inputs), f"{path}/distal", err)
    if col.theta.shape != (q, d, s):
        err(f"{path}/theta", f"shape {col.theta.shape}; expected {(q, d, s)}")
        return
    _verify_inhibition(col.segment_inhibition, s, f"{path}/segment_inhibition", err)
    _verify_inhibition(col.column_inhibition, q, f"{path}/column_inhibition", err)
    if col.proximal_mode not in PROXIMAL_MODES:
        err(path, f"proximal_mode={col.proximal_mode!r}; expected one of {', '.join(PROXIMAL_MODES)}")
        return
    P = col.proximal_inputs
    prox_w = np.zeros((q, d, s), dtype=np.int64)  # proximal contribution to max potential
    if col.proximal_mode == "sum":
        if P == 0 and col.proximal is not None:
            err(f"{path}/proximal", "proximal bank given but proximal_inputs=0")
        if P > 0:
            if col.proximal is None:
                err(f"{path}/proximal", f"proximal_inputs={P} but no proximal bank")
            elif _verify_bank(col.proximal, (q, d, s, P), f"{path}/proximal", err):
                prox_w = col.proximal.weights.sum(axis=-1)
    elif col.proximal_mode == "enable":
        if P != q:
            err(path, f"proximal_mode=enable needs proximal_inputs == neurons ({q}); got {P}")
        if col.proximal is not None:
            err(f"{path}/proximal", "proximal_mode=enable takes 1-bit lines, not synapses")
    else:  # gate
        if col.proximal is None or P < 1:
            err(f"{path}/proximal", "proximal_mode=gate needs a proximal bank [neurons, P] with P >= 1")
        elif _verify_bank(col.proximal, (q, P), f"{path}/proximal", err):
            pt = col.proximal_theta
            if pt is None or pt.shape != (q,):
                err(f"{path}/proximal_theta", f"expected {q} thresholds")
            else:
                cap = col.proximal.weights.sum(axis=-1)
                full = col.proximal.mask.sum(axis=-1) * col.proximal.w_max
                for i in range(q):
                    _check_theta(int(pt[i]), int(cap[i]), int(full[i]), learning is not None,
                                 f"{path}/n{i}/proximal", err)
    # Thresholds: positive and reachable (all connected inputs at time 0, end of wave).
    cap = col.distal.weights.sum(axis=-1) + prox_w
    full = col.distal.mask.sum(axis=-1) * col.distal.w_max
    if col.proximal_mode == "sum" and col.proximal is not None and col.proximal.weights.shape == (q, d, s, P):
        full = full + col.proximal.mask.sum(axis=-1) * col.proximal.w_max
    for i in range(q):
        for j in range(d):
            for k in range(s):
                _check_theta(int(col.theta[i, j, k]), int(cap[i, j, k]), int(full[i, j, k]),
                             learning is not None, f"{path}/n{i}/d{j}/s{k}", err)
    # Random source.
    rs = col.random
    if learning is not None and rs is None:
        err(f"{path}/random", "the layer learns but the column has no RandomSource")
    if rs is not None:
        _verify_random(rs, col.n_generators(), f"{path}/random", err)


def _check_theta(theta: int, cap: int, full: int, learns: bool, path: str, err) -> None:
    if theta < 1:
        err(path, f"theta={theta}; expected >= 1")
    elif theta > full:
        err(path, f"threshold unreachable: theta={theta} > {full}, the largest possible "
                  "potential (every connected synapse at w_max, input at time 0)")
    elif theta > cap:
        if learns:
            err(path, f"theta={theta} > {cap}, the largest potential with the current "
                      "weights: cannot fire until learning raises them", "warning")
        else:
            err(path, f"threshold unreachable: theta={theta} > {cap}, the largest potential "
                      "with these (frozen) weights")


def _verify_random(rs: RandomSource, n_gen: int, path: str, err) -> None:
    if rs.kind not in RANDOM_KINDS:
        err(path, f"kind={rs.kind!r}; expected one of {', '.join(RANDOM_KINDS)}")
    if rs.sharing not in RANDOM_SHARING:
        err(path, f"sharing={rs.sharing!r}; expected one of {', '.join(RANDOM_SHARING)}")
    if rs.draw_bits != 10:
        err(path, f"draw_bits={rs.draw_bits}; expected 10 (B(u) compares 10-bit draws)")
    if not (rs.draw_bits <= rs.width <= 32):
        err(path, f"width={rs.width}; expected {rs.draw_bits}..32")
    if rs.steps_per_draw < 1:
        err(path, f"steps_per_draw={rs.steps_per_draw}; expected >= 1")
    if not rs.taps or any(not (1 <= t <= rs.width) for t in rs.taps) or rs.width not in rs.taps:
        err(path, f"taps={list(rs.taps)}; expected exponents in 1..{rs.width} including {rs.width}")
    if rs.seeds.shape != (n_gen,):
        err(path, f"{rs.seeds.size} seeds; expected {n_gen} (one per generator, sharing={rs.sharing})")
    else:
        bad = np.flatnonzero((rs.seeds < 1) | (rs.seeds >= (1 << rs.width)))
        if len(bad):
            err(path, f"seed {int(rs.seeds[bad[0]])} at {int(bad[0])} out of range "
                      f"1..{(1 << rs.width) - 1} (an all-zero LFSR never leaves 0)")


def check(net: Network) -> Network:
    """Raise :class:`IRValidationError` listing every error of ``net``; return it if valid."""
    errors = [d for d in verify(net) if d.severity == "error"]
    if errors:
        raise IRValidationError(errors, path=net.name)
    return net
