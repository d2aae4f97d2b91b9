"""Bounded all-inputs proof of one wave: the generated RTL equals a reference circuit built
straight from the IR, for *every* input volley (docs/verification.md, "Bounded proof").

:func:`reference_circuit` writes docs/model.md §§2-4 as one combinational circuit, with none
of the generator's machinery (no successive approximation, no schedule, no streams): per
segment and time step the potential ``V(t) = sum_j r(t, x_j, w_j)`` as a plain sum of the
responses, the first step with ``V(t) >= theta``, the earliest segment of each dendrite and
dendrite of each neuron, then the column inhibition with ties to the lowest index. Its ports
are the top's ``in_time``/``in_spike`` and ``out_time``/``out_spike`` (silent neurons read
time 0, as the top writes them).

:func:`prove_one_wave` puts both in a miter: the volley is a free input sampled once, the
design is reset, offered that volley from the next cycle on with ``out_ready`` high, and
every output beat it produces within the bound must equal the reference's; the first beat
must come by ``LATENCY + 1`` cycles after the offer. Yosys's built-in SAT solver (``sat
-seq N -prove-asserts``, no external solver) checks this for all ``2**(N_IN * (TB_IN + 1))``
volleys over ``N = LATENCY + 3`` cycles: ``proven`` means no volley and no cycle within the
bound breaks it (a bounded proof of one wave from reset, not of every later wave),
``failed`` comes with the counterexample volley, ``unknown`` with the reason (timeout,
unsupported network).

Supported: one ``layer`` stage without proximal lines, ``tie = lowest``, ``hardwired`` or
``register`` weights (the load port held idle), every layer architecture. The solver's
time grows with the unrolled cycles and the datapath width: the serial architecture's
``LATENCY`` is ``B * (J + c)`` cycles, the pipelined one's a handful.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..ir.nodes import Network
from .formal import run_yosys, yosys_error


def _check(net: Network, info: dict) -> None:
    stages = list(net.stages)
    layers = net.layers
    if len(stages) != 1 or len(layers) != 1:
        raise ConfigError(f"the bounded proof covers one layer stage; network {net.name!r} has "
                          f"{len(stages)} stages ({len(layers)} layers)")
    for col in layers[0].columns:
        if col.proximal_inputs:
            raise ConfigError(f"column {col.name!r} has proximal lines; the bounded proof "
                              "covers columns without them")
        if getattr(col, "tie", "lowest") != "lowest":
            raise ConfigError(f"column {col.name!r}: tie={col.tie!r}; the bounded proof's "
                              "reference breaks ties by the lowest index (tie='lowest')")
    if info.get("weights") not in ("hardwired", "register"):
        raise ConfigError(f"weights={info.get('weights')!r}; the bounded proof covers "
                          "hardwired and register designs")


def reference_circuit(net: Network, tb_out: int):
    """The combinational reference of a one-layer network (module docstring) as an Amaranth
    elaboratable with ports ``in_time``, ``in_spike``, ``out_time``, ``out_spike``."""
    from amaranth.hdl import Const, Elaboratable, Module, Mux, Signal

    layer = net.layers[0]
    ts = net.time
    tb = ts.timeres
    n_in, n_out = net.inputs, layer.outputs

    class Reference(Elaboratable):
        def __init__(self):
            self.in_time = Signal(n_in * tb)
            self.in_spike = Signal(n_in)
            self.out_time = Signal(n_out * tb_out)
            self.out_spike = Signal(n_out)

        def elaborate(self, platform):
            m = Module()
            outs = []  # (time or None = silent, valid) per output neuron, column by column
            for ci, col in enumerate(layer.columns):
                T = col.wave_length(ts)
                NONE_T = T  # silent: larger than every valid time
                tw = max(1, T.bit_length())
                lines = [int(j) for j in layer.column_inputs(ci)]
                w = col.distal.weights
                mask = col.distal.mask
                theta = col.theta
                neuron_t = []
                for i in range(col.neurons):
                    dend_t = []
                    for d in range(col.dendrites):
                        seg_t = []
                        for s in range(col.segments):
                            z = Const(NONE_T, tw)
                            for t in reversed(range(T)):
                                terms = []
                                for k, j in enumerate(lines):
                                    wk = int(w[i, d, s, k])
                                    if not mask[i, d, s, k] or wk == 0:
                                        continue
                                    x = self.in_time[j * tb:(j + 1) * tb]
                                    sp = self.in_spike[j]
                                    if ts.response == "snl":
                                        terms.append(Mux(sp & (x <= t), wk, 0))
                                    else:  # min(max(t + 1 - x, 0), w)
                                        ramp = Mux(t + 1 - x >= wk, wk, t + 1 - x)
                                        terms.append(Mux(sp & (x <= t), ramp, 0))
                                v = sum(terms, Const(0, 1))
                                z = Mux(v >= int(theta[i, d, s]), t, z)
                            seg_t.append(z)
                        dend_t.append(_min(seg_t))
                    neuron_t.append(_min(dend_t))
                keep = _inhibit(neuron_t, col.column_inhibition, NONE_T)
                for t_i, k_i in zip(neuron_t, keep, strict=True):
                    outs.append((t_i, k_i))
            for i, (t_i, k_i) in enumerate(outs):
                m.d.comb += [self.out_spike[i].eq(k_i),
                             self.out_time[i * tb_out:(i + 1) * tb_out].eq(Mux(k_i, t_i, 0))]
            return m

    return Reference()


def _min(vals: list) -> Any:
    from amaranth.hdl import Mux

    out = vals[0]
    for v in vals[1:]:
        out = Mux(v < out, v, out)
    return out


def _inhibit(times: list, inh, none_t: int) -> list:
    """Keep bits of docs/model.md §4 with ties to the lowest index: ``none`` every valid
    neuron, ``twta`` every one at the earliest time, ``wta1``/``kwta(k)`` the ``k`` first by
    (time, index)."""
    from amaranth.hdl import Const

    n = len(times)
    valid = [t != none_t for t in times]
    if inh.policy == "none":
        return valid
    if inh.policy == "twta":
        earliest = _min(list(times))
        return [valid[i] & (times[i] == earliest) for i in range(n)]
    k = 1 if inh.policy == "wta1" else inh.k
    keep = []
    for i in range(n):
        ahead = [(times[j] <= times[i]) if j < i else (times[j] < times[i])
                 for j in range(n) if j != i]
        rank = sum(ahead, Const(0, 1)) if ahead else Const(0, 1)
        keep.append(valid[i] & (rank < k))
    return keep


def _miter(info: dict, latency: int) -> str:
    n_in, tb, n_out, tbo = info["N_IN"], info["TB_IN"], info["N_OUT"], info["TB_OUT"]
    top = info["name"]
    load = ""
    if info.get("weights") == "register":
        load = (f"    .wload_en(1'b0), .wload_addr({info['A']}'d0), "
                f".wload_data({info['WRES']}'d0),\n")
    limit = latency + 1
    return f"""module neutnngen_miter(input clk, input [{n_in * tb - 1}:0] vt_in,
                       input [{n_in - 1}:0] vs_in);
  reg [15:0] cyc = 16'd0;
  reg [{n_in * tb - 1}:0] vt = 0;
  reg [{n_in - 1}:0] vs = 0;
  reg seen = 1'b0;
  wire rst = cyc == 16'd0;
  wire out_valid, in_ready;
  wire [{n_out * tbo - 1}:0] out_time, ref_time;
  wire [{n_out - 1}:0] out_spike, ref_spike;
  always @(posedge clk) begin
    if (cyc != 16'hffff) cyc <= cyc + 16'd1;
    if (rst) begin vt <= vt_in; vs <= vs_in; end
    if (!rst && out_valid) seen <= 1'b1;
  end
  {top} dut(.clk(clk), .rst(rst), .in_valid(!rst), .in_ready(in_ready),
    .in_time(vt), .in_spike(vs),
{load}    .out_valid(out_valid), .out_ready(1'b1), .out_time(out_time), .out_spike(out_spike));
  neutnngen_ref ref(.in_time(vt), .in_spike(vs), .out_time(ref_time), .out_spike(ref_spike));
  always @(posedge clk) begin
    if (!rst && out_valid) begin
      assert(out_spike == ref_spike);
      assert(out_time == ref_time);
    end
    if (cyc == 16'd{limit + 1}) assert(seen || out_valid);
  end
endmodule
"""


def prove_one_wave(net: Network, verilog: str | Path, names: str | Path, workdir: str | Path,
                   timeout: float = 600) -> dict[str, Any]:
    """``{"status": proven|failed|unknown, "depth", "inputs_bits", "seconds", "reason",
    "counterexample" (failed: the volley, -1 = silent line), "log"}`` (module docstring)."""
    from amaranth.back import verilog as averilog

    info = json.loads(Path(names).read_text())["top"]
    _check(net, info)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    latency = int(info["LATENCY"])
    depth = latency + 3
    ref = reference_circuit(net, int(info["TB_OUT"]))
    (work / "ref.v").write_text(averilog.convert(
        ref, name="neutnngen_ref",
        ports=[ref.in_time, ref.in_spike, ref.out_time, ref.out_spike]))
    shutil.copyfile(verilog, work / "dut.v")
    (work / "miter.sv").write_text(_miter(info, latency))
    (work / "prove.ys").write_text("\n".join([
        "read_verilog dut.v", "read_verilog ref.v", "read_verilog -formal -sv miter.sv",
        "prep -top neutnngen_miter", "flatten", "memory_map", "opt_clean", "async2sync",
        "dffunmap",
        f"tee -o sat.txt sat -seq {depth} -prove-asserts -set-init-zero -show-inputs "
        "-verify", ""]))
    bits = int(info["N_IN"]) * (int(info["TB_IN"]) + 1)
    out: dict[str, Any] = {"depth": depth, "latency": latency, "inputs_bits": bits,
                           "log": str(work / "prove.log"), "solver": "yosys sat (built-in)"}
    run = run_yosys(work, "prove.ys", "prove.log", timeout, "bounded proof RTL vs reference",
                    out)
    if run is None:
        return out
    text = (work / "sat.txt").read_text(errors="replace") if (work / "sat.txt").exists() else ""
    log = (work / "prove.log").read_text(errors="replace") if (work / "prove.log").exists() \
        else run.output
    if "SAT proof finished - no model found: SUCCESS!" in text + log and run.returncode == 0:
        out.update(status="proven", reason=f"no volley breaks the first wave within {depth} "
                                           "cycles from reset")
    elif "model found" in text + log and "FAIL" in text + log:
        out.update(status="failed", reason="a volley whose first wave differs from the "
                                           "reference (counterexample)",
                   counterexample=_counterexample(text, int(info["N_IN"]),
                                                  int(info["TB_IN"])))
    else:
        out.update(status="unknown", reason=yosys_error(work, "prove.log", run))
    return out


def _counterexample(text: str, n_in: int, tb: int) -> list[int] | None:
    """The volley of Yosys's ``-show-inputs`` table at step 1 (when the miter samples it):
    line ``j``'s time, ``-1`` where it is silent."""
    vals: dict[str, int] = {}
    for name in ("vt_in", "vs_in"):
        m = re.search(rf"^\s*1\s+\\{name}\s+(\d+)\s", text, re.M)
        if m is None:
            return None
        vals[name] = int(m.group(1))
    vt, vs = vals["vt_in"], vals["vs_in"]
    return [((vt >> (j * tb)) & ((1 << tb) - 1)) if (vs >> j) & 1 else -1
            for j in range(n_in)]
