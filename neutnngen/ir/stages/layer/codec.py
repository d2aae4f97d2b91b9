"""JSON + NPZ codec of the ``layer`` stage kind (IR file format version 1).

A layer is ``{"type": "layer", "name", "inputs", "columns": [...], "kernel", "learning"}``;
each column's arrays are stored in the ``.npz`` under ``s<stage>/c<column>/<array>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...common import Inhibition, LearningRule, RandomSource, SynapseBank
from .nodes import Column, Kernel, Layer


def layer_to_json(st: Layer, prefix: str, arr: Callable[[str, Any, Any], str]) -> dict:
    cols = []
    for ci, c in enumerate(st.columns):
        base = f"{prefix}/c{ci}"
        cd: dict[str, Any] = {
            "name": c.name, "inputs": c.inputs, "wres": c.distal.wres,
            "distal_weights": arr(f"{base}/distal_weights", c.distal.weights, np.int16),
            "distal_mask": arr(f"{base}/distal_mask", c.distal.mask, np.bool_),
            "theta": arr(f"{base}/theta", c.theta, np.int32),
            "segment_inhibition": str(c.segment_inhibition),
            "column_inhibition": str(c.column_inhibition),
            "proximal_mode": c.proximal_mode, "proximal_inputs": c.proximal_inputs,
            **({"tie": c.tie} if c.tie != "lowest" else {}),
            "proximal": None, "proximal_theta": None, "random": None,
        }
        if c.proximal is not None:
            cd["proximal"] = {
                "wres": c.proximal.wres,
                "weights": arr(f"{base}/proximal_weights", c.proximal.weights, np.int16),
                "mask": arr(f"{base}/proximal_mask", c.proximal.mask, np.bool_),
            }
        if c.proximal_theta is not None:
            cd["proximal_theta"] = arr(f"{base}/proximal_theta", c.proximal_theta, np.int32)
        if c.random is not None:
            r = c.random
            cd["random"] = {"kind": r.kind, "width": r.width, "taps": list(r.taps),
                            "steps_per_draw": r.steps_per_draw, "draw_bits": r.draw_bits,
                            "sharing": r.sharing,
                            "seeds": arr(f"{base}/seeds", r.seeds, np.int64)}
        cols.append(cd)
    lr = st.learning
    return {
        "name": st.name, "inputs": st.inputs, "columns": cols,
        "kernel": None if st.kernel is None else {
            "height": st.kernel.height, "width": st.kernel.width,
            "channels": st.kernel.channels, "rfsize": st.kernel.rfsize,
            "stride": st.kernel.stride},
        "learning": None if lr is None else {
            "kind": lr.kind, "credit": lr.credit, "mu_capture": lr.mu_capture,
            "mu_minus": lr.mu_minus, "mu_search": lr.mu_search,
            "mu_backoff": lr.mu_backoff, "mu_min": lr.mu_min,
            # written only when not the default, so fixed-theta files stay as they were
            **({"theta": lr.theta, "theta_shift": lr.theta_shift}
               if lr.theta != "fixed" else {}),
            **({"homeostasis": lr.homeostasis, "h_step": lr.h_step, "h_shift": lr.h_shift}
               if lr.homeostasis != "none" else {}),
            **({"w_norm": lr.w_norm} if lr.w_norm else {})},
    }


def layer_from_json(st: dict, get: Callable[[str], np.ndarray]) -> Layer:
    cols = []
    for cd in st["columns"]:
        prox = None
        if cd["proximal"] is not None:
            p = cd["proximal"]
            prox = SynapseBank(get(p["weights"]), get(p["mask"]), p["wres"])
        rs = None
        if cd["random"] is not None:
            r = cd["random"]
            rs = RandomSource(seeds=get(r["seeds"]), kind=r["kind"], width=r["width"],
                              taps=tuple(r["taps"]), steps_per_draw=r["steps_per_draw"],
                              draw_bits=r["draw_bits"], sharing=r["sharing"])
        cols.append(Column(
            name=cd["name"], inputs=cd["inputs"],
            distal=SynapseBank(get(cd["distal_weights"]), get(cd["distal_mask"]), cd["wres"]),
            theta=get(cd["theta"]),
            segment_inhibition=Inhibition.parse(cd["segment_inhibition"]),
            column_inhibition=Inhibition.parse(cd["column_inhibition"]),
            proximal_mode=cd["proximal_mode"], proximal_inputs=cd["proximal_inputs"],
            proximal=prox,
            proximal_theta=None if cd["proximal_theta"] is None else get(cd["proximal_theta"]),
            random=rs, tie=cd.get("tie", "lowest")))
    k = st["kernel"]
    lr = st["learning"]
    return Layer(name=st["name"], inputs=st["inputs"], columns=tuple(cols),
                 kernel=None if k is None else Kernel(**k),
                 learning=None if lr is None else LearningRule(**lr))


# ------------------------------------------------------------------------------ schema
def _inhibition(v: Any, path: str, ctx: Any) -> None:
    from ....errors import ConfigError
    from ...common import Inhibition

    if not isinstance(v, str):
        ctx.err(path, f"expected an inhibition policy (wta1, kwta(k), twta, none), got {v!r}")
        return
    try:
        Inhibition.parse(v)
    except ConfigError as e:
        ctx.err(path, e.message)


def _column_shapes(cd: dict, path: str, ctx: Any) -> None:
    from ...schema import expect_shape

    w = ctx.array(cd["distal_weights"])
    n, d, s, p = w.shape
    if min(n, d, s) < 1:
        ctx.err(f"{path}.distal_weights", f"expected at least one neuron, dendrite and segment, "
                                          f"got shape [{n}, {d}, {s}, {p}]")
        return
    expect_shape(ctx, f"{path}.distal_weights", cd["distal_weights"], (n, d, s, cd["inputs"]),
                 "neurons, dendrites, segments, inputs")
    expect_shape(ctx, f"{path}.distal_mask", cd["distal_mask"], w.shape, "as distal_weights")
    expect_shape(ctx, f"{path}.theta", cd["theta"], (n, d, s), "neurons, dendrites, segments")
    P, mode, prox = cd["proximal_inputs"], cd["proximal_mode"], cd["proximal"]
    if prox is not None:
        pw = ctx.array(prox["weights"])
        want = (n, P) if mode == "gate" else (n, d, s, P)
        if expect_shape(ctx, f"{path}.proximal.weights", prox["weights"], want):
            expect_shape(ctx, f"{path}.proximal.mask", prox["mask"], pw.shape, "as its weights")
    if cd["proximal_theta"] is not None:
        expect_shape(ctx, f"{path}.proximal_theta", cd["proximal_theta"], (n,), "neurons")
    r = cd["random"]
    if r is not None:
        if any(t > r["width"] for t in r["taps"]):
            ctx.err(f"{path}.random.taps", f"expected taps 1..width={r['width']}, got {r['taps']}")
        if r["draw_bits"] > r["width"]:
            ctx.err(f"{path}.random.draw_bits", f"expected at most width={r['width']}, "
                                                f"got {r['draw_bits']}")
        seeds = ctx.array(r["seeds"])
        if seeds.size and int(seeds.max()) >= (1 << r["width"]):
            ctx.err(f"{path}.random.seeds", f"expected values 1..{(1 << r['width']) - 1} "
                                            f"(width={r['width']}), got {int(seeds.max())}")


def _w_max(obj: dict) -> int:
    return (1 << obj["wres"]) - 1 if isinstance(obj.get("wres"), int) and \
        not isinstance(obj.get("wres"), bool) and 1 <= obj["wres"] <= 8 else None


def layer_schema():
    """The JSON schema of a ``layer`` stage (see :mod:`neutnngen.ir.schema`)."""
    from ...common import (
        CREDITS,
        LEARNING_KINDS,
        MU_ONE,
        PROXIMAL_MODES,
        RANDOM_KINDS,
        RANDOM_SHARING,
    )
    from ...schema import Arr, Custom, Int, ListOf, Nullable, Obj, Str

    big = 1 << 24
    inh = Custom(_inhibition)
    column = Obj({
        "name": Str(max_len=200), "inputs": Int(1, big), "wres": Int(1, 8),
        "distal_weights": Arr("int", 4, lo=0, hi=_w_max),
        "distal_mask": Arr("bool", 4),
        "theta": Arr("int", 3, lo=1, hi=1 << 40),
        "segment_inhibition": inh, "column_inhibition": inh,
        "proximal_mode": Str(PROXIMAL_MODES), "proximal_inputs": Int(0, big),
        "proximal": Nullable(Obj({"wres": Int(1, 8), "weights": Arr("int", None, lo=0, hi=_w_max),
                                  "mask": Arr("bool")})),
        "proximal_theta": Nullable(Arr("int", 1, lo=1, hi=1 << 40)),
        "random": Nullable(Obj({
            "kind": Str(RANDOM_KINDS), "width": Int(1, 32), "taps": ListOf(Int(1, 32), 1, 32),
            "steps_per_draw": Int(1, 1 << 16), "draw_bits": Int(1, 32),
            "sharing": Str(RANDOM_SHARING), "seeds": Arr("int", 1, lo=1, hi=(1 << 32) - 1)})),
    }, optional={"tie": Str(("lowest", "overshoot"))}, check_fn=_column_shapes)
    mu = Int(0, MU_ONE)
    return Obj({
        "type": Str(("layer",)), "name": Str(max_len=200), "inputs": Int(1, big),
        "columns": ListOf(column, 1, big),
        "kernel": Nullable(Obj({k: Int(1, 1 << 16) for k in
                                ("height", "width", "channels", "rfsize", "stride")})),
        "learning": Nullable(Obj({"kind": Str(LEARNING_KINDS), "credit": Str(CREDITS),
                                  **{f"mu_{k}": mu for k in
                                     ("capture", "minus", "search", "backoff", "min")}},
                                 # written only when on (docs/model.md §5, v3)
                                 optional={"theta": Str(("fixed", "relative")),
                                           "theta_shift": Int(0, 16),
                                           "homeostasis": Str(("none", "winrate")),
                                           "h_step": Int(0, 1024),
                                           "h_shift": Int(0, 16),
                                           "w_norm": Int(0, 256)})),
    })
