"""Online STDP training (docs/model.md §5) of IR networks (batched inference: :mod:`.infer`).

``train(net, X, ...)`` trains the learning layers of ``net`` greedily, one layer after the
other (layer ``k`` with the layers below frozen, each for ``epochs`` passes over ``X`` in
order, or shuffled with ``shuffle=True``), and returns the trained IR with the random
generators' current states stored as seeds, exactly like ``Interpreter.network()``.

Per wave and column: forward with the current weights, inhibition, credit
(``winner``|``dendrite``), R-STDP reward when the rule says so, then capture / minus /
search / backoff with the stabilisation bits ``Fup``/``Fdown`` and ``mu_min``; the new
weights are effective the next wave. The per-layer loop is the stage kind's
(:meth:`~neutnngen.model.kinds.TorchKind.train`; for ``layer``:
:mod:`neutnngen.model.stages.layer.train`); this module selects layers, backend and order.

Modes:

* ``exact``: the IR's own ``RandomSource`` (same LFSR, same draw order, same sharing).
  After every wave the weights equal ``Interpreter.step(x, learn=True, layers={k})``'s.
  The draws do not depend on the data, so they are precomputed for whole chunks of waves
  with one gather (:mod:`neutnngen.model.lfsr`).
* ``fast``: the same draws structure (per generator and wave: five ``mu`` comparisons and
  one draw per weight level, shared as the IR's ``sharing`` says), but the 10-bit draws are
  independent uniform integers from a seeded ``torch.Generator`` instead of the LFSR:
  statistically the same rule, not bit-exact. The generators' IR seeds are left unchanged.

Backends: ``numba`` (compiled sequential kernel, CPU; the default, also where CUDA is
available: :func:`training_device`) and ``torch`` (the same per-wave update in torch ops,
every mechanism included; on CUDA when asked for, and on CPU when numba is missing, with a
warning). Both are tested wave by wave against the interpreter.

The equivalence to the interpreter holds for ``Interpreter.run(np.tile(X, (epochs, 1)),
labels=..., learn=True, layers={k})`` applied layer by layer; with labels, ``enable``
columns of *every* learning layer get their label lines (as ``Interpreter.step`` does).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from ..ir.common import mu_shift_per_wave
from ..ir.interp import label_proximal
from ..ir.kinds import kind_of
from ..ir.network import Network
from ..ir.verify import check
from .columns import potentials_direct
from .convert import network_to_torch
from .infer import as_times, forward_numpy, infer, resolve_device
from .kinds import torch_kind_of
from .threads import torch_threads

MODES = ("exact", "fast")
BACKENDS = ("auto", "numba", "torch")


@dataclass
class TrainResult:
    """The trained IR and statistics (per layer: waves, seconds, coverage, wins, ...)."""

    network: Network
    stats: dict = field(default_factory=dict)


_KERNEL: Any = None
_KERNEL_TRIED = False


def numba_kernel():
    """The compiled kernel, or ``None`` when numba cannot be imported."""
    global _KERNEL, _KERNEL_TRIED
    if not _KERNEL_TRIED:
        _KERNEL_TRIED = True
        try:
            from ._numba_stdp import train_group
        except ImportError:  # numba missing
            _KERNEL = None
        else:
            _KERNEL = train_group
    return _KERNEL


def training_device(device, backend: str = "auto") -> torch.device:
    """The device ``train`` runs on. An explicit ``device`` is kept. Without one: the CPU
    for ``backend='numba'``, and for ``auto`` whenever numba imports (the STDP loop is
    sequential in waves; on the CPU the torch loop measured 7.8x to 320x slower than the
    kernel, most of its time per-wave overhead, which a GPU does not remove;
    ``benchmarks/bench_gpu.py`` measures it there); CUDA when available for
    ``backend='torch'`` or when ``auto`` has no numba."""
    if device is not None:
        return torch.device(device)
    if backend == "numba" or (backend == "auto" and numba_kernel() is not None):
        return torch.device("cpu")
    return resolve_device(None)


def _backend_kernel(backend: str, dev: torch.device):
    """The numba kernel, or ``None`` for the torch loop (see the module docstring)."""
    kernel = None
    if backend in ("auto", "numba") and dev.type == "cpu":
        kernel = numba_kernel()
        if kernel is None:
            if backend == "numba":
                raise ConfigError("backend='numba' but numba cannot be imported; install numba "
                                  "or use backend='torch'")
            warnings.warn("numba is not installed: STDP training falls back to the (much slower) "
                          "torch per-wave loop; install numba for the compiled CPU kernel",
                          RuntimeWarning, stacklevel=3)
    elif backend == "numba":
        raise ConfigError(f"backend='numba' runs on CPU only; device is {dev}")
    return kernel


def train(
    net: Network,
    X,
    *,
    epochs: int = 1,
    mode: str = "exact",
    seed: int = 0,
    labels=None,
    layers=None,
    device=None,
    progress=None,
    shuffle: bool = False,
    proximal: dict[int, np.ndarray] | None = None,
    backend: str = "auto",
    record: bool = False,
    mu_shift=None,
) -> TrainResult:
    """Train the learning layers of ``net`` online by STDP on spike volleys ``X[N, inputs]``.

    ``epochs`` passes over ``X`` (in order; ``shuffle=True`` permutes each epoch with
    ``seed``). ``mode``: ``exact`` (bit-exact with the interpreter) or ``fast`` (torch
    random draws seeded with ``seed``). ``labels[N]``: class per sample, for R-STDP and
    ``enable`` columns. ``layers``: indices of the layers to train (default: every layer
    with a learning rule), trained greedily in increasing order. ``device``: torch device
    (default: :func:`training_device`: the CPU when numba is there, else CUDA when
    available). ``progress(done, total)``: called after each chunk of waves.
    ``proximal[k]``: explicit proximal lines ``[N, sum P]`` of layer ``k`` (as
    ``Interpreter.step``). ``backend``: ``auto`` (numba on CPU, torch on CUDA), ``numba``
    or ``torch``. ``record``: keep every wave's weights and outputs in
    ``stats['history']`` (memory!). ``mu_shift``: M4, one shift per training wave
    (``epochs * N``, in training order): each wave learns with its rule's capture, minus,
    search and backoff ``mu`` shifted right by it, in one training run (LFSR states,
    relative-threshold offsets and win-rate counters carry on).
    """

    if mode not in MODES:
        raise ConfigError(f"mode={mode!r}; expected one of {', '.join(MODES)}")
    if backend not in BACKENDS:
        raise ConfigError(f"backend={backend!r}; expected one of {', '.join(BACKENDS)}")
    if not isinstance(epochs, int | np.integer) or epochs < 0:
        raise ConfigError(f"epochs={epochs!r}; expected an integer >= 0")
    check(net)
    X = as_times(X, net.inputs)
    N = X.shape[0]
    if labels is not None:
        labels = np.asarray(labels).reshape(-1).astype(np.int64)
        if labels.shape[0] != N:
            raise ConfigError(f"labels has {labels.shape[0]} entries for {N} samples")
    net_layers = net.layers
    learning = [li for li, L in enumerate(net_layers) if kind_of(L).learns(L)]
    if layers is None:
        layers = learning
    layers = sorted({int(li) for li in layers})
    for li in layers:
        if li not in learning:
            raise ConfigError(f"layer {li} has no learning rule; layers with one: {learning}")
        if kind_of(net_layers[li]).needs_labels(net_layers[li]) and labels is None:
            raise ConfigError(f"layer {li} learns by R-STDP: train() needs labels")
    dev = training_device(device, backend)
    kernel = _backend_kernel(backend, dev)
    backend_used = "numba" if kernel is not None else "torch"

    model = network_to_torch(net, dev)
    for li in layers:
        if not torch_kind_of(model.layers[li]).trains():
            raise ConfigError(f"layer {li} ({kind_of(net_layers[li]).name!r} kind) has no "
                              "trainer in torch")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(N) if shuffle else np.arange(N)
                            for _ in range(epochs)] or [np.zeros(0, dtype=np.int64)])
    order = order.astype(np.int64)
    topts: dict[str, Any] = {}
    if mu_shift is not None:
        try:  # one per training wave (epochs x samples)
            topts["mu_shift"] = mu_shift_per_wave(mu_shift, len(order))
        except ValueError as e:
            raise ConfigError(str(e)) from None
    prox = {}
    for k, v in (proximal or {}).items():
        k = int(k)
        if not 0 <= k < len(net_layers):
            raise ConfigError(f"proximal[{k}]: no layer {k}; the network has {len(net_layers)}")
        ptot = kind_of(net_layers[k]).side_inputs(net_layers[k])
        prox[k] = as_times(v, ptot, f"proximal[{k}]").astype(np.int64)  # enable: nonzero = set
    gen = torch.Generator().manual_seed(int(seed))
    total = len(order) * len(layers)
    done = 0
    stats: dict[str, Any] = {"mode": mode, "backend": backend_used, "device": str(dev),
                             "epochs": epochs, "samples": N, "layers": {}}
    if record:
        stats["history"] = {}
    t_all = time.perf_counter()
    # one wave at a time: many small ops, on one thread (neutnngen.model.threads)
    with torch_threads(1, dev):
        for li in layers:
            t0 = time.perf_counter()
            tl = model.layers[li]
            if not proximal and labels is not None:
                # label lines gate only the layer being trained, never the frozen ones below
                prox = label_proximal(net, labels, {li})
            Xl = forward_numpy(model, X, prox, upto=li)

            def report(w: int, done: int = done) -> None:
                if progress is not None:
                    progress(done + w, total)

            part, hist_layer = torch_kind_of(tl).train(
                tl, Xl, prox.get(li), order=order, mode=mode, labels=labels, kernel=kernel, gen=gen,
                record=record, report=report, **topts)
            done += len(order)
            dt = time.perf_counter() - t0
            W = len(order)
            syn = kind_of(net_layers[li]).synapses(net_layers[li])
            stats["layers"][li] = {
                "waves": W,
                "seconds": dt,
                "samples_per_s": W / dt if dt > 0 else float("inf"),
                "synapse_updates_per_s": W * syn / dt if dt > 0 else float("inf"),
                "synapses": syn,
                **part,
            }
            if record:
                stats["history"][li] = hist_layer
    stats["seconds"] = time.perf_counter() - t_all
    trained = _network_with_state(net, model, layers, mode)
    return TrainResult(trained, stats)


def _network_with_state(net: Network, model, layers: list[int], mode: str) -> Network:
    """``net`` with the trained layers' state of ``model`` (weights; in exact mode also the
    generator states), built like ``Interpreter.network()``."""
    out = net
    for li in layers:
        node = net.layers[li]
        tl = model.layers[li]
        out = out.replace_layer(li, torch_kind_of(tl).trained_node(node, tl, mode == "exact"))
    return out


__all__ = ["BACKENDS", "MODES", "TrainResult", "infer", "label_proximal", "numba_kernel",
           "potentials_direct", "train", "training_device"]
