"""The integer ANN twin of an SNN: the same topology with ReLU neurons instead of spiking
ones, trained in float on the same data (with the SNN example's recipe) and quantized to an integer network of ``dense`` /
``conv2d`` / pooling and ``act`` stages (docs/model.md §11, "act") that the same RTL
generator builds behind the same stream interface (``neutnngen twin``).

Topology: the SNN's stages after its encoder, in order; every ``lif`` becomes a ReLU
(``act fn=relu``), the last one the logits (``act fn=linear``); the encoder becomes
``direct`` with one step (an ANN sees the input integers once). The float model is trained
with Adam on the training split (cross-entropy, a fixed recipe: no tuning on the test
split); a validation split carved from the training data is reported.

Quantization (post-training, per layer, every number an integer on the output path): the
input integers ``x`` (unit ``in_unit``, as the SNN import's) enter the first layer
unscaled; a layer with float weights ``W`` and bias ``b`` whose input unit is ``u`` gets the
weight scale ``s = max|W| / (2**(weight_bits-1) - 1)``, codes ``Wq = round(W / s)`` and the
bias ``round(b / (s u)) + 2**(shift-1)`` (round to nearest after the shift). The shift is the
smallest that brings the 99.99th percentile of the calibration accumulators under the
activation's top (``2**act_bits - 1`` for a ReLU, ``2**(out_bits-1) - 1`` for the logits):
activations above it saturate (counted). The next layer's input unit is ``s u 2**shift``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..ir import Network
from ..ir.common import TimeSpec
from ..ir.kinds import kind_of
from ..ir.stages.act import Act, act_saturations
from ..ir.stages.snn import Conv2d, Dense, Encoder

TWIN_KINDS = ("encoder", "dense", "conv2d", "sumpool", "maxpool", "flatten", "lif")


@dataclass
class TwinOptions:
    weight_bits: int = 8
    act_bits: int = 8
    out_bits: int = 16
    epochs: int = 60
    lr: float = 1e-3
    batch: int = 32
    validation: float = 0.1
    augment: int = 1
    seed: int = 0
    percentile: float = 99.99

    def check(self) -> None:
        for k, lo, hi in (("weight_bits", 2, 16), ("act_bits", 1, 16), ("out_bits", 4, 24),
                          ("epochs", 1, 1000), ("batch", 1, 1 << 16), ("augment", 0, 8)):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ConfigError(f"twin.{k}={v!r}; expected an integer {lo}..{hi}",
                                  path=f"twin.{k}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ConfigError(f"twin.lr={self.lr!r}; expected 0 < lr < 1", path="twin.lr")
        if not (isinstance(self.validation, (int, float)) and 0 <= self.validation < 0.5):
            raise ConfigError(f"twin.validation={self.validation!r}; expected a fraction "
                              f"0 <= f < 0.5 of the training split", path="twin.validation")
        if not (isinstance(self.percentile, (int, float)) and 50 <= self.percentile <= 100):
            raise ConfigError(f"twin.percentile={self.percentile!r}; expected 50..100",
                              path="twin.percentile")


class _Sum2d(nn.Module):
    """A sum pool (no division, as the IR's ``sumpool``)."""

    def __init__(self, k: int, s: int):
        super().__init__()
        self.pool, self.k = nn.AvgPool2d(k, s), k

    def forward(self, x):
        return self.pool(x) * (self.k * self.k)


class _Shape(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def _layers(net: Network) -> list[tuple[str, Any]]:
    """``(kind, stage)`` of the SNN after its encoder; ConfigError for what has no twin."""
    kinds = [kind_of(st).name for st in net.stages]
    bad = [f"{st.name} ({k})" for st, k in zip(net.stages, kinds, strict=True)
           if k not in TWIN_KINDS]
    if bad:
        raise ConfigError(f"network {net.name!r} has stages without an ANN twin: "
                          f"{', '.join(bad[:3])}; the twin maps {', '.join(TWIN_KINDS)}")
    if not kinds or kinds[0] != "encoder":
        raise ConfigError(f"network {net.name!r}: the twin needs the SNN's encoder first; got "
                          f"{kinds[0] if kinds else 'no stages'}")
    if "lif" not in kinds:
        raise ConfigError(f"network {net.name!r} has no lif stage to turn into a ReLU")
    return list(zip(kinds[1:], net.stages[1:], strict=True))


def float_model(net: Network) -> nn.Sequential:
    """The float ANN of an SNN's topology (the flat ``[B, n]`` input in, logits out)."""
    mods: list[nn.Module] = []
    layers = _layers(net)
    last_lif = max(i for i, (k, _) in enumerate(layers) if k == "lif")
    for i, (k, st) in enumerate(layers):
        if k == "dense":
            n_out, n_in = np.asarray(st.weights).shape
            mods.append(nn.Linear(n_in, n_out))
        elif k == "conv2d":
            C, H, W = st.in_shape
            co, ci, kh, kw = np.asarray(st.weights).shape
            mods += [_Shape((C, H, W)), nn.Conv2d(ci, co, (kh, kw), st.stride, st.padding),
                     nn.Flatten()]
        elif k in ("sumpool", "maxpool"):
            C, H, W = st.in_shape
            pool = (_Sum2d(st.kernel, max(st.stride, 1)) if k == "sumpool"
                    else nn.MaxPool2d(st.kernel, max(st.stride, 1)))
            mods += [_Shape((C, H, W)), pool, nn.Flatten()]
        elif k == "lif" and i != last_lif:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def _split(n: int, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    nv = int(round(frac * n))
    return perm[nv:], perm[:nv]


def shift_images(X: np.ndarray, side: int, rng: np.random.Generator, a: int) -> np.ndarray:
    """Each flat ``side x side`` image moved by a random ``(dy, dx)`` in ``-a .. a``, zero
    fill (the SNN example's augmentation, on the pooled image)."""
    img = X.reshape(len(X), side, side)
    out = np.zeros_like(img)
    d = rng.integers(-a, a + 1, size=(len(X), 2))
    for dy in range(-a, a + 1):  # one slice per shift, over the images that drew it
        for dx in range(-a, a + 1):
            sel = np.flatnonzero((d[:, 0] == dy) & (d[:, 1] == dx))
            ys, yd = (slice(0, side - dy), slice(dy, side)) if dy >= 0 else \
                (slice(-dy, side), slice(0, side + dy))
            xs, xd = (slice(0, side - dx), slice(dx, side)) if dx >= 0 else \
                (slice(-dx, side), slice(0, side + dx))
            out[sel, yd, xd] = img[sel, ys, xs]
    return out.reshape(len(X), -1)


def train_float(net: Network, X: np.ndarray, y: np.ndarray, in_unit: float,
                opt: TwinOptions) -> tuple[nn.Sequential, dict]:
    """Train :func:`float_model` on ``X * in_unit`` with the SNN example's recipe: Adam with a
    cosine learning-rate schedule, ``opt.augment``-pixel random shifts of square inputs, the
    epoch with the best validation accuracy kept; ``(model, {validation accuracy, ...})``."""
    torch.manual_seed(opt.seed)
    model = float_model(net).double()
    tr, va = _split(len(X), opt.validation, opt.seed)
    X = np.asarray(X, np.float64)
    side = int(round(np.sqrt(X.shape[1])))
    augment = opt.augment if side * side == X.shape[1] else 0
    Xf = torch.as_tensor(X * in_unit)
    yt = torch.as_tensor(np.array(y, np.int64))
    optim = torch.optim.Adam(model.parameters(), lr=opt.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=opt.epochs)
    rng = np.random.default_rng(opt.seed)
    loss_fn = nn.CrossEntropyLoss()
    best: tuple[float, Any, int] = (-1.0, None, 0)
    for ep in range(opt.epochs):
        model.train()
        order = rng.permutation(tr)
        Xe = (torch.as_tensor(shift_images(X[order], side, rng, augment) * in_unit)
              if augment else Xf[order])
        ye = yt[order]
        for i in range(0, len(order), opt.batch):
            optim.zero_grad()
            loss = loss_fn(model(Xe[i:i + opt.batch]), ye[i:i + opt.batch])
            loss.backward()
            optim.step()
        sched.step()
        if len(va):
            model.eval()
            with torch.no_grad():
                acc = float((model(Xf[va]).argmax(1) == yt[va]).double().mean())
            if acc > best[0]:
                best = (acc, {k: v.clone() for k, v in model.state_dict().items()}, ep + 1)
    if best[1] is not None:
        model.load_state_dict(best[1])
    model.eval()
    info: dict[str, Any] = {"train": int(len(tr)), "validation": int(len(va)),
                            "epochs": opt.epochs, "lr": opt.lr, "batch": opt.batch,
                            "augment": augment}
    if len(va):
        info.update(validation_accuracy=best[0], kept_epoch=best[2])
    return model, info


def quantize_twin(net: Network, model: nn.Sequential, calib: np.ndarray, in_bits: int,
                  in_unit: float, opt: TwinOptions,
                  name: str | None = None) -> tuple[Network, dict]:
    """The integer ANN (module docstring) of a trained :func:`float_model`; ``(network,
    per-layer report)``."""
    from ..ir import check

    layers = _layers(net)
    last_lif = max(i for i, (k, _) in enumerate(layers) if k == "lif")
    params = [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]
    stages: list[Any] = [Encoder("enc", "direct", 1, in_bits)]
    unit = in_unit  # the float value of one unit of the current layer's input integers
    x = np.asarray(calib, dtype=np.int64)[:, None, :]  # the calibration train [B, 1, n]
    rep: list[dict] = []
    pi = 0
    qmax = (1 << (opt.weight_bits - 1)) - 1
    for i, (k, st) in enumerate(layers):
        if k in ("dense", "conv2d"):
            mod = params[pi]
            pi += 1
            W = mod.weight.detach().double().numpy()
            b = mod.bias.detach().double().numpy()
            s = float(np.abs(W).max()) / qmax or 1.0
            Wq = np.clip(np.rint(W / s), -qmax, qmax).astype(np.int64)
            bq = np.rint(b / (s * unit)).astype(np.int64)
            node = (Dense(f"fc{pi}", Wq, bq, opt.weight_bits, 0) if k == "dense" else
                    Conv2d(f"conv{pi}", tuple(st.in_shape), Wq, bq, st.stride, st.padding,
                           opt.weight_bits, 0))
            acc, _ = kind_of(node).init_state(node, TimeSpec()).forward(x, None)
            relu = i < last_lif
            top = (1 << opt.act_bits) - 1 if relu else (1 << (opt.out_bits - 1)) - 1
            a = np.abs(np.maximum(acc, 0) if relu else acc).reshape(-1)
            p = float(np.percentile(a, opt.percentile)) if a.size else 0.0
            sh = 0
            while sh < 40 and (p / (1 << sh)) > top:
                sh += 1
            node = replace(node, bias=bq + ((1 << (sh - 1)) if sh else 0), shift=sh)
            stages.append(node)
            x, _ = kind_of(node).init_state(node, TimeSpec()).forward(x, None)
            unit = s * unit * (1 << sh)
            rep.append({"layer": node.name, "synapses": int(np.count_nonzero(Wq)),
                        "weight_scale": s, "shift": sh, "percentile_acc": p})
        elif k in ("sumpool", "maxpool", "flatten"):
            stages.append(st)
            x, _ = kind_of(st).init_state(st, TimeSpec()).forward(x, None)
        else:  # lif -> act
            relu = i < last_lif
            act = Act(f"act{len(rep)}", x.shape[-1], "relu" if relu else "linear",
                      opt.act_bits if relu else opt.out_bits)
            rep[-1]["saturations_calibration"] = int(act_saturations(x, act).sum())
            rep[-1]["activation"] = f"{act.fn}, {act.bits} bits"
            stages.append(act)
            x = np.clip(x, *act.range)
    twin = Network(name or f"{net.name}_twin", TimeSpec(), net.inputs, tuple(stages))
    check(twin)
    return twin, {"layers": rep, "weight_bits": opt.weight_bits, "act_bits": opt.act_bits,
                  "out_bits": opt.out_bits, "percentile": opt.percentile}


def twin_evaluate(twin: Network, X: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """One pass of the interpreter's stage kernels over ``X``: the classes (the largest
    final logit, lowest index on ties: the ``act`` readout) and the clamps at the top of
    each ``act`` range (per act stage)."""
    x = np.asarray(X, dtype=np.int64)
    sats = []
    for st in twin.stages:
        if kind_of(st).name == "act":
            sats.append(int(act_saturations(x, st).sum()))
        x, _ = kind_of(st).init_state(st, twin.time).forward(x, None)
    return np.asarray(x)[:, -1, :].argmax(axis=1), sats


def twin_predict(twin: Network, X: np.ndarray) -> np.ndarray:
    return twin_evaluate(twin, X)[0]


def float_predict(model: nn.Sequential, X: np.ndarray, in_unit: float) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(X, np.float64) * in_unit)).argmax(1).numpy()
