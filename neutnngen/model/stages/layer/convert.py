"""IR ``Layer`` <-> :class:`TNNLayer` (weights, masks, thresholds, policies, learning rules,
random sources and their current states, names). ``layer_from_torch(layer_to_torch(l))``
has exactly the text of ``l``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ....errors import FrontendError
from ....ir.common import RandomSource, SynapseBank, TimeSpec
from ....ir.stages.layer.nodes import Column, Layer
from ...columns import TNNColumns
from .module import TNNLayer


def _random_params(rs: RandomSource | None) -> tuple | None:
    if rs is None:
        return None
    return (rs.kind, rs.width, tuple(rs.taps), rs.steps_per_draw, rs.draw_bits, rs.sharing)


def _signature(col: Column) -> tuple:
    return (col.inputs, col.neurons, col.dendrites, col.segments, col.distal.wres,
            str(col.segment_inhibition), str(col.column_inhibition), col.proximal_mode,
            col.proximal_inputs, None if col.proximal is None else col.proximal.wres,
            _random_params(col.random), col.tie)


def _group_module(cols: list[Column], time: TimeSpec) -> TNNColumns:
    c0 = cols[0]
    rp = _random_params(c0.random)
    random = None
    if rp is not None:
        random = dict(zip(("kind", "width", "taps", "steps_per_draw", "draw_bits", "sharing"), rp,
                          strict=True))
    m = TNNColumns(len(cols), c0.inputs, c0.neurons, c0.dendrites, c0.segments, time=time,
                   wres=c0.distal.wres, segment_inhibition=c0.segment_inhibition,
                   column_inhibition=c0.column_inhibition, proximal_mode=c0.proximal_mode,
                   proximal_inputs=c0.proximal_inputs,
                   proximal_wres=None if c0.proximal is None else c0.proximal.wres,
                   random=random, names=[c.name for c in cols])
    m.tie = c0.tie  # M1 (part of the group key)
    with torch.no_grad():
        m.weight.copy_(torch.as_tensor(np.stack([c.distal.weights for c in cols])))
        m.mask.copy_(torch.as_tensor(np.stack([c.distal.mask for c in cols])))
        m.theta.copy_(torch.as_tensor(np.stack([c.theta for c in cols])))
        if m.proximal_weight is not None:
            m.proximal_weight.copy_(torch.as_tensor(np.stack([c.proximal.weights for c in cols])))
            m.proximal_mask.copy_(torch.as_tensor(np.stack([c.proximal.mask for c in cols])))
        if m.proximal_theta is not None:
            m.proximal_theta.copy_(torch.as_tensor(np.stack([c.proximal_theta for c in cols])))
        if m.seeds is not None:
            m.seeds.copy_(torch.as_tensor(np.stack([c.random.seeds for c in cols])))
    return m


def layer_to_torch(layer: Layer, time: TimeSpec) -> TNNLayer:
    groups: dict[tuple, list[int]] = {}
    for ci, col in enumerate(layer.columns):
        groups.setdefault(_signature(col), []).append(ci)
    mods = [_group_module([layer.columns[c] for c in cols], time) for cols in groups.values()]
    return TNNLayer(layer.name, layer.inputs, mods, list(groups.values()), layer.kernel,
                    layer.learning)


# --------------------------------------------------------------------------- lowering
def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu").numpy().astype(np.int64)


def columns_to_ir(m: TNNColumns, path: str) -> list[Column]:
    """The IR columns of a :class:`TNNColumns` stack."""
    if m.weight.dtype.is_floating_point:
        raise FrontendError("weights must be integer tensors (STDP-trained), got "
                            f"{m.weight.dtype}", path)
    out = []
    W, M, TH = _np(m.weight), m.mask.detach().cpu().numpy().astype(bool), _np(m.theta)
    for c in range(m.C):
        prox = None
        ptheta = None
        if m.proximal_weight is not None:
            pm = m.proximal_mask[c].detach().cpu().numpy().astype(bool)
            prox = SynapseBank(np.where(pm, _np(m.proximal_weight[c]), 0), pm, m.proximal_wres)
        if m.proximal_theta is not None:
            ptheta = _np(m.proximal_theta[c])
        rs = None
        if m.random is not None:
            rs = RandomSource(seeds=_np(m.seeds[c]), **m.random)
        out.append(Column(
            name=m.names[c], inputs=m.p,
            distal=SynapseBank(np.where(M[c], W[c], 0), M[c], m.wres),
            theta=TH[c], segment_inhibition=m.segment_inhibition,
            column_inhibition=m.column_inhibition, proximal_mode=m.proximal_mode,
            proximal_inputs=m.P, proximal=prox, proximal_theta=ptheta, random=rs,
            tie=m.tie))
    return out


def layer_from_torch(layer: TNNLayer, path: str) -> Layer:
    cols: list[Column | None] = [None] * layer.n_columns
    for gi, (grp, idx) in enumerate(zip(layer.groups, layer.group_columns, strict=True)):
        if not isinstance(grp, TNNColumns):
            raise FrontendError(f"unsupported {type(grp).__name__} in a layer; supported: "
                                "TNNColumns", f"{path}/group{gi}")
        for c, col in zip(idx, columns_to_ir(grp, f"{path}/group{gi}"), strict=True):
            cols[c] = col
    return Layer(layer.name, layer.inputs, tuple(cols), layer.kernel, layer.learning)


def trained_layer(layer: Layer, tl: TNNLayer, exact: bool) -> Layer:
    """``layer`` with the weights (and, ``exact``, generator states) of ``tl``, built like
    the interpreter's ``LayerState.to_node`` (only weights and seeds change, and the
    thresholds with a relative-threshold rule)."""
    cols = list(layer.columns)
    for gi, m in enumerate(tl.groups):
        W = m.weight.detach().cpu().numpy().astype(np.int64)
        PW = (None if m.proximal_weight is None
              else m.proximal_weight.detach().cpu().numpy().astype(np.int64))
        S = None if m.seeds is None else m.seeds.detach().cpu().numpy().astype(np.int64)
        for k, c in enumerate(tl.group_columns[gi]):
            col = cols[c].with_weights(W[k], None if PW is None else PW[k])
            if exact and col.random is not None and S is not None:
                col = replace(col, random=replace(col.random, seeds=S[k]))
            lr = layer.learning
            if lr is not None and (lr.theta == "relative" or lr.homeostasis == "winrate"):
                # M2: the thresholds moved with the weights (docs/model.md §5)
                col = replace(col, theta=m.theta[k].detach().cpu().numpy().astype(np.int64))
            cols[c] = col
    return replace(layer, columns=tuple(cols))
