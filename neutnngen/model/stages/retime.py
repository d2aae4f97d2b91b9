"""Torch side of the ``retime`` stage kind: :class:`TNNRetime`."""

from __future__ import annotations

import torch
from torch import nn

from ...ir.common import NONE, TimeSpec
from ...ir.stages.retime import Retime
from ..kinds import TorchKind


class TNNRetime(nn.Module):
    """Saturating retime between layers: ``x' = min(z >> shift, t_max)``, NONE stays NONE."""

    def __init__(self, name: str, shift: int, t_max: int):
        super().__init__()
        self.name, self.shift, self.t_max = name, int(shift), int(t_max)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.where(z < 0, torch.full_like(z, NONE),
                           torch.clamp(z >> self.shift, max=self.t_max))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, shift={self.shift}, t_max={self.t_max}"


class RetimeTorchKind(TorchKind):
    name = "retime"
    module = TNNRetime

    def to_torch(self, node: Retime, time: TimeSpec) -> TNNRetime:
        return TNNRetime(node.name, node.shift, node.t_max)

    def from_torch(self, module: TNNRetime, path: str) -> Retime:
        return Retime(module.name, module.shift, module.t_max)


KIND = RetimeTorchKind()
