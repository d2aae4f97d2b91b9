"""Frozen IR nodes of the ``layer`` stage kind: TNN columns side by side (docs/model.md §§2-4).

The hierarchy is synapse -> segment -> dendrite -> neuron -> column -> layer.
A :class:`Column` stores its synapses as dense integer tensors shaped by that hierarchy
(``[neurons, dendrites, segments, inputs]``) plus a connectivity mask, so a pruned synapse
is *absent* (mask ``False``), not a zero weight. :class:`Neuron`, :class:`Dendrite` and
:class:`Segment` are frozen views of one column (``column.neuron(i).dendrite(d).segment(s)``)
that carry their IR path; they exist for inspection, reports and the HDL generator's naming.
A classic TNN column is the degenerate case ``dendrites == segments == 1`` with no proximal
synapses; it goes through exactly the same nodes. A :class:`Kernel` wires receptive fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ...common import Inhibition, LearningRule, RandomSource, SynapseBank, TimeSpec, frozen_array


@dataclass(frozen=True, eq=False)
class Column:
    """A column of ``neurons`` neurons over the same ``inputs`` lines (docs/model.md §3, §4).

    Neuron ``i`` has ``dendrites`` dendrites of ``segments`` segments. Segment ``(i, d, s)``
    sums ramp/step responses of its distal synapses ``distal.weights[i, d, s, :]`` (plus, in
    ``sum`` mode, its proximal synapses ``proximal.weights[i, d, s, :]`` over the proximal
    lines) and fires at the first step where the sum reaches ``theta[i, d, s]``.
    Segments compete inside their dendrite under ``segment_inhibition``; a dendrite fires at
    its winning segment's time; a neuron fires at its earliest dendrite, combined with its
    proximal input by ``proximal_mode``; neurons compete under ``column_inhibition``.

    Proximal modes: ``sum`` (proximal synapses are extra synapses of every segment;
    ``proximal`` is ``None`` when there are none), ``enable`` (one 1-bit line per neuron;
    ``proximal`` is ``None``), ``gate`` (``proximal.weights[i, :]`` form one proximal segment
    per neuron with threshold ``proximal_theta[i]``; the neuron fires at
    ``max(z_proximal, z_dendrites)`` when both fired).
    """

    name: str
    inputs: int  # p: distal input lines of this column
    distal: SynapseBank  # weights [neurons, dendrites, segments, inputs]
    theta: np.ndarray  # int [neurons, dendrites, segments], >= 1
    segment_inhibition: Inhibition = field(default_factory=Inhibition)
    column_inhibition: Inhibition = field(default_factory=Inhibition)
    proximal_mode: str = "sum"
    proximal_inputs: int = 0  # proximal lines (enable: must equal neurons)
    proximal: SynapseBank | None = None  # sum: [n, d, s, P]; gate: [n, P]; enable: None
    proximal_theta: np.ndarray | None = None  # gate only: int [neurons]
    random: RandomSource | None = None  # required when the layer learns
    # M1 (docs/model.md §4): how every WTA comparison of this column breaks equal times:
    # "lowest" index, or "overshoot" (larger V(z) - theta first, then lowest index)
    tie: str = "lowest"

    def __post_init__(self) -> None:
        object.__setattr__(self, "theta", frozen_array(self.theta, np.int64))
        if self.proximal_theta is not None:
            object.__setattr__(
                self, "proximal_theta", frozen_array(self.proximal_theta, np.int64)
            )

    @property
    def neurons(self) -> int:
        return int(self.distal.weights.shape[0])

    @property
    def dendrites(self) -> int:
        return int(self.distal.weights.shape[1])

    @property
    def segments(self) -> int:
        return int(self.distal.weights.shape[2])

    @property
    def w_max(self) -> int:
        """Largest weight of any bank of this column (sets the ramp wave length)."""
        wm = self.distal.w_max
        if self.proximal is not None:
            wm = max(wm, self.proximal.w_max)
        return wm

    def wave_length(self, time: TimeSpec) -> int:
        return time.wave_length(self.w_max)

    @property
    def synapses(self) -> int:
        n = self.distal.synapses
        if self.proximal is not None:
            n += self.proximal.synapses
        return n

    def n_generators(self) -> int:
        """Random generators this column needs under its source's sharing."""
        if self.random is not None and self.random.sharing == "column":
            return 1
        n = self.neurons * self.dendrites * self.segments
        if self.proximal_mode == "gate":
            n += self.neurons
        return n

    def neuron(self, i: int) -> Neuron:
        return Neuron(self, i)

    def neuron_list(self) -> list[Neuron]:
        return [Neuron(self, i) for i in range(self.neurons)]

    def with_weights(
        self, distal: np.ndarray, proximal: np.ndarray | None = None
    ) -> Column:
        """A copy with new weight values (same connectivity); pruned synapses stay 0."""
        d = SynapseBank(np.where(self.distal.mask, distal, 0), self.distal.mask, self.distal.wres)
        p = self.proximal
        if p is not None and proximal is not None:
            p = SynapseBank(np.where(p.mask, proximal, 0), p.mask, p.wres)
        return replace(self, distal=d, proximal=p)


@dataclass(frozen=True)
class Neuron:
    """View of neuron ``index`` of a column."""

    column: Column
    index: int

    @property
    def path(self) -> str:
        return f"n{self.index}"

    def dendrite(self, d: int) -> Dendrite:
        return Dendrite(self.column, self.index, d)

    def dendrite_list(self) -> list[Dendrite]:
        return [Dendrite(self.column, self.index, d) for d in range(self.column.dendrites)]


@dataclass(frozen=True)
class Dendrite:
    """View of dendrite ``index`` of neuron ``neuron`` of a column."""

    column: Column
    neuron: int
    index: int

    @property
    def path(self) -> str:
        return f"n{self.neuron}/d{self.index}"

    def segment(self, s: int) -> Segment:
        return Segment(self.column, self.neuron, self.index, s)

    def segment_list(self) -> list[Segment]:
        return [self.segment(s) for s in range(self.column.segments)]


@dataclass(frozen=True)
class Segment:
    """View of one segment: a classic TNN point neuron with its synapses."""

    column: Column
    neuron: int
    dendrite: int
    index: int

    @property
    def path(self) -> str:
        return f"n{self.neuron}/d{self.dendrite}/s{self.index}"

    @property
    def theta(self) -> int:
        return int(self.column.theta[self.neuron, self.dendrite, self.index])

    @property
    def weights(self) -> np.ndarray:
        return self.column.distal.weights[self.neuron, self.dendrite, self.index]

    @property
    def mask(self) -> np.ndarray:
        return self.column.distal.mask[self.neuron, self.dendrite, self.index]


@dataclass(frozen=True)
class Kernel:
    """Wiring-only receptive fields over an image-like input ``[height, width, channels]``.

    The layer input is the image flattened row-major with channels fastest. Window ``c``
    (row-major over window positions, ``rfsize x rfsize`` pixels, step ``stride``) feeds
    column ``c``; its lines are the window's pixels row-major, channels fastest.
    """

    height: int
    width: int
    channels: int
    rfsize: int
    stride: int

    @property
    def inputs(self) -> int:
        return self.height * self.width * self.channels

    @property
    def grid(self) -> tuple[int, int]:
        return (
            (self.height - self.rfsize) // self.stride + 1,
            (self.width - self.rfsize) // self.stride + 1,
        )

    @property
    def windows(self) -> int:
        gh, gw = self.grid
        return gh * gw

    @property
    def window_inputs(self) -> int:
        return self.rfsize * self.rfsize * self.channels

    def window(self, c: int) -> np.ndarray:
        """Layer-input indices of window ``c``."""
        gh, gw = self.grid
        r0, c0 = divmod(c, gw)
        rows = r0 * self.stride + np.arange(self.rfsize)
        cols = c0 * self.stride + np.arange(self.rfsize)
        pix = (rows[:, None] * self.width + cols[None, :]).reshape(-1)
        return (pix[:, None] * self.channels + np.arange(self.channels)[None, :]).reshape(-1)


@dataclass(frozen=True, eq=False)
class Layer:
    """Columns side by side. Without a kernel every column sees all ``inputs`` lines; with
    one, column ``c`` sees ``kernel.window(c)``. The layer's output is its columns' neuron
    times concatenated (column-major: column 0's neurons first)."""

    name: str
    inputs: int
    columns: tuple[Column, ...]
    kernel: Kernel | None = None
    learning: LearningRule | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))

    @property
    def outputs(self) -> int:
        return sum(c.neurons for c in self.columns)

    def column_inputs(self, c: int) -> np.ndarray:
        if self.kernel is None:
            return np.arange(self.inputs)
        return self.kernel.window(c)

    @property
    def synapses(self) -> int:
        return sum(c.synapses for c in self.columns)
