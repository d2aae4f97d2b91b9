"""SNN bench strength: a seeded mutation campaign on the MNIST example's design, to JSON.

    .venv/bin/python benchmarks/bench_snn_mutation.py [--mutants 40] [--samples 10]
        [--corner 0] [--lanes 8] [--simulator icarus]
        [--out benchmarks/results/mutation_snn.json]

The example's integer network (``examples/snn_mnist``, quantized as the example does) is
compiled (hardwired, ``--lanes``), and ``--mutants`` seeded mutants of its Verilog (one
small change each: comparisons, operators, constants, multiplexer arms, inverted
conditions, case values/labels, and the words of its weight, bias, index and group-end
memories; RAM initial words, which are written before they are read, are never drawn) are
each run through the SNN bench on the first ``--samples`` held-out digits: a mutant is
killed when any layer's membrane, spike or synaptic current at any step, or any output
beat, differs from the interpreter, or when it stops making progress. ``--corner N`` adds N
seeded corner inputs (:func:`neutnngen.verify.snn.corner_inputs`: every line at its
maximum, silent, one line at a time, real digits scaled to the maximum, random full-range
values) to the digits. The survivors are listed with their line and change.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv=None) -> int:
    from bench_snn_rtl import example_network  # the same network as the RTL benchmark

    from neutnngen.hdl.snn import emit_snn
    from neutnngen.verify.snn import corner_inputs, mutation_campaign, verify_snn

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "runs" / "snn_mnist" / "model.pt"))
    ap.add_argument("--mutants", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--corner", type=int, default=0)
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--simulator", default="icarus", choices=["icarus", "verilator"])
    ap.add_argument("--work", default=str(ROOT / "out" / "bench_snn_mutation"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "mutation_snn.json"))
    args = ap.parse_args(argv)
    _, data, _, qnet = example_network(args.model)
    work = Path(args.work)
    res = emit_snn(qnet, work / "rtl", name="snn_mnist", lanes=args.lanes)
    X = data["X_test"][:args.samples]
    corner = None
    if args.corner:
        import numpy as np

        C, corner = corner_inputs(qnet, args.corner, seed=args.seed, real=data["X_train"])
        X = np.concatenate([X, C])
    base = verify_snn(qnet, res.verilog, X, simulator=args.simulator, workdir=work / "base")
    if base["mismatches"]:
        raise SystemExit(f"the unmutated design fails the bench: {base['message']}")
    rep = mutation_campaign(qnet, res.verilog, X, n=args.mutants, seed=args.seed,
                            simulator=args.simulator, workdir=work / "mutants").to_dict()
    rep.pop("results")
    out = {"design": {"lanes": args.lanes, **{k: res.info[k] for k in
                                               ("cycles_per_sample", "synapse_entries")}},
           "samples": args.samples, "corner": corner, "simulator": args.simulator, **rep}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("mutants", "killed", "survived", "invalid",
                                          "kill_rate", "by_kind", "wall_s")}))
    for s in out["survivors"]:
        print(f"survived: line {s['line']} {s['kind']}: {s['change'][:120]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
