"""The cycle-level reference interpreter (numpy, integers only): the oracle of docs/model.md §§2-5.

Everything that computes output spikes or weight updates elsewhere (PyTorch model, RTL,
on-chip learning) is tested against this module. Each stage runs its kind's interpreter
state (:meth:`~neutnngen.ir.kinds.StageKind.init_state`): ``forward`` for inference,
``learn`` for one wave of learning, ``to_node`` for the IR with the learned state. The
column kernels of the ``layer`` kind (:func:`column_forward`, :func:`stdp_bank`, ...) live
in :mod:`neutnngen.ir.stages.layer.kernels` and are re-exported here.

Time convention: ``NONE == -1`` is a silent line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .common import LearningRule
from .kinds import StageState, kind_of
from .network import Network
from .stages.layer.kernels import (
    BIG,
    ColumnTrace,
    column_forward,
    credited,
    earliest,
    first_crossing,
    inhibit,
    potentials,
    reward,
    stdp_bank,
)
from .stages.retime import retime
from .verify import check


def label_proximal(net: Network, labels: np.ndarray,
                   layers: set[int] | None = None) -> dict[int, np.ndarray]:
    """Side (proximal) lines derived from labels for supervised learning, per layer index.

    Every learning layer (restricted to ``layers`` when given: the layers being trained, so
    frozen layers below are not gated) gets what its kind derives from the labels
    (:meth:`~neutnngen.ir.kinds.StageKind.label_lines`; for the ``layer`` kind: line ``i`` of
    an ``enable`` column is set iff the label is ``i``, the lines of its other columns are
    silent). Layers for which the kind derives nothing get no entry (their proximal lines
    keep their defaults).
    """
    out: dict[int, np.ndarray] = {}
    labels = np.asarray(labels).reshape(-1)
    for li, layer in enumerate(net.layers):
        kind = kind_of(layer)
        if not kind.learns(layer) or (layers is not None and li not in layers):
            continue
        lines = kind.label_lines(layer, labels)
        if lines is not None:
            out[li] = lines
    return out


@dataclass
class WaveResult:
    """Per layer: the input volley it saw, its kind's trace (``layer`` kind: one
    :class:`ColumnTrace` per column) and its output volley (batch axis of 1 removed by the
    caller as needed)."""

    inputs: list[np.ndarray]
    traces: list[Any]
    outputs: list[np.ndarray]


class Interpreter:
    """Golden model of a network. Holds the learning state (one :class:`StageState` per
    stage in ``states``: weights and random-generator states); the IR it was built from is
    never modified.

    * :meth:`forward`: batched inference with the current weights;
    * :meth:`step`: one wave, optionally learning (docs/model.md §5), returns every intermediate;
    * :meth:`network`: the IR with the current weights (and generator states as seeds, so
      training can continue bit-exactly from it).

    ``distal[k][c]``, ``proximal[k][c]`` and ``rng[k][c]`` are views of the state of column
    ``c`` of layer ``k`` (``layer`` kind; other kinds give ``None`` for the layer).
    """

    def __init__(self, net: Network, validate: bool = True):
        if validate:
            check(net)
        self.net = net
        self.kinds = [kind_of(st) for st in net.stages]
        self.states: list[StageState] = [k.init_state(st, net.time)
                                         for k, st in zip(self.kinds, net.stages, strict=True)]
        self._layer_states = [s for k, s in zip(self.kinds, self.states, strict=True)
                              if k.is_layer]
        self.waves = 0

    def _view(self, attr: str) -> list:
        return [getattr(s, attr, None) for s in self._layer_states]

    @property
    def distal(self) -> list[list[np.ndarray]]:
        return self._view("distal")

    @property
    def proximal(self) -> list[list[np.ndarray | None]]:
        return self._view("proximal")

    @property
    def rng(self) -> list[list[np.ndarray | None]]:
        return self._view("rng")

    @property
    def H(self) -> list[list[np.ndarray | None]]:
        """The M5 win-rate counters ``H[layer][column]`` (``None`` without win-rate)."""
        return self._view("H")

    # -- inference -------------------------------------------------------------------------
    def forward(self, X: np.ndarray, proximal: dict[int, np.ndarray] | None = None,
                all_layers: bool = False):
        """Output volleys of the last layer for input volleys ``X[N, inputs]`` (or the list of
        every layer's outputs with ``all_layers``)."""
        res = self._evaluate(np.asarray(X, dtype=np.int64), proximal or {})
        return res.outputs if all_layers else res.outputs[-1]

    def _evaluate(self, X: np.ndarray, proximal: dict[int, np.ndarray]) -> WaveResult:
        h = X
        res = WaveResult([], [], [])
        for kind, state in zip(self.kinds, self.states, strict=True):
            if not kind.is_layer:
                h, _ = state.forward(h, None)
                continue
            li = len(res.inputs)
            res.inputs.append(h)
            h, trace = state.forward(h, proximal.get(li))
            res.traces.append(trace)
            res.outputs.append(h)
        return res

    # -- learning ----------------------------------------------------------------------------
    def proximal_for_labels(self, labels: np.ndarray, learn: bool,
                            layers: set[int] | None = None) -> dict[int, np.ndarray]:
        """Label-driven proximal lines while learning (see :func:`label_proximal`)."""
        return label_proximal(self.net, labels, layers) if learn else {}

    def step(self, x: np.ndarray, learn: bool = False, label: int | None = None,
             proximal: dict[int, np.ndarray] | None = None,
             layers: set[int] | None = None, mu_shift: int = 0) -> WaveResult:
        """Process one wave ``x[inputs]``. With ``learn``, every learning layer (or those in
        ``layers``) updates its state after the wave (effective next wave); ``mu_shift``:
        the wave learns with its rule's capture, minus, search and backoff ``mu`` shifted
        right by it (M4, docs/model.md §5: one epoch of a ``train.mu_decay`` schedule)."""
        x = np.asarray(x, dtype=np.int64).reshape(1, -1)
        prox = dict(proximal or {})
        if label is not None and not prox:
            prox = self.proximal_for_labels(np.array([label]), learn, layers)
        res = self._evaluate(x, prox)
        if learn:
            for li, (layer, state) in enumerate(zip(self.net.layers, self._layer_states,
                                                    strict=True)):
                if not kind_of(layer).learns(layer) or (layers is not None and li not in layers):
                    continue
                node = state.node
                if mu_shift:
                    rule = getattr(node, "learning", None)
                    if not isinstance(rule, LearningRule):
                        raise ValueError(f"mu_shift={mu_shift}: layer {li} ({node.name!r}) "
                                         "does not learn by a LearningRule")
                    state.node = replace(node, learning=rule.shifted(mu_shift))
                try:
                    state.learn(res.inputs[li], prox.get(li), res.traces[li], label)
                finally:
                    state.node = node
        self.waves += 1
        return res

    def run(self, X: np.ndarray, labels: np.ndarray | None = None, learn: bool = False,
            layers: set[int] | None = None, on_wave=None) -> np.ndarray:
        """Process waves in order; returns the last layer's output volleys ``[N, outputs]``.
        ``on_wave(n, result, interpreter)`` is called after each wave (and its update)."""
        X = np.asarray(X, dtype=np.int64)
        if not learn and on_wave is None:
            prox = self.proximal_for_labels(labels, False) if labels is not None else None
            return self.forward(X, prox)
        outs = np.empty((X.shape[0], self.net.outputs), dtype=np.int64)
        for n in range(X.shape[0]):
            lab = None if labels is None else int(labels[n])
            res = self.step(X[n], learn=learn, label=lab, layers=layers)
            outs[n] = res.outputs[-1][0]
            if on_wave is not None:
                on_wave(n, res, self)
        return outs

    # -- state -------------------------------------------------------------------------------
    def network(self) -> Network:
        """The IR with the current weights and generator states."""
        return replace(self.net, stages=tuple(s.to_node() for s in self.states))


__all__ = [
    "BIG", "ColumnTrace", "Interpreter", "WaveResult", "column_forward", "credited", "earliest",
    "first_crossing", "inhibit", "label_proximal", "potentials", "retime", "reward", "stdp_bank",
]
