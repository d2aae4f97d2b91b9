"""The :class:`Network`: stages of any registered kind in sequence (see :mod:`.kinds`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .common import TimeSpec
from .kinds import kind_of


@dataclass(frozen=True, eq=False)
class Network:
    """Stages in sequence: each stage's output volley is the next one's input. Stages whose
    kind is a *layer* (``layers``) each take one wave: layer ``k + 1`` processes wave ``n``
    one gamma cycle after layer ``k`` (pipelined by wave); other stages (``Retime``, ...)
    act within the wave of the layer before them.

    ``outputs``, ``synapses``, ``layers`` and ``depth`` come from each stage's kind, so an
    unknown stage type raises :class:`~neutnngen.ir.kinds.UnknownStageKind`."""

    name: str
    time: TimeSpec
    inputs: int
    stages: tuple[Any, ...]  # IR nodes of registered stage kinds (Layer, Retime, ...)
    meta: tuple[tuple[str, str], ...] = ()  # free-form provenance, sorted (key, value)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        object.__setattr__(
            self, "meta", tuple(sorted((str(k), str(v)) for k, v in dict(self.meta).items()))
        )

    @property
    def layers(self) -> list[Any]:
        """The stages whose kind is a layer, in order (``layers[k]`` is layer ``k``)."""
        return [s for s in self.stages if kind_of(s).is_layer]

    def layer_stage_indices(self) -> list[int]:
        """Stage index of every layer (``stages[layer_stage_indices()[k]] is layers[k]``)."""
        return [si for si, s in enumerate(self.stages) if kind_of(s).is_layer]

    @property
    def outputs(self) -> int:
        width = self.inputs
        for st in self.stages:
            width = kind_of(st).outputs(st, width)
        return width

    @property
    def synapses(self) -> int:
        return sum(kind_of(st).synapses(st) for st in self.stages)

    @property
    def depth(self) -> int:
        """Pipeline depth in waves (one per layer)."""
        return len(self.layers)

    def replace_layer(self, index: int, layer: Any) -> Network:
        """A copy with the ``index``-th *layer* (not stage) replaced."""
        idx = self.layer_stage_indices()
        if not 0 <= index < len(idx):
            raise IndexError(index)
        stages = list(self.stages)
        stages[idx[index]] = layer
        return replace(self, stages=tuple(stages))
