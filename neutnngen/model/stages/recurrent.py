"""Torch side of the ``recurrent`` stage kind (:mod:`neutnngen.ir.stages.recurrent`).

:class:`SNNRecurrent` computes exactly what the interpreter computes (docs/model.md §13) on
int64 tensors: the ring buffer of delayed input is a ``[B, D, n]`` tensor filled with
``index_add_`` over the synapses of the neurons that spiked; the background draws come from
the same LFSR tables as the interpreter's (:class:`~neutnngen.ir.stages.recurrent.BackgroundDraws`
advanced on a torch tensor of generator states).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...ir.common import TimeSpec
from ...ir.stages.recurrent import Recurrent, RecurrentTrace, _draw_table, bg_seeds
from ..kinds import TorchKind


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.int64)


class SNNRecurrent(nn.Module):
    """Recurrent integer LIF populations; ``forward(stim[B, n])`` returns the spike trains
    ``[B, steps, n]`` (``output=spikes``) or the counts ``[B, n]``; ``last_trace`` keeps the
    final membranes, counts and saturations."""

    def __init__(self, node: Recurrent):
        super().__init__()
        self.node = node
        self.name = node.name
        self.outputs = node.n
        self.last_trace: RecurrentTrace | None = None
        for k in ("indptr", "targets", "weights", "delays", "dc", "v0"):
            self.register_buffer(k, torch.as_tensor(np.array(getattr(node, k), np.int64)))
        self.register_buffer("pop_of", torch.as_tensor(node.pop_of.astype(np.int64)))

    def forward(self, stim: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
        nd = self.node
        stim = torch.as_tensor(stim).to(torch.int64)
        B, n = stim.shape
        dev = stim.device
        F = nd.frac_bits
        lo, hi = -(1 << (nd.mem_bits - 1)), (1 << (nd.mem_bits - 1)) - 1
        D = int(self.delays.max()) + 1 if nd.synapse_count else 1
        R = torch.zeros(B * D * n, dtype=torch.int64, device=dev)
        v = self.v0.to(dev).expand(B, n).clone()
        syn = torch.zeros(B, n, dtype=torch.int64, device=dev)
        s = torch.zeros(B, n, dtype=torch.bool, device=dev)
        c = torch.zeros_like(syn)
        sat = torch.zeros(n, dtype=torch.int64, device=dev)
        counts = torch.zeros_like(syn)
        const = stim + self.dc.to(dev)
        bgw = torch.as_tensor([p.bg_w for p in nd.pops], dtype=torch.int64, device=dev)[self.pop_of]
        bgu = torch.as_tensor([p.bg_u for p in nd.pops], dtype=torch.int64, device=dev)[self.pop_of]
        table = torch.as_tensor(np.array(_draw_table(nd.bg_bits)), device=dev)
        state = torch.as_tensor(bg_seeds(nd), device=dev)
        mask = (1 << nd.bg_bits) - 1
        out = (torch.zeros(B, nd.steps, n, dtype=torch.int8, device=dev)
               if nd.output == "spikes" else None)
        ip, tg, w, dl = (self.indptr.to(dev), self.targets.to(dev), self.weights.to(dev),
                         self.delays.to(dev))
        for t in range(nd.steps):
            slot = t % D
            view = R.view(B, D, n)
            x = view[:, slot] + const
            view[:, slot] = 0
            if nd.bg_draws:
                k = torch.zeros(n, dtype=torch.int64, device=dev)
                for _ in range(nd.bg_draws):
                    state = table[state]
                    k += ((state & mask) < bgu).to(torch.int64)
                x = x + k * bgw
            x = torch.where(c > 0, torch.zeros_like(x), x)
            a = nd.alpha_q * syn + (x << F)
            v = torch.where(s, torch.zeros_like(v), (nd.beta_q * v + a) >> F)
            syn = a >> F
            sat += ((syn < lo) | (syn > hi)).sum(dim=0) + ((v < lo) | (v > hi)).sum(dim=0)
            syn = syn.clamp(lo, hi)
            v = v.clamp(lo, hi)
            s = (v > nd.threshold) & (c == 0)
            c = torch.where(s, torch.full_like(c, nd.refractory), (c - 1).clamp(min=0))
            counts += s.to(torch.int64)
            if out is not None:
                out[:, t] = s.to(torch.int8)
            if not nd.synapse_count or not bool(s.any()):
                continue
            bi, ni = torch.nonzero(s, as_tuple=True)
            starts, lens = ip[ni], ip[ni + 1] - ip[ni]
            tot = int(lens.sum())
            if not tot:
                continue
            off = torch.repeat_interleave(starts - torch.cumsum(lens, 0) + lens, lens) \
                + torch.arange(tot, device=dev)
            b = torch.repeat_interleave(bi, lens)
            idx = (b * D + (t + dl[off]) % D) * n + tg[off]
            R.index_add_(0, idx, w[off])
        self.last_trace = RecurrentTrace(_np(v), _np(counts), _np(sat))
        return out if out is not None else counts

    def to_node(self) -> Recurrent:
        return self.node


class RecurrentTorchKind(TorchKind):
    name = "recurrent"
    module = SNNRecurrent

    def to_torch(self, node, time: TimeSpec) -> nn.Module:
        return SNNRecurrent(node)

    def from_torch(self, module, path):
        return module.to_node()


KIND = RecurrentTorchKind()

__all__ = ["KIND", "SNNRecurrent"]
