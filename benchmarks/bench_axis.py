"""Throughput and cost of the AXI4-Stream top by beat width, on a trained design.

    .venv/bin/python benchmarks/bench_axis.py --ir OUT/ir/model.json
        [--out benchmarks/results/axis.json] [--archs serial,parallel,pipelined]
        [--widths 1,4,16,64] [--buffers 0,1] [--simulator verilator]

For every architecture, ``axis_bytes`` and ``axis_buffer`` (``--buffers``) the trained IR (e.g. ``neutnngen run
examples/ucr_gunpoint.toml``'s ``ir/model.json``) is compiled with ``--interface axis`` and
driven at full rate (``tvalid`` and ``tready`` always high) through the AXIS bench
(:func:`neutnngen.verify.axis.verify_axis`) with 20 and then 60 seeded random volleys;
cycles per volley = the difference in bench cycles / 40 (start-up and tail cancel), and
every output packet is checked against the interpreter in both runs. The same Verilog is
synthesized with the generic CMOS flow (transistors) next to the bare stream core, so the
wrapper's cost shows. The core alone takes a volley every ``WAVE_CYCLES``; an 8-bit top
adds one beat per input line, which a wider beat removes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen import flows  # noqa: E402
from neutnngen.hdl import emit  # noqa: E402
from neutnngen.ir import load  # noqa: E402
from neutnngen.verify.axis import verify_axis  # noqa: E402

RUNS = (20, 60)


def measure(net, arch: str, nb: int, buf: bool, sim: str | None, work: Path) -> dict:
    r = emit(net, work / "rtl", architecture=arch, interface="axis", axis_bytes=nb,
             axis_buffer=buf, name="ax")
    rng = np.random.default_rng(0)
    cyc, mism = [], 0
    for n in RUNS:
        X = np.where(rng.random((n, net.inputs)) < 0.1, -1,
                     rng.integers(0, 1 << net.time.timeres, (n, net.inputs)))
        d = verify_axis(net, r.verilog, r.names, X, work / f"sim{n}", simulator=sim,
                        p_valid=1, p_ready=1)
        cyc.append(d["cycles"])
        mism += d["mismatches"] + len(d["protocol_errors"])
        wave = d["WAVE_CYCLES"]
    g = flows.synth_generic(Path(r.verilog).read_text(), "ax")
    ax = json.loads(Path(r.names).read_text())["top"]["axis"]
    per = (cyc[1] - cyc[0]) / (RUNS[1] - RUNS[0])
    return {"architecture": arch, "axis_bytes": nb, "axis_buffer": buf, "tdata_bits": 8 * nb,
            "in_beats": ax.get("in_beats", ax["in_bytes"]),
            "out_beats": ax.get("out_beats", ax["out_bytes"]), "wave_cycles": wave,
            "cycles_per_volley": round(per, 2), "mismatches": mism,
            "transistors": g.transistors, "flip_flops": g.flip_flops}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ir", required=True, help="a trained TNN IR (ir/model.json of a run)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "axis.json"))
    ap.add_argument("--archs", default="serial,parallel,pipelined")
    ap.add_argument("--widths", default="1,4,16,64")
    ap.add_argument("--buffers", default="0,1", help="axis_buffer values: 0, 1 or 0,1")
    ap.add_argument("--simulator", default=None)
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    net = load(args.ir)
    rows = []
    for arch in args.archs.split(","):
        with tempfile.TemporaryDirectory() as td:
            core = emit(net, Path(td), architecture=arch, name="ax")
            g = flows.synth_generic(core.verilog.read_text(), "ax")
            stream = {"transistors": g.transistors, "wave_cycles": core.info["WAVE_CYCLES"]}
        for buf in (bool(int(v)) for v in args.buffers.split(",")):
            for nb in (int(v) for v in args.widths.split(",")):
                with tempfile.TemporaryDirectory() as td:
                    row = measure(net, arch, nb, buf, args.simulator, Path(td))
                row["core_transistors"] = stream["transistors"]
                row["wrapper_transistors"] = row["transistors"] - stream["transistors"]
                rows.append(row)
                print(row, flush=True)
    doc = {"benchmark": "AXI4-Stream top: cycles per volley at full rate and cost by beat width",
           "command": "benchmarks/bench_axis.py --ir " + args.ir,
           "machine": {"python": platform.python_version()},
           "design": {"name": net.name, "inputs": net.inputs, "outputs": net.outputs},
           "method": f"full rate (tvalid, tready always high); cycles per volley from runs of "
                     f"{RUNS[0]} and {RUNS[1]} volleys; every output packet checked",
           "rows": rows, "wall_s": round(time.monotonic() - t0, 1)}
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
