"""IR building blocks shared by stage kinds (docs/model.md §§1-5): the time base, inhibition
policies, learning rules, the random source and synapse banks.

Conventions used everywhere:

* A spike time is an integer ``0 .. 2**timeres - 1`` for inputs, ``0 .. T - 1`` for outputs;
  ``NONE == -1`` marks a silent line.
* Weights are integers ``0 .. 2**wres - 1``; thresholds are positive integers.
* Every array stored in a node is a private, read-only copy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

NONE = -1
"""The spike time of a silent line."""

RESPONSES = ("rnl", "snl")
INHIBITION_POLICIES = ("wta1", "kwta", "twta", "none")
PROXIMAL_MODES = ("sum", "enable", "gate")
CREDITS = ("winner", "dendrite")
LEARNING_KINDS = ("stdp", "rstdp", "targeted")
RANDOM_KINDS = ("lfsr-fibonacci",)
RANDOM_SHARING = ("segment", "column")
MU_NAMES = ("capture", "minus", "search", "backoff", "min")
MU_ONE = 1024
"""Every ``mu`` is the fraction ``u / MU_ONE`` with ``0 <= u <= MU_ONE``."""


def frozen_array(a: Any, dtype: Any) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr



@dataclass(frozen=True)
class TimeSpec:
    """The time base of a network (docs/model.md §1).

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
    """A lateral-inhibition policy (docs/model.md §4); ties always go to the lowest index.

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
        """The policy written ``wta1``, ``kwta(k)``, ``twta`` or ``none`` (ConfigError else)."""
        from ..config import parse_inhibition

        return Inhibition(*parse_inhibition(text))


@dataclass(frozen=True)
class LearningRule:
    """Online STDP (docs/model.md §5). Every ``mu_*`` is ``u`` of the probability ``u / 1024``.

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

    ``kind = targeted`` (docs/model.md §5, M3): a credited segment steps each weight by one
    toward the input's intensity ``tau = ((t_max_in - x) * w_max) // t_max_in`` (0 when the
    line is silent): ``w < tau``: ``w += B(mu_capture)``; ``w > tau``: ``w -= B(mu_minus)``
    (line fired) or ``w -= B(mu_backoff)`` (silent). Without credit: search as in STDP. No
    ``Fup``/``Fdown``/``mu_min`` (still drawn: the draw schedule is the same).
    """

    kind: str = "stdp"  # "stdp" | "rstdp" | "targeted"
    credit: str = "winner"  # "winner" | "dendrite"
    mu_capture: int = 640
    mu_minus: int = 952
    mu_search: int = 2
    mu_backoff: int = 952
    mu_min: int = 70
    # M2 (docs/model.md §5): "fixed" thresholds, or "relative": while learning, every wave
    # theta_g = max(1, (sum_j w_gj >> theta_shift) + offset_g), offset_g = theta_g -
    # (sum_j w_gj >> theta_shift) of the weights and thresholds when learning starts
    theta: str = "fixed"
    theta_shift: int = 1
    # M5 (docs/model.md §5): "none", or "winrate": a per-neuron counter H (0 when learning
    # starts) adds H >> h_shift to the neuron's segment thresholds; after each wave every
    # neuron's H -= h_step and each neuron that passed the column inhibition H += q * h_step
    homeostasis: str = "none"
    h_step: int = 1
    h_shift: int = 4
    # M8 (docs/model.md §5): a weight budget per segment, 0 = off. After each wave's update,
    # a segment with n unmasked distal synapses and weight sum s > B = (n * w_max * w_norm)
    # >> 8 has every unmasked weight set to (w * B) // s
    w_norm: int = 0

    def mus(self) -> tuple[int, int, int, int, int]:
        """The five ``u`` values in draw order (capture, minus, search, backoff, min)."""
        return (self.mu_capture, self.mu_minus, self.mu_search, self.mu_backoff, self.mu_min)

    def shifted(self, shift: int) -> LearningRule:
        """M4 (docs/model.md §5): the rule of an epoch with ``mu >> shift`` for capture,
        minus, search and backoff (``mu_min`` unchanged)."""
        return replace(self, mu_capture=self.mu_capture >> shift,
                       mu_minus=self.mu_minus >> shift, mu_search=self.mu_search >> shift,
                       mu_backoff=self.mu_backoff >> shift)


@dataclass(frozen=True, eq=False)
class RandomSource:
    """The deterministic Bernoulli source of STDP (docs/model.md §5), shared by every layer.

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
        object.__setattr__(self, "seeds", frozen_array(self.seeds, np.int64))
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
        object.__setattr__(self, "weights", frozen_array(self.weights, np.int64))
        object.__setattr__(self, "mask", frozen_array(self.mask, bool))

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


def mu_shift_per_wave(mu_shift, waves: int, bits: int | None = None) -> np.ndarray:
    """M4 (docs/model.md §5): ``mu_shift`` (an int or one per wave) as ``int64[waves]``;
    ``ValueError`` naming the values when one is negative, the count is wrong or a shift
    does not fit a ``bits``-wide ``mu_shift`` port."""
    v = np.asarray(mu_shift, dtype=np.int64)
    if v.ndim > 1 or (v.ndim == 1 and v.shape[0] != waves):
        raise ValueError(f"mu_shift: expected an int or {waves} shifts (one per wave), got "
                         f"shape {v.shape}")
    v = np.array(np.broadcast_to(v, (waves,)))
    hi = None if bits is None else (1 << bits) - 1
    if len(v) and (v.min() < 0 or (hi is not None and v.max() > hi)):
        want = "shifts >= 0" if hi is None else f"shifts 0..{hi} for a {bits}-bit mu_shift port"
        raise ValueError(f"mu_shift: values {int(v.min())}..{int(v.max())}; expected {want}")
    return v
