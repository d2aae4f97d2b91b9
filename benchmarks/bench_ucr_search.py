"""Is there a better UCR default? A seeded random search of ``examples/ucr_cluster.toml``'s
knobs, scored on validation splits only (issue 13: test ARI >= the better k-means on 5 of 6
sets, one default config per code).

    .venv/bin/python benchmarks/bench_ucr_search.py [--configs 240] [--seed 1]
        [--seeds 0,1,2,3,4] [--out benchmarks/results/ucr_search.json]

Every configuration runs on the six UCR sets aeon ships x ``--seeds``, in the bipolar code,
each with ``data.validation = 1/3`` (:func:`bench_learning.run_one`: trained on two thirds
of the training split, scored on the held-out third). The test split is never touched.
Per set: the mean validation ARI over the seeds and the mean of the better k-means
(encoded spike times or raw series, ``k`` = neurons) of each seed; a set is *won* when the
first reaches the second. Configurations: the shipped file (``base``), then ``STRUCTURES``
(dendrites, segments, codes, ties, thresholds, rule), then ``--configs`` random draws from
``SPACE``, seeded by ``--seed``. Written: every configuration's overrides, per-set
(network, k-means) means and its wins, and a summary (how many configurations won how many
sets; each set's best margin).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_learning import UCR, UCR_BASE, VAL, overrides, run_one  # noqa: E402

#: the knobs searched at random (``mu`` sets capture, minus and backoff together)
SPACE: dict[str, list] = {
    "network.timeres": [3, 4],
    "network.wres": [3, 4],
    "train.epochs": [5, 10, 20],
    "mu": [128, 256, 512],
    "train.mu_search": [0, 2, 8],
    "train.h_shift": [2, 4, 6],
    "data.clip": [1.5, 2.0, 3.0],
    "train.homeostasis": ["winrate", "none"],
}
#: structural variants of the shipped config
STRUCTURES: dict[str, list[str]] = {
    "dendrites=2": ["network.dendrites=2"],
    "dendrites=2, data_segments": ["network.dendrites=2", "network.w_init=data_segments"],
    "dendrites=2, data_segments, 20 epochs": ["network.dendrites=2",
                                              "network.w_init=data_segments",
                                              "train.epochs=20"],
    "dendrites=3, data_segments": ["network.dendrites=3", "network.w_init=data_segments"],
    "segments=2": ["network.segments=2"],
    "snl": ["network.response=snl"],
    "posneg code": ["data.posneg=true"],
    "lowest-index ties": ["network.tie=lowest"],
    "fixed thresholds": ["network.theta_mode=fixed"],
    "stdp rule": ["train.rule=stdp"],
}


def score(ov: list[str], seeds: list[int]) -> dict:
    res = {}
    for name in UCR:
        net, km = [], []
        for seed in seeds:
            ev = run_one(UCR_BASE, [f"data.name={name}", f"experiment.seed={seed}",
                                    "network.neurons=0", f"data.validation={VAL}",
                                    "data.posneg=false", *ov])
            net.append(ev["metrics"]["val"]["adjusted_rand_index"])
            b = ev["baseline"]
            km.append(max(b["kmeans"]["val"]["adjusted_rand_index"],
                          b["kmeans_raw"]["val"]["adjusted_rand_index"]))
        res[name] = {"val_ari": round(float(np.mean(net)), 4),
                     "kmeans_val_ari": round(float(np.mean(km)), 4)}
    return {"sets": res, "wins": sum(r["val_ari"] >= r["kmeans_val_ari"] for r in res.values())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=240, help="random configurations")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random draws")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="experiment seeds per set")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ucr_search.json")
    a = ap.parse_args(argv)
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
    except ValueError:
        ap.error(f"--seeds {a.seeds!r}: expected comma-separated integers")
    if a.configs < 0 or not seeds or min(seeds) < 0:
        ap.error(f"--configs {a.configs} --seeds {a.seeds}: expected configs >= 0 and "
                 "seeds >= 0")
    warnings.simplefilter("ignore")
    rng = random.Random(a.seed)
    todo = [("base", [])] + list(STRUCTURES.items())
    for i in range(a.configs):
        c = {k: rng.choice(v) for k, v in SPACE.items()}
        todo.append((f"random {i}", overrides(c)))
    rows = []
    t0 = time.monotonic()
    for name, ov in todo:
        r = {"name": name, "overrides": ov, **score(ov, seeds)}
        rows.append(r)
        print(f"{name}: {r['wins']}/6", flush=True)
    best = {s: max(rows, key=lambda r, s=s: r["sets"][s]["val_ari"] - r["sets"][s]["kmeans_val_ari"])
            for s in UCR}
    doc = {
        "benchmark": "random search of the UCR default on validation splits (issue 13)",
        "command": "benchmarks/bench_ucr_search.py " + " ".join(argv or sys.argv[1:]),
        "machine": {"python": platform.python_version(), "cores": os.cpu_count()},
        "config": UCR_BASE, "code": "bipolar", "validation": VAL, "seeds": seeds,
        "space": SPACE, "wall_s": round(time.monotonic() - t0, 1),
        "summary": {
            "configurations": len(rows),
            "sets_won": dict(sorted(Counter(r["wins"] for r in rows).items())),
            "base_wins": rows[0]["wins"],
            "most_wins": max(r["wins"] for r in rows),
            "best_margin_per_set": {s: {"config": b["name"], "margin": round(
                b["sets"][s]["val_ari"] - b["sets"][s]["kmeans_val_ari"], 4)}
                for s, b in best.items()},
        },
        "rows": rows,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
