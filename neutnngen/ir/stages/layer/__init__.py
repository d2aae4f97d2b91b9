"""The ``layer`` stage kind: TNN columns side by side, optionally wired by a ``Kernel``.

``nodes`` (frozen IR nodes), ``verify``, ``text`` and ``codec`` (canonical text, JSON+NPZ),
``kernels`` (column inference and STDP in numpy) and ``state`` (the interpreter state).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...common import TimeSpec
from ...kinds import Err, StageContext, StageKind
from .codec import layer_from_json, layer_schema, layer_to_json
from .nodes import Column, Dendrite, Kernel, Layer, Neuron, Segment
from .state import LayerState, label_lines
from .text import layer_lines, parse_layer
from .verify import verify_layer


class LayerKind(StageKind):
    """A TNN column layer (docs/model.md §§2-5): weights, learning, proximal side lines."""

    name = "layer"
    node = Layer
    is_layer = True
    has_synapses = True
    synapse_layout = "columns"

    def outputs(self, node: Layer, width: int) -> int:
        return node.outputs

    def max_time(self, node: Layer, time: TimeSpec, max_in: int) -> int:
        return max((c.wave_length(time) - 1 for c in node.columns), default=0)

    def synapses(self, node: Layer) -> int:
        return node.synapses

    def learns(self, node: Layer) -> bool:
        return node.learning is not None

    def needs_labels(self, node: Layer) -> bool:
        return node.learning is not None and node.learning.kind == "rstdp"

    def side_inputs(self, node: Layer) -> int:
        return sum(c.proximal_inputs for c in node.columns)

    def label_lines(self, node: Layer, labels: np.ndarray) -> np.ndarray | None:
        return label_lines(node, labels)

    def verify(self, node: Layer, ctx: StageContext, err: Err) -> None:
        verify_layer(node, ctx, err)

    def to_text(self, node: Layer) -> list[str]:
        return layer_lines(node)

    def from_text(self, lines: list[tuple[int, str, dict]]) -> Layer:
        return parse_layer(lines)

    def to_json(self, node: Layer, prefix: str, arr: Callable[[str, Any, Any], str]) -> dict:
        return layer_to_json(node, prefix, arr)

    def from_json(self, doc: dict, get: Callable[[str], np.ndarray]) -> Layer:
        return layer_from_json(doc, get)

    def json_schema(self):
        return layer_schema()

    def init_state(self, node: Layer, time: TimeSpec) -> LayerState:
        return LayerState(node, time)


KIND = LayerKind()

__all__ = ["KIND", "Column", "Dendrite", "Kernel", "Layer", "LayerKind", "LayerState",
           "Neuron", "Segment"]
