"""Convolutional STDP networks as generated hardware: accuracy, cycles, cost and Fmax.

    .venv/bin/python benchmarks/bench_convstdp_rtl.py [--configs examples/convstdp_mnist/reduced.toml,examples/convstdp_mnist/medium.toml]
        [--samples 100] [--work out/bench_convstdp_rtl] [--out benchmarks/results/convstdp_rtl.json]

Per config it runs ``neutnngen run`` (:func:`neutnngen.pipeline.tasks.convstdp.run_convstdp`:
greedy STDP / R-STDP training on the config's real MNIST digits, the test digits scored
once, the RTL compiled with the trained weights, ``--samples`` test digits simulated on
Verilator with every line of every stage compared with the interpreter, Yosys + nextpnr for
ECP5), then writes the numbers with the command to ``--out`` (JSON) and its ``.md``. All
numbers are measured here; a rerun reuses each config's finished training.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    import torch

    from neutnngen.pipeline.tasks.convstdp import run_convstdp

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", default="examples/convstdp_mnist/reduced.toml,"
                                         "examples/convstdp_mnist/medium.toml")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--target", default="ecp5", choices=["ecp5", "ice40", "generic", "none"])
    ap.add_argument("--work", default="out/bench_convstdp_rtl")
    ap.add_argument("--out", default="benchmarks/results/convstdp_rtl.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for cfg in a.configs.split(","):
        raw = tomllib.loads((ROOT / cfg).read_text())
        raw["verify"] = {**raw.get("verify", {}), "samples": a.samples}
        raw["synth"] = {**raw.get("synth", {}), "target": a.target}
        t0 = time.perf_counter()
        m = run_convstdp(raw, Path(a.work) / Path(cfg).stem,
                         log=lambda s: print(s, file=sys.stderr, flush=True))
        rows.append({"config": cfg, "wall_s": round(time.perf_counter() - t0, 1), **m})
        write(a, rows)
    return 0


def write(a, rows: list[dict]) -> None:
    doc = {"command": "python benchmarks/bench_convstdp_rtl.py " + " ".join(sys.argv[1:]),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "host": platform.node(), "python": platform.python_version(), "rows": rows}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    L = ["# Convolutional STDP networks as generated hardware", "",
         f"`{doc['command']}` ({doc['date']}). Each network is trained by local rules only "
         "(STDP feature layers, R-STDP decision layer) on real MNIST digits, compiled with its "
         "trained weights in ROMs (one serial design, docs/model.md §14 RTL), and simulated on "
         "Verilator on the first test digits with every line of every stage compared with "
         "the interpreter; ECP5 numbers from Yosys + nextpnr (LFE5U-25F). All measured here.",
         "", "| config | features | test error | logistic (pixels) | verified digits | "
         "mismatches | cycles / digit | LUT4 | FF | DP16KD | MULT18 | Fmax MHz | "
         "digits/s at Fmax |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tr, ver, sy = r["training"], r["verification"], r["synthesis"] or {}
        feats = "/".join(str(s["out_shape"][0]) for s in r["rtl"]["stages"]
                         if s["kind"] == "conv")
        L.append(f"| `{Path(r['config']).name}` | {feats} | {tr['test']['error']:.3f} | "
                 f"{tr['baselines_test']['logistic_regression']['error']:.3f} | "
                 f"{ver['samples']} | {ver['mismatches']} | {r['cycles_per_digit']:,.0f} | "
                 f"{sy.get('luts', '-')} | {sy.get('flip_flops', '-')} | "
                 f"{sy.get('ram_blocks', '-')} | {sy.get('multipliers', '-')} | "
                 f"{(sy.get('fmax_mhz') or 0):.1f} | {r.get('digits_per_s_at_fmax', '-')} |")
    L += ["", "Cycles per stage (the bound; exact for every stage but the rank-order encoder, "
          "whose sort takes `nz^2` cycles for its `nz` nonzero lines):", ""]
    for r in rows:
        L.append(f"- `{Path(r['config']).name}`: " + ", ".join(
            f"{s['name']} {s['cycles']:,}" for s in r["rtl"]["stages"]))
    L += ["", "The design is serial: one synapse per cycle in every convolutional layer and "
          "a quadratic sort in the encoder, so it is small (block RAMs hold the step memories "
          "and weights) and slow. Lanes over features and a bitonic or counting sort are the "
          "obvious next steps; on-chip STDP is not built.", ""]
    out.with_suffix(".md").write_text("\n".join(L))


if __name__ == "__main__":
    raise SystemExit(main())
