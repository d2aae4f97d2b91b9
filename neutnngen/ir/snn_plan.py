"""The static plan of an SNN network's hardware (plain Python and numpy, no Amaranth): how
the clock-driven stages of docs/model.md §11 map to the segments of
:mod:`neutnngen.hdl.snn` (composed integer matrices, synapse entries per neuron group,
pooling windows, bit widths, register addresses, cycle counts). It lives below both the
HDL and the verifier, which read the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError


def _sbits(lo: int, hi: int) -> int:
    """Bits of a signed number holding every value of ``lo .. hi``."""
    b = 1
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return b


def _ubits(hi: int) -> int:
    return max(1, int(hi).bit_length())


@dataclass(frozen=True, eq=False)
class SnnSegment:
    index: int
    name: str  # the lif (or act) stage that ends the segment
    lif: Any  # the LIF node
    n_in: int
    n_out: int
    xb: int  # bits of an input value (unsigned; 1 for spikes)
    src: str  # "input" (the encoder's values) or "spikes"
    idx: np.ndarray  # entry -> input line
    w: np.ndarray  # [entry, lane] -> weight of neuron group * lanes + lane
    ends: np.ndarray  # neuron group -> end of its entries (exclusive)
    bias: np.ndarray  # [groups * lanes] (0 for the lanes past n_out)
    shift: int
    wb: int  # signed bits of an entry weight
    bb: int  # signed bits of a bias
    aw: int  # signed accumulator bits
    linear: tuple[str, ...]  # the IR stages composed into this segment's map
    lanes: int = 1  # neurons updated together (a group)
    windows: int = 1  # maxpool: pooling windows per neuron (its current is their maximum)
    wend: np.ndarray | None = None  # entry -> 1 on the last entry of a window
    wbase: int = 0  # register mode: address of entry 0, lane 0
    bbase: int = 0  # register mode: address of bias 0

    @property
    def entries(self) -> int:
        """Entry words (input line + one weight per lane)."""
        return int(len(self.idx))

    @property
    def groups(self) -> int:
        return -(-self.n_out // self.lanes)

    @property
    def synapses(self) -> int:
        """Nonzero weights held by the entries."""
        return int(np.count_nonzero(self.w))

    @property
    def cycles_per_step(self) -> int:
        return self.entries + 6 * self.groups


@dataclass(frozen=True, eq=False)
class SnnPlan:
    net: Any
    name: str
    weights: str
    encoder: Any
    n_in: int
    in_width: int  # bits of in_data
    segments: tuple[SnnSegment, ...]
    steps: int
    tb: int  # bits of a time step (out_first; all ones = never fired)
    cb: int  # bits of a spike count
    wa: int = 0  # register mode: address bits
    wd: int = 0  # register mode: data bits
    lanes: Any = 1  # neurons updated together: one number, or one per segment (a tuple)
    architecture: str = "serial"  # serial: one stage at a time; pipelined: stages overlap

    @property
    def enc_pass(self) -> int:
        return 0 if self.encoder.mode == "direct" else self.n_in + 2

    def stage_cycles(self) -> list[int]:
        """Cycles one step takes in each stage (the encoder pass first when there is one,
        then every segment), the cycle in which it is started included."""
        enc = [1 + self.enc_pass] if self.enc_pass else []
        return enc + [1 + s.cycles_per_step for s in self.segments]

    @property
    def cycles_per_sample(self) -> int:
        """Cycles from the sample's last input beat to its first output beat (no stalls)."""
        if self.architecture == "serial":
            return self.steps * (1 + self.enc_pass + sum(1 + s.cycles_per_step
                                                          for s in self.segments))
        # pipelined: stage j starts step t when it has finished step t-1, its producer has
        # finished step t and its consumer step t-2 (a double-buffered spike buffer between)
        d = self.stage_cycles()
        S = len(d)
        end = [[0] * self.steps for _ in range(S)]
        for t in range(self.steps):
            for j in range(S):
                start = max(end[j][t - 1] if t else 0, end[j - 1][t] if j else 0,
                            end[j + 1][t - 2] if j + 1 < S and t >= 2 else 0)
                end[j][t] = start + d[j]
        # the top sees the last stage's count one cycle later
        return end[-1][-1] + 1

    @property
    def interval(self) -> int:
        """Cycles per step at full rate: the slowest stage's (pipelined), their sum (serial)."""
        if self.architecture == "serial":
            return self.cycles_per_sample // self.steps
        return max(self.stage_cycles())

    @property
    def n_out(self) -> int:
        return self.segments[-1].n_out

    def info(self) -> dict:
        return {
            "name": self.name, "kind": "snn", "weights": self.weights,
            "inputs": self.n_in, "in_width": self.in_width, "encoder": self.encoder.mode,
            "steps": self.steps, "outputs": self.n_out,
            "out_first_bits": self.tb, "out_count_bits": self.cb,
            "mem_bits": self.segments[-1].lif.mem_bits,
            "readout": self.segments[-1].lif.output,
            "cycles_per_sample": self.cycles_per_sample,
            "load_cycles": self.n_in,
            "lanes": list(self.lanes) if isinstance(self.lanes, tuple) else self.lanes,
            "architecture": self.architecture, "step_interval": self.interval,
            "synapse_entries": sum(s.entries for s in self.segments),
            "synapses": sum(s.synapses for s in self.segments),
            "wload_addr_bits": self.wa, "wload_data_bits": self.wd,
        }

    def names(self) -> dict:
        segs = []
        for s in self.segments:
            segs.append({"index": s.index, "lif": s.name, "linear": list(s.linear),
                         "n_in": s.n_in, "n_out": s.n_out, "entries": s.entries,
                         "input_bits": s.xb, "weight_bits": s.wb, "bias_bits": s.bb,
                         "acc_bits": s.aw, "shift": s.shift, "mem_bits": s.lif.mem_bits,
                         "cycles_per_step": s.cycles_per_step, "lanes": s.lanes,
                         "groups": s.groups, "synapses": s.synapses,
                         **({"wbase": s.wbase, "bbase": s.bbase,
                             "entry_group": np.repeat(np.arange(s.groups), np.diff(
                                 np.concatenate([[0], s.ends]))).tolist(),
                             "entry_line": s.idx.tolist()}
                            if self.weights == "register" else {})})
        return {"top": self.info(), "segments": segs,
                "trace": {"ports": [f"trace{s.index}_{f}" for s in self.segments
                                    for f in TRACE_FIELDS],
                          "lanes": [s.lanes for s in self.segments],
                          "order": "per segment: sample, step, neuron group, lane"}}


TRACE_FIELDS = ("valid", "idx", "n", "v", "s", "i")  # the trace ports of every segment


# ----------------------------------------------------------------------------- planning
def _linear_matrix(st, kind: str, n_in: int, structure: bool) -> np.ndarray:
    """The ``[n_out, n_in]`` integer matrix of a linear stage (``structure``: 1 where a
    synapse exists, whatever its weight)."""
    from ..ir.stages.snn import conv2d_forward, pool_forward

    if kind == "dense":
        W = np.asarray(st.weights, dtype=np.int64)
        return np.ones_like(W) if structure else W
    if kind in ("conv2d", "sumpool"):
        # The map is linear: its columns are the responses to unit inputs.
        eye = np.eye(n_in, dtype=np.int64)[:, None, :]  # [n_in (batch), 1 step, n_in]
        if kind == "conv2d":
            node = st
            if structure:
                from dataclasses import replace

                node = replace(st, weights=np.ones_like(st.weights), bias=np.zeros_like(st.bias),
                               shift=0)
            else:
                from dataclasses import replace

                node = replace(st, bias=np.zeros_like(st.bias), shift=0)
            out = conv2d_forward(eye, node)
        else:
            out = pool_forward(eye, st)
        return np.ascontiguousarray(out[:, 0, :].T)
    raise AssertionError(kind)


LANES = (1, 2, 4, 8, 16, 32, 64)


ARCHITECTURES = ("serial", "pipelined")
SEGMENT_ENDS = ("lif", "act")  # the stages that end a segment (its neurons)
TNN_KINDS = ("layer", "retime")  # the stage kinds of a TNN front


@dataclass(frozen=True)
class MixedSplit:
    """A network of TNN and SNN stages cut at the §11 interfaces: ``front`` (TNN stages
    feeding the SNN through a ``times`` encoder, or None), ``snn`` (the SNN stages, a
    network over the front's output lines), ``back`` (TNN stages reading the last ``lif``'s
    ``first`` volley, or None)."""

    front: Any
    snn: Any
    back: Any


def split_mixed(net) -> MixedSplit | None:
    """The :class:`MixedSplit` of a network that mixes TNN stages (layers, retimes) and SNN
    stages as ``[TNN ->] encoder mode=times ... lif [output=first -> TNN]`` (docs/model.md
    §11: the TNN <-> SNN interfaces); ``None`` for a network without TNN stages;
    :class:`ConfigError` for a mixture the RTL does not build (naming the stage)."""
    from ..ir import Network
    from ..ir.common import TimeSpec
    from ..ir.kinds import kind_of

    kinds = [kind_of(st).name for st in net.stages]
    is_tnn = [k in TNN_KINDS for k in kinds]
    if not any(is_tnn):
        return None
    a = is_tnn.index(False) if False in is_tnn else len(kinds)  # first SNN stage
    b = a
    while b < len(kinds) and not is_tnn[b]:
        b += 1  # the SNN run is stages a .. b-1
    if a == len(kinds) or any(not t for t in is_tnn[b:]):
        raise ConfigError(f"network {net.name!r} mixes TNN and SNN stages as "
                          f"{' -> '.join(kinds)}; the RTL builds at most one SNN run, between "
                          f"a TNN front and a TNN back")
    enc = net.stages[a]
    if a and (kinds[a] != "encoder" or enc.mode != "times"):
        raise ConfigError(f"stage {enc.name!r} ({kinds[a]}"
                          f"{', mode=' + enc.mode if kinds[a] == 'encoder' else ''}) follows "
                          f"the TNN stages; the RTL joins a TNN front to SNN stages through an "
                          f"encoder with mode=times (one spike per line at its TNN time)")
    front = None
    width = net.inputs
    if a:
        front = Network(f"{net.name}_front", net.time, net.inputs, tuple(net.stages[:a]))
        top = net.time.t_max_in
        for st in front.stages:
            top = kind_of(st).max_time(st, front.time, top)
        if top >= 1 << enc.in_bits:
            raise ConfigError(f"encoder {enc.name!r}: in_bits={enc.in_bits} holds times up to "
                              f"{(1 << enc.in_bits) - 1}, the TNN front emits times up to "
                              f"{top}; expected in_bits >= {int(top).bit_length()}")
        width = front.outputs
    snn = Network(f"{net.name}_snn", TimeSpec(), width, tuple(net.stages[a:b]))
    back = None
    if b < len(kinds):
        last = net.stages[b - 1]
        if kinds[b - 1] != "lif" or last.output != "first":
            raise ConfigError(f"stage {last.name!r} ({kinds[b - 1]}) feeds the TNN stage "
                              f"{net.stages[b].name!r}; the RTL joins SNN stages to a TNN back "
                              f"through a lif with output=first (its first-spike volley)")
        if net.stages[a].steps - 1 > net.time.t_max_in:
            raise ConfigError(f"the SNN's {net.stages[a].steps} steps give first-spike times up "
                              f"to {net.stages[a].steps - 1}; the TNN back takes times up to "
                              f"{net.time.t_max_in}")
        back = Network(f"{net.name}_back", net.time, snn.outputs, tuple(net.stages[b:]))
    return MixedSplit(front, snn, back)


def plan_snn(net, weights: str = "hardwired", name: str = "neutnngen_top",
             lanes: Any = 1, architecture: str = "serial") -> SnnPlan:
    """The static plan of an SNN network; :class:`ConfigError` for what the RTL does not
    build (naming the stage and what is accepted)."""
    from ..ir import check
    from ..ir.kinds import kind_of

    if weights not in ("hardwired", "register"):
        raise ConfigError(f"weights={weights!r} for an SNN network; accepted: hardwired, "
                          f"register (SNN stages do not learn on chip)")
    per_seg = isinstance(lanes, (list, tuple))
    for v in (lanes if per_seg else [lanes]):
        if isinstance(v, bool) or v not in LANES:
            raise ConfigError(f"lanes={lanes!r}; the SNN RTL accepts {', '.join(map(str, LANES))} "
                              f"(neurons updated together), or a list of them, one per lif "
                              f"stage")
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"architecture={architecture!r} for an SNN network; accepted: "
                          f"{', '.join(ARCHITECTURES)}")
    check(net)
    kinds = [kind_of(st).name for st in net.stages]
    if not kinds or kinds[0] != "encoder":
        raise ConfigError(f"network {net.name!r}: the SNN RTL needs an encoder as the first "
                          f"stage; got {kinds[0] if kinds else 'no stages'}")
    tnn = [f"{st.name} ({k})" for st, k in zip(net.stages, kinds, strict=True)
           if k in ("layer", "retime")]
    if tnn:
        raise ConfigError(f"network {net.name!r} mixes TNN stages ({', '.join(tnn[:3])}) with "
                          f"SNN stages; this step takes all-SNN networks (compile and verify "
                          f"build and check a mixed design as a whole)")
    enc = net.stages[0]
    if enc.mode not in ("direct", "latency", "times", "rate"):
        raise ConfigError(f"encoder {enc.name!r}: mode={enc.mode!r}; the RTL builds direct, "
                          f"latency, times, rate")
    n_in = net.inputs
    width = n_in
    segs: list[SnnSegment] = []
    M = S = None
    bias = None
    shift = 0
    shifted = False
    linear: list[str] = []
    src = "input"
    xb = enc.in_bits if enc.mode == "direct" else 1
    seg_in = n_in
    wbits = 2
    pool = None

    def eye(n):
        return np.eye(n, dtype=np.int64)

    for st, k in zip(net.stages[1:], kinds[1:], strict=True):
        if M is None:
            M, S, bias, shift, shifted, linear = (eye(width), eye(width),
                                                  np.zeros(width, np.int64), 0, False, [])
            wbits = 2
            pool = None
        if k == "flatten":
            linear.append(st.name)
            continue
        if k == "maxpool":
            if not shifted or pool is not None:
                raise ConfigError(f"stage {st.name!r} (maxpool) is not directly after the one "
                                  f"dense/conv2d before a lif; the SNN RTL builds a max pool of "
                                  f"synaptic currents (conv2d -> maxpool -> lif), not of spikes or "
                                  f"inputs (use sumpool there)")
            C, H, W = st.in_shape
            if C * H * W != width:
                raise ConfigError(f"maxpool {st.name!r}: in_shape {st.in_shape} has {C * H * W} "
                                  f"lines; expected {width}")
            img = np.arange(width).reshape(C, H, W)
            from ..ir.stages.snn import _windows

            win = _windows(img, st.kernel, st.kernel, max(st.stride, 1))  # [C, Ho, Wo, k, k]
            pool = win.reshape(-1, st.kernel * st.kernel)
            if (bias[pool] != bias[pool[:, :1]]).any():
                raise ConfigError(f"maxpool {st.name!r} pools currents with different biases; "
                                  f"the SNN RTL needs one bias per pooling window")
            width = pool.shape[0]
            linear.append(st.name)
            continue
        if k in ("dense", "conv2d", "sumpool"):
            if shifted or pool is not None:
                raise ConfigError(f"stage {st.name!r} ({k}) follows the shifting stage "
                                  f"{linear[-1]!r} before a lif; the SNN RTL composes at most "
                                  f"one dense/conv2d per lif, after any sumpool")
            A = _linear_matrix(st, k, width, False)
            As = _linear_matrix(st, k, width, True)
            M, S = A @ M, (As @ S != 0).astype(np.int64)
            if k != "sumpool":
                b = np.asarray(st.bias, dtype=np.int64).reshape(-1)
                if k == "conv2d":  # one bias per output channel, over its positions
                    b = np.repeat(b, A.shape[0] // max(1, b.size))
                bias, shift, shifted = b, st.shift, True
                wbits = st.weight_bits
            else:
                bias = np.zeros(A.shape[0], dtype=np.int64)
            width = A.shape[0]
            linear.append(st.name)
            continue
        if k not in SEGMENT_ENDS:
            raise ConfigError(f"stage {st.name!r} ({k}) has no SNN RTL; accepted: encoder, "
                              f"dense, conv2d, sumpool, maxpool, flatten, lif, act")
        if k == "lif" and st is not net.stages[-1] and st.output != "spikes":
            raise ConfigError(f"lif {st.name!r} has output={st.output} but feeds later stages; "
                              f"the SNN RTL passes spikes between layers (output=spikes)")
        if k == "act" and st is not net.stages[-1] and st.fn != "relu":
            raise ConfigError(f"act {st.name!r} has fn={st.fn} but feeds later stages; the RTL "
                              f"passes unsigned values between layers (fn=relu)")
        keep = (M != 0) if weights == "hardwired" else (S != 0)
        if per_seg and len(segs) >= len(lanes):
            n_lif = sum(k_ in SEGMENT_ENDS for k_ in kinds)
            raise ConfigError(f"lanes={list(lanes)} gives {len(lanes)} lane counts; network "
                              f"{net.name!r} has {n_lif} lif/act stages (one count per lif or act stage)")
        P = int(lanes[len(segs)]) if per_seg else int(lanes)
        G = -(-width // P)
        # pre-pool rows of every neuron: its pooling window (maxpool), else the row itself
        rows = pool if pool is not None else np.arange(width)[:, None]
        nwin = rows.shape[1]
        rows_p = np.full((G * P, nwin), -1, np.int64)
        rows_p[:width] = rows
        bp = np.zeros(G * P, np.int64)
        bp[:width] = bias[rows[:, 0]]
        idx, ends, wend = [], [], []
        wrows = []
        for g in range(G):
            for wi in range(nwin):
                rr = rows_p[g * P:(g + 1) * P, wi]
                live = rr >= 0
                km = np.zeros((P, M.shape[1]), bool)
                km[live] = keep[rr[live]]
                cols = np.flatnonzero(km.any(axis=0))
                if cols.size == 0:  # every window walks at least one entry (weights 0)
                    cols = np.array([0])
                wm = np.zeros((P, cols.size), np.int64)
                wm[live] = M[rr[live]][:, cols]
                idx.extend(cols.tolist())
                wrows.append(wm.T)
                wend.extend([0] * (cols.size - 1) + [1])
            ends.append(len(idx))
        idx_a = np.asarray(idx, np.int64)
        w_a = np.concatenate(wrows, axis=0)  # [entries, lanes]
        grp = np.repeat(np.arange(G), np.diff(np.concatenate([[0], ends])))
        xmax = (1 << xb) - 1
        bb = _sbits(int(bp.min()), int(bp.max()))
        if weights == "register":
            # loadable weights: the IR's weight_bits range (or wider composed entries)
            wb = max(_sbits(int(w_a.min()), int(w_a.max())), wbits)
            lim = 1 << (wb - 1)
            per = np.bincount(grp, minlength=G).max() * lim * xmax
            blim = 1 << (bb - 1)
            aw = _sbits(int(-(per + blim)), int(per + blim))
        else:
            wb = _sbits(int(w_a.min()), int(w_a.max()))
            pos = np.zeros(G * P, np.int64)
            neg = np.zeros(G * P, np.int64)
            for lane in range(P):
                np.add.at(pos, grp * P + lane, np.maximum(w_a[:, lane], 0) * xmax)
                np.add.at(neg, grp * P + lane, np.minimum(w_a[:, lane], 0) * xmax)
            aw = _sbits(int((neg + np.minimum(bp, 0)).min()),
                        int((pos + np.maximum(bp, 0)).max()))
        aw = max(aw, shift + 2)
        segs.append(SnnSegment(len(segs), st.name, st, seg_in, width, xb, src, idx_a, w_a,
                               np.asarray(ends, np.int64), bp, int(shift), wb, bb, aw,
                               tuple(linear), P, windows=nwin,
                               wend=np.asarray(wend, np.int64)))
        M = None
        src, xb, seg_in = "spikes", (st.bits if k == "act" else 1), width
    if M is not None:
        raise ConfigError(f"network {net.name!r} ends in linear stages ({', '.join(linear) or 'flatten'}); "
                          f"the SNN RTL needs a lif or act as the last stage")
    if not segs:
        raise ConfigError(f"network {net.name!r} has no lif or act stage; the SNN RTL needs at "
                          f"least one")
    if per_seg and len(lanes) != len(segs):
        raise ConfigError(f"lanes={list(lanes)} gives {len(lanes)} lane counts; network "
                          f"{net.name!r} has {len(segs)} lif/act stages (one count per lif or act stage)")
    if per_seg:  # one count for all: a plain number, as the uniform form
        lanes = int(lanes[0]) if len(set(lanes)) == 1 else tuple(int(v) for v in lanes)
    steps = enc.steps
    wa = wd = 0
    if weights == "register":
        base = 0
        placed = []
        for s in segs:
            s2 = SnnSegment(**{**s.__dict__, "wbase": base,
                               "bbase": base + s.entries * s.lanes})
            base += (s.entries + s.groups) * s.lanes
            placed.append(s2)
        segs = placed
        wa = _ubits(base - 1)
        wd = max(max(s.wb for s in segs), max(s.bb for s in segs))
    in_width = enc.in_bits + (1 if enc.mode == "times" else 0)
    return SnnPlan(net, name, weights, enc, n_in, in_width, tuple(segs), steps,
                   _ubits(steps), _ubits(steps), wa, wd, lanes, architecture)
