"""The output end of a layer stage, shared by the layer architectures: the output conversion
(fused transforms such as ``retime``, cut to the stream's time bits; the last layer's silent
neurons read time 0) and the output register with the sidebands of later layers."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value

from ..kinds import hdl_kind
from ..plan import LayerSpec


def output_register(m: Module, p, spec: LayerSpec, stage, times: list[Value], done: Value,
                    ip, op) -> None:
    """The output conversion of a layer stage (fused transforms such as ``retime``, cut to
    ``out_bits``; the last layer's silent neurons read time 0) and its output register,
    loaded with the volley and the sidebands of later layers when ``done``."""
    bo = stage.beat_out
    tb = p.TB_IN
    P = spec.prox_lines
    Q = spec.outputs
    spikes = Signal(Q, name="spikes")
    conv = Signal(Q * p.B, name="t_raw")
    for i, t in enumerate(times):
        m.d.comb += [spikes[i].eq(t != p.NONE), conv[i * p.B:(i + 1) * p.B].eq(t)]
    wo = spec.out_bits
    vals = [conv[i * p.B:(i + 1) * p.B] for i in range(Q)]
    for st in spec.post:
        fn = hdl_kind(st.kind).transform
        nxt = []
        for i, v in enumerate(vals):
            r = Signal(tb, name=f"t_{st.kind}{st.position}_{i}")
            m.d.comb += r.eq(fn(m, v, st.spec))
            nxt.append(r)
        vals = nxt
    out = Signal(Q * wo, name="t_out")
    for i, v in enumerate(vals):
        v = v[:wo]
        if spec.last:
            v = Mux(spikes[i], v, 0)
        m.d.comb += out[i * wo:(i + 1) * wo].eq(v)
    with m.If(done):
        m.d.sync += [op.time.eq(out), op.spike.eq(spikes)]
        if bo.prox:  # the later layers' proximal lines travel with the wave
            m.d.sync += [op.prox_time.eq(ip.prox_time[P * tb:]),
                         op.prox_spike.eq(ip.prox_spike[P:])]
        if bo.learn:
            m.d.sync += op.learn_en.eq(ip.learn_en)
        if bo.label_bits:
            m.d.sync += [op.label.eq(ip.label), op.label_valid.eq(ip.label_valid)]
        if bo.mu_bits:
            m.d.sync += op.mu_shift.eq(ip.mu_shift)
