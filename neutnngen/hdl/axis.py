"""AXI4-Stream top level: the generated core (:class:`~neutnngen.hdl.top.Top`) behind an
AXI4-Stream slave (input volleys) and an AXI4-Stream master (output volleys and the
winner), for hosts, DMA engines and the UART bridge (:mod:`neutnngen.hdl.uart`). The
packets below are bytes; a top of ``axis_bytes = N`` carries N of them per beat (``tdata``
``8 N`` bits, byte ``i`` in bits ``[8i+7:8i]``, the last beat padded:
:class:`AxisToVolley` takes any N, :class:`WideVolleyToAxis` sends N > 1, :func:`to_beats`);
N = 1 is the byte top of :class:`AxisToVolley` / :class:`VolleyToAxis`.

Packing (``docs/rtl-contract.md``, "AXI4-Stream top"):

* **input packet** = one volley = ``N_IN + N_PROX`` bytes, byte ``j < N_IN`` = input line
  ``j`` (line 0 first): bits ``[TB_IN-1:0]`` its spike time, bit 7 its spike bit (0 = NONE,
  the time is then ignored), the bits in between ignored; then byte ``N_IN + k`` = line
  ``k`` of the core's proximal port (``prox_time``/``prox_spike``, in its order), the same
  way, or for an ``enable`` line bit 7 = the enable bit (its time ignored);
  ``s_axis_tlast`` set on the last byte and on no other. A packet whose ``tlast`` comes
  early (*short*) or that has no ``tlast`` on its last byte (*long*: then every byte up to
  and including the next ``tlast`` is dropped) is discarded whole and sets the sticky
  ``err_short`` / ``err_long`` flag (cleared by ``rst`` only); no output packet is sent for
  it.
* **output packet** = ``N_OUT + 1`` bytes: byte ``i < N_OUT`` = output neuron ``i``
  (bits ``[TB_OUT-1:0]`` its time, bit 7 its spike bit), then the *winner* byte: the index
  of the neuron with the earliest output time (the lowest index on ties), ``0xFF`` when no
  neuron fired; ``m_axis_tlast`` on the winner byte.

Both sides have full backpressure: ``s_axis_tready`` is low while a received volley waits
for the core; the output packet holds every byte while ``m_axis_tready`` is low, and the
core then holds its next result (docs/rtl-contract.md rule 4). Supported: ``hardwired`` or
``register`` weights (``wload_*`` pass through), ``TB_IN, TB_OUT <= 7`` and
``N_OUT <= 255``; anything else is a :class:`ConfigError`.

The two converters are ``amaranth.lib.stream`` components on their own
(:class:`AxisToVolley`, :class:`VolleyToAxis`) with the byte stream payload
:data:`BYTE` (``data``, ``last``).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import AXIS_BYTES
from ..errors import ConfigError
from .plan import Plan
from .sim import proximal_arrays
from .top import Top

#: payload of an 8-bit AXI4-Stream as an ``amaranth.lib.stream`` (tdata, tlast)
BYTE = data.StructLayout({"data": 8, "last": 1})
NO_WINNER = 0xFF
INTERFACES = ("stream", "axis")



def check_axis(plan: Plan, axis_bytes: int = 1) -> None:
    """ConfigError unless ``plan`` fits the byte packing above in ``axis_bytes``-byte beats."""
    if axis_bytes not in AXIS_BYTES:
        raise ConfigError(f"axis_bytes={axis_bytes!r}; accepted: "
                          f"{', '.join(map(str, AXIS_BYTES))} (bytes per beat, tdata = 8 x that)",
                          path="hdl.axis_bytes")
    what = None
    if plan.weights == "learn":
        what = "weights='learn' (learning inputs and weight read-out have no AXIS packing)"
    elif plan.TB_IN > 7:
        what = f"input times of {plan.TB_IN} bits (at most 7 fit beside the spike bit)"
    elif plan.TB_OUT > 7:
        what = f"output times of {plan.TB_OUT} bits (at most 7 fit beside the spike bit)"
    elif plan.net.outputs > 255:
        what = f"{plan.net.outputs} outputs (the winner byte holds indices 0 .. 254)"
    if what is not None:
        raise ConfigError(f"hdl interface 'axis' does not support {what}; use interface "
                          "'stream'", path="hdl.interface")


class AxisToVolley(wiring.Component):
    """Beat stream -> volley stream (``time``: ``lines*tb``, ``spike``: ``lines``). A beat
    carries ``nb`` bytes (``tdata`` = ``8 * nb`` bits, byte ``i`` in bits ``[8i+7:8i]``;
    1, the default, is the byte stream of :data:`BYTE`): a packet is ``ceil(lines / nb)``
    beats, the last one padded with ignored bytes. Beats shift into a register (no per-line
    demultiplexer); the volley is offered once exactly that many beats ended with ``last``.
    ``err_short``/``err_long`` are sticky."""

    def __init__(self, lines: int, tb: int, nb: int = 1):
        self.lines, self.tb, self.nb = lines, tb, nb
        self.beats = -(-lines // nb)
        vol = data.StructLayout({"time": lines * tb, "spike": lines})
        beat = data.StructLayout({"data": 8 * nb, "last": 1})
        super().__init__({"i": In(stream.Signature(beat)), "o": Out(stream.Signature(vol)),
                          "err_short": Out(1), "err_long": Out(1)})

    def elaborate(self, platform):
        m = Module()
        n, tb, nb, k = self.lines, self.tb, self.nb, self.beats
        times = Signal(k * nb * tb)
        spikes = Signal(k * nb)
        idx = Signal(range(max(k, 2)))
        full = Signal()
        drop = Signal()
        b = self.i.payload
        padded = k * nb != n  # the register holds the last beat's padding too
        m.d.comb += [self.i.ready.eq(~full), self.o.valid.eq(full),
                     self.o.payload.time.eq(times[:n * tb] if padded else times),
                     self.o.payload.spike.eq(spikes[:n] if padded else spikes)]
        if nb == 1:
            bt, bs = b.data[:tb], b.data[7]
        else:
            bt = Cat(*[b.data[8 * i:8 * i + tb] for i in range(nb)])
            bs = Cat(*[b.data[8 * i + 7] for i in range(nb)])
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += full.eq(0)
        with m.If(self.i.valid & self.i.ready):
            with m.If(drop):
                with m.If(b.last):
                    m.d.sync += drop.eq(0)
            with m.Else():
                # beat j ends at the bottom after the packet's k beats: shift in from the top
                m.d.sync += [times.eq(Cat(times[nb * tb:], bt)),
                             spikes.eq(Cat(spikes[nb:], bs))]
                at_end = idx == k - 1
                with m.If(at_end | b.last):
                    m.d.sync += idx.eq(0)
                with m.Else():
                    m.d.sync += idx.eq(idx + 1)
                with m.If(b.last & at_end):
                    m.d.sync += full.eq(1)
                with m.Elif(b.last):
                    m.d.sync += self.err_short.eq(1)
                with m.Elif(at_end):
                    m.d.sync += [self.err_long.eq(1), drop.eq(1)]
        return m


class WideVolleyToAxis(wiring.Component):
    """``VolleyToAxis`` for ``nb``-byte beats: the ``lines + 1`` bytes (one per line, then
    the winner) in ``ceil((lines + 1) / nb)`` beats, the last padded with zero bytes and
    carrying ``last``. The winner (earliest time, lowest index on ties) is computed from the
    registered volley by a comparison tree, since a beat can carry it beside line bytes."""

    def __init__(self, lines: int, tb: int, nb: int):
        self.lines, self.tb, self.nb = lines, tb, nb
        self.beats = -(-(lines + 1) // nb)
        vol = data.StructLayout({"time": lines * tb, "spike": lines})
        beat = data.StructLayout({"data": 8 * nb, "last": 1})
        super().__init__({"i": In(stream.Signature(vol)), "o": Out(stream.Signature(beat))})

    def elaborate(self, platform):
        m = Module()
        n, tb, nb, k = self.lines, self.tb, self.nb, self.beats
        times = Signal(n * tb)
        spikes = Signal(n)
        idx = Signal(range(max(k, 2)))
        full = Signal()
        # the winner: (fired, time, index) reduced pairwise, the left one kept on ties
        cands = [(spikes[i], times[i * tb:(i + 1) * tb], Const(i, 8)) for i in range(n)]
        while len(cands) > 1:
            nxt = []
            for a, c in zip(cands[::2], cands[1::2], strict=False):
                take_c = c[0] & (~a[0] | (c[1] < a[1]))
                nxt.append((a[0] | c[0], Mux(take_c, c[1], a[1]), Mux(take_c, c[2], a[2])))
            if len(cands) % 2:
                nxt.append(cands[-1])
            cands = nxt
        found, _, best = cands[0]
        win = Signal(8)
        m.d.comb += win.eq(Mux(found, best, NO_WINNER))
        line_bytes = [Cat(times[i * tb:(i + 1) * tb], Const(0, 7 - tb), spikes[i])
                      for i in range(n)]
        pad = [Const(0, 8)] * (k * nb - n - 1)
        packet = Cat(*line_bytes, win, *pad)
        with m.Switch(idx):
            for j in range(k):
                with m.Case(j):
                    m.d.comb += self.o.payload.data.eq(packet[8 * nb * j:8 * nb * (j + 1)])
        m.d.comb += [self.i.ready.eq(~full), self.o.valid.eq(full),
                     self.o.payload.last.eq(idx == k - 1)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [times.eq(self.i.payload.time), spikes.eq(self.i.payload.spike),
                         idx.eq(0), full.eq(1)]
        with m.If(self.o.valid & self.o.ready):
            with m.If(idx == k - 1):
                m.d.sync += full.eq(0)
            with m.Else():
                m.d.sync += idx.eq(idx + 1)
        return m


class VolleyBuffer(wiring.Component):
    """A one-volley register between the packet receiver and the core (``axis_buffer``):
    it takes a received volley as soon as it is empty, so the receiver takes the next
    packet while the core still reads this one during its wave."""

    def __init__(self, lines: int, tb: int):
        vol = data.StructLayout({"time": lines * tb, "spike": lines})
        super().__init__({"i": In(stream.Signature(vol)), "o": Out(stream.Signature(vol))})

    def elaborate(self, platform):
        m = Module()
        full = Signal()
        m.d.comb += [self.o.valid.eq(full), self.i.ready.eq(~full)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += full.eq(0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.payload.eq(self.i.payload), full.eq(1)]
        return m


class VolleyToAxis(wiring.Component):
    """Volley stream -> byte stream: one byte per line (time, spike bit 7), then the winner
    byte with ``last``. The winner is found while the line bytes go out (a running minimum:
    strictly earlier wins, so ties keep the lowest index)."""

    def __init__(self, lines: int, tb: int):
        self.lines, self.tb = lines, tb
        vol = data.StructLayout({"time": lines * tb, "spike": lines})
        super().__init__({"i": In(stream.Signature(vol)), "o": Out(stream.Signature(BYTE))})

    def elaborate(self, platform):
        m = Module()
        n, tb = self.lines, self.tb
        times = Signal(n * tb)
        spikes = Signal(n)
        idx = Signal(range(n + 1))
        full = Signal()
        found = Signal()
        best_t = Signal(tb)
        best_i = Signal(8)
        t0, s0 = times[:tb], spikes[0]
        on_winner = idx == n
        m.d.comb += [
            self.i.ready.eq(~full),
            self.o.valid.eq(full),
            self.o.payload.data.eq(Mux(on_winner, Mux(found, best_i, NO_WINNER),
                                       Cat(t0, Const(0, 7 - tb), s0))),
            self.o.payload.last.eq(on_winner),
        ]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [times.eq(self.i.payload.time), spikes.eq(self.i.payload.spike),
                         idx.eq(0), full.eq(1), found.eq(0)]
        with m.If(self.o.valid & self.o.ready):
            with m.If(on_winner):
                m.d.sync += full.eq(0)
            with m.Else():
                m.d.sync += [times.eq(times >> tb), spikes.eq(spikes >> 1), idx.eq(idx + 1)]
                with m.If(s0 & (~found | (t0 < best_t))):
                    m.d.sync += [found.eq(1), best_t.eq(t0), best_i.eq(idx)]
        return m


class AxisTop(wiring.Component):
    """The core behind AXI4-Stream ports: ``s_axis_tdata[8 * axis_bytes]``, ``s_axis_tvalid``,
    ``s_axis_tready``, ``s_axis_tlast``, ``m_axis_tdata[8 * axis_bytes]``, ``m_axis_tvalid``,
    ``m_axis_tready``, ``m_axis_tlast``, sticky ``err_short``/``err_long``, and in
    ``register`` mode ``wload_en``/``wload_addr``/``wload_data`` of the core. The core is
    instance ``core`` (its names.json signals are under ``core.``)."""

    _MustUse__silence = True

    def __init__(self, plan: Plan, axis_bytes: int = 1, axis_buffer: bool = False):
        check_axis(plan, axis_bytes)
        self.plan, self.nb, self.buffered = plan, axis_bytes, bool(axis_buffer)
        w = 8 * axis_bytes
        members = {
            "s_axis_tdata": In(w), "s_axis_tvalid": In(1), "s_axis_tready": Out(1),
            "s_axis_tlast": In(1),
            "m_axis_tdata": Out(w), "m_axis_tvalid": Out(1), "m_axis_tready": In(1),
            "m_axis_tlast": Out(1),
            "err_short": Out(1), "err_long": Out(1),
        }
        if plan.weights == "register":
            members.update({"wload_en": In(1), "wload_addr": In(plan.A),
                            "wload_data": In(plan.WB)})
        super().__init__(members)
        self.info = dict(plan.info(), interface="axis",
                         axis=axis_info(plan, axis_bytes, self.buffered))

    def elaborate(self, platform):
        m = Module()
        p = self.plan
        m.submodules.core = core = Top(p)
        n_in = p.net.inputs
        m.submodules.rx = rx = AxisToVolley(n_in + p.N_PROX, p.TB_IN, self.nb)
        m.submodules.tx = tx = (VolleyToAxis(p.net.outputs, p.TB_OUT) if self.nb == 1 else
                                WideVolleyToAxis(p.net.outputs, p.TB_OUT, self.nb))
        src = rx.o  # the volley the core reads: the receiver's, or the buffer's copy
        if self.buffered:
            m.submodules.buf = buf = VolleyBuffer(n_in + p.N_PROX, p.TB_IN)
            wiring.connect(m, rx.o, buf.i)
            src = buf.o
        m.d.comb += [
            rx.i.valid.eq(self.s_axis_tvalid), rx.i.payload.data.eq(self.s_axis_tdata),
            rx.i.payload.last.eq(self.s_axis_tlast), self.s_axis_tready.eq(rx.i.ready),
            self.err_short.eq(rx.err_short), self.err_long.eq(rx.err_long),
            core.in_valid.eq(src.valid), src.ready.eq(core.in_ready),
            core.in_time.eq(src.payload.time[:n_in * p.TB_IN]),
            core.in_spike.eq(src.payload.spike[:n_in]),
            tx.i.valid.eq(core.out_valid), core.out_ready.eq(tx.i.ready),
            tx.i.payload.time.eq(core.out_time), tx.i.payload.spike.eq(core.out_spike),
            self.m_axis_tvalid.eq(tx.o.valid), self.m_axis_tdata.eq(tx.o.payload.data),
            self.m_axis_tlast.eq(tx.o.payload.last), tx.o.ready.eq(self.m_axis_tready),
        ]
        if p.N_PROX:  # the proximal lines follow the input lines in the packet
            m.d.comb += [core.prox_time.eq(src.payload.time[n_in * p.TB_IN:]),
                         core.prox_spike.eq(src.payload.spike[n_in:])]
        if p.weights == "register":
            m.d.comb += [core.wload_en.eq(self.wload_en), core.wload_addr.eq(self.wload_addr),
                         core.wload_data.eq(self.wload_data)]
        return m


def axis_info(plan: Plan, axis_bytes: int = 1, buffered: bool = False) -> dict:
    """The ``"axis"`` entry of ``names.json`` (packing of both packets)."""
    n_in, n_out = plan.net.inputs + plan.N_PROX, plan.net.outputs + 1
    wide = {} if axis_bytes == 1 else {  # a byte design's entry stays as it was
        "beat_bytes": axis_bytes, "in_beats": -(-n_in // axis_bytes),
        "out_beats": -(-n_out // axis_bytes)}
    if buffered:
        wide["buffered"] = True
    return {"tdata_bits": 8 * axis_bytes, **wide, "in_bytes": plan.net.inputs + plan.N_PROX,
            "proximal_bytes": plan.N_PROX,
            # bytes (packet positions) that carry an enable bit, not a spike time
            "enable_bytes": [plan.net.inputs + k for k, e in enumerate(plan.proximal_enable)
                             if e],
            "in_time_bits": plan.TB_IN,
            "out_bytes": plan.net.outputs + 1, "out_time_bits": plan.TB_OUT,
            "spike_bit": 7, "no_winner": NO_WINNER, "core": "core"}


def pack_volley(x, tb: int, prox=None, enable=None) -> list[int]:
    """Bytes of one input packet: the volley ``x`` (NONE = negative), then the proximal
    lines ``prox`` (times, NONE = negative; where ``enable[k]`` is set, line ``k`` is an
    enable bit: nonzero = set, as the interpreter reads it)."""
    def byte(v) -> int:
        return 0 if int(v) < 0 else (0x80 | (int(v) & ((1 << tb) - 1)))

    out = [byte(v) for v in x]
    if prox is not None:
        en = [False] * len(prox) if enable is None else list(enable)
        if len(en) != len(prox):
            raise ConfigError(f"enable has {len(en)} flags for {len(prox)} proximal lines")
        out += [(0x80 if int(v) != 0 else 0) if e else byte(v) for v, e in
                zip(prox, en, strict=True)]
    return out


def input_packets(plan: Plan, X, prox=None) -> list[list[int]]:
    """The input packet (bytes) of every volley of ``X[N, N_IN]`` with the proximal lines
    ``prox`` as :func:`neutnngen.hdl.simulate` takes them (``None``: enable lines set, the
    other proximal lines silent; ``{layer: [N, lines]}``; or ``[N, N_PROX]``)."""
    X = np.asarray(X)
    flat = np.zeros((len(X), plan.N_PROX), dtype=np.int64)
    for ls, a in zip(plan.layers, proximal_arrays(plan, len(X), prox), strict=True):
        flat[:, ls.prox_offset:ls.prox_offset + ls.prox_lines] = a
    en = plan.proximal_enable
    return [pack_volley(x, plan.TB_IN, flat[n] if plan.N_PROX else None, en)
            for n, x in enumerate(X)]


def to_beats(packet: list[int], axis_bytes: int) -> list[int]:
    """A packet's bytes as ``tdata`` words of ``axis_bytes`` bytes (byte ``i`` of a beat in
    bits ``[8i+7:8i]``; the last beat padded with zero bytes)."""
    return [sum(b << (8 * i) for i, b in enumerate(packet[k:k + axis_bytes]))
            for k in range(0, len(packet), axis_bytes)]


def from_beats(words: list[int], axis_bytes: int, n_bytes: int) -> list[int]:
    """The first ``n_bytes`` bytes of a packet received as ``tdata`` words."""
    out = [(w >> (8 * i)) & 0xFF for w in words for i in range(axis_bytes)]
    return out[:n_bytes]


def unpack_output(packet: list[int], tb: int) -> tuple[list[int], int]:
    """(output times, NONE = -1; winner index or -1) of one output packet."""
    times = [(b & ((1 << tb) - 1)) if b & 0x80 else -1 for b in packet[:-1]]
    return times, (-1 if packet[-1] == NO_WINNER else packet[-1])


def winner(times) -> int:
    """Reference winner of an output volley: earliest time, lowest index on ties, -1 none."""
    best, idx = None, -1
    for i, t in enumerate(times):
        if t >= 0 and (best is None or t < best):
            best, idx = t, i
    return idx
