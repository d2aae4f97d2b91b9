"""Torch side of the ``lut`` stage kind (docs/model.md §12): :class:`TNNLut`, bit-exact
with the interpreter, and the host-side table training :func:`train_lut` (deterministic
with the seed: the line subsets come from ``numpy.random.default_rng(seed)``, the votes
from per-code class counts)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...ir.common import NONE, TimeSpec
from ...ir.stages.lut import K_MAX, K_MIN, Lut, code_bits, lut_codes, pairs
from ..kinds import TorchKind


class TNNLut(nn.Module):
    """Spiking look-up table on integer spike times ``[B, lines]`` (NONE = -1)."""

    def __init__(self, name: str, lines, table, vbits: int, theta: int, shift: int,
                 t_max: int):
        super().__init__()
        self.name, self.vbits = name, int(vbits)
        self.theta, self.shift, self.t_max = int(theta), int(shift), int(t_max)
        self.register_buffer("lines", torch.as_tensor(np.array(lines, dtype=np.int64)))
        self.register_buffer("table", torch.as_tensor(np.array(table, dtype=np.int64)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.lines.device).long()
        t = x[:, self.lines]  # [B, tables, k]
        spk = t >= 0
        code = torch.zeros(t.shape[:2], dtype=torch.long, device=t.device)
        for p, (a, b) in enumerate(pairs(t.shape[2])):
            earlier = spk[..., a] & (~spk[..., b] | (t[..., a] < t[..., b]))
            code |= earlier.long() << p
        idx = torch.arange(self.table.shape[0], device=t.device)[None, :]
        S = self.table[idx, code].sum(dim=1)  # [B, outputs]
        top = S.max(dim=1, keepdim=True).values
        out = torch.clamp((top - S) >> self.shift, max=self.t_max)
        return torch.where(S < self.theta, torch.full_like(out, NONE), out)

    def extra_repr(self) -> str:
        T, k = self.lines.shape
        return (f"name={self.name!r}, tables={T}, k={k}, outputs={self.table.shape[2]}, "
                f"vbits={self.vbits}, theta={self.theta}, shift={self.shift}, t_max={self.t_max}")


class LutTorchKind(TorchKind):
    name = "lut"
    module = TNNLut

    def to_torch(self, node: Lut, time: TimeSpec) -> TNNLut:
        return TNNLut(node.name, node.lines, node.table, node.vbits, node.theta, node.shift,
                      node.t_max)

    def from_torch(self, module: TNNLut, path: str) -> Lut:
        return Lut(module.name, module.lines.cpu().numpy(), module.table.cpu().numpy(),
                   module.vbits, module.theta, module.shift, module.t_max)


KIND = LutTorchKind()


# --------------------------------------------------------------------------- training
def choose_lines(width: int, tables: int, k: int, seed: int) -> np.ndarray:
    """``[tables, k]`` input lines: table ``i`` reads ``k`` distinct lines drawn without
    replacement by ``numpy.random.default_rng(seed)``, in the order drawn."""
    if not K_MIN <= k <= K_MAX:
        raise ValueError(f"k={k}; expected {K_MIN}..{K_MAX} lines per table")
    if k > width:
        raise ValueError(f"k={k} lines per table but the stage sees only {width} lines")
    if tables < 1:
        raise ValueError(f"tables={tables}; expected >= 1")
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(width, size=k, replace=False) for _ in range(tables)])


def fill_tables(lines: np.ndarray, X: np.ndarray, y: np.ndarray, outputs: int,
                vbits: int) -> np.ndarray:
    """Votes from labelled volleys ``X[N, width]``, ``y[N]`` in ``0 .. outputs - 1``: with
    ``n[i, c, o]`` the number of training volleys of class ``o`` whose code in table ``i``
    is ``c`` and ``n[i, c] = sum_o n[i, c, o]``, the vote is
    ``(2 * v_max * n[i, c, o] + n[i, c]) // (2 * n[i, c])`` (the class frequency scaled to
    ``0 .. v_max``, rounded half up; 0 for a code never seen). Integer-only."""
    lines = np.asarray(lines, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    if len(y) and (y.min() < 0 or y.max() >= outputs):
        raise ValueError(f"labels reach {int(y.max())}; expected 0..{outputs - 1}")
    code = lut_codes(X, lines)  # [N, tables]
    T, k = lines.shape
    n = np.zeros((T, 1 << code_bits(k), outputs), dtype=np.int64)
    for i in range(T):
        np.add.at(n[i], (code[:, i], y), 1)
    tot = n.sum(axis=2, keepdims=True)
    v_max = (1 << vbits) - 1
    return np.where(tot > 0, (2 * v_max * n + tot) // np.maximum(2 * tot, 1), 0)


def train_lut(name: str, X: np.ndarray, y: np.ndarray, *, outputs: int, tables: int, k: int,
              seed: int, vbits: int = 3, theta: int = 1, shift: int = 0,
              t_max: int = 7) -> Lut:
    """A :class:`Lut` over ``X.shape[1]`` lines with seeded line subsets and votes filled
    from the labelled volleys (:func:`fill_tables`)."""
    X = np.asarray(X, dtype=np.int64)
    lines = choose_lines(X.shape[1], tables, k, seed)
    return Lut(name, lines, fill_tables(lines, X, y, outputs, vbits), vbits, theta, shift,
               t_max)
