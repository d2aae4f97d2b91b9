"""The snnTorch network of the SNN MNIST example: its definition and how it is run.

Kept apart from ``train.py`` so that a saved model can be rebuilt (``load_model``) by the
prototype quantizer, an importer or a test without re-running the training.

The network is a plain ``torch.nn.Sequential`` (what ``snntorch.export_to_nir`` and an
importer walk), built from a JSON-ready ``arch`` dict:

* ``mlp``:  ``Flatten -> [Linear -> Leaky] * len(hidden) -> Linear -> Leaky(output)``
* ``conv``: ``Conv2d(1, c1, k) -> Leaky -> AvgPool2d(2) -> Conv2d(c1, c2, k) -> Leaky ->
  AvgPool2d(2) -> Flatten -> Linear -> Leaky(output)`` (only if an MLP is not enough;
  AvgPool2d, not MaxPool2d, because snntorch 1.0.0 cannot export MaxPool2d to NIR)

Every ``Leaky`` has the same scalar ``beta`` and ``threshold`` and the reset mechanism in
``arch["reset"]`` ("subtract" or "zero"). One call of the network is one time step; a sample
is ``arch["steps"]`` time steps. Input encodings:

* ``direct``: the pooled pixel values (0..1) are the input current of the first layer at
  every time step (deterministic; the first synapse layer sees real values, not spikes);
* ``rate``: at every step each pixel is a spike with probability = its value (Bernoulli,
  seeded generator).

The readout is the output layer's spike count over the ``steps`` time steps (ties broken by
the final membrane potential, then by the lowest class index).
"""

from __future__ import annotations

import snntorch as snn
import torch
from snntorch import surrogate, utils
from torch import nn

ARCH_DEFAULTS = {
    "kind": "mlp",  # "mlp" or "conv"
    "n_in": 196,  # 14 x 14 pooled digits
    "image_shape": [14, 14],
    "hidden": [128],
    "conv_channels": [8, 16],
    "conv_kernel": 3,
    "n_out": 10,
    "beta": 0.875,  # 1 - 2**-3: the shift leak v -= v >> 3 is exact
    "threshold": 1.0,
    "reset": "subtract",
    "steps": 16,
    "encoding": "direct",
    "surrogate_slope": 25.0,
    "bias": True,
}


def _leaky(arch: dict, shape, output: bool = False) -> snn.Leaky:
    # beta and threshold are uniform but stored per neuron (a tensor of the layer's shape):
    # snntorch.export_to_nir writes scalar parameters as 0-d arrays, and nir 1.0.8's type
    # inference then fails ("type mismatch: 1.output: [[128]] -> 2.input: []",
    # snntorch issue #410). Per-neuron arrays give every NIR LIF node its shape.
    return snn.Leaky(
        beta=torch.full(tuple(shape), float(arch["beta"])),
        threshold=torch.full(tuple(shape), float(arch["threshold"])),
        reset_mechanism=arch["reset"],
        spike_grad=surrogate.fast_sigmoid(slope=float(arch["surrogate_slope"])),
        init_hidden=True,
        output=output,
    )


def build_model(arch: dict) -> nn.Sequential:
    """A fresh (randomly initialised by the current torch seed) network for ``arch``."""
    a = {**ARCH_DEFAULTS, **arch}
    layers: list[nn.Module] = []
    if a["kind"] == "mlp":
        layers.append(nn.Flatten())
        n = int(a["n_in"])
        for h in a["hidden"]:
            layers += [nn.Linear(n, int(h), bias=a["bias"]), _leaky(a, (int(h),))]
            n = int(h)
        layers += [nn.Linear(n, int(a["n_out"]), bias=a["bias"]),
                   _leaky(a, (int(a["n_out"]),), output=True)]
    elif a["kind"] == "conv":
        c1, c2 = (int(c) for c in a["conv_channels"])
        k = int(a["conv_kernel"])
        h, w = (int(s) for s in a["image_shape"])
        layers += [nn.Conv2d(1, c1, k, padding=k // 2, bias=a["bias"]), _leaky(a, (c1, h, w)),
                   nn.AvgPool2d(2)]
        h, w = h // 2, w // 2
        layers += [nn.Conv2d(c1, c2, k, padding=k // 2, bias=a["bias"]), _leaky(a, (c2, h, w)),
                   nn.AvgPool2d(2)]
        h, w = h // 2, w // 2
        layers += [nn.Flatten(), nn.Linear(c2 * h * w, int(a["n_out"]), bias=a["bias"]),
                   _leaky(a, (int(a["n_out"]),), output=True)]
    else:
        raise ValueError(f"arch kind={a['kind']!r} is not accepted; expected 'mlp' or 'conv'")
    return nn.Sequential(*layers)


def input_shape(arch: dict) -> tuple[int, ...]:
    """Shape of one sample as the network takes it (without the batch dimension)."""
    a = {**ARCH_DEFAULTS, **arch}
    if a["kind"] == "conv":
        return (1, *[int(s) for s in a["image_shape"]])
    return (int(a["n_in"]),)


def encode(x: torch.Tensor, encoding: str, generator: torch.Generator | None = None):
    """Yield-free encoder: the input current/spikes of one time step for pixel values ``x``."""
    if encoding == "direct":
        return x
    if encoding == "rate":
        return torch.bernoulli(x, generator=generator)
    raise ValueError(f"encoding={encoding!r} is not accepted; expected 'direct' or 'rate'")


def simulate(net: nn.Sequential, x: torch.Tensor, arch: dict,
             generator: torch.Generator | None = None):
    """Run ``arch["steps"]`` time steps on a batch ``x`` (pixel values in 0..1).

    Returns ``(counts, mem, spikes)``: output spike counts ``[B, n_out]``, the final output
    membrane ``[B, n_out]`` and the output spike trains ``[steps, B, n_out]``.
    """
    a = {**ARCH_DEFAULTS, **arch}
    utils.reset(net)
    spikes = []
    mem = None
    for _ in range(int(a["steps"])):
        spk, mem = net(encode(x, a["encoding"], generator))
        spikes.append(spk)
    trains = torch.stack(spikes)
    return trains.sum(0), mem, trains


def predict(counts: torch.Tensor, mem: torch.Tensor) -> torch.Tensor:
    """Class = most output spikes; ties by the larger final membrane, then the lower index."""
    # counts are small integers and mem is bounded, so count * big + mem orders
    # lexicographically; argmax returns the first maximum (lowest index).
    score = counts.double() * 1e6 + mem.double().clamp(-1e5, 1e5)
    return score.argmax(1)


def load_model(path) -> tuple[nn.Sequential, dict]:
    """Rebuild a network saved by ``train.py`` (``model.pt``): returns ``(net, arch)``."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    arch = {**ARCH_DEFAULTS, **blob["arch"]}
    net = build_model(arch)
    net.load_state_dict(blob["state_dict"])
    net.eval()
    return net, arch
