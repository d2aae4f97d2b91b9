"""The torch network: stage modules in sequence, mirroring the IR's ``Network``.

Each stage is the torch module of its stage kind (:mod:`neutnngen.model.kinds`):
:class:`TNNLayer` for ``layer``, :class:`TNNRetime` for ``retime``, ... Layer modules get
their side (proximal) lines; the others only the volley.
"""

from __future__ import annotations

import torch
from torch import nn

from ..ir.common import TimeSpec
from .kinds import torch_kind_of
from .stages.layer.module import TNNLayer
from .stages.retime import TNNRetime


def is_layer(module: nn.Module) -> bool:
    """Whether a stage module is of a *layer* kind (see :class:`~neutnngen.ir.kinds.StageKind`)."""
    return torch_kind_of(module).ir.is_layer


class TNNNetwork(nn.Module):
    """Stages in sequence (an IR ``Network``)."""

    def __init__(self, name: str, time: TimeSpec, inputs: int, stages: list[nn.Module],
                 meta: tuple[tuple[str, str], ...] = ()):
        super().__init__()
        self.name = name
        self.time = time
        self.inputs = int(inputs)
        self.stages = nn.ModuleList(stages)
        self.meta = tuple(meta)

    @property
    def layers(self) -> list[nn.Module]:
        return [s for s in self.stages if is_layer(s)]

    @property
    def outputs(self) -> int:
        layers = self.layers
        return layers[-1].outputs if layers else self.inputs

    @property
    def device(self) -> torch.device:
        for b in self.buffers():
            return b.device
        return torch.device("cpu")

    def forward(self, x: torch.Tensor, proximal: dict[int, torch.Tensor] | None = None,
                all_layers: bool = False, upto: int | None = None):
        """Output volleys of the last layer for input volleys ``x[B, inputs]`` (NONE = -1).

        ``proximal[k]``: proximal lines ``[B, sum P]`` of layer ``k``. ``all_layers``:
        the list of every layer's outputs. ``upto=k``: stop before layer ``k`` and return
        its input volleys (after any retime)."""
        h = torch.as_tensor(x, device=self.device)
        proximal = proximal or {}
        outs = []
        li = -1
        for st in self.stages:
            if not is_layer(st):
                h = st(h)
                continue
            li += 1
            if upto is not None and li == upto:
                return h
            h = st(h, proximal.get(li))
            outs.append(h)
        if upto is not None:
            return h
        return outs if all_layers else h

    def extra_repr(self) -> str:
        return f"name={self.name!r}, inputs={self.inputs}, time={self.time}"


__all__ = ["TNNLayer", "TNNNetwork", "TNNRetime", "is_layer"]
