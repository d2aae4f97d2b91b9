"""Verifier of the ``layer`` stage kind: kernel wiring, columns, banks, thresholds, random
sources (every problem with its IR path)."""

from __future__ import annotations

import numpy as np

from ...common import PROXIMAL_MODES, LearningRule, TimeSpec
from ...kinds import Err, StageContext
from ...verify import verify_bank, verify_inhibition, verify_learning, verify_random
from .nodes import Column, Layer


def verify_layer(layer: Layer, ctx: StageContext, err: Err) -> None:
    """Check ``layer`` in its place: its inputs are the previous stage's lines, whose times
    must fit ``t_max_in`` (a saturating ``Retime`` before it makes them fit)."""
    ts, spath = ctx.time, ctx.path
    if layer.inputs != ctx.width:
        err(spath, f"inputs={layer.inputs} but the previous stage delivers {ctx.width} lines")
    if ctx.max_time > ts.t_max_in:
        err(
            spath,
            f"input times reach {ctx.max_time} > t_max_in={ts.t_max_in}: silent truncation; "
            "insert an explicit Retime stage before this layer",
        )
    _verify_layer(layer, spath, ts, err)


def _verify_layer(layer: Layer, path: str, ts: TimeSpec, err: Err) -> None:
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
        verify_learning(layer.learning, f"{path}/learning", err)
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


def _verify_column(col: Column, path: str, ts: TimeSpec, learning: LearningRule | None,
                   err: Err) -> None:
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
    verify_bank(col.distal, (q, d, s, col.inputs), f"{path}/distal", err)
    if col.theta.shape != (q, d, s):
        err(f"{path}/theta", f"shape {col.theta.shape}; expected {(q, d, s)}")
        return
    verify_inhibition(col.segment_inhibition, s, f"{path}/segment_inhibition", err)
    verify_inhibition(col.column_inhibition, q, f"{path}/column_inhibition", err)
    if col.tie not in ("lowest", "overshoot"):
        err(path, f"tie={col.tie!r}; expected lowest or overshoot")
    elif col.tie == "overshoot" and col.proximal_mode == "gate":
        err(path, "tie=overshoot is not defined for proximal_mode=gate; use tie=lowest")
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
            elif verify_bank(col.proximal, (q, d, s, P), f"{path}/proximal", err):
                prox_w = col.proximal.weights.sum(axis=-1)
    elif col.proximal_mode == "enable":
        if P != q:
            err(path, f"proximal_mode=enable needs proximal_inputs == neurons ({q}); got {P}")
        if col.proximal is not None:
            err(f"{path}/proximal", "proximal_mode=enable takes 1-bit lines, not synapses")
    else:  # gate
        if col.proximal is None or P < 1:
            err(f"{path}/proximal", "proximal_mode=gate needs a proximal bank [neurons, P] with P >= 1")
        elif verify_bank(col.proximal, (q, P), f"{path}/proximal", err):
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
    # M2 / M5 move a learning segment's threshold every wave, above its largest possible
    # potential too (a frequent winner's counter, a relative offset): it then cannot fire
    # until the threshold comes down, which is a state of learning, not a broken IR
    moving = learning is not None and (learning.theta == "relative"
                                       or learning.homeostasis == "winrate")
    for i in range(q):
        for j in range(d):
            for k in range(s):
                _check_theta(int(col.theta[i, j, k]), int(cap[i, j, k]), int(full[i, j, k]),
                             learning is not None, f"{path}/n{i}/d{j}/s{k}", err, moving)
    # Random source.
    rs = col.random
    if learning is not None and rs is None:
        err(f"{path}/random", "the layer learns but the column has no RandomSource")
    if rs is not None:
        verify_random(rs, col.n_generators(), f"{path}/random", err)


def _check_theta(theta: int, cap: int, full: int, learns: bool, path: str, err: Err,
                 moving: bool = False) -> None:
    if theta < 1:
        err(path, f"theta={theta}; expected >= 1")
    elif theta > full and moving:
        err(path, f"theta={theta} > {full}, the largest possible potential: cannot fire "
                  "until its relative threshold or win-rate counter brings it down", "warning")
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
