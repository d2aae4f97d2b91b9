"""Quantization-aware fine-tuning hook for snnTorch models (after :func:`.snn_quant.quantize`).

:func:`attach_fake_quant` puts the quantizer's grid on every ``Linear``/``Conv2d`` of an
``nn.Sequential`` (in import order, the ``layers`` of the :class:`~.snn_quant.QuantReport`):
the forward pass sees ``clamp(round(W k), -q, q) / k`` with ``k = unit * acc_scale`` (the
weights as the integer network has them) and ``round(b Sa) / Sa`` for the bias, while the
gradient passes straight through to the float weights (straight-through estimator). Train
with any snnTorch loop (``examples/snn_mnist/train.py``'s, say), then
:func:`detach_fake_quant` and import + quantize again: the fine-tuned float weights land on
the same grid. Thresholds and leaks are not touched (they are exact or nearly so).
"""

from __future__ import annotations

from typing import Any

from ..errors import FrontendError
from .snn_quant import QuantReport


def _fake(k: float, qmax: int | None):
    import torch
    from torch import nn

    class FakeQuant(nn.Module):
        def forward(self, w: torch.Tensor) -> torch.Tensor:
            q = torch.round(w * k)
            if qmax is not None:
                q = q.clamp(-qmax, qmax)
            return w + (q / k - w).detach()

    return FakeQuant()


def attach_fake_quant(model: Any, report: QuantReport) -> list:
    """Fake-quantize the synapse modules of ``model`` on ``report``'s grid; returns them."""
    from torch import nn
    from torch.nn.utils import parametrize

    syn = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if len(syn) != len(report.layers):
        raise FrontendError(f"the model has {len(syn)} Linear/Conv2d modules but the "
                            f"quantization report {len(report.layers)} layers")
    qmax = (1 << (report.weight_bits - 1)) - 1
    for m, d in zip(syn, report.layers, strict=True):
        if parametrize.is_parametrized(m):
            raise FrontendError(f"{type(m).__name__} is already parametrized "
                                f"(attach_fake_quant twice?)")
        parametrize.register_parametrization(m, "weight",
                                             _fake(d["input_unit"] * d["acc_scale"], qmax))
        if m.bias is not None:
            parametrize.register_parametrization(m, "bias", _fake(d["acc_scale"], None))
    return syn


def detach_fake_quant(model: Any) -> None:
    """Remove the fake quantization; the modules keep their (fine-tuned) float weights."""
    from torch import nn
    from torch.nn.utils import parametrize

    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)) and parametrize.is_parametrized(m):
            for name in list(m.parametrizations.keys()):
                parametrize.remove_parametrizations(m, name, leave_parametrized=False)
