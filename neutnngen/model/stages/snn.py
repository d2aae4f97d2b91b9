"""Torch side of the clock-driven SNN stage kinds (:mod:`neutnngen.ir.stages.snn`).

Every module computes exactly what the interpreter computes, batched, on int64 tensors
(convolutions and pooling run in float64 on integers below 2**53, which is exact).
Temporal values are ``[B, T, lines]``; a :class:`SNNLIF` keeps its last pass's final
membranes, spike counts and saturation counts in ``last_trace``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...ir.common import NONE, TimeSpec
from ...ir.stages.snn import (
    LIF,
    MAX_STEPS,
    Conv2d,
    Dense,
    Encoder,
    Flatten,
    LIFTrace,
    MaxPool,
    SumPool,
    rate_draws,
)
from ..kinds import TorchKind


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.int64)


def _exact(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x).to(torch.int64)


class SNNEncoder(nn.Module):
    def __init__(self, node: Encoder):
        super().__init__()
        self.name, self.mode, self.steps, self.in_bits = node.name, node.mode, node.steps, node.in_bits
        self.seed = node.seed
        self._draws: dict[int, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x).to(torch.int64)
        B, n = x.shape
        T = self.steps
        if self.mode == "direct":
            return x[:, None, :].expand(B, T, n).clone()
        t = torch.arange(T, device=x.device)[None, :, None]
        if self.mode == "latency":
            mx = (1 << self.in_bits) - 1
            at = torch.div((mx - x) * T, mx + 1, rounding_mode="floor")
            return ((t == at[:, None, :]) & (x[:, None, :] > 0)).to(torch.int64)
        if self.mode == "rate":
            if n not in self._draws:  # the LFSR sequence does not depend on the input
                self._draws[n] = torch.as_tensor(rate_draws(self.to_node(), n))
            return (self._draws[n].to(x.device)[None] < x[:, None, :]).to(torch.int64)
        return ((t == x[:, None, :]) & (x[:, None, :] >= 0)).to(torch.int64)

    def to_node(self) -> Encoder:
        return Encoder(self.name, self.mode, self.steps, self.in_bits, self.seed)


class SNNDense(nn.Module):
    def __init__(self, node: Dense):
        super().__init__()
        self.name, self.weight_bits, self.shift = node.name, node.weight_bits, node.shift
        self.register_buffer("weight", torch.as_tensor(np.array(node.weights), dtype=torch.int64))
        self.register_buffer("bias", torch.as_tensor(np.array(node.bias), dtype=torch.int64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acc = torch.matmul(x.to(torch.int64), self.weight.T) + self.bias
        return acc >> self.shift

    def to_node(self) -> Dense:
        return Dense(self.name, _np(self.weight), _np(self.bias), self.weight_bits, self.shift)


class SNNConv2d(nn.Module):
    def __init__(self, node: Conv2d):
        super().__init__()
        self.name, self.in_shape = node.name, node.in_shape
        self.stride, self.padding = node.stride, node.padding
        self.weight_bits, self.shift = node.weight_bits, node.shift
        self.register_buffer("weight", torch.as_tensor(np.array(node.weights), dtype=torch.int64))
        self.register_buffer("bias", torch.as_tensor(np.array(node.bias), dtype=torch.int64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        img = x.reshape(B * T, *self.in_shape).to(torch.float64)
        acc = F.conv2d(img, self.weight.to(torch.float64), None, self.stride, self.padding)
        acc = _exact(acc) + self.bias[None, :, None, None]
        return (acc >> self.shift).reshape(B, T, -1)

    def to_node(self) -> Conv2d:
        return Conv2d(self.name, self.in_shape, _np(self.weight), _np(self.bias), self.stride,
                      self.padding, self.weight_bits, self.shift)


class SNNSumPool(nn.Module):
    node_cls = SumPool

    def __init__(self, node: SumPool):
        super().__init__()
        self.name, self.in_shape, self.kernel, self.stride = (node.name, node.in_shape,
                                                              node.kernel, node.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        img = x.reshape(B * T, *self.in_shape).to(torch.float64)
        if self.node_cls is MaxPool:
            r = F.max_pool2d(img, self.kernel, self.stride)
        else:
            r = F.avg_pool2d(img, self.kernel, self.stride, divisor_override=1)
        return _exact(r).reshape(B, T, -1)

    def to_node(self):
        return self.node_cls(self.name, self.in_shape, self.kernel, self.stride)


class SNNMaxPool(SNNSumPool):
    node_cls = MaxPool


class SNNFlatten(nn.Module):
    def __init__(self, node: Flatten):
        super().__init__()
        self.name = node.name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def to_node(self) -> Flatten:
        return Flatten(self.name)


class SNNLIF(nn.Module):
    """Integer IF/LIF neurons, the interpreter's update order (docs/model.md §11)."""

    def __init__(self, node: LIF):
        super().__init__()
        self.node = node
        self.name = node.name
        self.outputs = node.n
        self.last_trace: LIFTrace | None = None

    def _leak(self, v: torch.Tensor) -> torch.Tensor:
        nd = self.node
        if nd.leak == "shift":
            return v - (v >> nd.leak_shift)
        if nd.leak == "mul":
            return (v * nd.beta_q) >> nd.frac_bits
        return v

    def forward(self, cur: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
        nd = self.node
        cur = cur.to(torch.int64)
        B, T, n = cur.shape
        lo, hi = -(1 << (nd.mem_bits - 1)), (1 << (nd.mem_bits - 1)) - 1
        v = torch.zeros(B, n, dtype=torch.int64, device=cur.device)
        s = torch.zeros_like(v)
        c = torch.zeros_like(v)
        sat = torch.zeros(n, dtype=torch.int64, device=cur.device)
        outs = []
        syn = torch.zeros_like(v)
        F = nd.frac_bits
        for t in range(T):
            x = torch.where(c > 0, torch.zeros_like(v), cur[:, t])
            if nd.alpha_q >= 0:
                a = nd.alpha_q * syn + (x << F)
                if nd.reset == "zero":
                    v = torch.where(s > 0, torch.zeros_like(v), (nd.beta_q * v + a) >> F)
                else:
                    v = (nd.beta_q * v + a - ((nd.threshold * s) << F)) >> F
                syn = a >> F
                sat += ((syn < lo) | (syn > hi)).sum(dim=0)
                syn = syn.clamp(lo, hi)
            else:
                if nd.reset == "zero":
                    v = torch.where(s > 0, torch.zeros_like(v), v)
                v = self._leak(v) + x
                if nd.reset == "subtract":
                    v = v - nd.threshold * s
            sat += ((v < lo) | (v > hi)).sum(dim=0)
            v = v.clamp(lo, hi)
            s = ((v > nd.threshold) & (c == 0)).to(torch.int64)
            c = torch.where(s > 0, torch.full_like(c, nd.refractory), (c - 1).clamp(min=0))
            outs.append(s)
        spikes = torch.stack(outs, dim=1)
        counts = spikes.sum(dim=1)
        self.last_trace = LIFTrace(_np(v), _np(counts), _np(sat))
        if nd.output == "spikes":
            return spikes
        if nd.output == "count":
            return counts
        if nd.output == "membrane":
            return v
        fired = spikes.any(dim=1)
        return torch.where(fired, spikes.argmax(dim=1), torch.full_like(counts, NONE))

    def to_node(self) -> LIF:
        return self.node


class _SNNTorchKind(TorchKind):
    def to_torch(self, node, time: TimeSpec) -> nn.Module:
        return self.module(node)

    def from_torch(self, module, path):
        return module.to_node()


def _kind(name: str, module: type) -> TorchKind:
    return type(f"{module.__name__}TorchKind", (_SNNTorchKind,), {"name": name, "module": module})()


ENCODER_KIND = _kind("encoder", SNNEncoder)
DENSE_KIND = _kind("dense", SNNDense)
CONV2D_KIND = _kind("conv2d", SNNConv2d)
SUMPOOL_KIND = _kind("sumpool", SNNSumPool)
MAXPOOL_KIND = _kind("maxpool", SNNMaxPool)
FLATTEN_KIND = _kind("flatten", SNNFlatten)
LIF_KIND = _kind("lif", SNNLIF)
_ = MAX_STEPS
