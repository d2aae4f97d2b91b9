"""The float SNN an importer produces and the quantizer consumes (numpy only).

A :class:`FloatSNN` is a feed-forward chain of float operations, the common ground of the
snnTorch and NIR importers (:mod:`.snn_import`): synapses (:class:`FDense`,
:class:`FConv`), pools (:class:`FPool`), :class:`FFlatten` and neurons (:class:`FLIF`),
plus how a sample is presented (``steps``, the input encoding and the float value of one
input integer, ``in_unit``) and read out. :func:`float_run` simulates it in float64 with the
update order of docs/model.md §11 (snnTorch's ``Leaky`` with ``reset_delay=True``), which is
what calibration needs (largest membrane per neuron layer) and what the report calls the
float accuracy of an imported model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FDense:
    weight: np.ndarray  # [n_out, n_in]
    bias: np.ndarray  # [n_out]


@dataclass
class FConv:
    weight: np.ndarray  # [C_out, C_in, kh, kw]
    bias: np.ndarray  # [C_out]
    in_shape: tuple[int, int, int]
    stride: int = 1
    padding: int = 0

    @property
    def out_shape(self) -> tuple[int, int, int]:
        C, H, W = self.in_shape
        co, _, kh, kw = self.weight.shape
        s, p = self.stride, self.padding
        return (co, (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1)


@dataclass
class FPool:
    mode: str  # "avg" | "sum" | "max"
    in_shape: tuple[int, int, int]
    kernel: int
    stride: int

    @property
    def out_shape(self) -> tuple[int, int, int]:
        C, H, W = self.in_shape
        return (C, (H - self.kernel) // self.stride + 1, (W - self.kernel) // self.stride + 1)


@dataclass
class FFlatten:
    pass


@dataclass
class FLIF:
    beta: float  # 1.0: IF
    threshold: float
    reset: str  # "zero" | "subtract"
    alpha: float | None = None  # a synaptic-current state (snnTorch Synaptic / NIR CubaLIF)


@dataclass
class FloatSNN:
    inputs: int  # flat input lines
    ops: list  # FDense | FConv | FPool | FFlatten | FLIF
    steps: int = 16
    encoding: str = "direct"  # "direct" | "latency"
    in_bits: int = 8  # input integers 0 .. 2**in_bits - 1
    in_unit: float = 1.0  # float value of one input integer (direct encoding)
    readout: str = "count"  # "count" | "first" | "membrane"
    options: dict[str, Any] = field(default_factory=dict)  # dt, reset source, order, ...
    warnings: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        """Stage names of the ops (``fc0``, ``lif0``, ``conv1``, ``pool0``, ...)."""
        counters: dict[str, int] = {}
        out = []
        for op in self.ops:
            base = {FDense: "fc", FConv: "conv", FPool: "pool", FFlatten: "flatten",
                    FLIF: "lif"}[type(op)]
            k = counters.get(base, 0)
            counters[base] = k + 1
            out.append(f"{base}{k}")
        return out


def _windows(x: np.ndarray, k: int, s: int) -> np.ndarray:
    v = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(-2, -1))
    return v[..., ::s, ::s, :, :]


def _apply(op, x: np.ndarray) -> np.ndarray:
    """One synapse/pool/flatten op on float trains ``[B, T, lines]``."""
    B, T, _ = x.shape
    if isinstance(op, FDense):
        return x @ op.weight.T + op.bias
    if isinstance(op, FConv):
        img = x.reshape(B * T, *op.in_shape)
        p = op.padding
        if p:
            img = np.pad(img, ((0, 0), (0, 0), (p, p), (p, p)))
        kh, kw = op.weight.shape[2:]
        v = np.lib.stride_tricks.sliding_window_view(img, (kh, kw), axis=(-2, -1))
        v = v[..., ::op.stride, ::op.stride, :, :]
        acc = np.einsum("nchwij,ocij->nohw", v, op.weight) + op.bias[None, :, None, None]
        return acc.reshape(B, T, -1)
    if isinstance(op, FPool):
        w = _windows(x.reshape(B * T, *op.in_shape), op.kernel, op.stride)
        if op.mode == "max":
            r = w.max(axis=(-2, -1))
        else:
            r = w.sum(axis=(-2, -1)) / (op.kernel ** 2 if op.mode == "avg" else 1)
        return r.reshape(B, T, -1)
    return x


def encode_float(net: FloatSNN, X: np.ndarray) -> np.ndarray:
    """Trains ``[B, T, inputs]`` of input integers ``X`` as the float network sees them."""
    X = np.asarray(X, dtype=np.float64)
    B, n = X.shape
    T = net.steps
    if net.encoding == "direct":
        return np.broadcast_to((X * net.in_unit)[:, None, :], (B, T, n))
    if net.encoding == "rate":  # the integer model's spikes (the IR's LFSR)
        from ..ir.stages.snn import Encoder, encode

        return encode(X.astype(np.int64), Encoder("enc", "rate", T, net.in_bits,
                                                  int(net.options.get("seed", 1)))).astype(np.float64)
    mx = (1 << net.in_bits) - 1
    at = (mx - X) * T // (mx + 1)
    t = np.arange(T)[None, :, None]
    return ((t == at[:, None, :]) & (X[:, None, :] > 0)).astype(np.float64)


def lif_float(cur: np.ndarray, op: FLIF) -> tuple[np.ndarray, np.ndarray, float]:
    """Float LIF in the contract's order: spikes ``[B, T, n]``, final V, largest |V|."""
    B, T, n = cur.shape
    v = np.zeros((B, n))
    s = np.zeros((B, n))
    vmax = 0.0
    out = np.zeros((B, T, n))
    syn = np.zeros((B, n))
    for t in range(T):
        if op.alpha is not None:  # snnTorch Synaptic: I = alpha I + x; V = beta V + I
            syn = op.alpha * syn + cur[:, t]
            v = op.beta * v + syn
            v = np.where(s > 0, 0.0, v) if op.reset == "zero" else v - op.threshold * s
            vmax = max(vmax, float(np.abs(syn).max()) if syn.size else 0.0)
        else:
            if op.reset == "zero":
                v = np.where(s > 0, 0.0, v)
            v = op.beta * v + cur[:, t]
            if op.reset == "subtract":
                v = v - op.threshold * s
        vmax = max(vmax, float(np.abs(v).max()) if v.size else 0.0)
        s = (v > op.threshold).astype(np.float64)
        out[:, t] = s
    return out, v, vmax


def float_run(net: FloatSNN, X: np.ndarray, batch: int = 250) -> dict:
    """Float64 simulation on input integers ``X[N, inputs]``: ``out`` (readout of the last
    LIF, ``[N, n]``), ``v`` (its final membranes), ``vmax`` (largest |V| per LIF op)."""
    outs, vs = [], []
    n_lif = sum(isinstance(op, FLIF) for op in net.ops)
    vmax = [0.0] * n_lif
    for i in range(0, len(X), batch):
        h = encode_float(net, X[i:i + batch])
        li = 0
        v = None
        for op in net.ops:
            if isinstance(op, FLIF):
                h, v, vm = lif_float(h, op)
                vmax[li] = max(vmax[li], vm)
                li += 1
            else:
                h = _apply(op, h)
        if net.readout == "count":
            outs.append(h.sum(axis=1))
        elif net.readout == "first":
            outs.append(np.where(h.any(axis=1), h.argmax(axis=1), -1))
        else:
            outs.append(v)
        vs.append(v)
    return {"out": np.concatenate(outs), "v": np.concatenate(vs), "vmax": vmax}


def float_predict(net: FloatSNN, res: dict) -> np.ndarray:
    """Classes from :func:`float_run` with the tie rules of docs/model.md §11."""
    from ..ir.stages.snn import LIFTrace, predict

    return predict(res["out"].astype(np.int64) if net.readout != "membrane" else res["out"],
                   LIFTrace(res["v"], None), net.readout)
