"""UART bridge and board top: an AXI4-Stream design (``compile --interface axis``) on real
pins, fed with volleys over a UART and answering with its output packets.

* :class:`UartRx` / :class:`UartTx`: 8N1, ``divisor`` clock cycles per bit, LSB first;
  :class:`UartRx` synchronises ``rx`` through two flip-flops, samples mid-bit and drops a
  byte whose stop bit is low (``frame_err`` sticky).
* :class:`UartBridge`: received bytes -> a :class:`~amaranth.lib.fifo.SyncFIFO` (the design
  is busy for ``WAVE_CYCLES`` while the UART keeps sending; a byte that finds the FIFO full
  is lost and sets the sticky ``overflow``) -> an AXI4-Stream master whose ``tlast`` is set
  on every ``packet``-th byte (the host sends whole input packets back to back; ``rst``
  resynchronises); the AXI4-Stream slave's bytes go out on ``tx`` as they come (its
  ``tready`` is the transmitter's idle).
* :class:`BoardTop`: clock pin, power-on reset (16 cycles), the bridge and the design as a
  Verilog ``Instance`` of the emitted module (``s_axis_*``/``m_axis_*``/``err_*`` ports),
  ``led`` = ``[err_short, err_long, overflow, frame_err, heartbeat]`` (LSB first; boards
  with fewer LEDs take the first ones). A ``register``-weights core gets ``wload_en = 0``
  (it keeps the weights it was compiled with).

A host talks to the board as to ``sim``: write one input packet per volley (``in_bytes``
of ``names.json``'s ``"axis"``: ``N_IN`` bytes, then one per proximal line; packing in
``docs/rtl-contract.md``), read ``N_OUT + 1`` bytes per volley (``docs/boards.md``).
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockDomain, ClockSignal, Const, Instance, Module, ResetSignal, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from .axis import BYTE


def uart_divisor(clk_hz: float, baud: int) -> int:
    """Clock cycles per UART bit; ConfigError when the rate error would exceed 2 %."""
    if baud <= 0 or clk_hz <= 0:
        raise ConfigError(f"baud {baud!r} and clock {clk_hz!r} Hz must be positive", path="baud")
    div = round(clk_hz / baud)
    if div < 4 or abs(clk_hz / div - baud) / baud > 0.02:
        raise ConfigError(f"a {clk_hz / 1e6:g} MHz clock cannot make {baud} baud within 2 % "
                          f"(divisor {div}); pick a lower baud rate", path="baud")
    return div


class UartRx(wiring.Component):
    """``rx`` pin -> byte stream (no backpressure: ``o.valid`` is a one-cycle pulse)."""

    def __init__(self, divisor: int):
        self.divisor = divisor
        super().__init__({"rx": In(1, init=1), "o": Out(stream.Signature(8)),
                          "frame_err": Out(1)})

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        s1 = Signal(init=1)
        s2 = Signal(init=1)
        m.d.sync += [s1.eq(self.rx), s2.eq(s1)]
        cnt = Signal(range(d + d // 2 + 1))
        bit = Signal(range(10))
        sh = Signal(8)
        busy = Signal()
        m.d.sync += self.o.valid.eq(0)
        with m.If(~busy):
            with m.If(~s2):  # start bit: wait 1.5 bits to the middle of bit 0
                m.d.sync += [busy.eq(1), cnt.eq(d + d // 2 - 1), bit.eq(0)]
        with m.Elif(cnt != 0):
            m.d.sync += cnt.eq(cnt - 1)
        with m.Else():
            m.d.sync += cnt.eq(d - 1)
            with m.If(bit < 8):
                m.d.sync += [sh.eq(Cat(sh[1:], s2)), bit.eq(bit + 1)]
            with m.Else():  # the stop bit, sampled mid-bit
                m.d.sync += busy.eq(0)
                with m.If(s2):
                    m.d.sync += [self.o.payload.eq(sh), self.o.valid.eq(1)]
                with m.Else():
                    m.d.sync += self.frame_err.eq(1)
        return m


class UartTx(wiring.Component):
    """Byte stream -> ``tx`` pin (``i.ready`` while idle)."""

    def __init__(self, divisor: int):
        self.divisor = divisor
        super().__init__({"i": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        cnt = Signal(range(d))
        sh = Signal(10, init=0x3FF)  # stop bit, 8 data bits LSB first, start bit
        left = Signal(range(11))
        m.d.comb += [self.i.ready.eq(left == 0), self.tx.eq(sh[0])]
        with m.If(left == 0):
            with m.If(self.i.valid):
                m.d.sync += [sh.eq((1 << 9) | (self.i.payload << 1)), left.eq(10),
                             cnt.eq(d - 1)]
        with m.Elif(cnt != 0):
            m.d.sync += cnt.eq(cnt - 1)
        with m.Else():
            m.d.sync += [sh.eq((sh >> 1) | (1 << 9)), left.eq(left - 1), cnt.eq(d - 1)]
        return m


class UartBridge(wiring.Component):
    """``rx``/``tx`` pins <-> AXI4-Stream (``m``: bytes to the design, ``tlast`` on every
    ``packet``-th byte; ``s``: bytes from the design)."""

    def __init__(self, divisor: int, packet: int, fifo_depth: int = 16):
        if packet < 1:
            raise ConfigError(f"packet length {packet!r} must be >= 1", path="packet")
        self.divisor, self.packet, self.fifo_depth = divisor, packet, fifo_depth
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1),
                          "m": Out(stream.Signature(BYTE)), "s": In(stream.Signature(BYTE)),
                          "overflow": Out(1), "frame_err": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.urx = urx = UartRx(self.divisor)
        m.submodules.utx = utx = UartTx(self.divisor)
        m.submodules.fifo = q = fifo.SyncFIFO(width=8, depth=self.fifo_depth)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx), self.frame_err.eq(urx.frame_err),
                     q.w_data.eq(urx.o.payload), q.w_en.eq(urx.o.valid)]
        with m.If(urx.o.valid & ~q.w_rdy):
            m.d.sync += self.overflow.eq(1)
        n = self.packet
        idx = Signal(range(max(n, 2)))
        m.d.comb += [self.m.valid.eq(q.r_rdy), self.m.payload.data.eq(q.r_data),
                     self.m.payload.last.eq(idx == n - 1), q.r_en.eq(self.m.ready)]
        with m.If(self.m.valid & self.m.ready):
            if n > 1:
                with m.If(idx == n - 1):
                    m.d.sync += idx.eq(0)
                with m.Else():
                    m.d.sync += idx.eq(idx + 1)
        m.d.comb += [utx.i.valid.eq(self.s.valid), utx.i.payload.eq(self.s.payload.data),
                     self.s.ready.eq(utx.i.ready)]
        return m


class BoardTop(wiring.Component):
    """Pins ``clk``, ``uart_rx``, ``uart_tx``, ``led[leds]`` around an emitted AXIS module
    ``core`` (its Verilog goes to the same synthesis)."""

    def __init__(self, core: str, n_in: int, divisor: int, leds: int = 5, reset_cycles=16,
                 wload: tuple[int, int] | None = None):
        self.core, self.n_in, self.divisor, self.wload = core, n_in, divisor, wload
        self.leds, self.reset_cycles = leds, reset_cycles
        members = {"clk": In(1), "uart_rx": In(1, init=1), "uart_tx": Out(1, init=1)}
        if leds:
            members["led"] = Out(leds)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.domains.por = ClockDomain("por", reset_less=True, local=True)
        m.domains.sync = ClockDomain("sync", local=True)
        por = Signal(range(self.reset_cycles + 1))
        m.d.comb += [ClockSignal("por").eq(self.clk), ClockSignal("sync").eq(self.clk),
                     ResetSignal("sync").eq(por != self.reset_cycles)]
        with m.If(por != self.reset_cycles):
            m.d.por += por.eq(por + 1)
        m.submodules.bridge = br = UartBridge(self.divisor, self.n_in)
        err_s, err_l = Signal(), Signal()
        tie = {}
        if self.wload is not None:  # register weights: keep the trained ones (no load port)
            addr, bits = self.wload
            tie = {"i_wload_en": Const(0, 1), "i_wload_addr": Const(0, addr),
                   "i_wload_data": Const(0, bits)}
        m.submodules.core = Instance(
            self.core, **tie,
            i_clk=ClockSignal("sync"), i_rst=ResetSignal("sync"),
            i_s_axis_tdata=br.m.payload.data, i_s_axis_tvalid=br.m.valid,
            o_s_axis_tready=br.m.ready, i_s_axis_tlast=br.m.payload.last,
            o_m_axis_tdata=br.s.payload.data, o_m_axis_tvalid=br.s.valid,
            i_m_axis_tready=br.s.ready, o_m_axis_tlast=br.s.payload.last,
            o_err_short=err_s, o_err_long=err_l)
        m.d.comb += [br.rx.eq(self.uart_rx), self.uart_tx.eq(br.tx)]
        if self.leds:
            beat = Signal(24)
            m.d.sync += beat.eq(beat + 1)
            flags = [err_s, err_l, br.overflow, br.frame_err, beat[-1]]
            for i in range(min(self.leds, len(flags))):
                m.d.comb += self.led[i].eq(flags[i])
        return m


def board_verilog(core: str, n_in: int, divisor: int, name: str = "board_top",
                  leds: int = 5, wload: tuple[int, int] | None = None) -> str:
    """Verilog of :class:`BoardTop` (module ``name``; instantiates module ``core``;
    ``wload`` = (address bits, data bits) of a ``register``-mode core, tied off)."""
    from amaranth.back import verilog

    top = BoardTop(core, n_in, divisor, leds=leds, wload=wload)
    return verilog.convert(top, name=name, emit_src=False, strip_internal_attrs=True)


def board_wrapper(top: dict, board, baud: int, what: str) -> tuple[str, int]:
    """(Verilog of the UART board top ``board_top`` around the AXIS design described by
    ``top`` (``names.json``'s ``"top"``) for ``board`` (:class:`neutnngen.flows.board.Board`),
    UART divisor). ``what`` names the option or key in the errors."""
    if top.get("interface") != "axis":
        raise ConfigError(f"{what} needs a design compiled with --interface axis "
                          f"(hdl.interface = \"axis\"); {top.get('name')!r} has interface "
                          f"{top.get('interface', 'stream')!r}", path=what)
    nb = int(top.get("axis", {}).get("beat_bytes", 1))
    if nb != 1:
        raise ConfigError(f"{what}: the board top's UART bridge is byte-wide; "
                          f"{top.get('name')!r} has {nb}-byte beats (compile it with "
                          "axis_bytes 1)", path=what)
    div = uart_divisor(board.clock_mhz * 1e6, baud)
    wl = (int(top["A"]), int(top["WRES"])) if top.get("weights") == "register" else None
    # the bytes of one input packet: the input lines, then any proximal lines
    n_bytes = int(top.get("axis", {}).get("in_bytes", top["N_IN"]))
    return board_verilog(top["name"], n_bytes, div, name="board_top",
                         leds=board.leds, wload=wl), div
