"""The torch module of the ``layer`` stage kind: :class:`TNNLayer`, columns side by side.

A :class:`TNNLayer` holds its columns in *groups*: every group is one
:class:`~neutnngen.model.columns.TNNColumns` stack of columns with the same shape and
options (most layers are one group; a layer whose columns differ in shape becomes several).
``column_index[c]`` lists the layer-input lines of column ``c`` (all lines, or the ``Kernel``
window ``c``). The layer output is its columns' neuron times concatenated in column order,
exactly as the IR.
"""

from __future__ import annotations

import torch
from torch import nn

from ....ir.common import NONE, LearningRule
from ....ir.stages.layer.nodes import Kernel
from ...columns import ColumnsTrace, TNNColumns


class TNNLayer(nn.Module):
    """Columns side by side (see the module docstring); the torch module of IR ``Layer``."""

    def __init__(self, name: str, inputs: int, groups: list[TNNColumns],
                 group_columns: list[list[int]], kernel: Kernel | None = None,
                 learning: LearningRule | None = None):
        super().__init__()
        self.name = name
        self.inputs = int(inputs)
        self.kernel = kernel
        self.learning = learning
        self.groups = nn.ModuleList(groups)
        self.group_columns = [list(map(int, g)) for g in group_columns]
        n_cols = sum(len(g) for g in self.group_columns)
        q = [0] * n_cols
        P = [0] * n_cols
        for grp, cols in zip(groups, self.group_columns, strict=True):
            for c in cols:
                q[c] = grp.q
                P[c] = grp.P
        self.column_neurons = q
        self.column_proximal = P
        self.out_offsets = [sum(q[:c]) for c in range(n_cols)]
        self.prox_offsets = [sum(P[:c]) for c in range(n_cols)]
        if kernel is None:
            idx = torch.arange(self.inputs)[None, :].repeat(n_cols, 1)
        else:
            idx = torch.stack([torch.as_tensor(kernel.window(c)) for c in range(n_cols)])
        self.register_buffer("column_index", idx.long())
        for gi, cols in enumerate(self.group_columns):
            self.register_buffer(f"_cols{gi}", torch.tensor(cols, dtype=torch.long), persistent=False)
            oi = torch.tensor([self.out_offsets[c] + i for c in cols for i in range(q[c])],
                              dtype=torch.long)
            self.register_buffer(f"_outidx{gi}", oi, persistent=False)
            pi = torch.tensor([self.prox_offsets[c] + i for c in cols for i in range(P[c])],
                              dtype=torch.long)
            self.register_buffer(f"_proxidx{gi}", pi, persistent=False)
        self._identity = (len(self.group_columns) == 1
                          and self.group_columns[0] == list(range(n_cols)))

    @property
    def n_columns(self) -> int:
        return len(self.column_neurons)

    @property
    def outputs(self) -> int:
        return sum(self.column_neurons)

    @property
    def proximal_inputs(self) -> int:
        return sum(self.column_proximal)

    def group_inputs(self, gi: int, h: torch.Tensor) -> torch.Tensor:
        """Input volleys ``[B, Cg, p]`` of group ``gi`` from the layer input ``h[B, inputs]``."""
        cols = getattr(self, f"_cols{gi}")
        idx = self.column_index[cols]  # [Cg, p]
        if self.kernel is None:
            return h[:, None, :].expand(h.shape[0], idx.shape[0], h.shape[1])
        return h[:, idx]

    def group_proximal(self, gi: int, prox: torch.Tensor | None) -> torch.Tensor | None:
        """Proximal lines ``[B, Cg, P]`` of group ``gi`` from the layer's ``prox[B, sum P]``."""
        grp = self.groups[gi]
        if prox is None or grp.P == 0:
            return None
        pi = getattr(self, f"_proxidx{gi}")
        return prox[:, pi].reshape(prox.shape[0], grp.C, grp.P)

    def forward(self, h: torch.Tensor, prox: torch.Tensor | None = None,
                return_traces: bool = False):
        B = h.shape[0]
        dev = self.column_index.device
        h = h.to(dev)
        if prox is not None:
            prox = torch.as_tensor(prox, device=dev).long()
        traces: list[ColumnsTrace] = []
        if self._identity:
            tr = self.groups[0](self.group_inputs(0, h), self.group_proximal(0, prox))
            traces.append(tr)
            out = tr.out.reshape(B, -1)
        else:
            out = torch.full((B, self.outputs), NONE, dtype=torch.long, device=dev)
            for gi, grp in enumerate(self.groups):
                tr = grp(self.group_inputs(gi, h), self.group_proximal(gi, prox))
                traces.append(tr)
                out[:, getattr(self, f"_outidx{gi}")] = tr.out.reshape(B, -1)
        return (out, traces) if return_traces else out

    def extra_repr(self) -> str:
        return f"name={self.name!r}, inputs={self.inputs}, kernel={self.kernel}, learning={self.learning}"
