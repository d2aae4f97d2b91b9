"""Layers and networks of :class:`TNNColumns`, mirroring the IR's ``Layer``/``Retime``/``Network``.

A :class:`TNNLayer` holds its columns in *groups*: every group is one :class:`TNNColumns`
stack of columns with the same shape and options (most layers are one group; a layer whose
columns differ in shape becomes several). ``column_index[c]`` lists the layer-input lines
of column ``c`` (all lines, or the ``Kernel`` window ``c``). The layer output is its
columns' neuron times concatenated in column order, exactly as the IR.
"""

from __future__ import annotations

import torch
from torch import nn

from ..ir.nodes import NONE, Kernel, LearningRule, TimeSpec
from .columns import ColumnsTrace, TNNColumns


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


class TNNLayer(nn.Module):
    """Columns side by side (see the module docstring)."""

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


class TNNNetwork(nn.Module):
    """Layers and retimes in sequence (an IR ``Network``)."""

    def __init__(self, name: str, time: TimeSpec, inputs: int, stages: list[nn.Module],
                 meta: tuple[tuple[str, str], ...] = ()):
        super().__init__()
        self.name = name
        self.time = time
        self.inputs = int(inputs)
        self.stages = nn.ModuleList(stages)
        self.meta = tuple(meta)

    @property
    def layers(self) -> list[TNNLayer]:
        return [s for s in self.stages if isinstance(s, TNNLayer)]

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
            if isinstance(st, TNNRetime):
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
