"""RTL of a ``recurrent`` stage (docs/model.md §13, the PD14 microcircuit's form): one
time-multiplexed integer LIF population with delayed recurrent synapses.

The ring buffer of the contract (spikes *pushed* into future slots) becomes its pull form:
neuron ``i``'s input at step ``t`` is ``sum over its synapses (j, d, w) of w * s_j[t - d]``
(``t - d >= 0``), read from a spike *history* of the last ``Dp`` steps (``Dp`` the power of
two at or above ``D = max(delays) + 1``), addressed ``{(t - d) mod Dp, j}``. Synapses of the
same source and delay onto one neuron are merged into one entry (their weights summed:
the ring buffer's sums are exact, so this is bit-exact).

Microarchitecture (:class:`RecurrentTop`), one sample at a time:

1. *load*: ``n`` beats of ``in_data`` (the signed stimulus current of every neuron);
2. every step ``t``, every neuron ``i`` in order (START, RUN, U1..U3): its synapse entries
   (source, delay, weight) stream from ROMs one per cycle during RUN through a 5-stage
   pipeline (entry read, entry registered, history read, history bit and weight registered,
   accumulate); then the update ``x = acc + dc + stim + k_bg * bg_w``, with ``k_bg`` the
   background events of the neuron's 16-bit LFSR (``bg_draws`` draws of ``bg_bits`` LFSR
   steps; the LFSR state is part of the neuron state), the §11 neuron with ``leak=mul``,
   synaptic current, zero reset and refractory, ``V = v0`` at ``t = 0``; the new spike is
   written to the history slot ``t mod Dp``. The update is pipelined: free-running
   registers P1..P4 on the neuron-indexed reads (which hold while ``i`` does) give the
   decoded state (P1), every draw's event from the LFSR written as GF(2) masks and the split
   ``beta_q * V`` and ``alpha_q * I`` products (P2, P3), the event count (P3) and
   ``dc + stim + k_bg * bg_w`` (P4) while the entries stream (RUN lasts at least 5 cycles),
   and ``x`` (zero while refractory) in the cycle after RUN; then U1
   ``A = alpha_q I + (x << F)``, U2 ``V`` and ``I`` before the clamps, U3 the clamps, the
   spike, the refractory count and the writes. The end of the next neuron's entries is
   read during the update, so RUN compares registers only;
3. *output*: one beat per neuron (``out_count`` spikes over the sample, ``out_mem`` final
   membrane, ``out_index``, ``out_last``) with backpressure.

Every neuron update is reported on ``trace_valid/idx/v/s/i`` (the verifier compares every
neuron's membrane, spike and synaptic current at every step). A neuron with ``e_i``
entries takes ``e_i + 9`` cycles a step (:attr:`RecurrentPlan.cycles_per_step`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..ir.snn_plan import _sbits, _ubits


def _lfsr_masks(width: int, taps: tuple[int, ...], bits: int, draws: int) -> list[list[int]]:
    """The LFSR (``neutnngen.hdl.snn._lfsr_steps``) as GF(2) masks: ``[d][b]`` the initial
    state bits whose XOR is bit ``b`` of the state after ``(d + 1) * bits`` steps; one list
    per draw, then the state after all the draws."""
    st = [1 << b for b in range(width)]
    out = []
    for _ in range(draws):
        for _ in range(bits):
            fb = 0
            for tp in taps:
                fb ^= st[tp - 1]
            st = [fb] + st[:width - 1]
        out.append(list(st))
    out.append(list(st))
    return out


def _mul_split(m, x, k: int, name: str):
    """``x * k`` (``x`` signed, ``k >= 0`` a constant) in two registered steps: the products
    of ``x``'s low 18 and high bits, then their sum (a signal valid two cycles after ``x``)."""
    w = len(x) + max(k.bit_length(), 1) + 1
    out = Signal(signed(w), name=name)
    if len(x) <= 18:
        p1 = Signal(signed(w), name=f"{name}_p")
        m.d.sync += [p1.eq(x * k), out.eq(p1)]
        return out
    lo = Signal(unsigned(18 + max(k.bit_length(), 1)), name=f"{name}_lo")
    hi = Signal(signed(w - 18), name=f"{name}_hi")
    m.d.sync += [lo.eq(x[:18] * k), hi.eq(x[18:].as_signed() * k), out.eq((hi << 18) + lo)]
    return out


@dataclass(frozen=True, eq=False)
class RecurrentPlan:
    node: Any
    name: str
    src: np.ndarray  # entry -> source neuron
    dly: np.ndarray  # entry -> delay (steps)
    w: np.ndarray  # entry -> summed weight
    ends: np.ndarray  # neuron -> end of its entries (exclusive)
    stim_bits: int  # signed bits of in_data
    slots: int  # Dp: history slots (a power of two > max delay)
    wb: int
    aw: int  # accumulator (x) bits

    @property
    def n(self) -> int:
        return int(self.node.n)

    @property
    def entries(self) -> int:
        return int(len(self.src))

    @property
    def cycles_per_step(self) -> int:
        """``e_i + 9`` cycles for neuron ``i`` with ``e_i`` synapse entries (START, RUN
        ``e_i + 5``, U1..U3)."""
        return int(self.entries + 9 * self.n)

    @property
    def cycles_per_sample(self) -> int:
        """Cycles from the last input beat to the first output beat."""
        return int(self.node.steps) * self.cycles_per_step

    def info(self) -> dict:
        nd = self.node
        return {"name": self.name, "kind": "recurrent", "weights": "hardwired",
                "neurons": self.n, "steps": int(nd.steps), "synapses": nd.synapse_count,
                "synapse_entries": self.entries, "history_slots": self.slots,
                "stim_bits": self.stim_bits, "mem_bits": nd.mem_bits,
                "cycles_per_sample": self.cycles_per_sample, "load_cycles": self.n,
                "cycles_per_step": self.cycles_per_step}


def plan_recurrent(net, name: str = "neutnngen_top", stim_bits: int = 16) -> RecurrentPlan:
    """The plan of a network made of one ``recurrent`` stage; :class:`ConfigError` for what
    the RTL does not build."""
    from ..ir import check
    from ..ir.kinds import kind_of

    check(net)
    kinds = [kind_of(st).name for st in net.stages]
    if kinds != ["recurrent"]:
        raise ConfigError(f"network {net.name!r} has stages {', '.join(kinds)}; the recurrent "
                          f"RTL builds a network of one recurrent stage")
    if isinstance(stim_bits, bool) or not 2 <= stim_bits <= 32:
        raise ConfigError(f"stim_bits={stim_bits!r}; expected 2..32 (signed bits of a "
                          f"stimulus current)")
    nd = net.stages[0]
    n = nd.n
    counts = np.diff(nd.indptr)
    src = np.repeat(np.arange(n, dtype=np.int64), counts)
    tgt = nd.targets.astype(np.int64)
    dly = nd.delays.astype(np.int64)
    w = nd.weights.astype(np.int64)
    if len(tgt):
        D = int(dly.max()) + 1
        key = (tgt * n + src) * (D + 1) + dly
        uk, inv = np.unique(key, return_inverse=True)
        ws = np.zeros(len(uk), np.int64)
        np.add.at(ws, inv, w)
        keep = ws != 0
        uk, ws = uk[keep], ws[keep]
        e_d = uk % (D + 1)
        e_s = (uk // (D + 1)) % n
        e_t = uk // ((D + 1) * n)
    else:
        D = 1
        e_d = e_s = e_t = ws = np.zeros(0, np.int64)
    ends = np.searchsorted(e_t, np.arange(n), side="right").astype(np.int64)
    slots = 1 << max(1, (D - 1).bit_length())
    wb = _sbits(int(ws.min()) if len(ws) else 0, int(ws.max()) if len(ws) else 0)
    pos = np.zeros(n, np.int64)
    neg = np.zeros(n, np.int64)
    np.add.at(pos, e_t, np.maximum(ws, 0))
    np.add.at(neg, e_t, np.minimum(ws, 0))
    bgw = np.array([p.bg_w for p in nd.pops], np.int64)[nd.pop_of] * nd.bg_draws
    dc = nd.dc.astype(np.int64)
    sm = 1 << (stim_bits - 1)
    lo = int((neg + np.minimum(dc, 0) + np.minimum(bgw, 0)).min()) - sm
    hi = int((pos + np.maximum(dc, 0) + np.maximum(bgw, 0)).max()) + sm
    return RecurrentPlan(nd, name, e_s, e_d, ws, ends, stim_bits, slots, wb, _sbits(lo, hi))


class RecurrentTop(wiring.Component):
    """The design of a :class:`RecurrentPlan` (module docstring)."""

    _MustUse__silence = True

    def __init__(self, plan: RecurrentPlan):
        self.plan = plan
        nd = plan.node
        M = nd.mem_bits
        self.cb = _ubits(nd.steps)
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(plan.stim_bits),
            "out_valid": Out(1), "out_ready": In(1), "out_count": Out(self.cb),
            "out_mem": Out(M), "out_index": Out(_ubits(plan.n - 1)), "out_last": Out(1),
            "trace_valid": Out(1), "trace_idx": Out(_ubits(plan.n - 1)), "trace_v": Out(M),
            "trace_s": Out(1), "trace_i": Out(M)})
        self.info = plan.info()

    def elaborate(self, platform):
        from ..ir.stages.recurrent import bg_seeds
        from ..ir.stages.snn import RATE_TAPS, RATE_WIDTH

        p = self.plan
        nd = p.node
        m = Module()
        n, M, F = p.n, nd.mem_bits, nd.frac_bits
        T = nd.steps
        nb = _ubits(n - 1)
        sb = _ubits(p.slots - 1)
        tb = _ubits(T)
        cb = _ubits(nd.refractory) if nd.refractory else 1
        eb = _ubits(p.entries)
        # ---- memories
        stim = Memory(shape=unsigned(p.stim_bits), depth=n, init=[])
        ent = Memory(shape=unsigned(nb + _ubits(p.slots)), depth=max(p.entries, 1),
                     init=[int(j) | (int(d) << nb) for j, d in zip(p.src, p.dly, strict=True)])
        wmask = (1 << p.wb) - 1
        wrom = Memory(shape=unsigned(p.wb), depth=max(p.entries, 1),
                      init=[int(v) & wmask for v in p.w])
        ends = Memory(shape=unsigned(eb), depth=n, init=[int(v) for v in p.ends])
        dcb = _sbits(min(int(nd.dc.min()), 0), max(int(nd.dc.max()), 0))
        dcm = Memory(shape=unsigned(dcb), depth=n,
                     init=[int(v) & ((1 << dcb) - 1) for v in nd.dc])
        v0m = Memory(shape=unsigned(M), depth=n, init=[int(v) & ((1 << M) - 1) for v in nd.v0])
        pop = nd.pop_of
        pb = _ubits(max(len(nd.pops) - 1, 1))
        bg = nd.bg_draws > 0
        bgu = [int(q.bg_u) for q in nd.pops]
        bgw = [int(q.bg_w) for q in nd.pops]
        bwb = _sbits(min(min(bgw), 0), max(max(bgw), 0))
        popm = Memory(shape=unsigned(pb), depth=n, init=[int(v) for v in pop])
        seedm = Memory(shape=unsigned(RATE_WIDTH), depth=n, init=[int(v) for v in bg_seeds(nd)])
        hist = Memory(shape=unsigned(1), depth=p.slots << nb, init=[])
        fields = [("v", M), ("s", 1), ("c", cb), ("i", M), ("r", RATE_WIDTH), ("cnt", self.cb)]
        sw = sum(b for _, b in fields)
        state = Memory(shape=unsigned(sw), depth=n, init=[])
        for k, mem in (("stim", stim), ("entries", ent), ("weights", wrom), ("ends", ends),
                       ("dc", dcm), ("v0", v0m), ("pop", popm), ("seeds", seedm),
                       ("history", hist), ("state", state)):
            m.submodules[k] = mem
        stim_w, stim_r = stim.write_port(), stim.read_port()
        ent_r, w_r, ends_r = ent.read_port(), wrom.read_port(), ends.read_port()
        dc_r, v0_r, pop_r, seed_r = dcm.read_port(), v0m.read_port(), popm.read_port(), \
            seedm.read_port()
        h_r, h_w = hist.read_port(), hist.write_port()
        s_r, s_w = state.read_port(), state.write_port()

        def fld(word, name):
            off = 0
            for n_, b_ in fields:
                if n_ == name:
                    return word[off:off + b_]
                off += b_
            raise KeyError(name)

        # ---- sequencer registers
        t = Signal(tb, name="step")
        i = Signal(nb + 1, name="neuron")
        e = Signal(eb, name="entry")
        e_end = Signal(eb, name="entry_end")
        ld = Signal(_ubits(n), name="load_count")
        oi = Signal(_ubits(n), name="out_i")
        acc = Signal(signed(p.aw), name="acc")
        # the entry pipeline's valid bits: ROM read, ROM data registered, history read,
        # history bit and weight registered (then accumulated)
        v1, va, v2, v3 = (Signal(name=f"v{k}") for k in ("1", "a", "2", "3"))
        first = Signal(name="first")
        issue = Signal(name="issue")
        upd = Signal(name="upd")  # U3: the write of neuron i's new state
        fsm_u1, fsm_u2 = Signal(name="in_u1"), Signal(name="in_u2")
        rc = Signal(3, name="run_cycles")  # RUN's cycles, saturating at 4
        # neuron-indexed read ports follow i (ends: the next neuron's, for e_end at UPD); the
        # entry pipeline follows e
        m.d.comb += [r.addr.eq(i[:nb]) for r in (dc_r, v0_r, pop_r, seed_r, s_r, stim_r)]
        m.d.comb += ends_r.addr.eq((i + 1)[:nb])
        m.d.comb += [r.en.eq(1) for r in (ends_r, dc_r, v0_r, pop_r, seed_r, s_r, stim_r,
                                          ent_r, w_r, h_r)]
        m.d.comb += [ent_r.addr.eq(e), w_r.addr.eq(e)]
        src1 = Signal(nb, name="e_src")
        dly1 = Signal(len(ent_r.data) - nb, name="e_dly")
        w1 = Signal(max(p.wb, 1), name="e_w")
        m.d.sync += [src1.eq(ent_r.data[:nb]), dly1.eq(ent_r.data[nb:]),
                     w1.eq(w_r.data if p.wb else 0)]
        m.d.comb += h_r.addr.eq(Cat(src1, (t - dly1)[:sb]))
        ok2 = Signal(name="ok2")
        w2 = Signal(signed(max(p.wb, 1)), name="w2")
        term = Signal(signed(max(p.wb, 1)), name="e_term")
        m.d.sync += [w2.eq(w1.as_signed()), ok2.eq(t >= dly1),
                     term.eq(Mux(h_r.data[0] & ok2, w2, 0))]
        # ---- the update of neuron i, pipelined (module docstring). P1..P4: free-running
        # registers after the neuron-indexed reads, which hold while i does (from RUN's first
        # cycle), so P_k is valid k cycles into RUN; RUN lasts >= 5 cycles.
        st = s_r.data
        t0 = t == 0
        Vq = Signal(signed(M), name="p_v")
        spq = Signal(name="p_s")
        cq = Signal(cb, name="p_c")
        iq = Signal(signed(M), name="p_i")
        rq = Signal(RATE_WIDTH, name="p_r")
        cntq = Signal(self.cb, name="p_cnt")
        dcq = Signal(signed(dcb), name="p_dc")
        stq = Signal(signed(p.stim_bits), name="p_stim")
        m.d.sync += [Vq.eq(Mux(t0, v0_r.data, fld(st, "v"))), spq.eq(Mux(t0, 0, fld(st, "s"))),
                     cq.eq(Mux(t0, 0, fld(st, "c"))), iq.eq(Mux(t0, 0, fld(st, "i"))),
                     rq.eq(Mux(t0, seed_r.data, fld(st, "r"))),
                     cntq.eq(Mux(t0, 0, fld(st, "cnt"))),
                     dcq.eq(dc_r.data.as_signed()), stq.eq(stim_r.data.as_signed())]
        ds2 = Signal(signed(max(dcb, p.stim_bits) + 1), name="p_ds")
        m.d.sync += ds2.eq(dcq + stq)
        bgx = Signal(signed(max(dcb, p.stim_bits, bwb + _ubits(nd.bg_draws) + 1) + 2),
                     name="p_bgx")  # dc + stim + k_bg * bg_w (P4)
        if bg:
            uq = Signal(nd.bg_bits + 1, name="p_bg_u")
            wq = Signal(signed(bwb), name="p_bg_w")
            with m.Switch(pop_r.data):
                for q in range(len(nd.pops)):
                    with m.Case(q):
                        m.d.sync += [uq.eq(bgu[q]), wq.eq(bgw[q])]
            masks = _lfsr_masks(RATE_WIDTH, RATE_TAPS, nd.bg_bits, nd.bg_draws)

            def xr(mask):  # one bit of a later LFSR state: a XOR of the present state's bits
                bits_ = [rq[j] for j in range(RATE_WIDTH) if mask >> j & 1]
                return Cat(*bits_).xor() if bits_ else Const(0, 1)

            kt = Signal(nd.bg_draws, name="p_bg_draws")  # P2: every draw's event
            r_next = Signal(RATE_WIDTH, name="p_bg_next")
            for d in range(nd.bg_draws):
                m.d.sync += kt[d].eq(Cat(*(xr(k) for k in masks[d][:nd.bg_bits])) < uq)
            m.d.sync += r_next.eq(Cat(*(xr(k) for k in masks[-1])))
            kbg = Signal(_ubits(nd.bg_draws), name="p_bg_events")  # P3
            wq3 = Signal(signed(bwb), name="p_bg_w3")
            ds3 = Signal.like(ds2, name="p_ds3")
            m.d.sync += [kbg.eq(sum(kt[d] for d in range(nd.bg_draws))), wq3.eq(wq),
                         ds3.eq(ds2)]
            m.d.sync += bgx.eq(kbg * wq3 + ds3)  # P4
        else:
            r_next = rq
            ds3 = Signal.like(ds2, name="p_ds3")
            m.d.sync += [ds3.eq(ds2), bgx.eq(ds3)]
        pV = _mul_split(m, Vq, int(nd.beta_q), "p_vbeta")  # P3
        pI = _mul_split(m, iq, int(nd.alpha_q), "p_ialpha")
        lo, hi = -(1 << (M - 1)), (1 << (M - 1)) - 1
        # x (free-running: right in the cycle after RUN), then U1 A, U2 V and I before the
        # clamps, U3 (UPD) the clamps, the spike, the refractory count and the writes
        xq = Signal(signed(max(p.aw, len(bgx)) + 2), name="u_x")
        aq = Signal(signed(max(len(pI), len(xq) + F) + 1), name="u_a")
        vr = Signal(signed(max(len(pV), len(aq)) + 1 - F), name="u_vraw")
        ir = Signal(signed(len(aq) - F), name="u_ir")
        m.d.sync += xq.eq(Mux(cq != 0, 0, acc + bgx))
        with m.If(fsm_u1):
            m.d.sync += aq.eq(pI + (xq << F))
        with m.If(fsm_u2):
            m.d.sync += [vr.eq(Mux(spq, 0, (pV + aq) >> F)), ir.eq(aq >> F)]
        Vn = Signal(signed(M), name="nrn_vn")
        In_ = Signal(signed(M), name="nrn_in")
        sn = Signal(name="nrn_sn")
        m.d.comb += [Vn.eq(Mux(vr < lo, lo, Mux(vr > hi, hi, vr))),
                     In_.eq(Mux(ir < lo, lo, Mux(ir > hi, hi, ir))),
                     sn.eq((vr > nd.threshold) & (cq == 0))]  # = (clamped V > threshold)
        cn = Const(0, 1)
        if nd.refractory:
            cn = Signal(cb, name="nrn_cn")
            m.d.comb += cn.eq(Mux(sn, nd.refractory, Mux(cq == 0, 0, cq - 1)))
        parts = {"v": Vn, "s": sn, "c": cn, "i": In_, "r": r_next, "cnt": cntq + sn}
        words = []
        for n_, b_ in fields:
            f_ = Signal(b_, name=f"new_{n_}")
            m.d.comb += f_.eq(parts[n_])
            words.append(f_)
        m.d.comb += [s_w.addr.eq(i[:nb]), s_w.data.eq(Cat(*words)), s_w.en.eq(upd),
                     h_w.addr.eq(Cat(i[:nb], t[:sb])), h_w.data.eq(sn), h_w.en.eq(upd),
                     self.trace_valid.eq(upd), self.trace_idx.eq(i[:nb]),
                     self.trace_v.eq(Vn), self.trace_s.eq(sn), self.trace_i.eq(In_)]
        m.d.comb += [stim_w.addr.eq(ld), stim_w.data.eq(self.in_data)]
        out_r = state.read_port()
        m.d.comb += [out_r.addr.eq(oi), out_r.en.eq(1)]

        with m.FSM(name="fsm"):
            with m.State("LOAD"):
                m.d.comb += [self.in_ready.eq(1), stim_w.en.eq(self.in_valid)]
                with m.If(self.in_valid):
                    m.d.sync += ld.eq(ld + 1)
                    with m.If(ld == n - 1):
                        m.d.sync += [ld.eq(0), t.eq(0), i.eq(0), e.eq(0),
                                     e_end.eq(int(p.ends[0]))]
                        m.next = "START"
            with m.State("START"):  # neuron i's reads are on the ports; entry e issued
                m.d.sync += [first.eq(1), v1.eq(0), va.eq(0), v2.eq(0), v3.eq(0), rc.eq(0)]
                m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += issue.eq(e != e_end)
                m.d.sync += [first.eq(0), v1.eq(issue), va.eq(v1), v2.eq(va), v3.eq(v2),
                             rc.eq(rc + (rc != 4))]
                with m.If(first):
                    m.d.sync += acc.eq(0)
                with m.Elif(v3):
                    m.d.sync += acc.eq(acc + term)
                with m.If(issue):
                    m.d.sync += e.eq(e + 1)
                # P4 (bgx) is valid from RUN's 5th cycle: x is right in the cycle after RUN
                with m.If(~issue & ~v1 & ~va & ~v2 & ~v3 & ~first & (rc == 4)):
                    m.next = "U1"
            with m.State("U1"):
                m.d.comb += fsm_u1.eq(1)
                m.next = "U2"
            with m.State("U2"):
                m.d.comb += fsm_u2.eq(1)
                m.next = "UPD"
            with m.State("UPD"):  # U3
                m.d.comb += upd.eq(1)
                m.d.sync += e_end.eq(Mux(i == n - 1, int(p.ends[0]), ends_r.data))
                with m.If(i == n - 1):
                    m.d.sync += [i.eq(0), e.eq(0)]
                    with m.If(t == T - 1):
                        m.d.sync += oi.eq(0)
                        m.next = "OUTRD"
                    with m.Else():
                        m.d.sync += t.eq(t + 1)
                        m.next = "START"
                with m.Else():
                    m.d.sync += i.eq(i + 1)
                    m.next = "START"
            with m.State("OUTRD"):
                m.next = "OUT"
            with m.State("OUT"):
                m.d.comb += [self.out_valid.eq(1), self.out_count.eq(fld(out_r.data, "cnt")),
                             self.out_mem.eq(fld(out_r.data, "v")), self.out_index.eq(oi),
                             self.out_last.eq(oi == n - 1)]
                with m.If(self.out_ready):
                    m.d.sync += oi.eq(oi + 1)
                    with m.If(oi == n - 1):
                        m.next = "LOAD"
                    with m.Else():
                        m.next = "OUTRD"
        return m


def emit_recurrent(net, outdir, name: str = "neutnngen_top", stim_bits: int = 16):
    """Write ``outdir/NAME.v`` and ``names.json`` for a one-``recurrent``-stage network;
    returns ``(verilog path, info)``."""
    from .emit import write_top

    top = RecurrentTop(plan_recurrent(net, name, stim_bits))
    return write_top(top, outdir, name), top.info
