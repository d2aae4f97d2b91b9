"""The learning sidebands of a layer stage's input beat (``learn`` mode), shared by the
serial and parallel layer stages."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value

from ..plan import LayerSpec


def learning_inputs(m: Module, p, spec: LayerSpec, bi, ip, ps: Value, wiring_stmts
                    ) -> tuple[Signal, Value, Value]:
    """``learn`` mode: whether the wave learns in this layer (``lrn_eff``: its ``learn_en``,
    the layer has a rule and, for R-STDP, the wave has a valid label), the label, and the
    proximal spike bits with the label applied (while a labelled wave learns, an ``enable``
    column's lines are the label's one-hot code and the layer's other proximal lines are
    silent). ``wiring_stmts(lrn_eff)``: the stage's own statements, added right after
    ``lrn_eff``."""
    lp = p.learn
    rule = spec.layer.learning
    P = spec.prox_lines
    lrn = ip.learn_en if bi.learn else Const(0, 1)
    reads_label = spec.index in lp.label_layers
    lab = ip.label if reads_label else Const(0, 1)
    lv = ip.label_valid if reads_label else Const(0, 1)
    lrn_eff = Signal(name="lrn_eff")
    m.d.comb += lrn_eff.eq(0 if rule is None else
                           (lrn & lv if rule.kind == "rstdp" else lrn))
    m.d.comb += wiring_stmts(lrn_eff)
    if rule is not None and any(c.col.proximal_mode == "enable" for c in spec.columns):
        gate = Signal(name="label_gate")
        m.d.comb += gate.eq(lrn & lv)
        pse = Signal(max(1, P), name="ps_label")
        off = 0
        for c in spec.columns:
            Pc = c.col.proximal_inputs
            for k in range(Pc):
                if c.col.proximal_mode == "enable":
                    v = Mux(gate, lab == k, ps[off + k])
                else:
                    v = ps[off + k] & ~gate
                m.d.comb += pse[off + k].eq(v)
            off += Pc
        ps = pse
    return lrn_eff, lab, ps
