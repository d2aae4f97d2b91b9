"""Train and score a convolutional STDP / R-STDP network on real MNIST digits.

    PYTHONPATH=. python examples/convstdp_mnist/run.py examples/convstdp_mnist/reduced.toml
    PYTHONPATH=. python examples/convstdp_mnist/run.py examples/convstdp_mnist/full.toml --test \
        --out examples/convstdp_mnist/full_result.json --ir /tmp/convstdp_full
    PYTHONPATH=. python examples/convstdp_mnist/run.py examples/convstdp_mnist/full.toml \
        --from-ir /tmp/convstdp_full --test      # score a saved trained network, no training

Without ``--test`` only the validation digits (carved from the training digits) are
scored: tune on those. ``--test`` scores the held-out test digits as well: run it once, for
the configuration chosen on validation. Torch runs on one thread (the loop is per digit).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib

import torch

from neutnngen.ir.serialize import load, save
from neutnngen.pipeline.tasks.convstdp import run_experiment, score_saved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--test", action="store_true", help="score the test digits (once)")
    ap.add_argument("--out", help="write the report (JSON) here")
    ap.add_argument("--ir", help="save the trained network (IR JSON + NPZ) at this path")
    ap.add_argument("--from-ir", help="score this saved trained network instead of training")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    with open(a.config, "rb") as f:
        doc = tomllib.load(f)
    if a.from_ir:
        net = load(a.from_ir)
        rep = {"from_ir": a.from_ir, **score_saved(doc, net, test=a.test)}
    else:
        rep = run_experiment(doc, test=a.test,
                             log=lambda m: print(m, file=sys.stderr, flush=True))
        net = rep.pop("network")
    rep["config"] = a.config
    if a.ir:
        save(net, a.ir)
    text = json.dumps(rep, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
