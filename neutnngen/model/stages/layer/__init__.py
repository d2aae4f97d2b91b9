"""Torch side of the ``layer`` stage kind: :class:`TNNLayer` (``module``), IR <-> torch
(``convert``) and its online STDP training loop (``train``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ....errors import ConfigError
from ....ir.common import TimeSpec
from ....ir.stages.layer.nodes import Layer
from ...kinds import TorchKind
from .convert import layer_from_torch, layer_to_torch, trained_layer
from .module import TNNLayer
from .train import train_layer


class LayerTorchKind(TorchKind):
    name = "layer"
    module = TNNLayer

    def to_torch(self, node: Layer, time: TimeSpec) -> TNNLayer:
        return layer_to_torch(node, time)

    def from_torch(self, module: TNNLayer, path: str) -> Layer:
        return layer_from_torch(module, path)

    def time_of(self, module: TNNLayer) -> TimeSpec | None:
        return module.groups[0].time if len(module.groups) else None

    def inputs_of(self, module: TNNLayer) -> int | None:
        return module.inputs

    def trains(self) -> bool:
        return True

    def train(self, module: TNNLayer, X: np.ndarray, side: np.ndarray | None, *,
              order: np.ndarray, mode: str, labels: np.ndarray | None, kernel: Any,
              gen: torch.Generator, record: bool, report: Callable[[int], None],
              mu_shift: np.ndarray | None = None) -> tuple[dict, Any]:
        if module.learning is None:
            raise ConfigError(f"layer {module.name!r} has no learning rule")
        return train_layer(module, X, side, order=order, mode=mode, labels=labels,
                           kernel=kernel, gen=gen, record=record, report=report,
                           mu_shift=mu_shift)

    def trained_node(self, node: Layer, module: TNNLayer, exact: bool) -> Layer:
        return trained_layer(node, module, exact)


KIND = LayerTorchKind()

__all__ = ["KIND", "LayerTorchKind", "TNNLayer"]
