"""Static spec records of a planned design (plain Python): synapses, segments, neurons,
columns, layers, and every IR stage as lowered (:class:`StageSpec`), plus the context a
stage-kind planner advances (:class:`PlanContext`). Built by :mod:`neutnngen.hdl.plan`
and the planners of :mod:`neutnngen.hdl.stages`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ir.nodes import Column, Layer, Network
from .stream import Beat

OVERSHOOT_CAP_BITS = 24
"""M1 overshoot ties (docs/model.md §4): the overshoot ``o = V(z) - theta`` is capped at
``KO - 1 = 2**24 - 1`` (the interpreter's key ``z * KO + KO - 1 - min(o, KO - 1)``)."""


@dataclass(frozen=True)
class SynapseSpec:
    """One present synapse of a segment: line ``j`` of the column's line space."""

    j: int
    weight: int
    bits: int  # wres of its bank
    name: str  # "w<input>" (distal) or "p<proximal line>" (proximal)

    @property
    def distal(self) -> bool:
        return self.name.startswith("w")


@dataclass(frozen=True)
class SegmentSpec:
    path: str  # IR-style path: layer0/col0/n0/d0/s0 or layer0/col0/n0/prox
    rtl: str  # hierarchical RTL instance path: layer0.col0.n0.d0.s0
    theta: int
    synapses: tuple[SynapseSpec, ...]
    seg_id: int  # global segment number (register-mode address high part)

    @property
    def wbits(self) -> int:
        return max((s.bits for s in self.synapses), default=1)

    def v_bound(self, weights: str) -> int:
        """The largest potential the segment can reach: a response never exceeds its
        weight, so the sum of the trained weights (``hardwired``) or of the largest
        weights the registers can hold (``register``, ``learn``)."""
        if weights == "hardwired":
            return sum(s.weight for s in self.synapses)
        return sum((1 << s.bits) - 1 for s in self.synapses)


@dataclass(frozen=True)
class NeuronSpec:
    index: int
    dendrites: tuple[tuple[SegmentSpec, ...], ...]
    prox: SegmentSpec | None  # gate mode only
    enable_line: int | None  # enable mode: index into the layer's proximal lines


@dataclass(frozen=True)
class ColumnSpec:
    index: int
    col: Column
    lines: tuple[tuple[str, int], ...]  # ("in", layer input) | ("prox", layer proximal line)
    neurons: tuple[NeuronSpec, ...]
    wave: int  # this column's wave length T_col
    path: str = ""  # layerK/colC

    def overshoot_bits(self, weights: str) -> int:
        """Bits of the overshoot ``o`` its segments report for M1 ties: 0 for
        ``tie = lowest`` (the decisions compare times only), else enough for the largest
        ``V(z) - theta`` of any segment, at most :data:`OVERSHOOT_CAP_BITS`."""
        if getattr(self.col, "tie", "lowest") != "overshoot":
            return 0
        vb = max((seg.v_bound(weights) for n in self.neurons for d in n.dendrites
                  for seg in d), default=0)
        return max(1, min(OVERSHOOT_CAP_BITS, vb.bit_length()))


@dataclass(frozen=True)
class LayerSpec:
    """Static plan of one TNN column layer (stage kind ``layer``)."""

    index: int  # layer index (the k of layerK)
    layer: Layer
    columns: tuple[ColumnSpec, ...]
    prox_offset: int  # first line of this layer in the top-level proximal port
    prox_lines: int
    post: tuple[StageSpec, ...] = ()  # transforms fused into the output conversion
    last: bool = False
    out_bits: int = 0  # stored bits of an output time (TB_IN inside, TB_OUT for the last layer)

    @property
    def inputs(self) -> int:
        return self.layer.inputs

    @property
    def outputs(self) -> int:
        return self.layer.outputs

    @property
    def rtl(self) -> str:
        return f"layer{self.index}"

    @property
    def steps(self) -> int:
        """Time steps of the layer's longest column wave."""
        return max(c.wave for c in self.columns)


@dataclass(frozen=True)
class StageSpec:
    """One IR stage as lowered: its kind, IR name and position, the kind's static ``spec``
    (a :class:`LayerSpec`, a :class:`~neutnngen.ir.nodes.Retime`, ...), the instance name of
    its component in the top (``rtl``; ``None`` for a transform fused into the stage
    ``fused_into``, or one after the last layer that changes no output) and the payloads of
    its input and output streams."""

    kind: str
    name: str
    position: int  # index in Network.stages
    spec: Any
    rtl: str | None = None
    fused_into: str | None = None
    beat_in: Beat | None = None
    beat_out: Beat | None = None


@dataclass
class PlanContext:
    """What a stage-kind planner may read and advance while a design is planned."""

    net: Network
    weights: str
    layer: int = 0  # index of the next layer
    prox_offset: int = 0  # first proximal line of the next layer
    seg_id: int = 0  # next global segment number
    segments: list[SegmentSpec] = field(default_factory=list)
