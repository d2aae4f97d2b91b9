"""An I/O harness: measure a core whose ports need more pins than the FPGA has.

Generated neuromorphic cores have very wide ports (a 150-input column has ``in_time[449:0]``
and ``in_spike[149:0]``), far more than an iCE40 or ECP5 package has pins, so placing the
core directly fails with the I/O over capacity. In a real system those buses come from
on-chip registers. :func:`io_harness` writes a wrapper module that keeps every port of the
core on-chip:

* every core input bit except the clock and the reset is driven by one long shift register
  fed from pin ``sin`` (it shifts every cycle);
* every core output bit is captured into an output register while ``sload`` is high and
  shifted out to pin ``sout`` otherwise.

So no core logic is optimised away, every core I/O path is register to register, and the
wrapper has five pins: ``clk``, ``rst``, ``sin``, ``sload``, ``sout``.

The core's ports come from :func:`neutnngen.flows.verilog_ports.parse_ports` (re-exported
here with :class:`Port`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neutnngen.errors import ConfigError
from neutnngen.flows.verilog_ports import _PLAIN, Port, parse_ports
from neutnngen.flows.yosys import sources

__all__ = ["HARNESS_FILE", "Port", "harness_sources", "io_harness", "parse_ports"]

def _ref(name: str) -> str:
    """``name`` as a Verilog identifier (escaped when it is not a plain one)."""
    return name if _PLAIN.match(name) else f"\\{name} "


def io_harness(
    verilog: str | Mapping[str, str], top: str, clock: str = "clk", reset: str = "rst"
) -> tuple[str, str, dict[str, Any]]:
    """Wrap ``top`` in a module ``<top>_io_harness`` with pins ``clk``, ``rst``, ``sin``,
    ``sload`` and ``sout`` only (see the module docstring).

    ``clock`` and ``reset`` name the core's clock and reset ports; they are wired to the
    harness's ``clk`` and ``rst`` pins when the core has them. Every other input bit comes from
    the input shift register, every output bit goes to the output register. Returns
    ``(harness_verilog, harness_top, info)`` with ``info`` = ``{"in_bits", "out_bits",
    "harness_flip_flops"}`` (``in_bits + out_bits``). The text is a function of the ports only.
    """
    ports = parse_ports(verilog, top)
    harness_top = f"{top}_io_harness"
    ins: list[Port] = []
    outs: list[Port] = []
    conns: list[str] = []
    for port in ports:
        if port.direction == "inout":
            raise ConfigError(
                f"inout port {port.name!r} cannot be driven by the I/O harness",
                path=top,
            )
        if port.name in (clock, reset):
            if port.direction != "input" or port.width != 1:
                raise ConfigError(
                    f"{port.name!r} must be a 1-bit input to be the harness's "
                    f"{'clock' if port.name == clock else 'reset'}",
                    path=top,
                )
            pin = "clk" if port.name == clock else "rst"
            conns.append(f".{_ref(port.name)}({pin})")
        elif port.direction == "input":
            ins.append(port)
        else:
            outs.append(port)
    in_bits = sum(p.width for p in ins)
    out_bits = sum(p.width for p in outs)
    if out_bits == 0:
        raise ConfigError(
            "the module has no outputs: the harness would have nothing to observe and "
            "synthesis would remove the whole core",
            path=top,
        )
    lo = 0
    for port in ins:
        conns.append(f".{_ref(port.name)}(in_sr[{lo + port.width - 1}:{lo}])")
        lo += port.width
    lo = 0
    for port in outs:
        conns.append(f".{_ref(port.name)}(core_out[{lo + port.width - 1}:{lo}])")
        lo += port.width

    lines = [
        f"// I/O harness for {top}: {in_bits} input bits from a shift register fed by sin,",
        f"// {out_bits} output bits captured while sload is high, shifted out to sout otherwise.",
        f"module {harness_top}(clk, rst, sin, sload, sout);",
        "  input clk;",
        "  input rst;",
        "  input sin;",
        "  input sload;",
        "  output sout;",
    ]
    if in_bits:
        lines.append(f"  reg [{in_bits - 1}:0] in_sr;")
    lines += [f"  reg [{out_bits - 1}:0] out_sr;", f"  wire [{out_bits - 1}:0] core_out;"]
    if in_bits == 1:
        lines.append("  always @(posedge clk) in_sr <= sin;")
    elif in_bits > 1:
        lines.append(f"  always @(posedge clk) in_sr <= {{in_sr[{in_bits - 2}:0], sin}};")
    if out_bits == 1:
        lines.append("  always @(posedge clk) out_sr <= sload ? core_out : 1'b0;")
    else:
        lines.append(
            "  always @(posedge clk) "
            f"out_sr <= sload ? core_out : {{out_sr[{out_bits - 2}:0], 1'b0}};"
        )
    lines.append(f"  assign sout = out_sr[{out_bits - 1}];")
    lines.append(f"  {_ref(top)} core (")
    lines += [f"    {c}," for c in conns[:-1]] + [f"    {conns[-1]}"]
    lines += ["  );", "endmodule", ""]
    info = {"in_bits": in_bits, "out_bits": out_bits, "harness_flip_flops": in_bits + out_bits}
    return "\n".join(lines), harness_top, info


HARNESS_FILE = "io_harness.v"


def harness_sources(
    verilog: str | Mapping[str, str], top: str, clock: str = "clk", reset: str = "rst"
) -> tuple[dict[str, str], str, dict[str, Any]]:
    """The core's sources plus the harness file (``io_harness.v``, or ``io_harness_N.v``
    when that name is taken), the harness top and the :func:`io_harness` info."""
    files = sources(verilog)
    text, harness_top, info = io_harness(files, top, clock, reset)
    name, n = HARNESS_FILE, 1
    while name in files:
        name, n = f"io_harness_{n}.v", n + 1
    return {**files, name: text}, harness_top, info
