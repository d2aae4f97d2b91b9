"""PyTorch model <-> IR.

* :func:`to_torch` builds a :class:`~neutnngen.model.TNNNetwork` from an IR ``Network``
  (weights, masks, thresholds, policies, learning rules, random sources and their current
  states, names and provenance), e.g. to continue training or to run batched inference.
* :func:`from_torch` lowers a trained model back to the IR. ``from_torch(to_torch(net))``
  has exactly the text of ``net`` (:func:`neutnngen.ir.to_text`).

Every stage goes through its kind's torch record (:mod:`neutnngen.model.kinds`). Supported
modules: ``TNNNetwork``; a single ``TNNColumns`` or stage module of a layer kind
(``TNNLayer``: a one-layer network); ``nn.Sequential`` of stage modules (``TNNLayer``,
``TNNRetime``, ...). Anything else raises :class:`~neutnngen.errors.FrontendError` naming
the module type and the supported set.
"""

from __future__ import annotations

from torch import nn

from ..errors import FrontendError
from ..ir.common import TimeSpec
from ..ir.network import Network
from ..ir.stages.layer.nodes import Layer
from ..ir.verify import check
from ..model.columns import TNNColumns
from ..model.convert import (
    is_stage_module,
    network_from_torch,
    network_to_torch,
    stages_from_torch,
)
from ..model.kinds import supported_modules, torch_kind_of
from ..model.network import TNNNetwork
from ..model.stages.layer.convert import columns_to_ir

to_torch = network_to_torch


def supported() -> str:
    return f"TNNNetwork, TNNColumns, {supported_modules()}, nn.Sequential of stage modules"


def _time_of(mods) -> TimeSpec:
    for st in mods:
        t = torch_kind_of(st).time_of(st)
        if t is not None:
            return t
    raise FrontendError("no stage to take the time base from; supported: " + supported())


def from_torch(model: nn.Module, name: str | None = None) -> Network:
    """The IR ``Network`` of a trained model (validated). See the module docstring."""
    if isinstance(model, TNNNetwork):
        return network_from_torch(model)
    if isinstance(model, TNNColumns):
        layer = Layer("layer0", model.p, tuple(columns_to_ir(model, "layer0")))
        net = Network(name or "net", model.time, model.p, (layer,))
    elif is_stage_module(model):
        tk = torch_kind_of(model)
        if not tk.ir.is_layer:
            raise FrontendError(f"a lone {type(model).__name__} is not a network (it has no "
                                f"layer); supported: {supported()}")
        net = Network(name or model.name, _time_of([model]), tk.inputs_of(model),
                      (tk.from_torch(model, model.name),))
    elif isinstance(model, nn.Sequential):
        mods = list(model)
        first = next((m for m in mods if is_stage_module(m) and torch_kind_of(m).ir.is_layer),
                     None)
        if first is None:
            raise FrontendError("nn.Sequential without a layer module (TNNLayer, ...); "
                                "supported: " + supported())
        nm = name or "net"
        net = Network(nm, _time_of([first]), torch_kind_of(first).inputs_of(first),
                      tuple(stages_from_torch(mods, nm)))
    else:
        raise FrontendError(f"unsupported {type(model).__name__}; supported: {supported()}")
    return check(net)
