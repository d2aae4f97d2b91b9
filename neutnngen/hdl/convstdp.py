"""RTL of a convolutional STDP / R-STDP network (docs/model.md §14 "RTL"): inference with the
trained weights hardwired in ROMs; one stage at a time, one operation per cycle.

A network ``rankcode -> (convstdp | maxpool)* -> convstdp(rule=rstdp)`` becomes one design
(:class:`ConvSTDPTop`) that takes a digit as ``H*W`` pixel beats and answers one beat with
the decided class. Between stages every line's **first spike step** is kept in a memory
(``steps`` codes NONE, so a minimum is an earliest spike); that is all a ``convstdp`` layer
reads of its input (§14 "Values"), and the earliest spike of a window is what a ``maxpool``
hands to the next layer.

* ``rankcode``: (A) per line, the ``k x k`` filter as a serial MAC over a pixel memory; lines
  with ``v > threshold`` are appended (value, line) to a list, every line's step set NONE;
  (B) per listed line, its rank ``r`` = the listed lines before it in the stable descending
  order (one comparison per cycle over the list), then the step ``r * steps // nz`` as the
  largest ``s < steps`` with ``s * nz <= r * steps`` (one ``s`` per cycle).
* ``convstdp``: per position, per feature, the synapses stream one per cycle (input step,
  weight) into ``steps`` per-step bins (``hist[tx] += w``); a scan over the bins gives the
  cumulative potential ``V[t]``, the first step at or over the threshold (or the last step's
  ``V > 0`` for ``threshold = 0``) and ``vf``. Pointwise inhibition keeps the first feature
  of the position by the order key (ties: the lower feature); a decision layer
  (``rule=rstdp``) keeps the first neuron of the layer (ties: the lower flat index) and
  answers its class.
* ``maxpool``: per output line, the minimum step over its window.

Every write of a stage's step memory is reported on ``trace_valid/stage/line/t`` (a line's
last write in a sample is its value); the verifier compares every stage's every line with
the interpreter. On-chip learning is not built: the weights are the trained ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..ir.snn_plan import _sbits, _ubits


@dataclass(frozen=True, eq=False)
class CSStage:
    index: int
    kind: str  # "rank" | "conv" | "pool"
    node: Any
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]

    @property
    def lines(self) -> int:
        return int(np.prod(self.out_shape))

    def cycles(self, steps: int) -> int:
        """Cycles of the stage for one sample; for ``rank`` the bound, every line listed (the
        sort takes ``nz (nz + 2 steps + 6)`` cycles for ``nz`` listed lines)."""
        C, H, W = self.in_shape
        Co, Ho, Wo = self.out_shape
        if self.kind == "rank":
            k = self.node.kernels.shape[-1]
            n = self.lines
            return self.lines * (k * k + 2) + 1 + n * (n + 2 * steps + 6) + 1
        if self.kind == "pool":
            k = self.node.kernel
            return self.lines * (k * k + 2) + 1
        k = self.node.kernel
        per = C * k * k + steps + 2
        pos = Ho * Wo * (Co * per + (1 if self.node.rule == "stdp" and self.node.inhibit
                                     else 0))
        return pos + 2


@dataclass(frozen=True, eq=False)
class ConvPlan:
    name: str
    stages: tuple[CSStage, ...]
    steps: int
    in_bits: int
    height: int
    width: int
    classes: int

    @property
    def tb(self) -> int:
        return _ubits(self.steps)  # 0 .. steps; steps is NONE

    def cycles_bound(self) -> int:
        return self.height * self.width + sum(s.cycles(self.steps) for s in self.stages) \
            + 2 * len(self.stages) + 2

    def info(self) -> dict:
        return {"name": self.name, "kind": "convstdp", "weights": "hardwired",
                "steps": self.steps, "in_bits": self.in_bits, "height": self.height,
                "width": self.width, "classes": self.classes,
                "stages": [{"index": s.index, "name": s.node.name, "kind": s.kind,
                            "in_shape": list(s.in_shape), "out_shape": list(s.out_shape),
                            "lines": s.lines,
                            "cycles": s.cycles(self.steps)} for s in self.stages],
                "load_cycles": self.height * self.width,
                "cycles_per_sample_bound": self.cycles_bound(),
                "synapses": int(sum(s.node.weights.size for s in self.stages
                                    if s.kind == "conv")),
                "trace_stages": [s.index for s in self.stages if not _is_decision(s)]}


def _is_decision(s: CSStage) -> bool:
    return s.kind == "conv" and s.node.rule == "rstdp"


def is_convstdp_net(net) -> bool:
    from ..ir.kinds import kind_of

    return any(kind_of(st).name in ("rankcode", "convstdp") for st in net.stages)


def plan_convstdp(net, name: str = "neutnngen_top") -> ConvPlan:
    """The plan of a ``rankcode -> (convstdp | maxpool)* -> convstdp(rstdp)`` network;
    :class:`ConfigError` naming what the RTL does not build."""
    from ..ir import check
    from ..ir.kinds import kind_of

    check(net)
    kinds = [kind_of(st).name for st in net.stages]
    where = f"network {net.name!r} ({' -> '.join(kinds)})"
    if not kinds or kinds[0] != "rankcode":
        raise ConfigError(f"{where}: the convolutional STDP RTL starts with a rankcode stage")
    last = net.stages[-1]
    if kinds[-1] != "convstdp" or last.rule != "rstdp":
        raise ConfigError(f"{where}: the convolutional STDP RTL ends with a convstdp "
                          f"rule=rstdp decision layer")
    stages = []
    for k, (st, kd) in enumerate(zip(net.stages, kinds, strict=True)):
        if kd == "rankcode":
            if k:
                raise ConfigError(f"{where}: rankcode at stage {k}; expected only at stage 0")
            stages.append(CSStage(k, "rank", st, st.in_shape, st.out_shape))
        elif kd == "convstdp":
            if st.rule == "rstdp" and k != len(kinds) - 1:
                raise ConfigError(f"{where}: decision layer {st.name!r} at stage {k}; the "
                                  f"rule=rstdp layer must be last")
            stages.append(CSStage(k, "conv", st, st.in_shape, st.out_shape))
        elif kd == "maxpool":
            if k + 1 >= len(kinds) or kinds[k + 1] != "convstdp":
                raise ConfigError(f"{where}: maxpool {st.name!r} must feed a convstdp layer "
                                  f"(the RTL hands on the window's earliest spike)")
            stages.append(CSStage(k, "pool", st, st.in_shape, st.out_shape))
        else:
            raise ConfigError(f"{where}: stage {k} is a {kd}; the convolutional STDP RTL "
                              f"builds rankcode, convstdp and maxpool stages")
    enc = net.stages[0]
    return ConvPlan(name, tuple(stages), int(enc.steps), int(enc.in_bits),
                    int(enc.in_shape[1]), int(enc.in_shape[2]), int(last.classes))


class ConvSTDPTop(wiring.Component):
    """The design of a :class:`ConvPlan` (module docstring)."""

    _MustUse__silence = True

    def __init__(self, plan: ConvPlan):
        self.plan = plan
        lb = _ubits(max(max(s.lines for s in plan.stages), plan.height * plan.width) - 1)
        self.lb = lb
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(plan.in_bits),
            "out_valid": Out(1), "out_ready": In(1),
            "out_class": Out(_ubits(plan.classes - 1)), "out_none": Out(1),
            "trace_valid": Out(1), "trace_stage": Out(_ubits(len(plan.stages))),
            "trace_line": Out(lb), "trace_t": Out(plan.tb)})
        self.info = plan.info()

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _count(m, regs, limits, last):
        """Odometer ``regs`` (innermost first) over ``limits``; ``last`` is set combinationally
        when every counter is at its limit."""
        carry = 1
        for r, lim in zip(regs, limits, strict=True):
            at = r == lim - 1
            with m.If(carry):
                m.d.sync += r.eq(Mux(at, 0, r + 1))
            carry = carry & at
        m.d.comb += last.eq(carry)

    def elaborate(self, platform):
        p = self.plan
        m = Module()
        T, tb = p.steps, p.tb
        HW = p.height * p.width
        pix = Memory(shape=unsigned(p.in_bits), depth=HW, init=[])
        m.submodules.pix = pix
        pix_w = pix.write_port()
        ld = Signal(_ubits(HW), name="load_count")
        m.d.comb += [pix_w.addr.eq(ld), pix_w.data.eq(self.in_data)]
        # a step memory per stage but the decision layer
        mems: dict[int, Memory] = {}
        for s in p.stages:
            if not _is_decision(s):
                mems[s.index] = Memory(shape=unsigned(tb), depth=s.lines, init=[])
                m.submodules[f"t{s.index}_{s.node.name}"] = mems[s.index]
        gos = [Signal(name=f"go{s.index}") for s in p.stages]
        dones = [Signal(name=f"done{s.index}") for s in p.stages]
        traces = []
        cls = Signal(_ubits(p.classes - 1), name="decided")
        none = Signal(name="decided_none")
        prev = None
        for s, go, done in zip(p.stages, gos, dones, strict=True):
            if s.kind == "rank":
                traces.append(self._rank(m, s, go, done, pix, mems[s.index], T, tb))
            elif s.kind == "pool":
                traces.append(self._pool(m, s, go, done, mems[prev], mems[s.index], T, tb))
            else:
                tr = self._conv(m, s, go, done, mems[prev], mems.get(s.index), T, tb, cls,
                                none)
                if tr is not None:
                    traces.append(tr)
            prev = s.index
        # trace: only one stage writes at a time
        for idx, en, addr, data in traces:
            with m.If(en):
                m.d.comb += [self.trace_valid.eq(1), self.trace_stage.eq(idx),
                             self.trace_line.eq(addr), self.trace_t.eq(data)]
        with m.FSM(name="top"):
            with m.State("LOAD"):
                m.d.comb += [self.in_ready.eq(1), pix_w.en.eq(self.in_valid)]
                with m.If(self.in_valid):
                    m.d.sync += ld.eq(Mux(ld == HW - 1, 0, ld + 1))
                    with m.If(ld == HW - 1):
                        m.next = "GO0"
            for k, (go, done) in enumerate(zip(gos, dones, strict=True)):
                with m.State(f"GO{k}"):
                    m.d.comb += go.eq(1)
                    m.next = f"WAIT{k}"
                with m.State(f"WAIT{k}"):
                    with m.If(done):
                        m.next = f"GO{k + 1}" if k + 1 < len(gos) else "OUT"
            with m.State("OUT"):
                m.d.comb += [self.out_valid.eq(1), self.out_class.eq(cls),
                             self.out_none.eq(none)]
                with m.If(self.out_ready):
                    m.next = "LOAD"
        return m

    # ------------------------------------------------------------------ rankcode
    def _rank(self, m, s, go, done, pix, out, T, tb):
        nd = s.node
        K = np.asarray(nd.kernels, np.int64)
        C, k, _ = K.shape
        _, H, W = s.in_shape
        _, Ho, Wo = s.out_shape
        pad, L, pre = int(nd.padding), s.lines, f"s{s.index}_"
        vmax = (1 << nd.in_bits) - 1
        lo = vmax * int(np.minimum(K, 0).sum(axis=(1, 2)).min())
        hi = vmax * int(np.maximum(K, 0).sum(axis=(1, 2)).max())
        ab = _sbits(min(lo, 0), max(hi, 1))
        vb = _ubits(max(hi, 1))
        kb = _sbits(int(K.min()), int(K.max()))
        lnb = _ubits(L - 1)
        krom = Memory(shape=unsigned(kb), depth=C * k * k,
                      init=[int(v) & ((1 << kb) - 1) for v in K.reshape(-1)])
        lst = Memory(shape=unsigned(lnb + vb), depth=L, init=[])
        m.submodules[pre + "kernels"] = krom
        m.submodules[pre + "list"] = lst
        px_r, k_r = pix.read_port(), krom.read_port()
        la_r, lb_r, l_w = lst.read_port(), lst.read_port(), lst.write_port()
        o_w = out.write_port()
        m.d.comb += [r.en.eq(1) for r in (px_r, k_r, la_r, lb_r)]
        c = Signal(_ubits(C - 1), name=pre + "c")
        i = Signal(_ubits(Ho - 1), name=pre + "i")
        j = Signal(_ubits(Wo - 1), name=pre + "j")
        a = Signal(_ubits(k - 1), name=pre + "a")
        b = Signal(_ubits(k - 1), name=pre + "b")
        ln = Signal(lnb, name=pre + "line")
        nz = Signal(_ubits(L), name=pre + "nz")
        acc = Signal(signed(ab), name=pre + "acc")
        v1 = Signal(name=pre + "v1")
        inr_d = Signal(name=pre + "inr_d")
        last_tap, last_line = Signal(name=pre + "last_tap"), Signal(name=pre + "last_line")
        yy, xx = i + a, j + b
        inr = (yy >= pad) & (yy < H + pad) & (xx >= pad) & (xx < W + pad)
        m.d.comb += [px_r.addr.eq((yy - pad) * W + (xx - pad)),
                     k_r.addr.eq((c * k + a) * k + b)]
        m.d.sync += v1.eq(0)
        with m.If(v1):
            m.d.sync += acc.eq(acc + Mux(inr_d, px_r.data * k_r.data.as_signed(), 0))
        # phase B registers
        ii = Signal(_ubits(L), name=pre + "ii")
        jj = Signal(_ubits(L), name=pre + "jj")
        jj_d = Signal(_ubits(L), name=pre + "jj_d")
        vi = Signal(vb, name=pre + "vi")
        idx = Signal(lnb, name=pre + "idx")
        r = Signal(_ubits(L), name=pre + "rank")
        rs = Signal(_ubits(L * T), name=pre + "rank_steps")
        sn = Signal(_ubits(L * T + L), name=pre + "s_nz")
        sc = Signal(_ubits(T), name=pre + "s")
        q = Signal(tb, name=pre + "q")
        w1 = Signal(name=pre + "w1")
        m.d.sync += w1.eq(0)
        vj = lb_r.data[lnb:]
        with m.If(w1):
            m.d.sync += r.eq(r + ((vj > vi) | ((vj == vi) & (jj_d < ii))))
        m.d.comb += [la_r.addr.eq(ii), lb_r.addr.eq(jj)]
        with m.FSM(name=pre + "fsm"):
            with m.State("IDLE"):
                with m.If(go):
                    m.d.sync += [c.eq(0), i.eq(0), j.eq(0), a.eq(0), b.eq(0), ln.eq(0),
                                 nz.eq(0), acc.eq(0)]
                    m.next = "A_ISS"
            with m.State("A_ISS"):
                m.d.sync += [v1.eq(1), inr_d.eq(inr)]
                self._count(m, [b, a], [k, k], last_tap)
                with m.If(last_tap):
                    m.next = "A_W"
            with m.State("A_W"):
                m.next = "A_FIN"
            with m.State("A_FIN"):
                m.d.comb += [o_w.addr.eq(ln), o_w.data.eq(T), o_w.en.eq(1),
                             l_w.addr.eq(nz), l_w.data.eq(Cat(ln, acc[:vb]))]
                with m.If(acc > int(nd.threshold)):
                    m.d.comb += l_w.en.eq(1)
                    m.d.sync += nz.eq(nz + 1)
                m.d.sync += [acc.eq(0), ln.eq(ln + 1)]
                self._count(m, [j, i, c], [Wo, Ho, C], last_line)
                with m.If(last_line):
                    m.d.sync += ii.eq(0)
                    m.next = "B_START"
                with m.Else():
                    m.next = "A_ISS"
            with m.State("B_START"):
                m.next = "B_CHK"
            with m.State("B_CHK"):
                with m.If(ii == nz):
                    m.next = "DONE"
                with m.Else():
                    m.next = "B_LAT"  # la_r.addr = ii is on the port this cycle
            with m.State("B_LAT"):
                m.d.sync += [vi.eq(la_r.data[lnb:]), idx.eq(la_r.data[:lnb]), jj.eq(0),
                             r.eq(0)]
                m.next = "B_CMP"
            with m.State("B_CMP"):
                m.d.sync += [w1.eq(1), jj_d.eq(jj), jj.eq(jj + 1)]
                with m.If(jj == nz - 1):
                    m.next = "B_CW"
            with m.State("B_CW"):
                m.next = "B_D0"
            with m.State("B_D0"):
                m.d.sync += [rs.eq(r * T), sc.eq(1), sn.eq(nz), q.eq(0)]
                m.next = "B_DIV"
            with m.State("B_DIV"):
                with m.If((sc < T) & (sn <= rs)):
                    m.d.sync += [q.eq(sc), sc.eq(sc + 1), sn.eq(sn + nz)]
                with m.Else():
                    m.next = "B_WR"
            with m.State("B_WR"):
                m.d.comb += [o_w.addr.eq(idx), o_w.data.eq(q), o_w.en.eq(1)]
                m.d.sync += ii.eq(ii + 1)
                m.next = "B_CHK"
            with m.State("DONE"):
                m.d.comb += done.eq(1)
                m.next = "IDLE"
        return s.index, o_w.en, o_w.addr, o_w.data

    # ------------------------------------------------------------------ maxpool
    def _pool(self, m, s, go, done, src, out, T, tb):
        nd = s.node
        C, H, W = s.in_shape
        _, Ho, Wo = s.out_shape
        k, st, pre = int(nd.kernel), int(nd.stride), f"s{s.index}_"
        rd, o_w = src.read_port(), out.write_port()
        m.d.comb += rd.en.eq(1)
        c = Signal(_ubits(C - 1), name=pre + "c")
        i = Signal(_ubits(Ho - 1), name=pre + "i")
        j = Signal(_ubits(Wo - 1), name=pre + "j")
        a = Signal(_ubits(k - 1), name=pre + "a")
        b = Signal(_ubits(k - 1), name=pre + "b")
        ln = Signal(_ubits(s.lines - 1), name=pre + "line")
        mn = Signal(tb, init=T, name=pre + "min")
        v1 = Signal(name=pre + "v1")
        last_tap, last_line = Signal(name=pre + "last_tap"), Signal(name=pre + "last_line")
        m.d.comb += rd.addr.eq(c * (H * W) + (i * st + a) * W + (j * st + b))
        m.d.sync += v1.eq(0)
        with m.If(v1 & (rd.data < mn)):
            m.d.sync += mn.eq(rd.data)
        with m.FSM(name=pre + "fsm"):
            with m.State("IDLE"):
                with m.If(go):
                    m.d.sync += [c.eq(0), i.eq(0), j.eq(0), a.eq(0), b.eq(0), ln.eq(0),
                                 mn.eq(T)]
                    m.next = "ISS"
            with m.State("ISS"):
                m.d.sync += v1.eq(1)
                self._count(m, [b, a], [k, k], last_tap)
                with m.If(last_tap):
                    m.next = "W"
            with m.State("W"):
                m.next = "FIN"
            with m.State("FIN"):
                m.d.comb += [o_w.addr.eq(ln), o_w.data.eq(mn), o_w.en.eq(1)]
                m.d.sync += [mn.eq(T), ln.eq(ln + 1)]
                self._count(m, [j, i, c], [Wo, Ho, C], last_line)
                with m.If(last_line):
                    m.next = "DONE"
                with m.Else():
                    m.next = "ISS"
            with m.State("DONE"):
                m.d.comb += done.eq(1)
                m.next = "IDLE"
        return s.index, o_w.en, o_w.addr, o_w.data

    # ------------------------------------------------------------------ convstdp
    def _conv(self, m, s, go, done, src, out, T, tb, cls, none):
        nd = s.node
        Wt = np.asarray(nd.weights, np.int64)
        F, C, k, _ = Wt.shape
        _, H, W = s.in_shape
        _, Ho, Wo = s.out_shape
        pad, pre = int(nd.padding), f"s{s.index}_"
        CKK = C * k * k
        wb = _ubits(max(int(Wt.max()), 1))
        pb = _ubits(max(int(Wt.reshape(F, -1).sum(axis=1).max()), 1))
        wrom = Memory(shape=unsigned(wb), depth=F * CKK, init=[int(v) for v in Wt.reshape(-1)])
        m.submodules[pre + "weights"] = wrom
        rd, w_r = src.read_port(), wrom.read_port()
        m.d.comb += [rd.en.eq(1), w_r.en.eq(1)]
        decision = nd.rule == "rstdp"
        c = Signal(_ubits(C - 1), name=pre + "c")
        a = Signal(_ubits(k - 1), name=pre + "a")
        b = Signal(_ubits(k - 1), name=pre + "b")
        sy = Signal(_ubits(CKK - 1), name=pre + "syn")
        f = Signal(_ubits(F - 1), name=pre + "f")
        i = Signal(_ubits(Ho - 1), name=pre + "i")
        j = Signal(_ubits(Wo - 1), name=pre + "j")
        v1 = Signal(name=pre + "v1")
        inr_d = Signal(name=pre + "inr_d")
        hist = Array(Signal(pb, name=f"{pre}bin{t}") for t in range(T))
        t = Signal(_ubits(T - 1), name=pre + "t")
        S = Signal(pb, name=pre + "V")
        found = Signal(name=pre + "found")
        tf = Signal(tb, name=pre + "tf")
        vf = Signal(pb, name=pre + "vf")
        bfound = Signal(name=pre + "best_found")
        btf = Signal(tb, name=pre + "best_tf")
        bvf = Signal(pb, name=pre + "best_vf")
        bf = Signal(_ubits(F - 1), name=pre + "best_f")
        last_syn = Signal(name=pre + "last_syn")
        last_pos = Signal(name=pre + "last_pos")
        last_f = Signal(name=pre + "last_f")
        yy, xx = i + a, j + b
        inr = (yy >= pad) & (yy < H + pad) & (xx >= pad) & (xx < W + pad)
        m.d.comb += [rd.addr.eq(c * (H * W) + (yy - pad) * W + (xx - pad)),
                     w_r.addr.eq(f * CKK + sy)]
        m.d.sync += v1.eq(0)
        with m.If(v1 & inr_d):
            with m.Switch(rd.data):
                for tt in range(T):
                    with m.Case(tt):
                        m.d.sync += hist[tt].eq(hist[tt] + w_r.data)
        S_new = Signal(pb, name=pre + "V_next")
        m.d.comb += S_new.eq(S + hist[t])
        # the order key: earlier step, then larger potential
        before = Signal(name=pre + "before")
        same = Signal(name=pre + "same")
        m.d.comb += [before.eq(found & (~bfound | (tf < btf) | ((tf == btf) & (vf > bvf)))),
                     same.eq(found & bfound & (tf == btf) & (vf == bvf))]
        if not decision:
            o_w = out.write_port()
        with m.FSM(name=pre + "fsm"):
            with m.State("IDLE"):
                with m.If(go):
                    m.d.sync += [c.eq(0), a.eq(0), b.eq(0), sy.eq(0), f.eq(0), i.eq(0),
                                 j.eq(0), bfound.eq(0)]
                    m.next = "ISS"
            with m.State("ISS"):
                m.d.sync += [v1.eq(1), inr_d.eq(inr), sy.eq(sy + 1)]
                self._count(m, [b, a, c], [k, k, C], last_syn)
                with m.If(last_syn):
                    m.d.sync += sy.eq(0)
                    m.next = "W"
            with m.State("W"):
                m.d.sync += [t.eq(0), S.eq(0), found.eq(0), tf.eq(T), vf.eq(0)]
                m.next = "SCAN"
            with m.State("SCAN"):
                m.d.sync += [S.eq(S_new), hist[t].eq(0), t.eq(t + 1)]
                if nd.threshold >= 1:
                    with m.If(~found & (S_new >= int(nd.threshold))):
                        m.d.sync += [found.eq(1), tf.eq(t), vf.eq(S_new)]
                else:
                    with m.If((t == T - 1) & (S_new > 0)):
                        m.d.sync += [found.eq(1), tf.eq(T - 1), vf.eq(S_new)]
                with m.If(t == T - 1):
                    m.next = "FIN"
            with m.State("FIN"):
                m.d.comb += last_f.eq(f == F - 1)
                if decision:
                    self._count(m, [f, j, i], [F, Wo, Ho], last_pos)
                    first = (f == 0) & (i == 0) & (j == 0)
                    with m.If(first | before | (same & (f < bf))):
                        m.d.sync += [bfound.eq(found), btf.eq(tf), bvf.eq(vf), bf.eq(f)]
                    with m.If(last_pos):
                        m.next = "DECIDE"
                    with m.Else():
                        m.next = "ISS"
                elif nd.inhibit:
                    m.d.comb += [o_w.addr.eq((f * Ho + i) * Wo + j), o_w.data.eq(T),
                                 o_w.en.eq(1)]
                    with m.If((f == 0) | before):
                        m.d.sync += [bfound.eq(found), btf.eq(tf), bvf.eq(vf), bf.eq(f)]
                    with m.If(last_f):
                        m.next = "WBEST"  # the counters move on there
                    with m.Else():
                        m.d.sync += f.eq(f + 1)
                        m.next = "ISS"
                else:
                    self._count(m, [f, j, i], [F, Wo, Ho], last_pos)
                    m.d.comb += [o_w.addr.eq((f * Ho + i) * Wo + j),
                                 o_w.data.eq(Mux(found, tf, T)), o_w.en.eq(1)]
                    with m.If(last_pos):
                        m.next = "DONE"
                    with m.Else():
                        m.next = "ISS"
            if decision:
                with m.State("DECIDE"):
                    G = F // nd.classes
                    with m.Switch(bf):
                        for ff in range(F):
                            with m.Case(ff):
                                m.d.sync += cls.eq(ff // G)
                    m.d.sync += none.eq(~bfound)
                    m.next = "DONE"
            elif nd.inhibit:
                with m.State("WBEST"):  # the position's winner keeps its spike
                    m.d.comb += [o_w.addr.eq((bf * Ho + i) * Wo + j), o_w.data.eq(btf),
                                 o_w.en.eq(bfound)]
                    self._count(m, [f, j, i], [F, Wo, Ho], last_pos)
                    with m.If(last_pos):
                        m.next = "DONE"
                    with m.Else():
                        m.next = "ISS"
            with m.State("DONE"):
                m.d.comb += done.eq(1)
                m.next = "IDLE"
        if decision:
            return None
        return s.index, o_w.en, o_w.addr, o_w.data


def emit_convstdp(net, outdir, name: str = "neutnngen_top"):
    """Write ``outdir/NAME.v`` and ``names.json`` for a convolutional STDP network; returns
    ``(verilog path, info)``."""
    from .emit import write_top

    top = ConvSTDPTop(plan_convstdp(net, name))
    return write_top(top, outdir, name), top.info
