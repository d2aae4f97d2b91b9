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
               if lr.homeostasis != "none" else {})},
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
