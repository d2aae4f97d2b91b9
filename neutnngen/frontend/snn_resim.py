"""Re-simulate an exported integer SNN (a NIR graph from :func:`.snn_import.to_nir`) in
snnTorch, exactly: same spike counts and final membranes as the interpreter.

What makes snnTorch's float arithmetic equal the integer model (docs/snn.md "Export"):

* power-of-two scales (the quantizer's default): dequantized weights, biases and thresholds
  are exact binary floats, and float64 keeps every sum exact;
* ``snn.Leaky(beta = the integer leak's exact beta, reset_mechanism from the metadata,
  reset_delay=True)``: snnTorch's update order is the contract's;
* ``state_quant = clamp(floor(V S), lo, hi) / S`` (``ceil`` for the shift leak, which rounds
  up), applied by snnTorch right after ``beta V + I - theta s``: because ``I`` and ``theta``
  lie on the ``1/S`` grid, this is exactly the integer update with saturation;
* after a synapse with accumulator shift ``r > 0``: ``floor(I S + offset / 2**r) / S``
  (the accumulator's shift with the quantizer's rounding offset; not a NIR node).

(``Synaptic`` for a ``CubaLIF``: both states floor-rounded, the multiply leak's rounding.)

Supported: chains of ``Affine``/``Linear``, ``LIF``/``IF``/``CubaLIF`` and ``Flatten`` with the
``neutnngen`` metadata; refractory neurons and conv/pool graphs are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FrontendError


def snntorch_model(graph: Any):
    """``(nn.Sequential, graph metadata)`` of an exported integer network (float64)."""
    import nir
    import snntorch as snn
    import torch
    from torch import nn

    from .snn_import import _chain

    class Cast(nn.Module):
        def forward(self, x):
            return x.to(torch.float64)

    class CurrentQuant(nn.Module):
        def __init__(self, S: float, off: float):
            super().__init__()
            self.S, self.off = S, off

        def forward(self, x):
            return torch.floor(x * self.S + self.off) / self.S

    def grid(S: float, up: bool, bits: int):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

        def q(m):
            k = torch.ceil(m * S) if up else torch.floor(m * S)
            return k.clamp(lo, hi) / S
        return q

    order = _chain(graph)
    mods: list = []
    lif_names = [k for k in order if isinstance(graph.nodes[k], (nir.LIF, nir.IF, nir.CubaLIF))]
    for k in order:
        nd = graph.nodes[k]
        md = (nd.metadata or {}).get("neutnngen", {})
        if isinstance(nd, (nir.Input, nir.Output)):
            continue
        if isinstance(nd, nir.Flatten):
            continue  # the chain works on flat [B, lines] already
        if isinstance(nd, (nir.Affine, nir.Linear)):
            w = np.asarray(nd.weight, dtype=np.float64)
            lin = nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(np.asarray(nd.bias, dtype=np.float64))
                               if isinstance(nd, nir.Affine) else torch.zeros(w.shape[0]))
            mods += [Cast(), lin]
            r = int(md.get("acc_shift", 0))
            if r > 0:
                S = float(md["acc_scale"]) / 2 ** r
                mods.append(CurrentQuant(S, float(md.get("rounding_offset", 0)) / 2 ** r))
        elif isinstance(nd, (nir.LIF, nir.IF, nir.CubaLIF)):
            if not md:
                raise FrontendError(f"NIR node {k!r} has no neutnngen metadata; only exported "
                                    f"integer networks re-simulate exactly")
            if int(md.get("refractory", 0)):
                raise FrontendError(f"NIR node {k!r}: refractory neurons have no snnTorch form")
            S = float(md["scale"])
            if int(md.get("alpha_q", -1)) >= 0:
                mods.append(snn.Synaptic(alpha=float(md["alpha"]), beta=float(md["beta"]),
                                         threshold=float(md["threshold_int"]) / S,
                                         reset_mechanism=str(md["reset"]),
                                         state_quant=grid(S, False, int(md["mem_bits"])),
                                         init_hidden=True, output=k == lif_names[-1]))
                continue
            mods.append(snn.Leaky(beta=float(md["beta"]),
                                  threshold=float(md["threshold_int"]) / S,
                                  reset_mechanism=str(md["reset"]),
                                  state_quant=grid(S, md["leak"] == "shift", int(md["mem_bits"])),
                                  init_hidden=True, output=k == lif_names[-1]))
        else:
            raise FrontendError(f"NIR node {k!r} of type {type(nd).__name__}: re-simulation "
                                f"supports Affine, Linear, LIF, IF and Flatten")
    return nn.Sequential(*mods), dict((graph.metadata or {}).get("neutnngen", {}))


def resimulate(graph: Any, X: np.ndarray, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """snnTorch's output spike counts and final membranes (integers, ``V S``) for input
    integers ``X[N, inputs]``, the encoder taken from the graph's metadata."""
    import torch
    from snntorch import utils

    from ..ir.stages.snn import Encoder, encode

    model, meta = snntorch_model(graph)
    enc = Encoder("enc", str(meta.get("encoding", "direct")), int(meta.get("steps", 16)),
                  int(meta.get("in_bits", 8)))
    last = [m for m in model if hasattr(m, "state_quant")][-1]
    S = None
    for nd in graph.nodes.values():
        md = (getattr(nd, "metadata", None) or {}).get("neutnngen", {})
        if "threshold_int" in md:
            S = float(md["scale"])  # the last LIF's scale
    counts, mems = [], []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            trains = torch.from_numpy(encode(X[i:i + batch], enc).astype(np.float64))
            utils.reset(model)
            tot = 0
            mem = None
            for t in range(enc.steps):
                o = model(trains[:, t])
                spk, mem = o[0], o[-1]  # Leaky: (spk, mem); Synaptic: (spk, syn, mem)
                tot = tot + spk
            counts.append(tot.numpy().astype(np.int64))
            mems.append(np.rint(mem.numpy() * S).astype(np.int64))
    _ = last
    return np.concatenate(counts), np.concatenate(mems)
