"""The ``act`` stage kind: the integer activation of an ANN layer (docs/model.md §11, "act").

``act name n fn bits``: per time step and line, ``fn=relu``: ``y = clamp(x, 0, 2**bits - 1)``
(a clipped ReLU: the activations of a quantized ANN), ``fn=linear``: ``y = clamp(x,
-2**(bits-1), 2**(bits-1) - 1)`` (saturating identity: the logits of the last layer). It
has no state, so with an ``encoder mode=direct steps=1`` in front a network of ``dense`` /
``conv2d`` / pooling stages and ``act`` stages is an integer ANN, the *twin* of an SNN of
the same topology (``neutnngen twin``). Its readout is the largest final value, lowest
index on ties (as a ``lif`` with ``output=membrane``).

The SNN RTL (:mod:`neutnngen.hdl.snn`) builds an ``act`` like a ``lif``: the end of a
segment, whose state word holds the value (``mem_bits``: its signed width) and whose
output buffer holds ``bits``-bit values for the next segment's multipliers. The attributes
``mem_bits``, ``output``, ``alpha_q``, ``refractory`` give it the neuron interface the
segment reads (no synaptic current, no refractory counter, no spikes).

Text: ``act name="h1" n=128 fn=relu bits=8``; JSON: the four fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kinds import Err, StageContext, StageKind, StageState
from ..text import fmt_str

FNS = ("relu", "linear")
MAX_BITS = 24


@dataclass(frozen=True)
class Act:
    """An integer activation (module docstring)."""

    name: str
    n: int
    fn: str = "relu"  # FNS
    bits: int = 8

    # --- the neuron interface of an SNN RTL segment
    @property
    def mem_bits(self) -> int:
        """Signed bits of a value (a ReLU's unsigned ``bits`` plus a sign bit)."""
        return self.bits + 1 if self.fn == "relu" else self.bits

    @property
    def output(self) -> str:
        return "membrane"

    alpha_q = -1
    refractory = 0

    @property
    def range(self) -> tuple[int, int]:
        if self.fn == "relu":
            return 0, (1 << self.bits) - 1
        return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1


def act_forward(x: np.ndarray, node: Act) -> np.ndarray:
    lo, hi = node.range
    return np.clip(np.asarray(x, dtype=np.int64), lo, hi)


def act_saturations(x: np.ndarray, node: Act) -> np.ndarray:
    """Per line, how many values (over the batch and the steps) the clamp changed at the
    top of the range (a ReLU's zeroing of negatives is its function, not a saturation)."""
    lo, hi = node.range
    x = np.asarray(x, dtype=np.int64)
    over = x > hi
    if node.fn == "linear":
        over = over | (x < lo)
    return over.reshape(-1, x.shape[-1]).sum(axis=0)


class ActState(StageState):
    node: Act

    def forward(self, x, side):
        x = np.asarray(x, dtype=np.int64)
        if x.ndim != 3:
            raise ValueError(f"act {self.node.name!r}: expected a train [batch, steps, lines]; "
                             f"got shape {x.shape}")
        return act_forward(x, self.node), None


class ActKind(StageKind):
    name = "act"
    node = Act
    is_layer = True

    def outputs(self, node: Act, width: int) -> int:
        return node.n

    def max_time(self, node, time, max_in):
        return max_in

    def verify(self, node: Act, ctx: StageContext, err: Err) -> None:
        p = ctx.path
        if node.n != ctx.width:
            err(p, f"n={node.n}; expected {ctx.width} (one output per input line)")
        if node.fn not in FNS:
            err(p, f"fn={node.fn!r}; expected one of {', '.join(FNS)}")
        if isinstance(node.bits, bool) or not (2 <= node.bits <= MAX_BITS):
            err(p, f"bits={node.bits}; expected 2..{MAX_BITS}")

    def to_text(self, node: Act) -> list[str]:
        return [f"act name={fmt_str(node.name)} n={node.n} fn={node.fn} bits={node.bits}"]

    def from_text(self, lines):
        (_, _, a), *rest = lines
        if rest:
            raise ValueError("an act has no nested lines")
        return Act(a["name"], a["n"], a["fn"], a["bits"])

    def to_json(self, node: Act, prefix, arr) -> dict:
        return {"name": node.name, "n": node.n, "fn": node.fn, "bits": node.bits}

    def from_json(self, doc, get):
        return Act(doc["name"], doc["n"], doc["fn"], doc["bits"])

    def json_schema(self):
        from ..schema import Int, Obj, Str

        return Obj({"type": Str(("act",)), "name": Str(max_len=200), "n": Int(1, 1 << 24),
                    "fn": Str(FNS), "bits": Int(2, MAX_BITS)})

    def init_state(self, node: Act, time) -> ActState:
        return ActState(node)


KIND = ActKind()

__all__ = ["Act", "FNS", "KIND", "act_forward", "act_saturations"]
_ = StageContext
