"""IR ``Network`` <-> :class:`TNNNetwork`, stage by stage through the torch kind registry.

``network_from_torch(network_to_torch(net))`` has exactly the text of ``net``. Forms other
than a whole network (a single layer, ``nn.Sequential``) are the frontend's business
(:mod:`neutnngen.frontend.convert`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import FrontendError
from ..ir.kinds import kind_of
from ..ir.network import Network
from ..ir.verify import check
from .kinds import supported_modules, torch_kind_named, torch_kind_of
from .network import TNNNetwork


def network_to_torch(net: Network, device: str | torch.device | None = None) -> TNNNetwork:
    """A :class:`TNNNetwork` with the IR's weights and state (validated first; a stage kind
    without a torch module is a :class:`FrontendError`)."""
    check(net)
    stages = [torch_kind_named(kind_of(st).name).to_torch(st, net.time) for st in net.stages]
    model = TNNNetwork(net.name, net.time, net.inputs, stages, net.meta)
    if device is not None:
        model = model.to(device)
    return model


def stages_from_torch(mods, path: str) -> list:
    """The IR nodes of stage modules (:class:`FrontendError` naming an unsupported one)."""
    stages = []
    for i, st in enumerate(mods):
        try:
            tk = torch_kind_of(st)
        except FrontendError:
            raise FrontendError(f"unsupported {type(st).__name__}; supported: "
                                f"{supported_modules()}", f"{path}/stage{i}") from None
        stages.append(tk.from_torch(st, f"{path}/{getattr(st, 'name', f'stage{i}')}"))
    return stages


def network_from_torch(model: TNNNetwork) -> Network:
    """The IR ``Network`` of a :class:`TNNNetwork` (validated)."""
    if not isinstance(model, TNNNetwork):
        raise FrontendError(f"unsupported {type(model).__name__}; expected TNNNetwork")
    return check(Network(model.name, model.time, model.inputs,
                         tuple(stages_from_torch(model.stages, model.name)), model.meta))


def is_stage_module(module: nn.Module) -> bool:
    """Whether ``module`` is the torch module of a known stage kind."""
    try:
        torch_kind_of(module)
    except FrontendError:
        return False
    return True
