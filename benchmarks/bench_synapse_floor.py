"""What one learning synapse costs, and what that means for issue 14's area target.

    .venv/bin/python benchmarks/bench_synapse_floor.py --gunpoint OUT_GP
        [--out benchmarks/results/synapse_floor.json] [--lines 38,75,150]

Issue 14 asks for GunPoint (150 x 2 column, 3-bit weights) with on-chip learning in the
``parallel`` architecture in <= 16 cycles a wave and <= 72,600 transistors (Yosys
``stat -tech cmos`` of the generic flow): 242 transistors per synapse for everything. This
benchmark measures two things with that same flow:

1. **The generator's marginal cost per synapse**: ``OUT_GP/ir/initial.json`` (the untrained
   GunPoint IR of ``neutnngen run examples/ucr_gunpoint.toml``) cut to its first ``p`` input
   lines (``--lines``), compiled with ``weights=learn, architecture=parallel`` and
   synthesized; the slope of transistors against synapses is what each synapse costs, the
   intercept what the column's shared logic (generators, decisions, control) costs.
2. **A hand-written floor**: the per-synapse logic the model contract itself asks of a
   synapse that learns in the wave's one update cycle (docs/model.md §2 ramp response,
   §5 STDP with the generator's level-dependent Bernoulli bits), written as small Verilog
   with everything that can be shared per line (``t - x``, ``x <= t``) or per segment
   (the generator's bits, credit) moved out of it, synthesized alone. Variants strip
   what the contract or the design needs (the ``wload`` port; the per-synapse level
   latches, i.e. STDP without level-dependent probabilities; learning altogether) to show
   what each piece costs.

The floor times 300 synapses, without any per-line, per-segment or control logic, is the
least any parallel learning design of this model can cost in this flow.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen import flows  # noqa: E402
from neutnngen.hdl import emit  # noqa: E402
from neutnngen.ir import load  # noqa: E402

TARGET = {"transistors": 72_600, "synapses": 300,
          "source": "issue 14: GunPoint parallel learn <= 72,600 transistors (0.5x TNNGen)"}

# One learning synapse of the parallel architecture (3-bit weight, 3-bit times: T = 14
# steps, so d = t - x fits 4 bits). Line-shared inputs: d = t - x, ge = (x <= t),
# le_now = (x <= t_acc). Segment-shared: cross (the segment crosses now), zf (credited),
# lk / lv (the level whose Bernoulli bits the generator completes now), gfu / gfd (those
# bits), bc / bm / bb / bs (the combined draws), lwe (the update cycle). Per synapse: the
# weight, the capture flag latched at the crossing, the level bits latched when the draw
# of the synapse's level completes, the STDP decision and the saturating update.
SYNAPSE = {
    "learn": """
module syn(input clk, input [3:0] d, input ge, input s, input le_now, input cross,
           input zf, input [2:0] lk, input lv, input gfu, input gfd,
           input bc, input bm, input bb, input bs, input lwe,
           input wl_en, input [2:0] wl_data, output rising, output reg [2:0] w);
  reg le, fu, fd;
  assign rising = s & ge & ({1'b0, w} > d);
  wire at = (w == lk);
  always @(posedge clk) begin
    if (cross) le <= le_now;
    if (lv & at) begin fu <= gfu; fd <= gfd; end
  end
  wire cu = bc & fu, dm = bm & fd, db = bb & fd;
  wire cap = s & zf & le, mns = s & zf & ~le, srch = s & ~zf, back = ~s & zf;
  wire inc = (cap & cu) | (srch & bs & (w != 3'd7));
  wire dec = (mns & dm) | (back & db);
  always @(posedge clk)
    if (wl_en) w <= wl_data;
    else if (lwe) w <= inc ? w + 3'd1 : (dec ? w - 3'd1 : w);
endmodule
""",
}
SYNAPSE["learn, no wload port"] = SYNAPSE["learn"].replace(
    "    if (wl_en) w <= wl_data;\n    else if (lwe)", "    if (lwe)")
SYNAPSE["learn, no level latches"] = SYNAPSE["learn"].replace(
    "    if (lv & at) begin fu <= gfu; fd <= gfd; end\n", "").replace(
    "wire cu = bc & fu, dm = bm & fd, db = bb & fd;", "wire cu = bc & gfu, dm = bm & gfd, db = bb & gfd;")
SYNAPSE["learn, neither"] = SYNAPSE["learn, no level latches"].replace(
    "    if (wl_en) w <= wl_data;\n    else if (lwe)", "    if (lwe)")
SYNAPSE["inference (register weight)"] = """
module syn(input clk, input [3:0] d, input ge, input s, input wl_en, input [2:0] wl_data,
           output rising, output reg [2:0] w);
  assign rising = s & ge & ({1'b0, w} > d);
  always @(posedge clk) if (wl_en) w <= wl_data;
endmodule
"""


def cut(net, p: int):
    """``net`` (one layer, one column) on its first ``p`` input lines."""
    layer = net.layers[0]
    col = layer.columns[0]
    bank = replace(col.distal, weights=col.distal.weights[..., :p].copy(),
                   mask=col.distal.mask[..., :p].copy())
    col = replace(col, inputs=p, distal=bank)
    layer = replace(layer, inputs=p, columns=(col,))
    return replace(net, inputs=p, stages=(layer,))


def generator_rows(net, lines: list[int]) -> list[dict]:
    rows = []
    for p in lines:
        sub = cut(net, p)
        with tempfile.TemporaryDirectory() as td:
            r = emit(sub, td, weights="learn", architecture="parallel", name="gp_learn")
            info = json.loads(Path(r.names).read_text())["top"]
            t0 = time.monotonic()
            g = flows.synth_generic(Path(r.verilog).read_text(), "gp_learn")
        rows.append({"lines": p, "synapses": int(sub.synapses), "wave_cycles": info["WAVE_CYCLES"],
                     "transistors": g.transistors, "flip_flops": g.flip_flops,
                     "synth_s": round(time.monotonic() - t0, 1)})
        print(rows[-1], flush=True)
    return rows


def floor_rows() -> dict[str, dict]:
    out = {}
    for name, src in SYNAPSE.items():
        g = flows.synth_generic(src, "syn")
        out[name] = {"transistors": g.transistors, "flip_flops": g.flip_flops,
                     "cells": {k: v for k, v in g.cell_types.items() if not k.startswith("$scope")},
                     "times_300": g.transistors * TARGET["synapses"]}
        print(name, out[name], flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gunpoint", required=True, help="OUT of neutnngen run examples/ucr_gunpoint.toml")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "synapse_floor.json"))
    ap.add_argument("--lines", default="38,75,150")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    net = load(Path(args.gunpoint) / "ir" / "initial.json")
    rows = generator_rows(net, [int(v) for v in args.lines.split(",")])
    S = np.array([r["synapses"] for r in rows], float)
    T = np.array([r["transistors"] for r in rows], float)
    slope, icept = np.polyfit(S, T, 1)
    fl = floor_rows()
    per = TARGET["transistors"] / TARGET["synapses"]
    doc = {
        "benchmark": "per-synapse cost of parallel on-chip learning (issue 14's area target)",
        "command": "benchmarks/bench_synapse_floor.py --gunpoint OUT_GP",
        "machine": {"python": platform.python_version()},
        "flow": "neutnngen.flows.synth_generic (Yosys abc -g cmos2, stat -tech cmos)",
        "target": {**TARGET, "per_synapse": round(per, 1)},
        "generator": {"rows": rows, "per_synapse": round(float(slope), 1),
                      "shared": round(float(icept)),
                      "note": "GunPoint's initial IR cut to its first p lines, learn + parallel"},
        "floor": fl,
        "verdict": {
            "floor_per_synapse": fl["learn"]["transistors"],
            "floor_300_synapses": fl["learn"]["times_300"],
            "floor_over_target": round(fl["learn"]["times_300"] / TARGET["transistors"], 2),
            "cheapest_learning_variant_300": min(v["times_300"] for k, v in fl.items()
                                                 if k.startswith("learn")),
            "generator_over_floor": round(float(slope) / fl["learn"]["transistors"], 2),
        },
        "wall_s": round(time.monotonic() - t0, 1),
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["verdict"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
