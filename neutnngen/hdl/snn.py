"""RTL of clock-driven SNN networks (docs/model.md §11): a time-multiplexed MAC per layer.

A network of SNN stages (``encoder``, then groups of linear stages each ending in a ``lif``)
is lowered to *segments*: one per ``lif`` stage, holding the composed integer linear map
that feeds it. Between two ``lif`` stages (or the encoder and the first ``lif``) the linear
stages may be ``sumpool`` and ``flatten`` stages, then at most one ``dense`` or ``conv2d``
(the only stage with a bias and an accumulator shift), then ``flatten`` stages: the
accumulator is exact, so ``dense(sumpool(x)) = (W P) x`` holds bit for bit and the whole
group is one sparse integer matrix ``M`` (``n_out x n_in``), a bias and a shift. One
``maxpool`` may follow the ``dense``/``conv2d`` (snnTorch's conv -> ``MaxPool2d`` ->
``Leaky``): a neuron's current is then the maximum over its pooling *windows* of their
shifted sums. A ``maxpool`` of spikes or inputs, or a ``sumpool`` after the shifting stage,
is refused with a :class:`~neutnngen.errors.ConfigError` naming the stage.

Microarchitecture (:class:`SnnTop`), one sample at a time:

1. *load*: the input stream delivers one input integer per beat (``in_data``, ``n_in``
   beats a sample) into the input buffer;
2. for every time step ``t``: an *encoder pass* for ``latency``/``times``/``rate`` encoders
   (one input line per cycle: the step's spike of every line into a 1-bit buffer; ``rate``
   keeps one 16-bit LFSR per line in a memory), then every segment in order. A segment
   walks its neuron *groups* (``lanes`` neurons, 1..64); for each it streams the group's
   synapse entries (input index and one weight per lane; ``hardwired``: the nonzero
   entries of ``M``, ``register``: every structural entry, loadable) from memories, one per
   cycle, through a 5-stage pipeline (entry read, input read, input and weights registered,
   product registered, accumulate into exact accumulators that start at the biases), then
   updates the group's neurons (the §11 update order: reset, leak, input, subtract,
   saturate, fire, refractory, synaptic current) and writes their state and spikes for the
   next segment;
3. *output*: one beat per neuron of the last segment (``out_count``, ``out_first`` -- all
   ones when it never fired --, ``out_mem`` the final membrane, ``out_index``,
   ``out_last``), with backpressure (``out_ready``).

A segment spends ``entries + 6 * groups`` cycles a step (:attr:`SnnPlan.cycles_per_sample`).
Every group update is also reported on the ``trace_*`` ports (segment, first neuron, valid
lanes, and per lane the new membrane, spike and synaptic current) in the cycle it is
written: the verifier compares every layer's membrane and spikes at every step with the
interpreter.

``register`` weights: ``wload_en``/``wload_addr``/``wload_data`` write one lane weight of
one entry or one bias (addresses: segment ``k``'s entry ``j`` lane ``l`` at
``names.json["segments"][k]["wbase"] + j * lanes + l``, its biases from ``"bbase"``), to be
done between samples.
"""

from __future__ import annotations

from typing import Any

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..ir.snn_plan import (  # noqa: F401 (re-exported: the plan of a design)
    LANES,
    SnnPlan,
    SnnSegment,
    _sbits,
    _ubits,
    plan_snn,
)
from ..ir.stages.act import Act


# ----------------------------------------------------------------------------- RTL
def _lfsr_steps(state, width: int, taps: tuple[int, ...], n: int):
    for _ in range(n):
        fb = state[taps[0] - 1]
        for t in taps[1:]:
            fb = fb ^ state[t - 1]
        state = Cat(fb, state[:width - 1])
    return state


def _act(m, node, cur, pre: str):
    """An ``act`` stage's value (combinational clamp of the current); returns ``(y, 0, None,
    None)`` in the shape of :func:`_neuron`'s ``(V', s', c', I')``."""
    lo, hi = node.range
    y = Signal(signed(node.mem_bits), name=f"{pre}_y")
    m.d.comb += y.eq(Mux(cur < lo, lo, Mux(cur > hi, hi, cur)))
    return y, Const(0, 1), None, None


def _neuron(m, lif, cur, V, s, c, isyn, pre: str):
    """The §11 update of one neuron (combinational); returns ``(V', s', c', I')``."""
    if isinstance(lif, Act):
        return _act(m, lif, cur, pre)
    M = lif.mem_bits
    lo, hi = -(1 << (M - 1)), (1 << (M - 1)) - 1
    th = lif.threshold
    F = lif.frac_bits
    x = Signal(signed(len(cur) + 1), name=f"{pre}_x")
    m.d.comb += x.eq(Mux(c != 0, 0, cur))
    syn = lif.alpha_q >= 0
    In = None
    if syn:
        a = Signal(signed(M + F + len(x) + 4), name=f"{pre}_a")
        m.d.comb += a.eq(isyn * lif.alpha_q + (x << F))
        if lif.reset == "zero":
            vr = Mux(s, 0, (V * lif.beta_q + a) >> F)
        else:
            vr = (V * lif.beta_q + a - Mux(s, th << F, 0)) >> F
        ir = Signal(signed(len(a)), name=f"{pre}_ir")
        m.d.comb += ir.eq(a >> F)
        In = Signal(signed(M), name=f"{pre}_in")
        m.d.comb += In.eq(Mux(ir < lo, lo, Mux(ir > hi, hi, ir)))
    else:
        vz = Mux(s, 0, V) if lif.reset == "zero" else V
        if lif.leak == "shift":
            vl = vz - (vz >> lif.leak_shift)
        elif lif.leak == "mul":
            vl = (vz * lif.beta_q) >> F
        else:
            vl = vz
        vr = vl + x
        if lif.reset == "subtract":
            vr = vr - Mux(s, th, 0)
    vraw = Signal(signed(max(M, len(x)) + F + 12), name=f"{pre}_vraw")
    m.d.comb += vraw.eq(vr)
    Vn = Signal(signed(M), name=f"{pre}_vn")
    m.d.comb += Vn.eq(Mux(vraw < lo, lo, Mux(vraw > hi, hi, vraw)))
    sn = Signal(name=f"{pre}_sn")
    m.d.comb += sn.eq((Vn > th) & (c == 0))
    cn = None
    if lif.refractory:
        cn = Signal(len(c), name=f"{pre}_cn")
        m.d.comb += cn.eq(Mux(sn, lif.refractory, Mux(c == 0, 0, c - 1)))
    return Vn, sn, cn, In


class SnnTop(wiring.Component):
    """The SNN design of a :class:`SnnPlan` (module docstring)."""

    # often built only for its ``info``; do not warn when it is never elaborated
    _MustUse__silence = True

    def __init__(self, plan: SnnPlan):
        self.plan = plan
        last = plan.segments[-1]
        members = {
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(plan.in_width),
            "out_valid": Out(1), "out_ready": In(1),
            "out_count": Out(plan.cb), "out_first": Out(plan.tb),
            "out_mem": Out(last.lif.mem_bits), "out_index": Out(_ubits(last.n_out - 1)),
            "out_last": Out(1),
        }
        for s in plan.segments:  # every segment reports its neuron updates on its own ports
            k, mb, P = s.index, s.lif.mem_bits, s.lanes
            members.update({
                f"trace{k}_valid": Out(1), f"trace{k}_idx": Out(_ubits(s.groups * P - 1)),
                f"trace{k}_n": Out(_ubits(P)), f"trace{k}_v": Out(mb * P),
                f"trace{k}_s": Out(P), f"trace{k}_i": Out(mb * P)})
        if plan.weights == "register":
            members.update({"wload_en": In(1), "wload_addr": In(plan.wa),
                            "wload_data": In(plan.wd)})
        super().__init__(members)
        self.info = plan.info()

    def elaborate(self, platform):
        p = self.plan
        m = Module()
        enc = p.encoder
        T = p.steps
        tb = _ubits(T)
        t = Signal(tb, name="step")
        pipe = p.architecture == "pipelined"
        n_seg = len(p.segments)
        # the step each stage works on: one global step (serial), or each stage's own count
        # of finished steps (pipelined: the stages overlap, joined by double buffers)
        tk = [Signal(tb, name=f"seg{k}_step") for k in range(n_seg)] if pipe else [t] * n_seg

        # ---- input buffer
        in_shape = unsigned(p.in_width)
        xin = Memory(shape=in_shape, depth=p.n_in, init=[])
        m.submodules.xin = xin
        xin_w = xin.write_port()
        ld = Signal(_ubits(p.n_in), name="load_count")

        # ---- encoder pass buffer (1 bit per line) for the non-direct encoders
        direct = enc.mode == "direct"
        nb = _ubits(p.n_in - 1)
        te = Signal(tb, name="enc_step") if pipe and not direct else t
        if not direct:
            ebuf = Memory(shape=unsigned(1), depth=(2 << nb) if pipe else p.n_in, init=[])
            m.submodules.ebuf = ebuf
            ebuf_w = ebuf.write_port()
            xin_re = xin.read_port()
            if enc.mode == "rate":
                from ..ir.common import default_seeds
                from ..ir.stages.snn import RATE_SALT, RATE_TAPS, RATE_WIDTH

                seeds = default_seeds(p.n_in, enc.seed, RATE_WIDTH, salt=RATE_SALT)
                seedm = Memory(shape=unsigned(RATE_WIDTH), depth=p.n_in,
                               init=[int(v) for v in seeds])
                lfsr = Memory(shape=unsigned(RATE_WIDTH), depth=p.n_in, init=[])
                m.submodules.seeds = seedm
                m.submodules.lfsr = lfsr
                seed_r = seedm.read_port()
                lfsr_r = lfsr.read_port()
                lfsr_w = lfsr.write_port()

        # ---- segments
        go = [Signal(name=f"seg{k}_go") for k in range(n_seg)]
        done = [Signal(name=f"seg{k}_done") for k in range(n_seg)]
        outbufs: list[Any] = []  # (spike buffer, group bits, lane bits) of each segment but the last
        last_state = None
        for seg in p.segments:
            k = seg.index
            P = seg.lanes
            lb = (P - 1).bit_length()  # lane bits of a neuron index
            lif = seg.lif
            Mb = lif.mem_bits
            G = seg.groups
            ib = _ubits(seg.n_in - 1)
            eb = _ubits(seg.entries)
            gb = _ubits(G - 1)
            # memories: input line and lane weights of every entry, group ends, biases
            pooled = seg.windows > 1
            # an entry's input line, and with max pooling a window-end bit above it
            imem = Memory(shape=unsigned(ib + pooled), depth=seg.entries,
                          init=[int(i) | ((int(we) << ib) if pooled else 0)
                                for i, we in zip(seg.idx, seg.wend, strict=True)])
            wmask = (1 << seg.wb) - 1
            wmem = Memory(shape=unsigned(P * seg.wb), depth=seg.entries,
                          init=[sum((int(w) & wmask) << (seg.wb * ln)
                                    for ln, w in enumerate(row)) for row in seg.w])
            ends = Memory(shape=unsigned(eb), depth=G, init=[int(v) for v in seg.ends])
            bmask = (1 << seg.bb) - 1
            bmem = Memory(shape=unsigned(P * seg.bb), depth=G,
                          init=[sum((int(seg.bias[g * P + ln]) & bmask) << (seg.bb * ln)
                                    for ln in range(P)) for g in range(G)])
            m.submodules[f"seg{k}_index"] = imem
            m.submodules[f"seg{k}_weights"] = wmem
            m.submodules[f"seg{k}_ends"] = ends
            m.submodules[f"seg{k}_bias"] = bmem
            idx_r, w_r = imem.read_port(), wmem.read_port()
            ends_r, b_r = ends.read_port(), bmem.read_port()
            if p.weights == "register":
                ww = wmem.write_port(granularity=seg.wb)
                bw = bmem.write_port(granularity=seg.bb)
                a = self.wload_addr
                in_e = (a >= seg.wbase) & (a < seg.wbase + seg.entries * P)
                in_b = (a >= seg.bbase) & (a < seg.bbase + G * P)
                ea_ = Signal(range(seg.entries * P + 1), name=f"seg{k}_wl_e")
                ba_ = Signal(range(G * P + 1), name=f"seg{k}_wl_b")
                m.d.comb += [ea_.eq(a - seg.wbase), ba_.eq(a - seg.bbase)]
                m.d.comb += [
                    ww.addr.eq(ea_ >> lb), ww.data.eq(self.wload_data[:seg.wb].replicate(P)),
                    bw.addr.eq(ba_ >> lb), bw.data.eq(self.wload_data[:seg.bb].replicate(P)),
                ]
                for ln in range(P):
                    m.d.comb += [
                        ww.en[ln].eq(self.wload_en & in_e & ((ea_[:lb] == ln) if lb else 1)),
                        bw.en[ln].eq(self.wload_en & in_b & ((ba_[:lb] == ln) if lb else 1)),
                    ]
            # input reader of this segment
            if seg.src == "input":
                xr = (xin if direct else ebuf).read_port()
                packed = False
            else:
                xr = outbufs[-1][0].read_port()
                _, src_gb, src_lb = outbufs[-1]  # the producer's group and lane bits
                packed = True
            slot = tk[k][0]  # pipelined: the half of the double buffers of this step
            # neuron state memory, one word per group: per lane V, s, [c], [I],
            # [count, fired, first]
            cbits = _ubits(lif.refractory) if lif.refractory else 0
            final = k == n_seg - 1
            fields = [("v", Mb), ("s", 1)]
            if cbits:
                fields.append(("c", cbits))
            if lif.alpha_q >= 0:
                fields.append(("i", Mb))
            if final:
                fields += [("cnt", p.cb), ("fired", 1), ("first", tb)]
            sw = sum(b for _, b in fields)
            smem = Memory(shape=unsigned(P * sw), depth=G, init=[])
            m.submodules[f"seg{k}_state"] = smem
            s_r, s_w = smem.read_port(), smem.write_port()
            if final:
                last_state = (smem.read_port(), fields, sw)
            else:
                obits = lif.bits if isinstance(lif, Act) else 1  # a value or a spike per lane
                ob = Memory(shape=unsigned(P * obits), depth=(2 << gb) if pipe else G, init=[])
                m.submodules[f"seg{k}_spikes"] = ob
                ob_w = ob.write_port()
                outbufs.append((ob, gb, lb))

            # --- sequencer
            g = Signal(gb, name=f"seg{k}_g")
            e = Signal(eb, name=f"seg{k}_e")
            e_end = Signal(eb, name=f"seg{k}_end")
            accs = [Signal(signed(seg.aw), name=f"seg{k}_acc{ln}") for ln in range(P)]
            cw = max(seg.aw - seg.shift, 2)
            mxs = [Signal(signed(cw), name=f"seg{k}_max{ln}") for ln in range(P)]
            bregs = [Signal(signed(seg.bb), name=f"seg{k}_b{ln}") for ln in range(P)]
            wfirst = Signal(name=f"seg{k}_wfirst")
            v1 = Signal(name=f"seg{k}_v1")
            v2 = Signal(name=f"seg{k}_v2")
            v3 = Signal(name=f"seg{k}_v3")
            v4 = Signal(name=f"seg{k}_v4")
            first = Signal(name=f"seg{k}_first")
            wreg = Signal(P * seg.wb, name=f"seg{k}_w")
            st_reg = Signal(P * sw, name=f"seg{k}_st")
            issue = Signal(name=f"seg{k}_issue")
            end_now = Signal(eb, name=f"seg{k}_end_now")
            m.d.comb += end_now.eq(Mux(first, ends_r.data, e_end))

            def fld(word, name, lane, fields=fields, sw=sw):
                off = lane * sw
                for n_, b_ in fields:
                    if n_ == name:
                        return word[off:off + b_]
                    off += b_
                raise KeyError(name)

            # pipeline: entry read (issue) -> input read -> multiply-accumulate
            m.d.comb += [idx_r.addr.eq(e), idx_r.en.eq(1), w_r.addr.eq(e), w_r.en.eq(1)]
            line = idx_r.data[:ib]
            if packed:  # the previous segment's spikes, one word per group
                sel = Signal(max(src_lb, 1), name=f"seg{k}_lane_sel")
                grp_addr = (line >> src_lb)[:src_gb]
                m.d.comb += [xr.addr.eq(Cat(grp_addr, slot) if pipe else grp_addr), xr.en.eq(1)]
                m.d.sync += sel.eq(line[:src_lb] if src_lb else 0)
                xval = xr.data.word_select(sel, seg.xb) if src_lb else xr.data[:seg.xb]
            else:
                m.d.comb += [xr.addr.eq(Cat(line[:nb], slot) if pipe and not direct else line),
                             xr.en.eq(1)]
                xval = xr.data
            # entry read -> (input read, weights registered) -> (input and weights
            # registered: the block RAM's clock-to-out is long) -> product registered ->
            # accumulate
            w2 = Signal(P * seg.wb, name=f"seg{k}_w2")
            xreg = Signal(seg.xb, name=f"seg{k}_x")
            m.d.sync += [wreg.eq(w_r.data), w2.eq(wreg), xreg.eq(xval)]
            if pooled:  # the window-end bit travels with its entry to the accumulator
                we2 = Signal(name=f"seg{k}_we2")
                we3 = Signal(name=f"seg{k}_we3")
                we4 = Signal(name=f"seg{k}_we4")
                m.d.sync += [we2.eq(idx_r.data[ib]), we3.eq(we2), we4.eq(we3)]
            prods = []
            for ln in range(P):
                wl = w2[ln * seg.wb:(ln + 1) * seg.wb].as_signed()
                prod = Signal(signed(seg.wb + seg.xb + 1), name=f"seg{k}_prod{ln}")
                if seg.xb == 1:
                    m.d.sync += prod.eq(Mux(xreg[0], wl, 0))
                else:
                    m.d.sync += prod.eq(wl * xreg.as_unsigned())
                prods.append(prod)
            m.d.comb += [ends_r.addr.eq(g), ends_r.en.eq(1), b_r.addr.eq(g), b_r.en.eq(1),
                         s_r.addr.eq(g), s_r.en.eq(1)]
            # neuron updates from the registered state and the final accumulators
            new_words, spikes, vs, iss = [], [], [], []
            for ln in range(P):
                V = fld(st_reg, "v", ln).as_signed()
                sp = fld(st_reg, "s", ln)
                c = fld(st_reg, "c", ln) if cbits else Const(0, 1)
                Ist = fld(st_reg, "i", ln).as_signed() if lif.alpha_q >= 0 else None
                cur = Signal(signed(max(seg.aw - seg.shift, 2)), name=f"seg{k}_cur{ln}")
                m.d.comb += cur.eq(mxs[ln] if pooled else accs[ln] >> seg.shift)
                Vn, sn, cn, In_ = _neuron(m, lif, cur, V, sp, c, Ist, f"seg{k}_l{ln}")
                parts = {"v": Vn, "s": sn}
                if cbits:
                    parts["c"] = cn
                if lif.alpha_q >= 0:
                    parts["i"] = In_
                if final:
                    fired = fld(st_reg, "fired", ln)
                    parts["cnt"] = fld(st_reg, "cnt", ln) + sn
                    parts["fired"] = fired | sn
                    parts["first"] = Mux(fired, fld(st_reg, "first", ln), tk[k])
                for n_, b_ in fields:
                    f_ = Signal(b_, name=f"seg{k}_new{ln}_{n_}")
                    m.d.comb += f_.eq(parts[n_])
                    new_words.append(f_)
                spikes.append(sn)
                vs.append(Vn)
                iss.append(In_)
            upd = Signal(name=f"seg{k}_upd")
            m.d.comb += [s_w.addr.eq(g), s_w.data.eq(Cat(*new_words)), s_w.en.eq(upd)]
            if not final:
                outv = ([v_[:lif.bits] for v_ in vs] if isinstance(lif, Act) else spikes)
                m.d.comb += [ob_w.addr.eq(Cat(g, slot) if pipe else g),
                             ob_w.data.eq(Cat(*outv)), ob_w.en.eq(upd)]
            # the trace ports of this segment
            last_n = seg.n_out - (G - 1) * P
            m.d.comb += [getattr(self, f"trace{k}_valid").eq(upd),
                         getattr(self, f"trace{k}_idx").eq(g << lb),
                         getattr(self, f"trace{k}_n").eq(Mux(g == G - 1, last_n, P))]
            for ln in range(P):
                m.d.comb += [getattr(self, f"trace{k}_v")[ln * Mb:(ln + 1) * Mb].eq(vs[ln]),
                             getattr(self, f"trace{k}_s")[ln].eq(spikes[ln])]
                if iss[ln] is not None:
                    m.d.comb += getattr(self, f"trace{k}_i")[ln * Mb:(ln + 1) * Mb].eq(iss[ln])

            with m.FSM(name=f"seg{k}_fsm"):
                with m.State("IDLE"):
                    with m.If(go[k]):
                        m.d.sync += [g.eq(0), e.eq(0)]
                        m.next = "START"
                with m.State("START"):
                    # the addresses of group g are on the read ports; entry e is issued
                    m.d.sync += [e.eq(e + 1), v1.eq(1), v2.eq(0), v3.eq(0), v4.eq(0),
                                 first.eq(1)]
                    m.next = "RUN"
                with m.State("RUN"):
                    m.d.comb += issue.eq(e != end_now)
                    m.d.sync += [first.eq(0), v1.eq(issue), v2.eq(v1), v3.eq(v2), v4.eq(v3)]
                    with m.If(first):
                        m.d.sync += [e_end.eq(ends_r.data), wfirst.eq(1),
                                     st_reg.eq(Mux(tk[k] == 0, 0, s_r.data))]
                        for ln in range(P):
                            bv = b_r.data[ln * seg.bb:(ln + 1) * seg.bb].as_signed()
                            m.d.sync += [accs[ln].eq(bv), bregs[ln].eq(bv)]
                    with m.Elif(v4 & we4 if pooled else v4):
                        if pooled:  # a window ends: its current joins the maximum
                            m.d.sync += wfirst.eq(0)
                            for ln in range(P):
                                cand = Signal(signed(cw), name=f"seg{k}_cand{ln}")
                                m.d.comb += cand.eq((accs[ln] + prods[ln]) >> seg.shift)
                                m.d.sync += [mxs[ln].eq(Mux(wfirst | (cand > mxs[ln]), cand,
                                                            mxs[ln])),
                                             accs[ln].eq(bregs[ln])]
                        else:
                            m.d.sync += [accs[ln].eq(accs[ln] + prods[ln])
                                         for ln in range(P)]
                    if pooled:
                        with m.Elif(v4):
                            m.d.sync += [accs[ln].eq(accs[ln] + prods[ln])
                                         for ln in range(P)]
                    with m.If(issue):
                        m.d.sync += e.eq(e + 1)
                    with m.If(~issue & ~v1 & ~v2 & ~v3 & ~v4 & ~first):
                        m.next = "UPD"
                with m.State("UPD"):
                    m.d.comb += upd.eq(1)
                    m.d.sync += g.eq(g + 1)
                    with m.If(g == G - 1):
                        m.d.comb += done[k].eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "START"


        # ---- top sequencer
        seg_i = Signal(_ubits(n_seg), name="seg_index")
        ei = Signal(_ubits(p.n_in + 1), name="enc_line")
        ev = Signal(name="enc_valid")
        ea = Signal(_ubits(p.n_in), name="enc_addr")
        oi = Signal(_ubits(p.n_out), name="out_i")
        m.d.comb += [xin_w.addr.eq(ld), xin_w.data.eq(self.in_data)]
        if not direct:
            m.d.comb += [xin_re.addr.eq(ei), xin_re.en.eq(1),
                         ebuf_w.addr.eq(Cat(ea[:nb], te[0]) if pipe else ea)]
            raw = xin_re.data
            if enc.mode == "latency":
                mx = (1 << enc.in_bits) - 1
                at = ((mx - raw) * T) >> enc.in_bits
                spk = (te == at) & (raw != 0)
            elif enc.mode == "times":
                spk = ~raw[-1] & (raw == te)
            else:
                m.d.comb += [seed_r.addr.eq(ei), seed_r.en.eq(1), lfsr_r.addr.eq(ei),
                             lfsr_r.en.eq(1), lfsr_w.addr.eq(ea)]
                cur_state = Mux(te == 0, seed_r.data, lfsr_r.data)
                nxt = Signal(RATE_WIDTH, name="rate_next")
                m.d.comb += nxt.eq(_lfsr_steps(cur_state, RATE_WIDTH, RATE_TAPS, enc.in_bits))
                spk = nxt[:enc.in_bits] < raw
                m.d.comb += [lfsr_w.data.eq(nxt), lfsr_w.en.eq(ev)]
            m.d.comb += [ebuf_w.data.eq(spk), ebuf_w.en.eq(ev)]
        so, fields, osw = last_state
        lb = (p.segments[-1].lanes - 1).bit_length()
        m.d.comb += [so.addr.eq(oi >> lb), so.en.eq(1)]
        lane_word = so.data.word_select(oi[:lb], osw) if lb else so.data

        def ofld(name):
            off = 0
            for n_, b_ in fields:
                if n_ == name:
                    return lane_word[off:off + b_]
                off += b_
            raise KeyError(name)

        def enc_pass(m, done_next):
            """One encoder pass: line ``ei`` is read this cycle, written (``ea``) the next."""
            m.d.sync += [ev.eq(ei < p.n_in), ea.eq(ei)]
            with m.If(ei < p.n_in):
                m.d.sync += ei.eq(ei + 1)
            with m.Elif(~ev):
                done_next()

        run = Signal(name="run")  # pipelined: the stages work on the loaded sample
        if pipe:
            # Every stage starts its next step when it has finished the previous one, its
            # producer has finished this one and its consumer the one before the previous
            # (the spike buffers between are double buffers indexed by the step's parity).
            counts = ([te] if not direct else []) + tk
            for j, c in enumerate(counts):
                ok = run & (c != T)
                if j:
                    ok = ok & (counts[j - 1] > c)
                if j + 1 < len(counts):
                    ok = ok & (counts[j + 1] + 1 >= c)
                if j >= len(counts) - n_seg:
                    k = j - (len(counts) - n_seg)
                    m.d.comb += go[k].eq(ok)
                    with m.If(done[k]):
                        m.d.sync += tk[k].eq(tk[k] + 1)
                else:  # the encoder pass
                    with m.FSM(name="enc_fsm"):
                        with m.State("IDLE"):
                            with m.If(ok):
                                m.d.sync += [ei.eq(0), ev.eq(0)]
                                m.next = "PASS"
                        with m.State("PASS"):
                            def fin():
                                m.d.sync += te.eq(te + 1)
                                m.next = "IDLE"
                            enc_pass(m, fin)

        with m.FSM(name="top_fsm"):
            with m.State("LOAD"):
                m.d.comb += [self.in_ready.eq(1), xin_w.en.eq(self.in_valid)]
                with m.If(self.in_valid):
                    m.d.sync += ld.eq(ld + 1)
                    with m.If(ld == p.n_in - 1):
                        m.d.sync += [ld.eq(0), t.eq(0)]
                        if pipe:
                            m.d.sync += [c.eq(0) for c in tk]
                            if not direct:
                                m.d.sync += te.eq(0)
                            m.next = "RUN"
                        else:
                            m.next = "STEP"
            if pipe:
                with m.State("RUN"):
                    m.d.comb += run.eq(1)
                    with m.If(tk[-1] == T):
                        m.d.sync += oi.eq(0)
                        m.next = "OUTRD"
            else:
                with m.State("STEP"):
                    m.d.sync += [seg_i.eq(0), ei.eq(0), ev.eq(0)]
                    m.next = "SEG" if direct else "ENC"
                if not direct:
                    with m.State("ENC"):
                        def to_seg():
                            m.next = "SEG"
                        enc_pass(m, to_seg)
                with m.State("SEG"):
                    for k in range(n_seg):
                        m.d.comb += go[k].eq(seg_i == k)
                    m.next = "WAIT"
                with m.State("WAIT"):
                    for k in range(n_seg):
                        with m.If(done[k]):
                            with m.If(seg_i == n_seg - 1):
                                with m.If(t == T - 1):
                                    m.d.sync += oi.eq(0)
                                    m.next = "OUTRD"
                                with m.Else():
                                    m.d.sync += t.eq(t + 1)
                                    m.next = "STEP"
                            with m.Else():
                                m.d.sync += seg_i.eq(seg_i + 1)
                                m.next = "SEG"
            with m.State("OUTRD"):  # the state word of neuron oi is read
                m.next = "OUT"
            with m.State("OUT"):
                last = p.segments[-1]
                m.d.comb += [self.out_valid.eq(1),
                             self.out_count.eq(ofld("cnt")),
                             self.out_first.eq(Mux(ofld("fired"), ofld("first"),
                                                   (1 << p.tb) - 1)),
                             self.out_mem.eq(ofld("v")),
                             self.out_index.eq(oi),
                             self.out_last.eq(oi == last.n_out - 1)]
                with m.If(self.out_ready):
                    m.d.sync += oi.eq(oi + 1)
                    with m.If(oi == last.n_out - 1):
                        m.next = "LOAD"
                    with m.Else():
                        m.next = "OUTRD"
        return m


class MixedTop(wiring.Component):
    """An SNN (:class:`SnnTop`) joined to TNN stages (:class:`~neutnngen.hdl.top.Top`) by
    the interfaces of docs/model.md §11, one design:

    * a TNN ``front`` (or None) feeds the SNN through its ``times`` encoder: the front's
      input stream is the design's; each output volley of the front becomes ``n`` input
      beats of the SNN (line ``j``: its spike time, or -1 when silent), and the front's
      output register is released with the last beat. ``bridge_valid`` / ``bridge_data``
      show every beat the SNN takes (the verifier compares them with the front's volleys);
    * a TNN ``back`` (or None) reads the last ``lif``'s first-spike volley: a collector
      gathers the SNN's output beats (``out_first``; all ones: silent) into one volley,
      offers it to the back's input stream and holds it until taken (the SNN's
      ``out_ready`` is low meanwhile); the back's output stream is the design's.

    The SNN's trace ports are the design's."""

    _MustUse__silence = True

    def __init__(self, front, plan: SnnPlan, back=None):
        self.front, self.plan, self.back = front, plan, back
        self.snn = SnnTop(plan)
        sm = self.snn.signature.members
        members: dict[str, Any] = {}
        taken = set()
        if front is not None:
            members.update({"in_valid": In(1), "in_ready": Out(1),
                            "in_time": In(len(front.in_time)),
                            "in_spike": In(len(front.in_spike))})
            taken |= {"in_valid", "in_ready", "in_data"}
        if back is not None:
            members.update({"out_valid": Out(1), "out_ready": In(1),
                            "out_time": Out(len(back.out_time)),
                            "out_spike": Out(len(back.out_spike))})
            taken |= {n for n in sm if n.startswith("out_")}
        self._passed = [n for n in sm if n not in taken]
        for n in self._passed:
            members[n] = sm[n]
        if front is not None:
            members.update({"bridge_valid": Out(1), "bridge_data": Out(plan.in_width)})
        super().__init__(members)
        self.info = {**plan.info(), **({"front": front.info} if front is not None else {}),
                     **({"back": back.info} if back is not None else {})}

    def elaborate(self, platform):
        m = Module()
        s = self.snn
        m.submodules.snn = s
        if self.front is not None:
            self._front(m)
        if self.back is not None:
            self._back(m)
        for name in self._passed:
            mine, theirs = getattr(self, name), getattr(s, name)
            if s.signature.members[name].flow == wiring.Out:
                m.d.comb += mine.eq(theirs)
            else:
                m.d.comb += theirs.eq(mine)
        return m

    def _front(self, m):
        f, s = self.front, self.snn
        m.submodules.front = f
        fp = f.plan
        m.d.comb += [f.in_valid.eq(self.in_valid), self.in_ready.eq(f.in_ready),
                     f.in_time.eq(self.in_time), f.in_spike.eq(self.in_spike)]
        n, TB, W = fp.net.outputs, fp.TB_OUT, self.plan.in_width
        j = Signal(range(max(n, 2)), name="bridge_line")
        tj = f.out_time.word_select(j, TB)[:min(TB, W - 1)]
        data = Signal(W, name="bridge_word")
        m.d.comb += data.eq(Mux(f.out_spike.bit_select(j, 1), tj, (1 << W) - 1))
        hs = Signal(name="bridge_take")
        m.d.comb += [s.in_valid.eq(f.out_valid), s.in_data.eq(data),
                     hs.eq(f.out_valid & s.in_ready),
                     f.out_ready.eq(hs & (j == n - 1)),
                     self.bridge_valid.eq(hs), self.bridge_data.eq(data)]
        with m.If(hs):
            m.d.sync += j.eq(Mux(j == n - 1, 0, j + 1))

    def _back(self, m):
        b, s = self.back, self.snn
        m.submodules.back = b
        bp = b.plan
        n, TB = bp.net.inputs, bp.TB_IN
        times = Signal(n * TB, name="collect_time")
        spikes = Signal(n, name="collect_spike")
        full = Signal(name="collect_full")
        never = (1 << self.plan.tb) - 1
        take = Signal(name="collect_take")
        m.d.comb += [s.out_ready.eq(~full), take.eq(s.out_valid & ~full),
                     b.in_valid.eq(full), b.in_time.eq(times), b.in_spike.eq(spikes),
                     self.out_valid.eq(b.out_valid), b.out_ready.eq(self.out_ready),
                     self.out_time.eq(b.out_time), self.out_spike.eq(b.out_spike)]
        fired = Signal(name="collect_fired")
        m.d.comb += fired.eq(s.out_first != never)
        with m.If(take):
            for i in range(n):
                with m.If(s.out_index == i):
                    m.d.sync += [times[i * TB:(i + 1) * TB].eq(s.out_first[:TB]),
                                 spikes[i].eq(fired)]
            with m.If(s.out_last):
                m.d.sync += full.eq(1)
        with m.If(full & b.in_ready):
            m.d.sync += full.eq(0)


def emit_snn(net, outdir, weights: str = "hardwired", name: str = "neutnngen_top",
             lanes: Any = 1, architecture: str = "serial"):
    """Write ``outdir/NAME.v``, ``NAME.il`` and ``names.json`` of an SNN network, or of one
    joined to TNN stages (:class:`MixedTop`: hardwired weights, the TNN parts serial)."""
    import json
    from pathlib import Path

    from ..errors import ConfigError
    from ..ir.snn_plan import split_mixed
    from .emit import EmitResult, _texts, _write_all

    mix = split_mixed(net)
    if mix and weights != "hardwired":
        raise ConfigError(f"weights={weights!r} for the network {net.name!r} of TNN and SNN "
                          f"stages; a mixed design is built with hardwired weights")
    plan = plan_snn(mix.snn if mix else net, weights=weights, name=name, lanes=lanes,
                    architecture=architecture)
    names = plan.names()
    if mix:
        from . import build_top, names_json

        tnn = {}
        for part in ("front", "back"):
            sub = getattr(mix, part)
            if sub is None:
                continue
            tnn[part] = build_top(sub, weights="hardwired", name=f"{name}_{part}")
            if tnn[part].plan.N_PROX:
                raise ConfigError(f"the TNN {part} of {net.name!r} has proximal lines; a mixed "
                                  f"design takes the TNN stages' volleys only")
            names[part] = names_json(tnn[part].plan)
        top: Any = MixedTop(tnn.get("front"), plan, tnn.get("back"))
        names["top"] = top.info
    else:
        top = SnnTop(plan)
    il, v = _texts(top)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"verilog": out / f"{name}.v", "rtlil": out / f"{name}.il",
             "names": out / "names.json"}
    _write_all({paths["verilog"]: v, paths["rtlil"]: il,
                paths["names"]: json.dumps(names, indent=1) + "\n"})
    return EmitResult(paths["verilog"], paths["rtlil"], paths["names"], top.info)
