"""Torch level of the toy ``delay`` stage kind."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from neutnngen.ir.common import NONE, TimeSpec
from neutnngen.model.kinds import TorchKind

from .ir import Delay


class TNNDelay(nn.Module):
    """``x'[j] = min(x[j] + d[j], t_max)``, NONE stays NONE (integer tensors)."""

    def __init__(self, name: str, d, t_max: int):
        super().__init__()
        self.name, self.t_max = name, int(t_max)
        self.register_buffer("d", torch.as_tensor(np.array(d, dtype=np.int64)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.d.device).long()
        return torch.where(x < 0, torch.full_like(x, NONE),
                           torch.clamp(x + self.d, max=self.t_max))


class DelayTorchKind(TorchKind):
    name = "delay"
    module = TNNDelay

    def to_torch(self, node: Delay, time: TimeSpec) -> TNNDelay:
        return TNNDelay(node.name, node.d, node.t_max)

    def from_torch(self, module: TNNDelay, path: str) -> Delay:
        return Delay(module.name, module.d.detach().cpu().numpy(), module.t_max)


TORCH_KIND = DelayTorchKind()
