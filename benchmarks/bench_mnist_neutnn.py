"""A larger design point of the two-layer MNIST NeuTNN example, chosen on validation, and
what it costs (issue 13: the accuracy axis of the NeuTNN example).

    .venv/bin/python benchmarks/bench_mnist_neutnn.py [--configs 60] [--seed 1]
        [--confirm 7] [--seeds 1,2,3] [--max-synapses 32768] [--set KEY=VALUE ...]
        [--out benchmarks/results/mnist_neutnn_select.json]

Every run starts from ``examples/mnist_neutnn.toml`` (:func:`bench_learning.run_one`).

1. **Search** (validation, ``experiment.seed = 0``): the shipped example and ``--configs``
   random draws from ``SPACE`` (``random.Random(--seed)``, one ``choice`` per key in order),
   each trained on 75% of the training digits (``data.validation = 0.25``) and scored on the
   held-out 25%.
2. **Confirm** (validation, fresh seeds): the ``--confirm`` best draws of step 1 and the
   example, on each of ``--seeds`` (another validation split and other initial weights
   each). The chosen draw has the lowest mean validation error among those with at most
   ``--max-synapses`` synapses (the example has 8,320).
3. **Test, once**: the chosen draw and the example, trained on all training digits and
   scored on the test digits (``experiment.seed = 0``), next to the nearest-centroid and
   logistic baselines of the same pixels.

The hardware cost of the two designs is measured with ``neutnngen run`` (the closing note of
issue 13 lists it); this benchmark only trains and scores.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_learning import run_one  # noqa: E402

from neutnngen._io import atomic_write_text  # noqa: E402
from neutnngen.errors import NeutnngenError  # noqa: E402

EXAMPLE = "examples/mnist_neutnn.toml"
VAL = 0.25
#: the knobs drawn at random; ``rf`` is ``(layers.0.rfsize, layers.0.stride)``
SPACE: dict[str, list] = {
    "layers.0.neurons": [8, 12, 16, 24],
    "rf": [(5, 3), (4, 2), (6, 2), (5, 2)],
    "layers.0.column_inhibition": ["kwta(1)", "kwta(2)", "kwta(3)"],
    "layers.0.epochs": [1, 2],
    "layers.1.segments": [4, 8],
    "layers.1.epochs": [4, 8],
    "data.encoder": ["grayscale", "onoff"],
    "layers.0.w_init": ["uniform", "data"],
}


def overrides(c: dict) -> list[str]:
    """``--set`` overrides of a search point (strings quoted for TOML)."""
    out = []
    for k, v in c.items():
        if k == "rf":
            out += [f"layers.0.rfsize={v[0]}", f"layers.0.stride={v[1]}"]
        else:
            out.append(f'{k}="{v}"' if isinstance(v, str) else f"{k}={v}")
    return out


def draws(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{k: rng.choice(v) for k, v in SPACE.items()} for _ in range(n)]


def val_run(c: dict, seed: int, extra: list[str]) -> dict:
    r = run_one(EXAMPLE, overrides(c) + extra + [f"data.validation={VAL}",
                                                 f"experiment.seed={seed}"])
    return {"val_error": round(float(r["metrics"]["val"]["error"]), 4),
            "synapses": r["synapses"], "seconds": round(r["seconds"], 1)}


def test_run(c: dict, extra: list[str]) -> dict:
    r = run_one(EXAMPLE, overrides(c) + extra + ["experiment.seed=0"])
    b = r["baseline"]
    return {"test_error": round(float(r["metrics"]["test"]["error"]), 4),
            "nearest_centroid_test": round(float(b["nearest_centroid"]["test"]["error"]), 4),
            "logistic_test": round(float(b["logistic"]["test"]["error"]), 4),
            "synapses": r["synapses"]}


def jsonable(c: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in c.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=60, help="random draws in step 1 (>= 1)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the draws")
    ap.add_argument("--confirm", type=int, default=7, help="draws confirmed in step 2 (>= 1)")
    ap.add_argument("--seeds", default="1,2,3", help="experiment seeds of step 2")
    ap.add_argument("--max-synapses", type=int, default=32768,
                    help="the chosen design's synapse budget")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a key every run overrides (e.g. data.pool=4 for a quick run)")
    ap.add_argument("--out", type=Path,
                    default=ROOT / "benchmarks/results/mnist_neutnn_select.json")
    a = ap.parse_args(argv)
    if a.configs < 1 or a.confirm < 1:
        ap.error(f"--configs {a.configs} --confirm {a.confirm}: expected integers >= 1")
    try:
        seeds = [int(s) for s in a.seeds.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--seeds {a.seeds!r}: expected comma-separated integers")
    if not seeds:
        ap.error(f"--seeds {a.seeds!r}: expected at least one seed")
    warnings.simplefilter("ignore")
    t0 = time.monotonic()
    try:
        search = [{"config": {}, **val_run({}, 0, a.set)}]
        print(f"example: val error {search[0]['val_error']:.3f}", flush=True)
        for i, c in enumerate(draws(a.configs, a.seed)):
            search.append({"config": c, **val_run(c, 0, a.set)})
            print(f"draw {i}: val error {search[-1]['val_error']:.3f}, "
                  f"{search[-1]['synapses']} synapses", flush=True)
        best = sorted(search[1:], key=lambda r: r["val_error"])[:a.confirm]
        confirm = []
        for r in [search[0], *best]:
            errs = [val_run(r["config"], s, a.set)["val_error"] for s in seeds]
            confirm.append({"config": r["config"], "synapses": r["synapses"],
                            "val_errors": errs, "mean_val_error": round(float(np.mean(errs)), 4)})
            print(f"confirm {jsonable(r['config'])}: mean val error "
                  f"{confirm[-1]['mean_val_error']:.3f}", flush=True)
        within = [r for r in confirm[1:] if r["synapses"] <= a.max_synapses]
        chosen = min(within, key=lambda r: r["mean_val_error"]) if within else None
        test = {"example": test_run({}, a.set)}
        if chosen is not None:
            test["chosen"] = test_run(chosen["config"], a.set)
    except NeutnngenError as e:
        ap.error(f"--set {' '.join(a.set)}: {e}")
    doc = {"benchmark": "MNIST NeuTNN example: a larger design point chosen on validation "
                        "(issue 13)",
           "command": "benchmarks/bench_mnist_neutnn.py " + " ".join(argv or sys.argv[1:]),
           "machine": {"python": platform.python_version()}, "config": EXAMPLE,
           "overrides": a.set, "validation": f"{VAL:.0%} of the training digits, seeded",
           "space": {k: [list(x) if isinstance(x, tuple) else x for x in v]
                     for k, v in SPACE.items()},
           "draw_seed": a.seed, "confirm_seeds": seeds, "max_synapses": a.max_synapses,
           "wall_s": round(time.monotonic() - t0, 1),
           "search": [{**r, "config": jsonable(r["config"])} for r in search],
           "confirm": [{**r, "config": jsonable(r["config"])} for r in confirm],
           "chosen": None if chosen is None else {
               "config": jsonable(chosen["config"]), "overrides": overrides(chosen["config"]),
               "mean_val_error": chosen["mean_val_error"], "synapses": chosen["synapses"]},
           "test": test}
    atomic_write_text(a.out, json.dumps(doc, indent=1) + "\n")
    ex = test["example"]
    line = f"example: test error {ex['test_error']:.3f} ({ex['synapses']} synapses)"
    if "chosen" in test:
        line += (f"; chosen {' '.join(overrides(chosen['config']))}: test error "
                 f"{test['chosen']['test_error']:.3f} ({test['chosen']['synapses']} synapses)")
    print(f"{line}; nearest centroid {ex['nearest_centroid_test']:.3f}, logistic "
          f"{ex['logistic_test']:.3f} -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
