"""The ``recurrent`` stage kind: a clock-driven network of integer LIF populations with
sparse recurrent synapses, per-synapse delays and external drive (docs/model.md §13).

``n`` neurons in consecutive populations (``pops``: name, size, background draw threshold
and weight), the §11 ``lif`` neuron (``leak=mul`` with ``beta_q``, synaptic current
``alpha_q``, ``reset=zero``, ``refractory`` steps, saturating ``mem_bits`` states), a
fixed synapse table in CSR order by *source* neuron (``indptr[n + 1]``, ``targets``,
``weights``, ``delays`` in steps >= 1) feeding a ring buffer of delayed input, a constant
current ``dc[n]``, an initial membrane ``v0[n]`` and a Poisson-like background: per neuron
one 16-bit Fibonacci LFSR (the §5 polynomial, as the §11 ``rate`` encoder), ``bg_draws``
draws of ``bg_bits`` bits per step, each below its population's ``bg_u`` adding ``bg_w``.

The stage is a *layer*: its input is one integer stimulus current per neuron ``x[B, n]``
(added at every step, as ``dc``), it runs ``steps`` steps and delivers the spike trains
``[B, steps, n]`` (``output=spikes``, int8) or the spike counts ``[B, n]`` (``count``).

Text::

    recurrent name="pd14" n=4 steps=100 threshold=61440 mem_bits=32 beta_q=.. alpha_q=..
        frac_bits=20 refractory=20 weight_bits=16 bg_draws=16 bg_bits=10 seed=1 output=count
      pop name="E" size=3 bg_u=100 bg_w=130
      neuron i=0 dc=5 v0=0 targets=[1,2] weights=[130,130] delays=[15,15]

JSON: the scalars, ``pops`` (a list of ``{name, size, bg_u, bg_w}``) and the arrays
``indptr``, ``targets``, ``weights``, ``delays``, ``dc``, ``v0`` in the NPZ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..common import default_seeds
from ..kinds import Err, StageContext, StageKind, StageState
from ..text import fmt_list, fmt_str
from .snn import RATE_TAPS, RATE_WIDTH, LIFTrace

OUTPUTS = ("spikes", "count")
MAX_STEPS = 1 << 22
MAX_DELAY = 1024
MAX_WEIGHT_BITS = 24
MAX_BG_DRAWS = 64
MAX_NEURONS = 1 << 24
BG_SALT = 0xB6  # salt of the background generators' seeds (default_seeds)
TAPMASK = sum(1 << (t - 1) for t in RATE_TAPS)


@dataclass(frozen=True)
class Population:
    """A block of consecutive neurons: its name, size and background drive (each of the
    ``bg_draws`` draws per step below ``bg_u`` adds ``bg_w`` to the neuron's input)."""

    name: str
    size: int
    bg_u: int = 0
    bg_w: int = 0


def _arr(a: Any, dtype: Any) -> np.ndarray:
    """A read-only copy in ``dtype``, or in int64 when a value does not fit (so that the
    verifier names the value as given, never a wrapped one)."""
    src = np.asarray(a)
    if src.size and src.dtype.kind in "iu":
        info = np.iinfo(dtype)
        if int(src.min()) < info.min or int(src.max()) > info.max:
            dtype = np.int64
    out = np.array(src, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Recurrent:
    """Recurrent integer LIF populations (docs/model.md §13). Per step ``t``::

        x  = R[t % D] + dc + stim + sum_draws(draw < bg_u[pop]) * bg_w[pop];  R[t % D] = 0
        x  = (c > 0) ? 0 : x
        A  = alpha_q * I + (x << F)
        V  = (s == 1) ? 0 : (beta_q * V + A) >> F;   I = A >> F;   clamp V, I (counted)
        s  = (V > threshold) & (c == 0);   c = s ? refractory : max(c - 1, 0)
        for every synapse k of a neuron with s == 1:  R[(t + delays[k]) % D][targets[k]] += weights[k]

    with ``D = max(delays) + 1`` and ``V``, ``I``, ``c``, ``R`` zero and ``s`` 0 at the start
    of a sample except ``V = v0``."""

    name: str
    n: int
    pops: tuple[Population, ...]
    steps: int
    threshold: int
    indptr: np.ndarray  # int64 [n + 1], CSR by source neuron
    targets: np.ndarray  # int32 [nnz]
    weights: np.ndarray  # int32 [nnz]
    delays: np.ndarray  # int16 [nnz], 1 .. MAX_DELAY steps
    dc: np.ndarray  # int64 [n]
    v0: np.ndarray  # int64 [n]
    mem_bits: int = 32
    beta_q: int = 0
    alpha_q: int = 0
    frac_bits: int = 20
    refractory: int = 0
    weight_bits: int = 16
    bg_draws: int = 0
    bg_bits: int = 10
    seed: int = 1
    output: str = "count"  # OUTPUTS

    def __post_init__(self):
        object.__setattr__(self, "pops", tuple(Population(*p) if isinstance(p, (tuple, list))
                                               else p for p in self.pops))
        for k, dt in (("indptr", np.int64), ("targets", np.int32), ("weights", np.int32),
                      ("delays", np.int16), ("dc", np.int64), ("v0", np.int64)):
            object.__setattr__(self, k, _arr(getattr(self, k), dt))

    @property
    def pop_of(self) -> np.ndarray:
        """The population index of every neuron ``[n]``."""
        sizes = [max(p.size, 0) for p in self.pops]
        return np.repeat(np.arange(len(sizes)), sizes)

    @property
    def pop_bounds(self) -> np.ndarray:
        """``[P + 1]`` first neuron of every population, then ``n``."""
        return np.concatenate([[0], np.cumsum([p.size for p in self.pops])]).astype(np.int64)

    @property
    def synapse_count(self) -> int:
        return int(self.targets.shape[0])


@dataclass
class RecurrentTrace(LIFTrace):
    """A pass of a recurrent stage: final ``v`` and counts ``[B, n]``, saturations ``[n]``,
    and the spike events of sample 0 (``events``: ``(step, neuron)`` int64 pairs ``[E, 2]``
    in step order, neurons ascending within a step)."""

    events: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    s_steps: np.ndarray | None = None  # ``record``: the spikes of every step ``[B, T, n]``


# --------------------------------------------------------------------------- kernel
@lru_cache(maxsize=4)
def _draw_table(bits: int) -> np.ndarray:
    """The state after ``bits`` steps of the 16-bit Fibonacci LFSR, for every state."""
    from ..rng import lfsr_step

    s = np.arange(1 << RATE_WIDTH, dtype=np.int64)
    for _ in range(bits):
        s = lfsr_step(s, RATE_WIDTH, TAPMASK)
    s.setflags(write=False)
    return s


def bg_seeds(node: Recurrent) -> np.ndarray:
    """The initial states of the ``n`` background generators (one per neuron)."""
    return default_seeds(node.n, node.seed, RATE_WIDTH, salt=BG_SALT)


class BackgroundDraws:
    """The background event counts of every step, ``k[n]`` in ``0 .. bg_draws``: each
    generator makes ``bg_draws`` draws per step (``bg_bits`` LFSR steps, then its low
    ``bg_bits`` bits); a draw below its population's ``bg_u`` is one event.

    Implemented with two tables over the 2**16 generator states (built once per node): the
    state after a whole step's draws, and for every population the step's event count from
    each state, so a step is two lookups per neuron."""

    def __init__(self, node: Recurrent):
        self.node = node
        self.state = bg_seeds(node)
        self.pop = node.pop_of
        draw = _draw_table(node.bg_bits)
        u = np.array([p.bg_u for p in node.pops], dtype=np.int64)
        mask = (1 << node.bg_bits) - 1
        s = np.arange(1 << RATE_WIDTH, dtype=np.int64)
        count = np.zeros((len(u), 1 << RATE_WIDTH), dtype=np.int64)
        for _ in range(node.bg_draws):
            s = draw[s]
            count += (s & mask)[None, :] < u[:, None]
        # compact tables (counts <= 64 fit uint8) and flat indices keep the lookups in cache
        self.next = s.astype(np.int32)
        self.count = count.astype(np.uint8).reshape(-1)
        self.base = self.pop.astype(np.int32) << RATE_WIDTH
        self.state = self.state.astype(np.int32)

    def step(self) -> np.ndarray:
        k = self.count[self.base + self.state].astype(np.int64)
        self.state = self.next[self.state]
        return k


def recurrent_run(node: Recurrent, stim: np.ndarray, steps: int | None = None,
                  events: bool = False,
                  record: bool = False) -> tuple[np.ndarray | None, RecurrentTrace]:
    """Run ``stim[B, n]`` (one stimulus current per neuron, every step) for ``steps``
    (default ``node.steps``). Returns the spike trains ``[B, steps, n]`` int8 when the node's
    output is ``spikes`` (else ``None``) and the :class:`RecurrentTrace` (with ``events``,
    sample 0's spike events; with ``record``, ``v_steps``/``i_steps``/``s_steps``: the
    membranes, synaptic currents and spikes after every step ``[B, steps, n]``, what the RTL
    bench compares). The background draws are the same for every sample."""
    stim = np.asarray(stim, dtype=np.int64)
    if stim.ndim != 2 or stim.shape[1] != node.n:
        raise ValueError(f"recurrent {node.name!r} takes stimulus currents [B, {node.n}]; "
                         f"got shape {stim.shape}")
    T = node.steps if steps is None else int(steps)
    B, n = stim.shape
    F = node.frac_bits
    lo, hi = -(1 << (node.mem_bits - 1)), (1 << (node.mem_bits - 1)) - 1
    D = int(node.delays.max()) + 1 if node.synapse_count else 1
    R = np.zeros((B, D, n), dtype=np.int64)
    v = np.broadcast_to(node.v0, (B, n)).copy()
    syn = np.zeros((B, n), dtype=np.int64)
    s = np.zeros((B, n), dtype=bool)
    c = np.zeros((B, n), dtype=np.int64)
    sat = np.zeros(n, dtype=np.int64)
    counts = np.zeros((B, n), dtype=np.int64)
    const = stim + node.dc
    bgw = np.array([p.bg_w for p in node.pops], dtype=np.int64)[node.pop_of]
    bg = BackgroundDraws(node) if node.bg_draws > 0 else None
    out = np.zeros((B, T, n), dtype=np.int8) if node.output == "spikes" else None
    ev: list[np.ndarray] = []
    indptr, tg = node.indptr, node.targets.astype(np.int64)
    w, dl = node.weights.astype(np.int64), node.delays.astype(np.int64)
    Rflat = R.reshape(-1)
    rec = [np.zeros((B, T, n), dtype=np.int64) for _ in range(3)] if record else None
    for t in range(T):
        slot = t % D
        x = R[:, slot] + const
        R[:, slot] = 0
        if bg is not None:
            x += bg.step() * bgw
        x = np.where(c > 0, 0, x)
        a = node.alpha_q * syn + (x << F)
        v = np.where(s, 0, (node.beta_q * v + a) >> F)
        syn = a >> F
        sat += ((syn < lo) | (syn > hi)).sum(axis=0) + ((v < lo) | (v > hi)).sum(axis=0)
        syn = np.clip(syn, lo, hi)
        v = np.clip(v, lo, hi)
        s = (v > node.threshold) & (c == 0)
        c = np.where(s, node.refractory, np.maximum(c - 1, 0))
        if rec is not None:
            rec[0][:, t], rec[1][:, t], rec[2][:, t] = v, syn, s
        if not s.any():
            continue
        counts += s
        if out is not None:
            out[:, t] = s
        bi, ni = np.nonzero(s)
        if events:
            sel = ni[bi == 0]
            if len(sel):
                ev.append(np.stack([np.full(len(sel), t), sel], axis=1))
        if not node.synapse_count:
            continue
        starts, ends = indptr[ni], indptr[ni + 1]
        lens = ends - starts
        tot = int(lens.sum())
        if not tot:
            continue
        # the synapse indices of every spiking neuron, concatenated
        off = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(tot)
        b = np.repeat(bi, lens)
        idx = (b * D + (t + dl[off]) % D) * n + tg[off]
        np.add.at(Rflat, idx, w[off])
    evs = np.concatenate(ev) if ev else np.zeros((0, 2), dtype=np.int64)
    tr = RecurrentTrace(v, counts, sat, events=evs.astype(np.int64))
    if rec is not None:
        tr.v_steps, tr.i_steps = rec[0], rec[1]
        tr.s_steps = rec[2]
    return out, tr


class RecurrentState(StageState):
    node: Recurrent

    def forward(self, x, side):
        spikes, trace = recurrent_run(self.node, x)
        return (spikes if spikes is not None else trace.counts), trace


# --------------------------------------------------------------------------- the kind
def _wlim(bits: int) -> int:
    return (1 << (bits - 1)) - 1


class RecurrentKind(StageKind):
    name = "recurrent"
    node = Recurrent
    is_layer = True
    has_synapses = True
    synapse_layout = "csr"

    def outputs(self, node: Recurrent, width: int) -> int:
        return node.n

    def max_time(self, node, time, max_in):
        return max(node.steps - 1, 0)

    def synapses(self, node: Recurrent) -> int:
        return node.synapse_count

    def verify(self, node: Recurrent, ctx: StageContext, err: Err) -> None:  # noqa: C901
        p = ctx.path
        n = node.n
        if not (1 <= n <= MAX_NEURONS):
            err(p, f"n={n}; expected 1..{MAX_NEURONS}")
            return
        if n != ctx.width:
            err(p, f"n={n}; expected {ctx.width} (one stimulus line per neuron)")
        if not node.pops:
            err(p, "pops is empty; expected at least one population")
        names = [q.name for q in node.pops]
        for i, q in enumerate(node.pops):
            if q.size < 1:
                err(f"{p}/pop{i}", f"population {q.name!r} size={q.size}; expected >= 1")
            if names.index(q.name) != i:
                err(f"{p}/pop{i}", f"duplicate population name {q.name!r}")
            if 1 <= node.bg_bits <= 16 and not (0 <= q.bg_u <= (1 << node.bg_bits)):
                err(f"{p}/pop{i}", f"population {q.name!r} bg_u={q.bg_u}; expected "
                                   f"0..{1 << node.bg_bits} (bg_bits={node.bg_bits})")
        total = sum(q.size for q in node.pops)
        if node.pops and total != n:
            err(p, f"population sizes sum to {total}; expected n={n}")
        if not (1 <= node.steps <= MAX_STEPS):
            err(p, f"steps={node.steps}; expected 1..{MAX_STEPS}")
        if not (2 <= node.mem_bits <= 32):
            err(p, f"mem_bits={node.mem_bits}; expected 2..32")
            return
        vmax = (1 << (node.mem_bits - 1)) - 1
        if not (1 <= node.threshold < vmax):
            err(p, f"threshold={node.threshold}; expected 1..{vmax - 1} (below the "
                   f"{node.mem_bits}-bit membrane's maximum)")
        F = node.frac_bits
        if not (0 <= F <= 24):
            err(p, f"frac_bits={F}; expected 0..24")
        else:
            if not (0 <= node.beta_q <= (1 << F)):
                err(p, f"beta_q={node.beta_q}; expected 0..{1 << F} (beta = beta_q / 2**{F} <= 1)")
            if not (0 <= node.alpha_q <= (1 << F)):
                err(p, f"alpha_q={node.alpha_q}; expected 0..{1 << F} "
                       f"(alpha = alpha_q / 2**{F} <= 1)")
        if not (0 <= node.refractory <= 4096):
            err(p, f"refractory={node.refractory}; expected 0..4096")
        if node.output not in OUTPUTS:
            err(p, f"output={node.output!r}; expected one of {', '.join(OUTPUTS)}")
        if not (0 <= node.bg_draws <= MAX_BG_DRAWS):
            err(p, f"bg_draws={node.bg_draws}; expected 0..{MAX_BG_DRAWS}")
        if not (1 <= node.bg_bits <= 16):
            err(p, f"bg_bits={node.bg_bits}; expected 1..16")
        if not (0 <= node.seed < (1 << 32)):
            err(p, f"seed={node.seed}; expected 0..2**32-1")
        if not (2 <= node.weight_bits <= MAX_WEIGHT_BITS):
            err(p, f"weight_bits={node.weight_bits}; expected 2..{MAX_WEIGHT_BITS}")
            return
        lim = _wlim(node.weight_bits)
        for i, q in enumerate(node.pops):
            if abs(q.bg_w) > lim:
                err(f"{p}/pop{i}", f"population {q.name!r} bg_w={q.bg_w}; expected "
                                   f"-{lim}..{lim} (weight_bits={node.weight_bits})")
        for k in ("dc", "v0"):
            a = getattr(node, k)
            if a.shape != (n,):
                err(p, f"{k} shape {a.shape}; expected ({n},)")
            elif a.size and int(np.abs(a).max()) > vmax:
                j = int(np.abs(a).argmax())
                err(p, f"{k}[{j}]={int(a[j])} outside the {node.mem_bits}-bit membrane "
                       f"range -{vmax + 1}..{vmax}")
        ip = node.indptr
        if ip.shape != (n + 1,):
            err(p, f"indptr shape {ip.shape}; expected ({n + 1},)")
            return
        nnz = node.targets.shape[0]
        if int(ip[0]) != 0 or int(ip[-1]) != nnz or (n and bool((np.diff(ip) < 0).any())):
            err(p, f"indptr must rise from 0 to the synapse count {nnz}; got "
                   f"{int(ip[0])} .. {int(ip[-1])}" + (" (decreasing somewhere)"
                                                      if (np.diff(ip) < 0).any() else ""))
            return
        for k in ("weights", "delays"):
            if getattr(node, k).shape != (nnz,):
                err(p, f"{k} shape {getattr(node, k).shape}; expected ({nnz},) like targets")
                return
        if nnz:
            bad = np.flatnonzero((node.targets < 0) | (node.targets >= n))
            if len(bad):
                err(p, f"{len(bad)} target(s) outside 0..{n - 1}, first targets[{bad[0]}]="
                       f"{int(node.targets[bad[0]])}")
            bad = np.flatnonzero(np.abs(node.weights.astype(np.int64)) > lim)
            if len(bad):
                err(p, f"{len(bad)} weight(s) outside -{lim}..{lim} (weight_bits="
                       f"{node.weight_bits}), first weights[{bad[0]}]={int(node.weights[bad[0]])}")
            bad = np.flatnonzero((node.delays < 1) | (node.delays > MAX_DELAY))
            if len(bad):
                err(p, f"{len(bad)} delay(s) outside 1..{MAX_DELAY} steps, first "
                       f"delays[{bad[0]}]={int(node.delays[bad[0]])}")

    # -- text ------------------------------------------------------------------------------
    def to_text(self, node: Recurrent) -> list[str]:
        L = [f"recurrent name={fmt_str(node.name)} n={node.n} steps={node.steps} "
             f"threshold={node.threshold} mem_bits={node.mem_bits} beta_q={node.beta_q} "
             f"alpha_q={node.alpha_q} frac_bits={node.frac_bits} refractory={node.refractory} "
             f"weight_bits={node.weight_bits} bg_draws={node.bg_draws} bg_bits={node.bg_bits} "
             f"seed={node.seed} output={node.output}"]
        for q in node.pops:
            L.append(f"  pop name={fmt_str(q.name)} size={q.size} bg_u={q.bg_u} bg_w={q.bg_w}")
        ip = node.indptr
        for i in range(node.n):
            sl = slice(int(ip[i]), int(ip[i + 1])) if ip.shape == (node.n + 1,) else slice(0, 0)
            L.append(f"  neuron i={i} dc={int(node.dc[i])} v0={int(node.v0[i])} "
                     f"targets={fmt_list(node.targets[sl])} weights={fmt_list(node.weights[sl])} "
                     f"delays={fmt_list(node.delays[sl])}")
        return L

    def from_text(self, lines):
        (_, _, a), *rest = lines
        n = a["n"]
        pops: list[Population] = []
        dc = np.zeros(n, dtype=np.int64)
        v0 = np.zeros(n, dtype=np.int64)
        rows: list[tuple[list, list, list]] = [([], [], [])] * n
        seen = set()
        for ln, kw, r in rest:
            if kw == "pop":
                pops.append(Population(r["name"], r["size"], r.get("bg_u", 0), r.get("bg_w", 0)))
            elif kw == "neuron" and 0 <= r["i"] < n and r["i"] not in seen:
                i = r["i"]
                seen.add(i)
                dc[i], v0[i] = r["dc"], r["v0"]
                if not (len(r["targets"]) == len(r["weights"]) == len(r["delays"])):
                    raise ValueError(f"line {ln}: targets, weights and delays differ in length")
                rows[i] = (r["targets"], r["weights"], r["delays"])
            else:
                raise ValueError(f"line {ln}: expected 'pop name=.. size=..' or 'neuron "
                                 f"i=0..{n - 1} dc=.. v0=.. targets=[..] weights=[..] delays=[..]'"
                                 f" (once per neuron); got {kw!r}")
        if len(seen) != n:
            raise ValueError(f"recurrent {a['name']!r}: {n - len(seen)} of {n} neuron lines missing")
        lens = [len(r[0]) for r in rows]
        indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        cat = [np.array([v for r in rows for v in r[k]], dtype=np.int64) for k in range(3)]
        return Recurrent(a["name"], n, tuple(pops), a["steps"], a["threshold"], indptr, cat[0],
                         cat[1], cat[2], dc, v0, a["mem_bits"], a["beta_q"], a["alpha_q"],
                         a["frac_bits"], a["refractory"], a["weight_bits"], a["bg_draws"],
                         a["bg_bits"], a["seed"], a["output"])

    # -- JSON + NPZ ------------------------------------------------------------------------
    _SCALARS = ("n", "steps", "threshold", "mem_bits", "beta_q", "alpha_q", "frac_bits",
                "refractory", "weight_bits", "bg_draws", "bg_bits", "seed")
    _ARRAYS = (("indptr", np.int64), ("targets", np.int32), ("weights", np.int32),
               ("delays", np.int16), ("dc", np.int64), ("v0", np.int64))

    def to_json(self, node: Recurrent, prefix, arr) -> dict:
        d: dict[str, Any] = {"name": node.name, "output": node.output}
        d.update({k: int(getattr(node, k)) for k in self._SCALARS})
        d["pops"] = [{"name": q.name, "size": q.size, "bg_u": q.bg_u, "bg_w": q.bg_w}
                     for q in node.pops]
        for k, dt in self._ARRAYS:
            d[k] = arr(f"{prefix}/{k}", getattr(node, k), dt)
        return d

    def from_json(self, doc, get):
        pops = tuple(Population(q["name"], q["size"], q["bg_u"], q["bg_w"]) for q in doc["pops"])
        kw = {k: doc[k] for k in self._SCALARS if k not in ("n", "steps", "threshold")}
        return Recurrent(doc["name"], doc["n"], pops, doc["steps"], doc["threshold"],
                         *(get(doc[k]) for k, _ in self._ARRAYS), output=doc["output"], **kw)

    def json_schema(self):
        from ..schema import Arr, Int, ListOf, Obj, Str, expect_shape

        def shapes(v: dict, path: str, ctx) -> None:
            n = v["n"]
            nnz = ctx.array(v["targets"]).shape[0] if ctx.array(v["targets"]) is not None else 0
            expect_shape(ctx, f"{path}.indptr", v["indptr"], (n + 1,), "n + 1")
            for k in ("weights", "delays"):
                expect_shape(ctx, f"{path}.{k}", v[k], (nnz,), "one per target")
            for k in ("dc", "v0"):
                expect_shape(ctx, f"{path}.{k}", v[k], (n,), "one per neuron")
            if sum(q["size"] for q in v["pops"]) != n:
                ctx.err(f"{path}.pops", f"population sizes sum to "
                                        f"{sum(q['size'] for q in v['pops'])}; expected n={n}")

        pop = Obj({"name": Str(max_len=200), "size": Int(1, MAX_NEURONS),
                   "bg_u": Int(0, 1 << 16), "bg_w": Int(-(1 << 23), 1 << 23)})
        return Obj({"type": Str(("recurrent",)), "name": Str(max_len=200),
                    "output": Str(OUTPUTS), "n": Int(1, MAX_NEURONS), "steps": Int(1, MAX_STEPS),
                    "threshold": Int(1, (1 << 31) - 2), "mem_bits": Int(2, 32),
                    "beta_q": Int(0, 1 << 24), "alpha_q": Int(0, 1 << 24),
                    "frac_bits": Int(0, 24), "refractory": Int(0, 4096),
                    "weight_bits": Int(2, MAX_WEIGHT_BITS), "bg_draws": Int(0, MAX_BG_DRAWS),
                    "bg_bits": Int(1, 16), "seed": Int(0, (1 << 32) - 1),
                    "pops": ListOf(pop, 1, 4096),
                    "indptr": Arr("int", 1, 0), "targets": Arr("int", 1, 0, MAX_NEURONS - 1),
                    "weights": Arr("int", 1, -(1 << 23), 1 << 23),
                    "delays": Arr("int", 1, 1, MAX_DELAY),
                    "dc": Arr("int", 1, -(1 << 31), (1 << 31) - 1),
                    "v0": Arr("int", 1, -(1 << 31), (1 << 31) - 1)}, check_fn=shapes)

    def init_state(self, node, time):
        return RecurrentState(node)


KIND = RecurrentKind()

__all__ = ["KIND", "Population", "Recurrent", "RecurrentTrace", "BackgroundDraws", "bg_seeds",
           "recurrent_run"]
