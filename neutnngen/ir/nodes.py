"""Frozen, typed IR nodes of the column-and-dendrite network (SPEC §§1-5).

The hierarchy is synapse -> segment -> dendrite -> neuron -> column -> layer -> network.
A :class:`Column` stores its synapses as dense integer tensors shaped by that hierarchy
(``[neurons, dendrites, segments, inputs]``) plus a connectivity mask, so a pruned synapse
is *absent* (mask ``False``), not a zero weight. :class:`Neuron`, :class:`Dendrite` and
:class:`Segment` are frozen views of one column (``column.neuron(i).dendrite(d).segment(s)``)
that carry their IR path; they exist for inspection, reports and the HDL generator's naming.
A classic TNN column is the degenerate case ``dendrites == segments == 1`` with no proximal
synapses; it goes through exactly the same nodes.

Conventions used everywhere:

* A spike time is an integer ``0 .. 2**timeres - 1`` for inputs, ``0 .. T - 1`` for outputs;
  ``NONE == -1`` marks a silent line.
* Weights are integers ``0 .. 2**wres - 1``; thresholds are positive integers.
* Every array stored in a node is a private, read-only copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

NONE = -1
"""The spike time of a silent line."""

RESPONSES = ("rnl", "snl")
INHIBITION_POLICIES = ("wta1", "kwta", "twta", "none")
PROXIMAL_MODES = ("sum", "enable", "gate")
CREDITS = ("winner", "dendrite")
LEARNING_KINDS = ("stdp", "rstdp")
RANDOM_KINDS = ("lfsr-fibonacci",)
RANDOM_SHARING = ("segment", "column")
MU_NAMES = ("capture", "minus", "search", "backoff", "min")
MU_ONE = 1024
"""Every ``mu`` is the fraction ``u / MU_ONE`` with ``0 <= u <= MU_ONE``."""


def _frozen_array(a: Any, dtype: Any) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class TimeSpec:
    """The time base of a network (SPEC §1).

    Input spike times are ``0 .. t_max_in`` with ``t_max_in = 2**timeres - 1``. A column's
    wave lasts ``T = t_max_in + w_max`` steps for ramp responses and ``T = t_max_in + 1``
    for step responses (see :meth:`wave_length`).
    """

    timeres: int = 3  # bits per input spike time, 1..8
    response: str = "rnl"  # "rnl" (ramp-no-leak, default) | "snl" (step-no-leak)

    @property
    def t_max_in(self) -> int:
        return (1 << self.timeres) - 1

    def wave_length(self, w_max: int) -> int:
        """Number of time steps ``T`` of a wave for the largest weight ``w_max``."""
        if self.response == "snl":
            return self.t_max_in + 1
        return self.t_max_in + w_max


@dataclass(frozen=True)
class Inhibition:
    """A lateral-inhibition policy (SPEC §4); ties always go to the lowest index.

    * ``wta1``: only the earliest spike passes;
    * ``kwta``: the ``k`` earliest pass;
    * ``twta``: every spike tied for earliest passes;
    * ``none``: everything passes.
    """

    policy: str = "wta1"
    k: int = 1  # only meaningful for kwta

    def __str__(self) -> str:
        return f"kwta({self.k})" if self.policy == "kwta" else self.policy

    @staticmethod
    def parse(text: str) -> Inhibition:
        from ..errors import ConfigError

        t = text.strip()
        if t.startswith("kwta(") and t.endswith(")"):
            try:
                k = int(t[5:-1])
            except ValueError:
                raise ConfigError(f"bad inhibition {text!r}: kwta(k) needs an integer k") from None
            return Inhibition("kwta", k)
        if t == "kwta":
            raise ConfigError(f"bad inhibition {text!r}: write kwta(k), e.g. kwta(2)")
        if t not in INHIBITION_POLICIES:
            raise ConfigError(
                f"unknown inhibition policy {text!r}; accepted: wta1, kwta(k), twta, none"
            )
        return Inhibition(t, 1)


@dataclass(frozen=True)
class LearningRule:
    """Online STDP (SPEC §5). Every ``mu_*`` is ``u`` of the probability ``u / 1024``.

    Per synapse and wave, with ``x`` its input time and ``z`` its segment's credited output:

    * capture (x, z fired, x <= z): ``w += B(mu_capture) & (B(mu_min) | Fup(w))``
    * minus   (x, z fired, x >  z): ``w -= B(mu_minus) & (B(mu_min) | Fdown(w))``
    * search  (x fired, z NONE):    ``w += B(mu_search)``
    * backoff (x NONE, z fired):    ``w -= B(mu_backoff) & (B(mu_min) | Fdown(w))``

    ``credit = winner``: a segment counts as fired only if it won its dendrite, its dendrite
    was the neuron's earliest (lowest index on ties) and the neuron survived the column's
    inhibition (and its proximal gating). ``credit = dendrite``: the dendrite-level (segment
    WTA) result only, as in the TNNGen RTL.

    ``kind = rstdp`` (reward-modulated, needs a label per wave): reward +1 when the column's
    winner is the label -> normal STDP without search; 0 when nothing fired -> search only;
    -1 -> capture becomes ``w -= B(mu_capture) & (B(mu_min) | Fdown(w))``, minus and backoff
    as usual, no search.
    """

    kind: str = "stdp"  # "stdp" | "rstdp"
    credit: str = "winner"  # "winner" | "dendrite"
    mu_capture: int = 640
    mu_minus: int = 952
    mu_search: int = 2
    mu_backoff: int = 952
    mu_min: int = 70

    def mus(self) -> tuple[int, int, int, int, int]:
        """The five ``u`` values in draw order (capture, minus, search, backoff, min)."""
        return (self.mu_capture, self.mu_minus, self.mu_search, self.mu_backoff, self.mu_min)


@dataclass(frozen=True, eq=False)
class RandomSource:
    """The deterministic Bernoulli source of STDP (SPEC §5), shared by every layer.

    ``lfsr-fibonacci``: a ``width``-bit Fibonacci LFSR per generator. One *step*:
    ``fb = parity(state & tapmask)``; ``state = ((state << 1) | fb) & (2**width - 1)``, where
    ``tapmask`` has bit ``t - 1`` set for every tap ``t`` (taps are the exponents of the
    feedback polynomial; the default ``x^16 + x^15 + x^13 + x^4 + 1`` is maximal-length).
    One *draw* is ``steps_per_draw`` steps followed by ``state & (2**draw_bits - 1)``; with
    ``steps_per_draw == draw_bits`` the draw is exactly the bits generated by that draw.

    Every wave in which learning is on, every generator makes ``5 + w_max + 1`` draws, in
    this order: capture, minus, search, backoff, min, then one draw per weight level
    ``w = 0 .. w_max`` shared by ``Fup(w)`` and ``Fdown(w)``. ``B(u) = draw < u``.

    ``sharing = segment``: one generator per segment (row-major over neuron, dendrite,
    segment; in ``gate`` mode the neurons' proximal segments follow, one per neuron);
    ``sharing = column``: one generator per column, its draws shared by all segments.
    ``seeds`` holds each generator's nonzero initial state.
    """

    seeds: np.ndarray  # uint32 [generators], each in 1 .. 2**width - 1
    kind: str = "lfsr-fibonacci"
    width: int = 16  # state bits, draw_bits .. 32
    taps: tuple[int, ...] = (16, 15, 13, 4)  # feedback polynomial exponents, 1..width
    steps_per_draw: int = 10
    draw_bits: int = 10  # must be 10: B(u) compares 10-bit draws with u / 1024
    sharing: str = "segment"

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", _frozen_array(self.seeds, np.int64))
        object.__setattr__(self, "taps", tuple(int(t) for t in self.taps))

    @property
    def tapmask(self) -> int:
        m = 0
        for t in self.taps:
            m |= 1 << (t - 1)
        return m


def default_seeds(n: int, seed: int, width: int = 16, salt: int = 0) -> np.ndarray:
    """``n`` distinct-looking nonzero LFSR seeds derived from an integer seed (splitmix64)."""
    out = np.empty(n, dtype=np.int64)
    mask64 = (1 << 64) - 1
    top = (1 << width) - 1
    for i in range(n):
        z = (seed * 0x9E3779B97F4A7C15 + (salt << 32) + i + 1) & mask64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask64
        z ^= z >> 31
        out[i] = (z % top) + 1
    return out


@dataclass(frozen=True, eq=False)
class SynapseBank:
    """Integer weights and connectivity of a group of synapses.

    ``weights`` and ``mask`` share one shape whose last axis runs over input lines.
    ``mask[..., j] == False`` means synapse ``j`` does not exist (pruned or never wired);
    its weight is 0 by convention and it has no hardware.
    """

    weights: np.ndarray  # int, 0 .. 2**wres - 1
    mask: np.ndarray  # bool, same shape
    wres: int = 3  # weight bits, 1..8

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", _frozen_array(self.weights, np.int64))
        object.__setattr__(self, "mask", _frozen_array(self.mask, bool))

    @property
    def w_max(self) -> int:
        return (1 << self.wres) - 1

    @property
    def synapses(self) -> int:
        return int(self.mask.sum())

    @staticmethod
    def dense(weights: Any, wres: int = 3) -> SynapseBank:
        w = np.asarray(weights)
        return SynapseBank(w, np.ones(w.shape, dtype=bool), wres)


@dataclass(frozen=True, eq=False)
class Column:
    """A column of ``neurons`` neurons over the same ``inputs`` lines (SPEC §3, §4).

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "theta", _frozen_array(self.theta, np.int64))
        if self.proximal_theta is not None:
            object.__setattr__(
                self, "proximal_theta", _frozen_array(self.proximal_theta, np.int64)
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


@dataclass(frozen=True)
class Retime:
    """Explicit, saturating time conversion between layers: ``x' = min(z >> shift, t_max)``;
    NONE stays NONE."""

    name: str
    shift: int  # >= 0
    t_max: int  # the next layer's t_max_in


@dataclass(frozen=True, eq=False)
class Network:
    """Layers (and retimes) in sequence; layer ``k + 1`` processes wave ``n`` one gamma cycle
    after layer ``k`` (pipelined by wave)."""

    name: str
    time: TimeSpec
    inputs: int
    stages: tuple[Layer | Retime, ...]
    meta: tuple[tuple[str, str], ...] = ()  # free-form provenance, sorted (key, value)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        object.__setattr__(
            self, "meta", tuple(sorted((str(k), str(v)) for k, v in dict(self.meta).items()))
        )

    @property
    def layers(self) -> list[Layer]:
        return [s for s in self.stages if isinstance(s, Layer)]

    @property
    def outputs(self) -> int:
        return self.layers[-1].outputs if self.layers else self.inputs

    @property
    def synapses(self) -> int:
        return sum(layer.synapses for layer in self.layers)

    @property
    def depth(self) -> int:
        """Pipeline depth in waves (one per layer)."""
        return len(self.layers)

    def replace_layer(self, index: int, layer: Layer) -> Network:
        """A copy with the ``index``-th *layer* (not stage) replaced."""
        stages = list(self.stages)
        k = -1
        for si, st in enumerate(stages):
            if isinstance(st, Layer):
                k += 1
                if k == index:
                    stages[si] = layer
                    return replace(self, stages=tuple(stages))
        raise IndexError(index)
