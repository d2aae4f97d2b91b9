"""Torch side of the ``act`` stage kind (:mod:`neutnngen.ir.stages.act`): the same clamp on
int64 tensors."""

from __future__ import annotations

import torch
from torch import nn

from ...ir.common import TimeSpec
from ...ir.stages.act import Act
from ..kinds import TorchKind


class ANNAct(nn.Module):
    def __init__(self, node: Act):
        super().__init__()
        self.node = node
        self.name = node.name

    def forward(self, x: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
        lo, hi = self.node.range
        return torch.clamp(torch.as_tensor(x).to(torch.int64), lo, hi)

    def to_node(self) -> Act:
        return self.node


class ActTorchKind(TorchKind):
    name = "act"
    module = ANNAct

    def to_torch(self, node, time: TimeSpec) -> nn.Module:
        return ANNAct(node)

    def from_torch(self, module, path):
        return module.to_node()


KIND = ActTorchKind()
