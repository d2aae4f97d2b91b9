"""PD14 as generated hardware: cost and real-time factor of the recurrent RTL against scale.

    .venv/bin/python benchmarks/bench_pd14_rtl.py [--scales 0.001/0.05,0.002/0.05,0.005/0.05]
        [--steps 200] [--target ecp5] [--out benchmarks/results/pd14_rtl.json]

For every ``N_scale/K_scale`` the PD14 builder (``neutnngen/frontend/pd14.py``, Poisson
drive, seed 1) gives a one-stage ``recurrent`` network; ``neutnngen/hdl/recurrent.py``
compiles it (one serial lane, hardwired synapse ROMs); the design runs ``--steps`` steps
(``--steps`` x 0.1 ms) of one sample on Verilator with every neuron's membrane, spike and
synaptic current compared with the interpreter at every step; Yosys + nextpnr give LUTs,
flip-flops, block RAMs and Fmax. The real-time factor is the simulated time the design
covers per wall-clock second at Fmax: ``(Fmax / cycles per step) x 0.1 ms`` (> 1: faster
than biology). Everything here is measured; docs/model.md §13 has the semantics.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    import numpy as np

    from neutnngen import flows
    from neutnngen.frontend.pd14 import build_pd14
    from neutnngen.hdl.recurrent import emit_recurrent
    from neutnngen.verify.recurrent import verify_recurrent

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="0.001/0.05,0.002/0.05,0.005/0.05")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--target", default="ecp5", choices=["ecp5", "generic"])
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per synthesis")
    ap.add_argument("--work", default=str(ROOT / "out" / "bench_pd14_rtl"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pd14_rtl.json"))
    a = ap.parse_args(argv)
    rows = []
    for spec in a.scales.split(","):
        ns, ks = (float(v) for v in spec.split("/"))
        net = build_pd14(scale=ns, k_scale=ks, seed=1, steps=a.steps).network
        nd = net.stages[0]
        work = Path(a.work) / spec.replace("/", "_")
        t = time.perf_counter()
        v, info = emit_recurrent(net, work / "rtl", name="pd14_top")
        compile_s = time.perf_counter() - t
        t = time.perf_counter()
        r = verify_recurrent(net, v, np.zeros((1, nd.n), np.int64), workdir=work / "sim")
        verify_s = time.perf_counter() - t
        t = time.perf_counter()
        src = Path(v).read_text()
        sy = (flows.synth_ecp5(src, "pd14_top", timeout=a.timeout) if a.target == "ecp5"
              else flows.synth_generic(src, "pd14_top", timeout=a.timeout)).to_dict()
        synth_s = time.perf_counter() - t
        cps = info["cycles_per_step"]
        fmax = sy.get("fmax_mhz")
        row = {"n_scale": ns, "k_scale": ks, "neurons": nd.n, "synapses": nd.synapse_count,
               "synapse_entries": info["synapse_entries"],
               "synapse_rom_bits": info["synapse_entries"] * (
                   max(1, (nd.n - 1).bit_length()) + max(1, info["history_slots"].bit_length())
                   + int(max(1, int(np.abs(nd.weights).max()).bit_length() + 1))),
               "history_slots": info["history_slots"], "cycles_per_step": cps,
               "verified_steps": a.steps, "mismatches": r["mismatches"], "spikes": r["spikes"],
               "compile_s": round(compile_s, 2), "verify_s": round(verify_s, 2),
               "synth_s": round(synth_s, 1), "synth": {k: sy.get(k) for k in (
                   "luts", "flip_flops", "cells", "transistors", "fmax_mhz", "fits",
                   "cell_types")},
               "real_time_factor_at_fmax": (fmax * 1e6 / cps * 1e-4) if fmax else None}
        rows.append(row)
        print(json.dumps({k: v_ for k, v_ in row.items() if k != "synth"}), flush=True)
        write(a, rows)  # after every design: a long run keeps what it measured
    print(f"wrote {a.out}")
    return 0


def write(a, rows: list[dict]) -> None:
    doc = {"host": platform.node(), "python": platform.python_version(), "target": a.target,
           "steps": a.steps, "rows": rows}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    L = ["# PD14 as generated hardware (recurrent RTL, one serial lane, "
         f"{a.target.upper()})", "",
         f"`benchmarks/bench_pd14_rtl.py`: every design verified on {a.steps} steps "
         f"({a.steps / 10:g} ms) of Poisson-driven activity (every neuron, step and field vs "
         "the interpreter); all numbers measured here.", "",
         "| N x | K x | neurons | synapses | entries | cycles / step | LUT4 | FF | DP16KD | "
         "Fmax MHz | real-time factor | mismatches | spikes |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r_ in rows:
        s_ = r_["synth"]
        ct = s_.get("cell_types") or {}
        L.append(f"| {r_['n_scale']:g} | {r_['k_scale']:g} | {r_['neurons']:,} | "
                 f"{r_['synapses']:,} | {r_['synapse_entries']:,} | {r_['cycles_per_step']:,} | "
                 f"{s_.get('luts')} | {s_.get('flip_flops')} | {ct.get('DP16KD', 0)} | "
                 f"{(s_.get('fmax_mhz') or 0):.1f} | "
                 f"{(r_['real_time_factor_at_fmax'] or 0):.3f} | {r_['mismatches']} | "
                 f"{r_['spikes']} |")
    L += ["", "Real-time factor: biological time simulated per wall-clock second at Fmax "
          "(one step = 0.1 ms); the serial design walks every synapse entry of every neuron "
          "each step, so it falls as synapses grow (see pd14.md for the forecast at larger "
          "scales with lanes and off-chip synapse memory).", ""]
    out.with_suffix(".md").write_text("\n".join(L))


if __name__ == "__main__":
    raise SystemExit(main())
