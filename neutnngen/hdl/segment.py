"""Segment: synapses + accumulator + first-crossing detector (successive approximation).

Per pass ``b`` the segment evaluates ``V(p) >= theta`` at the probe ``p`` with
``p + 1 = (z & resp_hi) | resp_oh`` (``z`` = its time register, bits above ``b`` already
decided in this wave). Each streamed element (one line per cycle) adds the synapse response

* RNL: ``r = min(p + 1 - x, w)`` if the line spiked and ``x <= p``, else 0;
* SNL: ``r = w`` if the line spiked and ``x <= p``, else 0;

to an accumulator that starts at ``2**W - theta``; its carry out (sticky) is
``V(p) >= theta``. At the end of the pass, time bit ``b`` becomes ``not (V(p) >= theta)``.
After ``B`` passes ``z`` is the first step with ``V >= theta``, or all ones (NONE).

Overshoot (``ow > 0``, M1 ties of docs/model.md §4): the accumulator is wide enough for the
segment's largest potential (:meth:`SegmentSpec.v_bound`), so after the carry it holds
``V(p) - theta`` exactly. The last pass that hits probes exactly ``z`` (every later pass
misses and sets its bit), so latching the accumulator at the end of every pass that hits
leaves ``o = V(z) - theta`` (capped at ``2**ow - 1``) once ``z`` is final.

Where a weight comes from is a *weight store* (:data:`WEIGHT_STORES`): ``hardwired``
(constants: a ROM over the line counter that synthesis folds; absent and zero synapses
generate nothing) or ``register`` (one register per present synapse, reset to the trained
value, written through the ``wload`` bus, read through a pipelined multiplexer) or
``learn`` (the register store of a learning layer: the learn pass also writes each register
with the STDP update computed by the segment's update stage, see :class:`LearnStore`).

STDP update stage (``learn`` mode, learning layers; docs/model.md §5): when line ``j`` of the learn
pass reaches the response stage, the segment has its input time ``x``, its weight ``w``
(from the same read multiplexer as the search passes), its credited firing flag ``zf`` and
time ``z``, and its generator's latched Bernoulli bits. It classifies the synapse
(capture ``x <= z``, minus ``x > z``, search ``z`` silent, backoff ``x`` silent), selects
the generator's precombined bits of level ``w`` and registers an increment / decrement; the
next cycle writes ``w + 1`` / ``w - 1`` / ``w`` into register ``j``. Clamping is built into
the bits (no increment bit at ``w_max``, no decrement bit at 0).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, ResetSignal, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..ir.stages.layer.kernels import targeted_target
from .mux import mux_tree
from .plan import Plan, SegmentSpec
from .sched import sched_signature, wload_signature, wload_split
from .specs import OVERSHOOT_CAP_BITS


class HardwiredStore:
    """Trained weights as constants: the weight of the streamed line is a ROM of the line
    counter (registered, aligned with the line multiplexer's output)."""

    mode = "hardwired"

    def __init__(self, plan: Plan, spec: SegmentSpec):
        self.plan, self.spec = plan, spec

    def members(self) -> dict:
        return {}

    def read(self, m: Module, seg: Segment, lane: int) -> Value:
        p, spec = self.plan, self.spec
        nz = [s for s in spec.synapses if s.weight != 0 and s.j % p.G == lane]
        if not nz:
            return Const(0, spec.wbits)
        w = Signal(spec.wbits, name="w" if p.G == 1 else f"w_l{lane}", reset_less=True)
        sel = getattr(seg.sched, f"sel{p.Lm - 1}")
        m.d.sync += w.eq(0)
        with m.Switch(sel):
            for s in nz:
                with m.Case(s.j // p.G):
                    m.d.sync += w.eq(s.weight)
        return w


class RegisterStore:
    """One register per present synapse (named after the synapse, e.g. ``w17``), reset to
    its trained value, written when ``wload.en`` and the address match, read through a
    pipelined multiplexer over the line counter."""

    mode = "register"

    def __init__(self, plan: Plan, spec: SegmentSpec, ctx=None):
        self.plan, self.spec, self.ctx = plan, spec, ctx
        self.regs: dict[int, Value] = {}

    def members(self) -> dict:
        return {"wload": In(wload_signature(self.plan))}

    def read(self, m: Module, seg: Segment, lane: int) -> Value:
        p, spec = self.plan, self.spec
        if not self.regs:
            self.regs = self._registers(m, seg)
        entries = {j // p.G: r for j, r in self.regs.items() if j % p.G == lane}
        if not entries:
            return Const(0, spec.wbits)
        sels = [getattr(seg.sched, f"sel{k}") for k in range(p.Lm)]
        return mux_tree(m, entries, spec.wbits, sels, p.R, p.Lm,
                        "wrd" if p.G == 1 else f"wrd{lane}")

    def _registers(self, m: Module, seg: Segment) -> dict[int, Value]:
        p, spec = self.plan, self.spec
        wl = seg.wload
        # Reset goes through the write path (reset-less registers with an enable; the bus
        # has reset folded into en/lo/hi): the data "reset ? trained : wload_data" depends
        # only on the bit position and the trained bit, so all registers share it.
        rst = ResetSignal("sync")
        lo_bits, _ = wload_split(p)
        match = Signal(name="wmatch")
        m.d.comb += match.eq(wl.en & ((wl.seg == spec.seg_id) | rst))
        groups: dict[int, Signal] = {}
        entries: dict[int, Value] = {}
        for s in spec.synapses:
            g = s.j >> lo_bits
            if g not in groups:
                groups[g] = Signal(name=f"wmatch_h{g}")
                m.d.comb += groups[g].eq(match & wl.hi[g])
            r = Signal(s.bits, init=s.weight, name=s.name, reset_less=True)
            with m.If(groups[g] & wl.lo[s.j & ((1 << lo_bits) - 1)]):
                m.d.sync += r.eq(Mux(rst, s.weight, wl.data[:s.bits]))
            entries[s.j] = r
        if self.ctx is not None:
            self.ctx.regs[spec.path] = dict(zip((s.name for s in spec.synapses),
                                                entries.values(), strict=True))
        return entries


class LearnStore(RegisterStore):
    """Register store of a learning segment: besides ``wload`` (ignored in learn-pass write
    cycles), the learn pass writes every register of the segment with ``wnew`` while the
    layer's ``lwe`` is set (the write line comes predecoded on the schedule bus,
    ``lw_lo``/``lw_hi``, with the same split as the ``wload`` address)."""

    mode = "learn"

    def __init__(self, plan: Plan, spec: SegmentSpec, ctx, lwe: Value):
        super().__init__(plan, spec, ctx)
        self.lwe = lwe
        self.wnew = Signal(spec.wbits, name="wnew")

    def _registers(self, m: Module, seg: Segment) -> dict[int, Value]:
        p, spec = self.plan, self.spec
        wl = seg.wload
        sch = seg.sched
        rst = ResetSignal("sync")
        lo_bits, _ = wload_split(p)
        # two write paths into the same registers, each with its own predecoded line: the
        # wload bus (as in register mode) and the learn pass (lw_lo/lw_hi, registered)
        match = Signal(name="wmatch")
        m.d.comb += match.eq(wl.en & ((wl.seg == spec.seg_id) | rst))
        data = Signal(spec.wbits, name="wdata")
        # in learn-pass write cycles (lw_v) wload is blocked, so lw_v alone picks the data
        m.d.comb += data.eq(Mux(sch.lw_v, self.wnew, wl.data[:spec.wbits]))
        groups: dict[int, tuple[Signal, Signal]] = {}
        entries: dict[int, Value] = {}
        for s in spec.synapses:
            g = s.j >> lo_bits
            if g not in groups:
                gw = Signal(name=f"wmatch_h{g}")
                gl = Signal(name=f"lmatch_h{g}")
                m.d.comb += [gw.eq(match & wl.hi[g]), gl.eq(self.lwe & sch.lw_hi[g])]
                groups[g] = (gw, gl)
            gw, gl = groups[g]
            lo = s.j & ((1 << lo_bits) - 1)
            r = Signal(s.bits, init=s.weight, name=s.name, reset_less=True)
            with m.If((gw & wl.lo[lo]) | (gl & sch.lw_lo[lo])):
                m.d.sync += r.eq(Mux(rst, s.weight, data[:s.bits]))
            entries[s.j] = r
        self.ctx.regs[spec.path] = dict(zip((s.name for s in spec.synapses),
                                            entries.values(), strict=True))
        return entries


class MemoryStore:
    """Memory-backed register / learn store (``plan.weight_store == "memory"``): one
    1-read/1-write memory per lane (``wmem``; ``wmem_l<lane>`` with lanes), word ``j // G``
    holding the weight of line ``j`` (0 where the segment has no synapse), initialised with
    the trained weights. The read port takes the line select ``sel0`` (the cycle in which the
    register store's multiplexer samples its registers; a write lands in the next cycle in
    both) and its output is delayed to the multiplexer's latency ``Lm``; line selects past
    the memory read 0. The write port takes ``wload`` writes to present synapses (not in
    reset) and, for a learning segment, the learn pass (``lwe`` with ``lw_line`` and
    ``wnew``). ``rst`` does not rewrite the memory (it keeps its contents; the trained
    weights are its initial contents, docs/rtl-contract.md)."""

    mode = "memory"

    def __init__(self, plan: Plan, spec: SegmentSpec, ctx=None, lwe: Value | None = None):
        self.plan, self.spec, self.ctx, self.lwe = plan, spec, ctx, lwe
        self.wnew = Signal(spec.wbits, name="wnew") if lwe is not None else None
        self.out: dict[int, Value] | None = None

    def members(self) -> dict:
        return {"wload": In(wload_signature(self.plan))}

    def read(self, m: Module, seg: Segment, lane: int) -> Value:
        if self.out is None:
            self.out = self._build(m, seg)
        return self.out[lane]

    @staticmethod
    def _guard(addr: Value, depth: int, present: set[int]) -> Value | None:
        """1 where ``addr`` is a word of the memory that holds a synapse (None: always)."""
        full = len(present) == depth
        inr = None if (1 << len(addr)) <= depth else addr < depth
        if full:
            return inr
        mask = sum(1 << a for a in present)
        bit = Const(mask, depth).bit_select(addr[:max(1, (depth - 1).bit_length())], 1)
        return bit if inr is None else inr & bit

    def _build(self, m: Module, seg: Segment) -> dict[int, Value]:
        from amaranth.lib.memory import Memory

        p, spec = self.plan, self.spec
        wb = spec.wbits
        wl, sch = seg.wload, seg.sched
        rst = ResetSignal("sync")
        wsel = Signal(name="wmatch")
        m.d.comb += wsel.eq(wl.en & ~rst & (wl.seg == spec.seg_id))
        learn = self.lwe is not None
        data = wl.data[:wb]
        if learn:
            data = Signal(wb, name="wdata")
            # in learn-pass write cycles wload is blocked, so lwe alone picks the data
            m.d.comb += data.eq(Mux(self.lwe, self.wnew, wl.data[:wb]))
        out: dict[int, Value] = {}
        names: dict[str, Value] = {}
        for lane in range(p.G):
            syns = [s for s in spec.synapses if s.j % p.G == lane]
            if not syns:
                out[lane] = Const(0, wb)
                continue
            sfx = "" if p.G == 1 else f"_l{lane}"
            depth = max(s.j // p.G for s in syns) + 1
            init = [0] * depth
            for s in syns:
                init[s.j // p.G] = s.weight
            mem = Memory(shape=wb, depth=depth, init=init)
            m.submodules[f"wmem{sfx}"] = mem
            present = {s.j // p.G for s in syns}
            abits = max(1, (depth - 1).bit_length())
            # read: the line select (sel0) in the cycle the register store samples
            sel = seg.sched.sel0
            rp = mem.read_port(domain="sync", transparent_for=())
            m.d.comb += rp.addr.eq(sel[:abits])
            rd: Value = rp.data
            inr = self._guard(sel, depth, set(range(depth)))
            if inr is not None:
                ok = Signal(name=f"wrd_ok{sfx}", reset_less=True)
                m.d.sync += ok.eq(inr)
                rd = Mux(ok, rp.data, 0)
            for k in range(1, p.Lm):
                r = Signal(wb, name=f"wrd{sfx}_q" if k == p.Lm - 1 else f"wrd{sfx}_q{k}",
                           reset_less=True)
                m.d.sync += r.eq(rd)
                rd = r
            out[lane] = rd
            # write: wload (line j -> lane j % G, word j // G) or the learn pass (G == 1)
            wp = mem.write_port()
            wline = wl.line
            wlane = Const(1, 1) if p.G == 1 else (wline % p.G == lane)
            waddr = wline if p.G == 1 else wline // p.G
            wok = self._guard(waddr, depth, present)
            we = wsel & wlane if wok is None else wsel & wlane & wok
            addr = waddr[:abits]
            if learn:
                lok = self._guard(sch.lw_line, depth, present)
                le = self.lwe if lok is None else self.lwe & lok
                we = we | le
                addr = Mux(self.lwe, sch.lw_line[:abits], addr)
            wen = Signal(name=f"wmem_we{sfx}")
            m.d.comb += [wen.eq(we), wp.en.eq(wen), wp.addr.eq(addr), wp.data.eq(data)]
            for s in syns:
                names[s.name] = mem.data[s.j // p.G]
        if self.ctx is not None:
            self.ctx.regs[spec.path] = {s.name: names[s.name] for s in spec.synapses}
        return out


WEIGHT_STORES = {"hardwired": HardwiredStore, "register": RegisterStore}


def capture_condition(x: Value, z: Value) -> Value:
    """STDP capture (else minus) for a spiking input ``x`` and a fired segment ``z``:
    ``x <= z`` (docs/model.md §5). A separate function so that a mutation test can swap it."""
    return x <= z


class Segment(wiring.Component):
    def __init__(self, plan: Plan, spec: SegmentSpec, ctx=None, ow: int = 0):
        self.plan, self.spec, self.ctx = plan, spec, ctx
        self.ow = ow  # overshoot bits (0: no overshoot output)
        self.lctx = None  # the segment's learning context (learn mode, learning layers)
        if plan.weights in ("register", "learn") and plan.memory_store(spec):
            self.lctx = ctx.seg.get(spec.path) if plan.weights == "learn" else None
            self.store = MemoryStore(plan, spec, ctx,
                                     self.lctx.lwe if self.lctx is not None else None)
        elif plan.weights == "learn":
            self.lctx = ctx.seg.get(spec.path)
            if self.lctx is not None:
                self.store = LearnStore(plan, spec, ctx, self.lctx.lwe)
            else:
                self.store = RegisterStore(plan, spec, ctx)
        else:
            self.store = WEIGHT_STORES[plan.weights](plan, spec)
        members = {
            "sched": In(sched_signature(plan)),
            "lane_x": In(plan.G * plan.TB_IN),
            "lane_s": In(plan.G),
            "z": Out(plan.B, init=plan.NONE),
        }
        if ow:
            members["o"] = Out(ow)  # V(z) - theta, capped (valid while z is not NONE)
        members.update(self.store.members())
        super().__init__(members)

    @property
    def r_max(self) -> int:
        """Largest sum of the lanes' responses in one cycle."""
        return self.plan.G * ((1 << self.spec.wbits) - 1)

    @property
    def dynamic(self) -> bool:
        """The threshold is a signal (M2 / M5, :func:`dynamic_theta`), not a constant."""
        return self.lctx is not None and self.lctx.dynamic

    @property
    def acc_bits(self) -> int:
        theta = theta_cap(self.spec, self.plan.weights) if self.dynamic else self.spec.theta
        w = max(theta.bit_length(), self.r_max.bit_length())
        if self.ow:  # no second carry: V - theta < 2**W after the first
            w = max(w, self.spec.v_bound(self.plan.weights).bit_length())
        return w

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        s = self.sched
        wb = spec.wbits
        tb = p.TB_IN

        # Response stage: probe of this pass, arrival and ramp/step response per lane.
        p1 = Signal(p.B, name="probe1")
        m.d.comb += p1.eq((self.z & s.resp_hi) | s.resp_oh)
        rs = []
        for g in range(p.G):
            w = self.store.read(m, self, g)
            sfx = "" if p.G == 1 else f"_l{g}"
            x = self.lane_x[g * tb:(g + 1) * tb]
            arrived = Signal(name=f"arrived{sfx}")
            m.d.comb += arrived.eq(self.lane_s[g] & (x < p1))
            r_next = Signal(wb, name=f"r_next{sfx}")
            if p.net.time.response == "snl":
                m.d.comb += r_next.eq(Mux(arrived, w, 0))
            else:
                d = Signal(p.B, name=f"elapsed1{sfx}")  # p + 1 - x, >= 1 when arrived
                m.d.comb += d.eq(p1 - x)
                m.d.comb += r_next.eq(Mux(arrived, Mux(d < w, d[:wb], w), 0))
            if p.RD > 1:  # register each lane before the adder tree (Fmax)
                rl = Signal(wb, name=f"r{sfx}", reset_less=True)
                m.d.sync += rl.eq(r_next)
                r_next = rl
            rs.append(r_next)
        r = Signal(self.r_max.bit_length(), name="r", reset_less=True)
        while len(rs) > 1:  # balanced adder tree over the lanes
            rs = [rs[i] + rs[i + 1] for i in range(0, len(rs) - 1, 2)] + rs[len(rs) & ~1:]
        m.d.sync += r.eq(rs[0])

        # Accumulator from -theta (mod 2**W); the sticky carry says V(p) >= theta.
        W = self.acc_bits
        theta = None
        if self.dynamic:  # M2 / M5: registered, it settles long before the next wave
            cap = theta_cap(spec, p.weights)
            theta = Signal(range(cap + 1), name="theta_r", init=min(spec.theta, cap),
                           reset_less=True)
            init = Signal(W, name="acc_init")
            m.d.comb += init.eq((1 << W) - theta)
        else:
            init = (1 << W) - spec.theta
        acc = Signal(W, name="acc", reset_less=True)
        hit = Signal(name="hit", reset_less=True)
        total = Signal(W + 1, name="acc_next")
        m.d.comb += total.eq(Mux(s.acc_first, init, acc) + r)
        m.d.sync += [acc.eq(total[:W]), hit.eq((hit & ~s.acc_first) | total[W])]

        # Successive approximation: bit b of the first-crossing time.
        for b in range(p.B):
            with m.If(s.sar_we[b]):
                m.d.sync += self.z[b].eq(~hit)
        if self.ow:
            cap = (1 << min(self.ow, OVERSHOOT_CAP_BITS)) - 1
            big = spec.v_bound(p.weights) - (1 if theta is not None else spec.theta) > cap
            ov = Mux(acc > cap, cap, acc) if big else acc
            with m.If(s.sar_we.any() & hit):
                m.d.sync += self.o.eq(ov)

        if p.weights == "learn":
            # the weight of the line at the response stage, for the wread port
            m.d.comb += self.ctx.wq[spec.seg_id].eq(w if p.G == 1 else 0)
            if self.lctx is not None:
                self._learn_logic(m, w, theta)
        return m

    def _learn_logic(self, m: Module, w: Value, theta: Signal | None) -> None:
        """The update stage, the distal weight sum (M2 / M8), the weight budget's scaling
        in the norm pass (M8) and the next wave's threshold (M2 / M5)."""
        p, spec, lc = self.plan, self.spec, self.lctx
        rule = lc.rule
        budget = bool(rule is not None and rule.w_norm)
        relative = rule is not None and rule.theta == "relative"
        stdp_new, step, w_r = self._update_stage(m, w)
        if not budget:
            m.d.comb += self.store.wnew.eq(stdp_new)
        wsum = None
        if relative or budget:
            wsum = weight_sum(m, spec, keep=isinstance(self.store, MemoryStore))
            dw = self._distal_write()
            if budget:  # M8: the second learn pass writes w * B // s when s > B
                nrm = self.sched.lw_norm
                scaled, over = budget_scale(m, spec, rule.w_norm, w_r, wsum, nrm)
                dist = Signal(name="nrm_distal")
                m.d.comb += dist.eq(dw)
                nw = Signal(len(w_r), name="nrm_w")
                m.d.comb += nw.eq(Mux(dist & over, scaled, w_r))
                m.d.comb += self.store.wnew.eq(Mux(nrm, nw, stdp_new))
                diff = Signal(signed(len(w_r) + 2), name="nrm_step")
                m.d.comb += diff.eq(Cat(nw, Const(0, 1)).as_signed()
                                    - Cat(w_r, Const(0, 1)).as_signed())
                step = Mux(nrm, diff, step)
            with m.If(dw):
                m.d.sync += wsum.eq(wsum + step)
        if theta is not None:
            m.d.sync += theta.eq(dynamic_theta(m, spec, lc, p.weights, wsum))

    def _update_stage(self, m: Module, w: Value) -> tuple[Value, Value, Signal]:
        """STDP of the line at the response stage (see the module docstring); returns the
        new weight of the line being written, its step (+1, -1 or 0, signed) and its
        weight before (``w_r``)."""
        p, spec, lc = self.plan, self.spec, self.lctx
        wb = spec.wbits
        inc, dec = stdp_decision(m, lc, self.lane_x[:p.TB_IN], self.lane_s[0], self.z, w, wb)
        inc_r = Signal(name="inc_r", reset_less=True)
        dec_r = Signal(name="dec_r", reset_less=True)
        w_r = Signal(wb, name="w_r", reset_less=True)
        m.d.sync += [inc_r.eq(inc), dec_r.eq(dec), w_r.eq(w)]
        return (Mux(inc_r, w_r + 1, Mux(dec_r, w_r - 1, w_r)),
                Mux(inc_r, Const(1, signed(2)), Mux(dec_r, Const(-1, signed(2)), 0)), w_r)

    def _distal_write(self) -> Value:
        """1 in a learn-pass write cycle of one of the segment's distal synapses (the
        lines ``wnew`` is written to; the weight sum of M2 counts distal weights only)."""
        p, s = self.plan, self.sched
        distal = [syn.j for syn in self.spec.synapses if syn.distal]
        if sorted(distal) == list(range(p.JS)):  # every learn-pass line is one
            return self.lctx.lwe
        lo_bits, _ = wload_split(p)
        hits = [s.lw_hi[j >> lo_bits] & s.lw_lo[j & ((1 << lo_bits) - 1)] for j in distal]
        return self.lctx.lwe & (Cat(*hits).any() if hits else Const(0, 1))


def theta_cap(spec: SegmentSpec, weights: str) -> int:
    """The largest threshold a dynamic threshold is given: ``v_bound + 1`` (a segment whose
    threshold is above its largest potential never fires, whatever the threshold)."""
    return spec.v_bound(weights) + 1


def weight_sum(m: Module, spec: SegmentSpec, keep: bool = False) -> Signal:
    """The register ``wsum``: the segment's distal weight sum (M2, M8), reset to the IR's
    (``keep``: not reset, for a memory store that keeps its weights over ``rst``); the
    caller steps it with every distal weight write."""
    distal = [syn for syn in spec.synapses if syn.distal]
    s0 = sum(syn.weight for syn in distal)
    smax = sum((1 << syn.bits) - 1 for syn in distal)
    return Signal(range(smax + 1), init=s0, name="wsum", reset_less=keep)


def budget_scale(m: Module, spec: SegmentSpec, w_norm: int, w: Value, wsum: Value,
                 nrm: Value) -> tuple[Signal, Signal]:
    """M8 (docs/model.md §5): ``(w * B) // s`` of the weight ``w`` by restoring division
    (one compare-subtract per bit of ``w``) and whether the segment is over its budget
    ``B = (n * w_max * w_norm) >> 8`` (``n`` present distal synapses), where ``s`` is
    the weight sum latched before the norm pass (``nrm`` low)."""
    distal = [syn for syn in spec.synapses if syn.distal]
    wb = max((syn.bits for syn in distal), default=1)
    wmax = (1 << wb) - 1
    B = (len(distal) * wmax * w_norm) >> 8
    s_lat = Signal(len(wsum), name="nrm_sum", reset_less=True)
    with m.If(~nrm):
        m.d.sync += s_lat.eq(wsum)
    over = Signal(name="nrm_over")
    m.d.comb += over.eq(s_lat > B)
    rem: Value = w * B
    q = []
    for b in reversed(range(wb)):
        d = s_lat << b
        ge = Signal(name=f"nrm_ge{b}")
        m.d.comb += ge.eq(rem >= d)
        q.append(ge)
        rem = Mux(ge, rem - d, rem)
    scaled = Signal(wb, name="nrm_scaled")
    m.d.comb += scaled.eq(Cat(*reversed(q)))
    return scaled, over


def dynamic_theta(m: Module, spec: SegmentSpec, lc, weights: str,
                  wsum: Value | None) -> Value:
    """M2 / M5 (docs/model.md §5): the threshold of a learning segment for its next wave,
    ``max(1, base)`` capped at :func:`theta_cap`, with ``base = (S >> theta_shift) + off``
    (relative; ``S`` the distal weight sum ``wsum``, ``off`` the IR's ``theta - (S_IR >>
    theta_shift)``) or the IR's ``theta`` (fixed), plus ``H >> h_shift`` of the neuron's
    win-rate counter (M5)."""
    rule = lc.rule
    cap = theta_cap(spec, weights)
    base: Value = Const(spec.theta)
    if rule.theta == "relative":
        assert wsum is not None
        s0 = sum(syn.weight for syn in spec.synapses if syn.distal)
        base = (wsum >> rule.theta_shift) + (spec.theta - (s0 >> rule.theta_shift))
    if lc.h is not None:
        base = base + (lc.h >> rule.h_shift)
    th = Signal(range(cap + 1), name="theta_next")
    m.d.comb += th.eq(Mux(base < 1, 1, Mux(base > cap, cap, base)))
    return th


def stdp_decision(m: Module, lc, x: Value, xs: Value, z: Value, w: Value, wb: int,
                  pfx: str = "", levels: dict[str, Value] | None = None,
                  le: Value | None = None) -> tuple[Signal, Signal]:
    """The increment and decrement bits of one synapse (docs/model.md §5): input time ``x``
    and spike bit ``xs``, its segment's time ``z`` and credited flag ``lc.zf``, weight
    ``w``, the generator's precombined bits of level ``w`` (``lc.gen``, or ``levels``:
    ``cu``, ``dm``, ``db``, ``dc`` of the synapse's level already looked up) and, for
    R-STDP, the reward (``lc.rz``, ``lc.rp``). Clamping is in the bits (no increment at
    ``w_max``, no decrement at 0). ``pfx`` prefixes the signal names (one call per
    synapse). ``le``: the capture condition ``x <= z`` already computed (the parallel
    design latches it at the crossing); else it is compared here."""
    wmax = (1 << wb) - 1
    zf = lc.zf
    if lc.kind == "targeted":
        return _targeted_decision(m, lc, x, xs, w, wmax, pfx)
    if le is None:
        le = Signal(name=f"{pfx}x_le_z")
        m.d.comb += le.eq(capture_condition(x, z))
    cap, mns, srch, back = (Signal(name=f"{pfx}{n}") for n in ("st_capture", "st_minus",
                                                                 "st_search", "st_backoff"))
    m.d.comb += [cap.eq(xs & zf & le), mns.eq(xs & zf & ~le), srch.eq(xs & ~zf),
                 back.eq(~xs & zf)]
    g = lc.gen

    def level(name: str) -> Value:
        if levels is not None:
            return levels[name]
        vec = getattr(g, name)
        return Cat(*[vec[k] for k in range(wmax + 1)]).bit_select(w, 1)

    cu, dm, db = level("cu"), level("dm"), level("db")
    notmax = w != wmax
    inc = Signal(name=f"{pfx}st_inc")
    dec = Signal(name=f"{pfx}st_dec")
    if lc.kind == "rstdp":
        dc = level("dc")
        rn = ~lc.rz & ~lc.rp
        m.d.comb += [
            inc.eq((lc.rz & srch & g.bs & notmax) | (lc.rp & cap & cu)),
            dec.eq((~lc.rz & ((mns & dm) | (back & db))) | (rn & cap & dc)),
        ]
    else:
        m.d.comb += [inc.eq((cap & cu) | (srch & g.bs & notmax)),
                     dec.eq((mns & dm) | (back & db))]
    return inc, dec


def _targeted_decision(m: Module, lc, x: Value, xs: Value, w: Value, wmax: int,
                       pfx: str) -> tuple[Signal, Signal]:
    """M3: a credited segment steps ``w`` toward ``tau(x)`` (0 for a silent line) with
    ``B(mu_capture)`` up, ``B(mu_minus)`` down on a spiking line and ``B(mu_backoff)`` down
    on a silent one; an uncredited segment searches (``B(mu_search)``, not at ``w_max``)."""
    g = lc.gen
    tau = Signal(range(wmax + 1), name=f"{pfx}tg_tau")
    table = targeted_target(np.arange(1 << len(x)), wmax, lc.tmax)  # the interpreter's tau
    with m.Switch(x):
        for v in range(1 << len(x)):
            with m.Case(v):
                m.d.comb += tau.eq(int(table[v]))
    t = Signal(range(wmax + 1), name=f"{pfx}tg_target")
    m.d.comb += t.eq(Mux(xs, tau, 0))
    inc = Signal(name=f"{pfx}st_inc")
    dec = Signal(name=f"{pfx}st_dec")
    m.d.comb += [
        inc.eq((lc.zf & (w < t) & g.bc) | (~lc.zf & xs & g.bs & (w != wmax))),
        dec.eq(lc.zf & (w > t) & Mux(xs, g.bm, g.bb)),
    ]
    return inc, dec
