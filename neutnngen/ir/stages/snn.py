"""Clock-driven SNN stage kinds (docs/model.md §11): integer state, declared bit widths.

Kinds (each registered under its name through a one-line module ``neutnngen/ir/stages/<kind>.py``):

* ``encoder``: input integers ``[B, inputs]`` -> spike/current trains ``[B, steps, inputs]``
  (``direct``: the value at every step; ``latency``: one spike at
  ``(max - x) * steps // (max + 1)``, none for 0; ``times``: one spike at step ``x``, none for
  ``NONE``: the TNN -> SNN interface; ``rate``: a spike when an LFSR draw is below the value);
* ``dense``: ``cur = (x @ W.T + b) >> shift`` at every step (signed ``weight_bits`` weights);
* ``conv2d``: the same per output position with shared weights (zero padding, stride);
* ``sumpool`` / ``maxpool``: ``k x k`` windows, integer sum / max (on spikes: OR);
* ``flatten``: the identity on the flat C-order lines (a marker of the torch/NIR graph);
* ``lif``: IF (``leak=none``) / LIF neurons (``leak=shift|mul``) with ``mem_bits`` membranes,
  reset ``zero|subtract`` in snnTorch's order, optional refractory steps, and an output
  ``spikes`` (trains) or a readout ``count|first|membrane`` (``[B, n]``). It is the SNN's
  *layer* kind (its trace keeps final membranes and saturation counts).

Every temporal value is ``[B, T, lines]`` int64, C-order over ``(channel, row, column)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..common import NONE, TimeSpec, frozen_array
from ..kinds import Err, StageContext, StageKind, StageState
from ..text import fmt_list, fmt_str

ENCODINGS = ("direct", "latency", "times", "rate")
RATE_WIDTH = 16
RATE_TAPS = (16, 15, 13, 4)  # the IR's default LFSR polynomial (docs/model.md §5)
RATE_SALT = 0x5EED
LEAKS = ("none", "shift", "mul")
RESETS = ("zero", "subtract")
OUTPUTS = ("spikes", "count", "first", "membrane")
MAX_STEPS = 4096
MAX_WEIGHT_BITS = 16
MAX_MEM_BITS = 32
MAX_SHIFT = 40
MAX_BIAS = 1 << 48


def _temporal(x: np.ndarray, who: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 3:
        raise ValueError(f"{who} needs spike trains [B, steps, lines]; got shape {x.shape} "
                         f"(an SNN needs an 'encoder' stage before its first synapses)")
    return x


def _ints(a: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in (a if isinstance(a, (list, tuple, np.ndarray)) else [a]))


def _shape_attr(a: Any, n: int, what: str) -> tuple[int, ...]:
    t = _ints(a)
    if len(t) != n:
        raise ValueError(f"{what}={list(t)}; expected {n} integers")
    return t


# =========================================================================== encoder
@dataclass(frozen=True)
class Encoder:
    """Input integers -> trains of ``steps`` time steps (docs/model.md §11)."""

    name: str
    mode: str = "direct"  # ENCODINGS
    steps: int = 16
    in_bits: int = 8  # inputs are 0 .. 2**in_bits - 1 (``times``: 0 .. steps - 1 or NONE)
    seed: int = 1  # ``rate``: seeds of the per-line LFSRs


def rate_draws(enc: Encoder, n: int) -> np.ndarray:
    """``[steps, n]`` draws of the ``rate`` encoder: one 16-bit Fibonacci LFSR per input line
    (taps 16, 15, 13, 4), seeded by ``default_seeds(n, seed, 16, salt=0x5EED)`` at the start
    of every sample; each step every generator advances ``in_bits`` steps and draws its low
    ``in_bits`` bits. Line ``j`` spikes at step ``t`` iff ``draw[t, j] < x[j]``."""
    from ..common import default_seeds
    from ..rng import lfsr_step

    tapmask = sum(1 << (t - 1) for t in RATE_TAPS)
    state = default_seeds(n, enc.seed, RATE_WIDTH, salt=RATE_SALT)
    out = np.empty((enc.steps, n), dtype=np.int64)
    for t in range(enc.steps):
        for _ in range(enc.in_bits):
            state = lfsr_step(state, RATE_WIDTH, tapmask)
        out[t] = state & ((1 << enc.in_bits) - 1)
    return out


def encode(x: np.ndarray, enc: Encoder) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 2:
        raise ValueError(f"encoder {enc.name!r} takes input integers [B, lines]; got shape {x.shape}")
    B, n = x.shape
    T = enc.steps
    if enc.mode == "direct":
        return np.broadcast_to(x[:, None, :], (B, T, n)).copy()
    t = np.arange(T, dtype=np.int64)[None, :, None]
    if enc.mode == "latency":
        mx = (1 << enc.in_bits) - 1
        at = (mx - x) * T // (mx + 1)
        return ((t == at[:, None, :]) & (x[:, None, :] > 0)).astype(np.int64)
    if enc.mode == "times":
        return ((t == x[:, None, :]) & (x[:, None, :] >= 0)).astype(np.int64)
    if enc.mode == "rate":
        return (rate_draws(enc, n)[None] < x[:, None, :]).astype(np.int64)
    raise ValueError(f"encoder mode {enc.mode!r}; expected one of {', '.join(ENCODINGS)}")


class EncoderState(StageState):
    node: Encoder

    def forward(self, x, side):
        return encode(x, self.node), None


class EncoderKind(StageKind):
    name = "encoder"
    node = Encoder

    def max_time(self, node, time, max_in):
        return node.steps - 1

    def verify(self, node: Encoder, ctx: StageContext, err: Err) -> None:
        if node.mode not in ENCODINGS:
            err(ctx.path, f"mode={node.mode!r}; expected one of {', '.join(ENCODINGS)}")
        if not (1 <= node.steps <= MAX_STEPS):
            err(ctx.path, f"steps={node.steps}; expected 1..{MAX_STEPS}")
        if not (1 <= node.in_bits <= 16):
            err(ctx.path, f"in_bits={node.in_bits}; expected 1..16")
        if node.mode == "rate" and not (0 <= node.seed < 1 << 32):
            err(ctx.path, f"seed={node.seed}; expected 0..2**32-1")
        if node.mode == "times" and ctx.max_time > node.steps - 1:
            err(ctx.path, f"mode=times with steps={node.steps} but input times reach "
                          f"{ctx.max_time}; expected steps >= {ctx.max_time + 1}")

    def to_text(self, node: Encoder) -> list[str]:
        seed = f" seed={node.seed}" if node.mode == "rate" else ""
        return [f"encoder name={fmt_str(node.name)} mode={node.mode} steps={node.steps} "
                f"in_bits={node.in_bits}{seed}"]

    def from_text(self, lines):
        (_, _, a), *rest = lines
        if rest:
            raise ValueError(f"an encoder has no nested lines; line {rest[0][0]} is {rest[0][1]!r}")
        return Encoder(a["name"], a["mode"], a["steps"], a["in_bits"], a.get("seed", 1))

    def to_json(self, node: Encoder, prefix, arr) -> dict:
        return {"name": node.name, "mode": node.mode, "steps": node.steps, "in_bits": node.in_bits,
                "seed": node.seed}

    def from_json(self, doc, get):
        return Encoder(doc["name"], doc["mode"], doc["steps"], doc["in_bits"], doc.get("seed", 1))

    def init_state(self, node, time):
        return EncoderState(node)


# =========================================================================== dense / conv2d
def _wrange(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def _verify_weights(w: np.ndarray, b: np.ndarray, bits: int, shift: int, path: str,
                    err: Err) -> None:
    if not (2 <= bits <= MAX_WEIGHT_BITS):
        err(path, f"weight_bits={bits}; expected 2..{MAX_WEIGHT_BITS}")
        return
    lim = _wrange(bits)
    bad = np.argwhere(np.abs(w) > lim)
    if len(bad):
        idx = tuple(int(i) for i in bad[0])
        err(path, f"{len(bad)} weight(s) outside -{lim}..{lim} (weight_bits={bits}), first "
                  f"{int(w[idx])} at {idx}")
    if not (0 <= shift <= MAX_SHIFT):
        err(path, f"shift={shift}; expected 0..{MAX_SHIFT}")
    if b.size and int(np.abs(b).max()) >= MAX_BIAS:
        err(path, f"bias {int(np.abs(b).max())} out of range; expected |bias| < 2**48")


@dataclass(frozen=True, eq=False)
class Dense:
    """``cur[o] = (sum_i W[o, i] x[i] + b[o]) >> shift`` at every step."""

    name: str
    weights: np.ndarray  # int [n_out, n_in], |w| <= 2**(weight_bits-1) - 1
    bias: np.ndarray  # int [n_out], accumulator units (rounding offset included)
    weight_bits: int = 8
    shift: int = 0

    def __post_init__(self):
        object.__setattr__(self, "weights", frozen_array(self.weights, np.int64))
        object.__setattr__(self, "bias", frozen_array(self.bias, np.int64))


def dense_forward(x: np.ndarray, node: Dense) -> np.ndarray:
    x = _temporal(x, f"dense {node.name!r}")
    acc = np.einsum("bti,oi->bto", x, node.weights) + node.bias
    return acc >> node.shift


class _SimpleState(StageState):
    def __init__(self, node, fn):
        super().__init__(node)
        self._fn = fn

    def forward(self, x, side):
        return self._fn(x, self.node), None


class DenseKind(StageKind):
    name = "dense"
    node = Dense
    has_synapses = True
    synapse_layout = "dense"

    def outputs(self, node: Dense, width: int) -> int:
        return int(node.weights.shape[0]) if node.weights.ndim == 2 else 0

    def synapses(self, node: Dense) -> int:
        return int(np.count_nonzero(node.weights))

    def verify(self, node: Dense, ctx: StageContext, err: Err) -> None:
        w = node.weights
        if w.ndim != 2 or w.shape[1] != ctx.width:
            err(ctx.path, f"weights shape {w.shape}; expected (n_out, {ctx.width})")
            return
        if node.bias.shape != (w.shape[0],):
            err(ctx.path, f"bias shape {node.bias.shape}; expected ({w.shape[0]},)")
            return
        _verify_weights(w, node.bias, node.weight_bits, node.shift, ctx.path, err)

    def to_text(self, node: Dense) -> list[str]:
        n_out, n_in = node.weights.shape
        L = [f"dense name={fmt_str(node.name)} n_in={n_in} n_out={n_out} "
             f"weight_bits={node.weight_bits} shift={node.shift}"]
        for o in range(n_out):
            L.append(f"  row o={o} b={int(node.bias[o])} w={fmt_list(node.weights[o])}")
        return L

    def from_text(self, lines):
        (_, _, a), *rows = lines
        n_in, n_out = a["n_in"], a["n_out"]
        w = np.zeros((n_out, n_in), dtype=np.int64)
        b = np.zeros(n_out, dtype=np.int64)
        seen = set()
        for n, kw, r in rows:
            if kw != "row" or not (0 <= r["o"] < n_out) or len(r["w"]) != n_in:
                raise ValueError(f"line {n}: expected 'row o=0..{n_out - 1} b=.. w=[{n_in} ints]'")
            w[r["o"]] = r["w"]
            b[r["o"]] = r["b"]
            seen.add(r["o"])
        if len(seen) != n_out:
            raise ValueError(f"dense {a['name']!r}: {n_out - len(seen)} of {n_out} rows missing")
        return Dense(a["name"], w, b, a["weight_bits"], a["shift"])

    def to_json(self, node: Dense, prefix, arr) -> dict:
        return {"name": node.name, "weight_bits": node.weight_bits, "shift": node.shift,
                "weights": arr(f"{prefix}/weights", node.weights, np.int32),
                "bias": arr(f"{prefix}/bias", node.bias, np.int64)}

    def from_json(self, doc, get):
        return Dense(doc["name"], get(doc["weights"]), get(doc["bias"]), doc["weight_bits"],
                     doc["shift"])

    def init_state(self, node, time):
        return _SimpleState(node, dense_forward)


@dataclass(frozen=True, eq=False)
class Conv2d:
    """Weight-shared dense synapses over a ``(C, H, W)`` input (zero padding, stride,
    dilation 1, groups 1): ``cur = (conv(x, W) + b) >> shift``."""

    name: str
    in_shape: tuple[int, int, int]
    weights: np.ndarray  # int [C_out, C_in, kh, kw]
    bias: np.ndarray  # int [C_out]
    stride: int = 1
    padding: int = 0
    weight_bits: int = 8
    shift: int = 0

    def __post_init__(self):
        object.__setattr__(self, "in_shape", tuple(int(v) for v in self.in_shape))
        object.__setattr__(self, "weights", frozen_array(self.weights, np.int64))
        object.__setattr__(self, "bias", frozen_array(self.bias, np.int64))

    @property
    def out_shape(self) -> tuple[int, int, int]:
        C, H, W = self.in_shape
        co, _, kh, kw = self.weights.shape if self.weights.ndim == 4 else (0, 0, 1, 1)
        s, p = max(self.stride, 1), self.padding
        return (int(co), (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1)


def _windows(x: np.ndarray, kh: int, kw: int, s: int) -> np.ndarray:
    """``[..., H, W]`` -> ``[..., Ho, Wo, kh, kw]`` strided windows (a view)."""
    v = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(-2, -1))
    return v[..., ::s, ::s, :, :]


def conv2d_forward(x: np.ndarray, node: Conv2d) -> np.ndarray:
    x = _temporal(x, f"conv2d {node.name!r}")
    B, T, _ = x.shape
    C, H, W = node.in_shape
    p = node.padding
    img = x.reshape(B * T, C, H, W)
    if p:
        img = np.pad(img, ((0, 0), (0, 0), (p, p), (p, p)))
    co, _, kh, kw = node.weights.shape
    win = _windows(img, kh, kw, node.stride)  # [BT, C, Ho, Wo, kh, kw]
    acc = np.einsum("nchwij,ocij->nohw", win, node.weights) + node.bias[None, :, None, None]
    return (acc >> node.shift).reshape(B, T, -1)


class Conv2dKind(StageKind):
    name = "conv2d"
    node = Conv2d
    has_synapses = True
    synapse_layout = "conv"

    def outputs(self, node: Conv2d, width: int) -> int:
        return int(np.prod(node.out_shape))

    def synapses(self, node: Conv2d) -> int:
        return int(np.count_nonzero(node.weights))

    def verify(self, node: Conv2d, ctx: StageContext, err: Err) -> None:
        C, H, W = node.in_shape
        if C * H * W != ctx.width or min(node.in_shape) < 1:
            err(ctx.path, f"in_shape={list(node.in_shape)} ({C * H * W} lines); expected "
                          f"{ctx.width} lines")
            return
        w = node.weights
        if w.ndim != 4 or w.shape[1] != C or min(w.shape) < 1:
            err(ctx.path, f"weights shape {w.shape}; expected (C_out, {C}, kh, kw)")
            return
        if node.bias.shape != (w.shape[0],):
            err(ctx.path, f"bias shape {node.bias.shape}; expected ({w.shape[0]},)")
            return
        if node.stride < 1 or node.padding < 0:
            err(ctx.path, f"stride={node.stride} padding={node.padding}; expected stride >= 1, "
                          f"padding >= 0")
            return
        if min(node.out_shape) < 1:
            err(ctx.path, f"kernel {w.shape[2]}x{w.shape[3]} larger than the padded input "
                          f"{H}x{W} (padding {node.padding})")
        _verify_weights(w, node.bias, node.weight_bits, node.shift, ctx.path, err)

    def to_text(self, node: Conv2d) -> list[str]:
        co, ci, kh, kw = node.weights.shape
        L = [f"conv2d name={fmt_str(node.name)} in_shape={fmt_list(node.in_shape)} "
             f"out_channels={co} kernel={fmt_list([kh, kw])} stride={node.stride} "
             f"padding={node.padding} weight_bits={node.weight_bits} shift={node.shift}"]
        for o in range(co):
            L.append(f"  filter o={o} b={int(node.bias[o])} w={fmt_list(node.weights[o])}")
        return L

    def from_text(self, lines):
        (_, _, a), *rows = lines
        C, H, W = _shape_attr(a["in_shape"], 3, "in_shape")
        kh, kw = _shape_attr(a["kernel"], 2, "kernel")
        co = a["out_channels"]
        w = np.zeros((co, C, kh, kw), dtype=np.int64)
        b = np.zeros(co, dtype=np.int64)
        seen = set()
        for n, kw_, r in rows:
            if kw_ != "filter" or not (0 <= r["o"] < co) or len(r["w"]) != C * kh * kw:
                raise ValueError(f"line {n}: expected 'filter o=0..{co - 1} b=.. "
                                 f"w=[{C * kh * kw} ints]'")
            w[r["o"]] = np.asarray(r["w"]).reshape(C, kh, kw)
            b[r["o"]] = r["b"]
            seen.add(r["o"])
        if len(seen) != co:
            raise ValueError(f"conv2d {a['name']!r}: {co - len(seen)} of {co} filters missing")
        return Conv2d(a["name"], (C, H, W), w, b, a["stride"], a["padding"], a["weight_bits"],
                      a["shift"])

    def to_json(self, node: Conv2d, prefix, arr) -> dict:
        return {"name": node.name, "in_shape": list(node.in_shape), "stride": node.stride,
                "padding": node.padding, "weight_bits": node.weight_bits, "shift": node.shift,
                "weights": arr(f"{prefix}/weights", node.weights, np.int32),
                "bias": arr(f"{prefix}/bias", node.bias, np.int64)}

    def from_json(self, doc, get):
        return Conv2d(doc["name"], tuple(doc["in_shape"]), get(doc["weights"]),
                      get(doc["bias"]), doc["stride"], doc["padding"], doc["weight_bits"],
                      doc["shift"])

    def init_state(self, node, time):
        return _SimpleState(node, conv2d_forward)


# =========================================================================== pooling, flatten
@dataclass(frozen=True)
class SumPool:
    """``k x k`` window sums (stride ``stride``, no padding) over a ``(C, H, W)`` input."""

    name: str
    in_shape: tuple[int, int, int]
    kernel: int = 2
    stride: int = 2

    def __post_init__(self):
        object.__setattr__(self, "in_shape", tuple(int(v) for v in self.in_shape))

    @property
    def out_shape(self) -> tuple[int, int, int]:
        C, H, W = self.in_shape
        k, s = self.kernel, max(self.stride, 1)
        return (C, (H - k) // s + 1, (W - k) // s + 1)


@dataclass(frozen=True)
class MaxPool(SumPool):
    """``k x k`` window maxima (on 0/1 spikes: OR)."""


def pool_forward(x: np.ndarray, node: SumPool) -> np.ndarray:
    x = _temporal(x, f"{'maxpool' if isinstance(node, MaxPool) else 'sumpool'} {node.name!r}")
    B, T, _ = x.shape
    win = _windows(x.reshape(B * T, *node.in_shape), node.kernel, node.kernel, node.stride)
    red = win.max(axis=(-2, -1)) if isinstance(node, MaxPool) else win.sum(axis=(-2, -1))
    return red.reshape(B, T, -1)


class SumPoolKind(StageKind):
    name = "sumpool"
    node = SumPool

    def outputs(self, node, width):
        return int(np.prod(node.out_shape))

    def verify(self, node: SumPool, ctx: StageContext, err: Err) -> None:
        C, H, W = node.in_shape
        if C * H * W != ctx.width or min(node.in_shape) < 1:
            err(ctx.path, f"in_shape={list(node.in_shape)} ({C * H * W} lines); expected "
                          f"{ctx.width} lines")
        elif not (1 <= node.kernel <= min(H, W)) or node.stride < 1:
            err(ctx.path, f"kernel={node.kernel} stride={node.stride}; expected kernel "
                          f"1..{min(H, W)}, stride >= 1")

    def to_text(self, node):
        return [f"{self.name} name={fmt_str(node.name)} in_shape={fmt_list(node.in_shape)} "
                f"kernel={node.kernel} stride={node.stride}"]

    def from_text(self, lines):
        (_, _, a), *rest = lines
        if rest:
            raise ValueError(f"a {self.name} has no nested lines")
        return self.node(a["name"], _shape_attr(a["in_shape"], 3, "in_shape"), a["kernel"],
                         a["stride"])

    def to_json(self, node, prefix, arr):
        return {"name": node.name, "in_shape": list(node.in_shape), "kernel": node.kernel,
                "stride": node.stride}

    def from_json(self, doc, get):
        return self.node(doc["name"], tuple(doc["in_shape"]), doc["kernel"], doc["stride"])

    def init_state(self, node, time):
        return _SimpleState(node, pool_forward)


class MaxPoolKind(SumPoolKind):
    name = "maxpool"
    node = MaxPool


@dataclass(frozen=True)
class Flatten:
    """The identity on the flat C-order lines (records the torch/NIR ``Flatten``)."""

    name: str


class FlattenKind(StageKind):
    name = "flatten"
    node = Flatten

    def verify(self, node, ctx, err):
        pass

    def to_text(self, node):
        return [f"flatten name={fmt_str(node.name)}"]

    def from_text(self, lines):
        (_, _, a), *rest = lines
        if rest:
            raise ValueError("a flatten has no nested lines")
        return Flatten(a["name"])

    def to_json(self, node, prefix, arr):
        return {"name": node.name}

    def from_json(self, doc, get):
        return Flatten(doc["name"])

    def init_state(self, node, time):
        return _SimpleState(node, lambda x, n: np.asarray(x, dtype=np.int64))


# =========================================================================== lif
@dataclass(frozen=True)
class LIF:
    """IF/LIF neurons with an integer membrane (docs/model.md §11).

    Per step, with ``s`` the previous step's spikes and ``c`` the refractory counters::

        zero reset:  V = where(s, 0, V)
        V = leak(V)            none: V; shift: V - (V >> leak_shift); mul: (V * beta_q) >> frac_bits
        V = V + (c > 0 ? 0 : cur)
        subtract:    V = V - threshold * s
        V = clamp(V, -2**(mem_bits-1), 2**(mem_bits-1) - 1)     (each clamp counted)
        s = (V > threshold) & (c == 0);  c = s ? refractory : max(c - 1, 0)
    """

    name: str
    n: int
    threshold: int
    mem_bits: int = 16
    leak: str = "shift"  # LEAKS
    leak_shift: int = 3  # leak=shift: beta = 1 - 2**-leak_shift
    beta_q: int = 0  # leak=mul: beta = beta_q / 2**frac_bits
    frac_bits: int = 8
    reset: str = "subtract"  # RESETS
    refractory: int = 0
    output: str = "spikes"  # OUTPUTS
    alpha_q: int = -1  # >= 0: a synaptic-current state I with alpha = alpha_q / 2**frac_bits

    @property
    def beta(self) -> float:
        if self.leak == "none":
            return 1.0
        if self.leak == "shift":
            return 1.0 - 2.0 ** -self.leak_shift
        return self.beta_q / 2 ** self.frac_bits


@dataclass
class LIFTrace:
    """What one pass of a LIF stage leaves: final membranes ``[B, n]``, spike counts
    ``[B, n]`` and the number of saturating clamps per neuron summed over the batch."""

    v: np.ndarray
    counts: np.ndarray
    saturations: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    v_steps: np.ndarray | None = None  # ``record``: membrane after every step ``[B, T, n]``
    i_steps: np.ndarray | None = None  # ``record``: synaptic current after every step


def lif_leak(v: np.ndarray, node: LIF) -> np.ndarray:
    if node.leak == "shift":
        return v - (v >> node.leak_shift)
    if node.leak == "mul":
        return (v * node.beta_q) >> node.frac_bits
    return v


def lif_run(cur: np.ndarray, node: LIF, record: bool = False) -> tuple[np.ndarray, LIFTrace]:
    """Spike trains ``[B, T, n]`` of currents ``cur[B, T, n]`` and the :class:`LIFTrace`
    (with ``record``, the membrane and synaptic current after every step as well: what the
    RTL bench compares step by step)."""
    cur = _temporal(cur, f"lif {node.name!r}")
    B, T, n = cur.shape
    lo, hi = -(1 << (node.mem_bits - 1)), (1 << (node.mem_bits - 1)) - 1
    v = np.zeros((B, n), dtype=np.int64)
    s = np.zeros((B, n), dtype=np.int64)
    c = np.zeros((B, n), dtype=np.int64)
    sat = np.zeros(n, dtype=np.int64)
    out = np.zeros((B, T, n), dtype=np.int64)
    th = int(node.threshold)
    syn = np.zeros((B, n), dtype=np.int64)
    F = node.frac_bits
    vs = np.zeros((B, T, n), dtype=np.int64) if record else None
    isy = np.zeros((B, T, n), dtype=np.int64) if record else None
    for t in range(T):
        x = np.where(c > 0, 0, cur[:, t])
        if node.alpha_q >= 0:  # synaptic current (snnTorch's Synaptic), one rounding per state
            a = node.alpha_q * syn + (x << F)
            if node.reset == "zero":
                v = np.where(s > 0, 0, (node.beta_q * v + a) >> F)
            else:
                v = (node.beta_q * v + a - ((th * s) << F)) >> F
            syn = a >> F
            sclip = (syn < lo) | (syn > hi)
            sat += sclip.sum(axis=0)
            syn = np.clip(syn, lo, hi)
        else:
            if node.reset == "zero":
                v = np.where(s > 0, 0, v)
            v = lif_leak(v, node) + x
            if node.reset == "subtract":
                v = v - th * s
        clipped = (v < lo) | (v > hi)
        sat += clipped.sum(axis=0)
        v = np.clip(v, lo, hi)
        s = ((v > th) & (c == 0)).astype(np.int64)
        c = np.where(s > 0, node.refractory, np.maximum(c - 1, 0))
        out[:, t] = s
        if record:
            vs[:, t] = v
            isy[:, t] = syn
    return out, LIFTrace(v, out.sum(axis=1), sat, vs, isy)


def readout(spikes: np.ndarray, trace: LIFTrace, mode: str) -> np.ndarray:
    """The ``[B, n]`` output of a LIF stage whose ``output`` is a readout."""
    if mode == "spikes":
        return spikes
    if mode == "count":
        return trace.counts
    if mode == "membrane":
        return trace.v
    fired = spikes.any(axis=1)
    return np.where(fired, spikes.argmax(axis=1), NONE)


def predict(out: np.ndarray, trace: LIFTrace | None, mode: str) -> np.ndarray:
    """Class per sample from a readout: ``count``: most spikes, ties by the final membrane,
    then the lowest index; ``first``: earliest spike (lowest index on ties; none: class 0
    unless the membrane decides); ``membrane``: largest final membrane, lowest index."""
    out = np.asarray(out, dtype=np.int64)
    if mode == "membrane":
        return out.argmax(axis=1)
    v = trace.v if trace is not None else np.zeros_like(out)
    if mode == "first":
        key = np.where(out < 0, MAX_STEPS + 1, out)
        best = key.min(axis=1, keepdims=True)
        cand = key == best
        return np.where(cand, v, np.iinfo(np.int64).min).argmax(axis=1)
    best = out.max(axis=1, keepdims=True)
    return np.where(out == best, v, np.iinfo(np.int64).min).argmax(axis=1)


class LIFState(StageState):
    node: LIF

    def forward(self, x, side):
        spikes, trace = lif_run(x, self.node)
        return readout(spikes, trace, self.node.output), trace


class LIFKind(StageKind):
    name = "lif"
    node = LIF
    is_layer = True

    def outputs(self, node: LIF, width: int) -> int:
        return node.n

    def max_time(self, node, time, max_in):
        return max_in

    def verify(self, node: LIF, ctx: StageContext, err: Err) -> None:
        p = ctx.path
        if node.n != ctx.width:
            err(p, f"n={node.n}; expected {ctx.width} (one neuron per input line)")
        if not (2 <= node.mem_bits <= MAX_MEM_BITS):
            err(p, f"mem_bits={node.mem_bits}; expected 2..{MAX_MEM_BITS}")
        elif not (1 <= node.threshold < (1 << (node.mem_bits - 1)) - 1):
            err(p, f"threshold={node.threshold}; expected 1..{(1 << (node.mem_bits - 1)) - 2} "
                   f"(below the {node.mem_bits}-bit membrane's maximum)")
        if node.leak not in LEAKS:
            err(p, f"leak={node.leak!r}; expected one of {', '.join(LEAKS)}")
        if node.leak == "shift" and not (1 <= node.leak_shift <= 31):
            err(p, f"leak_shift={node.leak_shift}; expected 1..31")
        if node.leak == "mul":
            if not (0 <= node.frac_bits <= 24):
                err(p, f"frac_bits={node.frac_bits}; expected 0..24")
            elif not (0 <= node.beta_q <= (1 << node.frac_bits)):
                err(p, f"beta_q={node.beta_q}; expected 0..{1 << node.frac_bits} "
                       f"(beta = beta_q / 2**{node.frac_bits} <= 1)")
        if node.reset not in RESETS:
            err(p, f"reset={node.reset!r}; expected one of {', '.join(RESETS)}")
        if not (0 <= node.refractory <= MAX_STEPS):
            err(p, f"refractory={node.refractory}; expected 0..{MAX_STEPS}")
        if node.output not in OUTPUTS:
            err(p, f"output={node.output!r}; expected one of {', '.join(OUTPUTS)}")
        if node.alpha_q >= 0:
            if node.leak != "mul":
                err(p, f"alpha_q={node.alpha_q} (a synaptic current) needs leak=mul; got "
                       f"leak={node.leak}")
            elif not node.alpha_q <= (1 << node.frac_bits):
                err(p, f"alpha_q={node.alpha_q}; expected 0..{1 << node.frac_bits} "
                       f"(alpha = alpha_q / 2**{node.frac_bits} <= 1)")
        elif node.alpha_q != -1:
            err(p, f"alpha_q={node.alpha_q}; expected -1 (no synaptic current) or >= 0")

    def to_text(self, node: LIF) -> list[str]:
        leak = {"none": "leak=none", "shift": f"leak=shift leak_shift={node.leak_shift}",
                "mul": f"leak=mul beta_q={node.beta_q} frac_bits={node.frac_bits}"}
        syn = f" alpha_q={node.alpha_q}" if node.alpha_q != -1 else ""
        return [f"lif name={fmt_str(node.name)} n={node.n} threshold={node.threshold} "
                f"mem_bits={node.mem_bits} {leak.get(node.leak, f'leak={node.leak}')}{syn} "
                f"reset={node.reset} refractory={node.refractory} output={node.output}"]

    def from_text(self, lines):
        (_, _, a), *rest = lines
        if rest:
            raise ValueError("a lif has no nested lines")
        return LIF(a["name"], a["n"], a["threshold"], a["mem_bits"], a["leak"],
                   a.get("leak_shift", 3), a.get("beta_q", 0), a.get("frac_bits", 8),
                   a["reset"], a["refractory"], a["output"], a.get("alpha_q", -1))

    def to_json(self, node: LIF, prefix, arr) -> dict:
        return {k: getattr(node, k) for k in LIF.__dataclass_fields__}

    def from_json(self, doc, get):
        return LIF(**{k: doc[k] for k in LIF.__dataclass_fields__ if k in doc})

    def init_state(self, node, time):
        return LIFState(node)


ENCODER_KIND = EncoderKind()
DENSE_KIND = DenseKind()
CONV2D_KIND = Conv2dKind()
SUMPOOL_KIND = SumPoolKind()
MAXPOOL_KIND = MaxPoolKind()
FLATTEN_KIND = FlattenKind()
LIF_KIND = LIFKind()

SNN_KINDS = ("encoder", "dense", "conv2d", "sumpool", "maxpool", "flatten", "lif", "act")


def is_snn(net: Any) -> bool:
    """Whether a network has any clock-driven SNN stage."""
    return any(isinstance(st, (Encoder, Dense, Conv2d, SumPool, Flatten, LIF))
               for st in net.stages)


def refuse_snn(net: Any, action: str) -> None:
    """A :class:`ConfigError` naming the SNN stage kinds of ``net`` for an ``action``
    (compile, verify, synth) that the RTL does not implement for them yet."""
    from ...errors import ConfigError
    from ..kinds import kind_of

    found = [f"{st.name} ({kind_of(st).name})" for st in net.stages
             if kind_of(st).name in SNN_KINDS]
    if found:
        raise ConfigError(f"cannot {action} {net.name!r}: the SNN stage kinds have no RTL yet "
                          f"(stages {', '.join(found[:4])}{' ...' if len(found) > 4 else ''}); "
                          f"the interpreter and torch modules run them (docs/model.md §11)")


__all__ = [
    "Conv2d", "Dense", "Encoder", "Flatten", "LIF", "LIFTrace", "MaxPool", "SNN_KINDS", "SumPool",
    "conv2d_forward", "dense_forward", "encode", "is_snn", "lif_run", "pool_forward", "predict",
    "readout", "refuse_snn",
]
_ = (Callable, TimeSpec)
