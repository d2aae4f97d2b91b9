"""PyTorch model <-> IR.

* :func:`to_torch` builds a :class:`~neutnngen.model.TNNNetwork` from an IR ``Network``
  (weights, masks, thresholds, policies, learning rules, random sources and their current
  states, names and provenance), e.g. to continue training or to run batched inference.
* :func:`from_torch` lowers a trained model back to the IR. ``from_torch(to_torch(net))``
  has exactly the text of ``net`` (:func:`neutnngen.ir.to_text`).

Supported modules: ``TNNNetwork``; a single ``TNNLayer`` or ``TNNColumns`` (one-layer
network); ``nn.Sequential`` of ``TNNLayer`` and ``TNNRetime``. Anything else raises
:class:`~neutnngen.errors.FrontendError`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import FrontendError
from ..ir.nodes import Column, Layer, Network, RandomSource, Retime, SynapseBank, TimeSpec
from ..ir.verify import check
from ..model.columns import TNNColumns
from ..model.network import TNNLayer, TNNNetwork, TNNRetime

SUPPORTED = "TNNNetwork, TNNLayer, TNNColumns, nn.Sequential of TNNLayer/TNNRetime"


def _random_params(rs: RandomSource | None) -> tuple | None:
    if rs is None:
        return None
    return (rs.kind, rs.width, tuple(rs.taps), rs.steps_per_draw, rs.draw_bits, rs.sharing)


def _signature(col: Column) -> tuple:
    return (col.inputs, col.neurons, col.dendrites, col.segments, col.distal.wres,
            str(col.segment_inhibition), str(col.column_inhibition), col.proximal_mode,
            col.proximal_inputs, None if col.proximal is None else col.proximal.wres,
            _random_params(col.random))


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


def to_torch(net: Network, device: str | torch.device | None = None) -> TNNNetwork:
    """A :class:`TNNNetwork` with the IR's weights and state (validated first)."""
    check(net)
    stages: list[nn.Module] = []
    for st in net.stages:
        if isinstance(st, Retime):
            stages.append(TNNRetime(st.name, st.shift, st.t_max))
        else:
            stages.append(layer_to_torch(st, net.time))
    model = TNNNetwork(net.name, net.time, net.inputs, stages, net.meta)
    if device is not None:
        model = model.to(device)
    return model


# --------------------------------------------------------------------------- lowering
def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu").numpy().astype(np.int64)


def _columns_to_ir(m: TNNColumns, path: str) -> list[Column]:
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
            proximal_inputs=m.P, proximal=prox, proximal_theta=ptheta, random=rs))
    return out


def _layer_to_ir(layer: TNNLayer, path: str) -> Layer:
    cols: list[Column | None] = [None] * layer.n_columns
    for gi, (grp, idx) in enumerate(zip(layer.groups, layer.group_columns, strict=True)):
        if not isinstance(grp, TNNColumns):
            raise FrontendError(f"unsupported {type(grp).__name__} in a layer; supported: "
                                "TNNColumns", f"{path}/group{gi}")
        for c, col in zip(idx, _columns_to_ir(grp, f"{path}/group{gi}"), strict=True):
            cols[c] = col
    return Layer(layer.name, layer.inputs, tuple(cols), layer.kernel, layer.learning)


def _stages_to_ir(mods, path: str) -> list:
    stages = []
    for i, st in enumerate(mods):
        if isinstance(st, TNNRetime):
            stages.append(Retime(st.name, st.shift, st.t_max))
        elif isinstance(st, TNNLayer):
            stages.append(_layer_to_ir(st, f"{path}/{st.name}"))
        else:
            raise FrontendError(f"unsupported {type(st).__name__}; supported: TNNLayer, TNNRetime",
                                f"{path}/stage{i}")
    return stages


def _time_of(mods) -> TimeSpec:
    for st in mods:
        if isinstance(st, TNNLayer) and len(st.groups):
            return st.groups[0].time
    raise FrontendError("no TNNLayer to take the time base from; supported: " + SUPPORTED)


def from_torch(model: nn.Module, name: str | None = None) -> Network:
    """The IR ``Network`` of a trained model (validated). See the module docstring."""
    if isinstance(model, TNNNetwork):
        net = Network(model.name, model.time, model.inputs,
                      tuple(_stages_to_ir(model.stages, model.name)), model.meta)
    elif isinstance(model, TNNLayer):
        net = Network(name or model.name, _time_of([model]), model.inputs,
                      (_layer_to_ir(model, model.name),))
    elif isinstance(model, TNNColumns):
        layer = Layer("layer0", model.p, tuple(_columns_to_ir(model, "layer0")))
        net = Network(name or "net", model.time, model.p, (layer,))
    elif isinstance(model, nn.Sequential):
        mods = list(model)
        first = next((m for m in mods if isinstance(m, TNNLayer)), None)
        if first is None:
            raise FrontendError("nn.Sequential without a TNNLayer; supported: " + SUPPORTED)
        net = Network(name or "net", _time_of(mods), first.inputs,
                      tuple(_stages_to_ir(mods, name or "net")))
    else:
        raise FrontendError(f"unsupported {type(model).__name__}; supported: {SUPPORTED}")
    return check(net)
