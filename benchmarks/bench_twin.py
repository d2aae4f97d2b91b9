"""ANN-vs-SNN twin benchmark: the MNIST SNN example next to its integer ANN twins.

    .venv/bin/python benchmarks/bench_twin.py [--model runs/snn_mnist/model.pt]
        [--twins 8/8,4/4] [--lanes 8] [--samples 0] [--energy-samples 50]
        [--out benchmarks/results/twin.json]

For every twin (``weight_bits/act_bits``) this runs ``neutnngen twin`` on
``examples/snn_mnist.toml`` (196-128-10 LIF, direct current, 16 steps; the model is trained
by the example script when missing) with ``hdl.lanes`` set: both designs verified on the
held-out digits (``--samples``, 0 = all 1,000; every layer and step compared), synthesized
for ECP5 (LUTs, flip-flops, block RAMs, multipliers, Fmax), and run on ``--energy-samples``
test digits with Verilator toggle coverage (bit flips per inference, activity, the energy
proxy activity x cells x cycles). The SNN run is shared between the twins (resumed). Writes
the rows and verdicts to ``--out`` and a table to the ``.md`` beside it.
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
    import tomllib

    from neutnngen.pipeline.tasks import snn as task
    from neutnngen.pipeline.twin import run_twin

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "runs" / "snn_mnist" / "model.pt"))
    ap.add_argument("--twins", default="8/8,4/4", help="weight_bits/act_bits of each twin")
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--samples", type=int, default=0, help="verified test digits (0: all)")
    ap.add_argument("--energy-samples", type=int, default=50)
    ap.add_argument("--work", default=str(ROOT / "out" / "bench_twin"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "twin.json"))
    a = ap.parse_args(argv)
    raw = tomllib.loads((ROOT / "examples" / "snn_mnist.toml").read_text())
    raw["model"]["path"] = str(Path(a.model).resolve())
    raw["hdl"]["lanes"] = a.lanes
    raw["verify"]["samples"] = a.samples
    raw.setdefault("twin", {})["energy_samples"] = a.energy_samples
    runs = []
    for spec in a.twins.split(","):
        wb, ab = (int(v) for v in spec.split("/"))
        raw["twin"].update(weight_bits=wb, act_bits=ab)
        cfg = task.resolve_paths(task.parse(raw), ROOT / "examples")
        t = time.perf_counter()
        rep = run_twin(cfg, Path(a.work), show=True,
                       command=f"bench_twin.py --twins {spec} --lanes {a.lanes}")
        runs.append({"twin": spec, "wall_s": round(time.perf_counter() - t, 1),
                     "designs": rep["designs"], "verdict": rep["verdict"],
                     "twin_float_test_accuracy": rep["twin"]["float_test_accuracy"],
                     "twin_training": rep["twin"]["training"],
                     "quantization": rep["twin"]["quantization"],
                     "snn_float_test_accuracy": rep["snn"]["float_test_accuracy"],
                     "baseline": rep["baseline"], "energy": rep["energy"]})
        print("\n".join(rep["verdict"]), flush=True)
    doc = {"host": platform.node(), "python": platform.python_version(), "model": a.model,
           "lanes": a.lanes, "samples": a.samples, "energy_samples": a.energy_samples,
           "runs": runs}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(doc))
    print(f"wrote {out}")
    return 0


def markdown(doc: dict) -> str:
    L = ["# SNN vs integer ANN twin (MNIST example, ECP5)", "",
         f"`benchmarks/bench_twin.py`: lanes {doc['lanes']}, verified digits "
         f"{doc['samples'] or 1000}, toggle counts on {doc['energy_samples']} digits.", "",
         "| design | test error | cycles / inference | LUTs | FFs | DP16KD | MULT18 | Fmax MHz "
         "| inferences/s | bit flips / inference | energy proxy | mismatches |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    seen = set()
    for r in doc["runs"]:
        for d in r["designs"]:
            if d["design"] in seen:
                continue
            seen.add(d["design"])
            L.append(f"| {d['design']} | {d['test_error']:.4f} | {d['cycles_per_inference']:,} | "
                     f"{d.get('luts')} | {d.get('flip_flops')} | "
                     f"{(d.get('block_rams') or {}).get('DP16KD', 0)} | "
                     f"{(d.get('multipliers') or {}).get('MULT18X18D', 0)} | "
                     f"{d.get('fmax_mhz') or 0:.1f} | {d.get('inferences_per_s_at_fmax') or 0:,.0f} | "
                     f"{d['flips_per_inference']:,.0f} | {d.get('energy_proxy') or 0:,.0f} | "
                     f"{d['mismatches']} |")
    for r in doc["runs"]:
        L += ["", f"Twin {r['twin']} (weight/activation bits): " + "; ".join(r["verdict"])]
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    raise SystemExit(main())
