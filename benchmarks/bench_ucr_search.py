"""Is there a better UCR default? A seeded random search of ``examples/ucr_cluster.toml``'s
knobs, scored on validation splits only (issue 13: test ARI >= the better k-means on 5 of 6
sets, one default config per code).

    .venv/bin/python benchmarks/bench_ucr_search.py [--configs 240] [--seed 1]
        [--seeds 0,1,2,3,4] [--code bipolar] [--out benchmarks/results/ucr_search.json]

Every configuration runs on the six UCR sets aeon ships x ``--seeds``, in one code of
``bench_learning.CODES`` (``--code``, default bipolar: the code's own data key only, not the
default a past search chose for it; its knobs in ``CODE_SPACE``, such as the number and
width of the Gaussian fields, join the draws),
each with ``data.validation = 1/3`` (:func:`bench_learning.run_one`: trained on two thirds
of the training split, scored on the held-out third). The test split is never touched.
Per set: the mean validation ARI over the seeds and the mean of the better k-means
(encoded spike times or raw series, ``k`` = neurons) of each seed; a set is *won* when the
first reaches the second. Configurations: the shipped file (``base``), then ``STRUCTURES``
(dendrites, segments, codes, ties, thresholds, rule), then ``--configs`` random draws from
``SPACE``, seeded by ``--seed``. ``--fresh 5-19`` scores the configurations that won at
least ``--fresh-min-wins`` sets (3) again on those seeds: five seeds' validation splits are
small (12 series on ArrowHead), so the best of a hundred draws there is mostly luck, and a
default is picked by its fresh wins (then its smallest margin). Written: every
configuration's overrides, per-set (network, k-means) means and its wins (and ``fresh``),
and a summary (how many configurations won how many sets; each set's best margin; the best
on fresh seeds).
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

from bench_learning import CODES, UCR, UCR_BASE, VAL, overrides, run_one  # noqa: E402

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
#: knobs of a code itself, searched with it (``--code``)
CODE_SPACE: dict[str, dict[str, list]] = {
    "grf3": {"data.grf": [2, 3, 4, 5], "data.grf_width": [0.5, 1.0, 2.0]},
    "proj128": {"data.projections": [64, 128, 256, 512]},
    "spec16": {"data.spectrum": [8, 16, 32], "data.spectrum_log": ["false", "true"]},
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


def seed_list(text: str) -> list[int]:
    """``"5-9"`` or ``"0,1,2"`` (or ``""``) as a list of integers; ValueError otherwise."""
    text = text.strip()
    if not text:
        return []
    if "-" in text[1:]:
        lo, hi = text.split("-", 1)
        if int(hi) < int(lo):
            raise ValueError(text)
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def score(ov: list[str], seeds: list[int], code: str = "bipolar") -> dict:
    res = {}
    for name in UCR:
        net, km = [], []
        for seed in seeds:
            ev = run_one(UCR_BASE, [f"data.name={name}", f"experiment.seed={seed}",
                                    "network.neurons=0", f"data.validation={VAL}",
                                    *CODES[code], *ov])
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
    ap.add_argument("--code", default="bipolar", choices=sorted(CODES),
                    help="the time-series code every configuration runs in (its own knobs, "
                         "CODE_SPACE, join the random draws)")
    ap.add_argument("--fresh", default="",
                    help="seeds (a-b or a,b,..) on which the configurations that won at least "
                         "--fresh-min-wins sets are scored again: new training seeds and new "
                         "validation splits, against the luck of the first five")
    ap.add_argument("--fresh-min-wins", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None,
                    help="default benchmarks/results/ucr_search.json (bipolar) or "
                         "ucr_search_CODE.json")
    a = ap.parse_args(argv)
    try:
        seeds = seed_list(a.seeds)
    except ValueError:
        ap.error(f"--seeds {a.seeds!r}: expected seeds as a-b or comma-separated integers")
    try:
        fresh = seed_list(a.fresh)
    except ValueError:
        ap.error(f"--fresh {a.fresh!r}: expected seeds as a-b or comma-separated integers")
    if a.configs < 0 or not seeds or min(seeds) < 0 or min(fresh, default=0) < 0:
        ap.error(f"--configs {a.configs} --seeds {a.seeds} --fresh {a.fresh}: expected "
                 "configs >= 0 and seeds >= 0")
    warnings.simplefilter("ignore")
    out = a.out or ROOT / "benchmarks/results" / (
        "ucr_search.json" if a.code == "bipolar" else f"ucr_search_{a.code}.json")
    space = {**SPACE, **CODE_SPACE.get(a.code, {})}
    rng = random.Random(a.seed)
    todo = [("base", [])] + [(n, ov) for n, ov in STRUCTURES.items()
                             if a.code == "bipolar" or not n.startswith("posneg")]
    for i in range(a.configs):
        c = {k: rng.choice(v) for k, v in space.items()}
        todo.append((f"random {i}", overrides(c)))
    rows = []
    t0 = time.monotonic()
    for name, ov in todo:
        r = {"name": name, "overrides": ov, **score(ov, seeds, a.code)}
        rows.append(r)
        print(f"{name}: {r['wins']}/6", flush=True)
    for r in rows:
        if fresh and r["wins"] >= a.fresh_min_wins:
            r["fresh"] = score(r["overrides"], fresh, a.code)
            print(f"{r['name']}: {r['wins']}/6, fresh seeds {r['fresh']['wins']}/6", flush=True)
    rescored = [r for r in rows if "fresh" in r]
    best = {s: max(rows, key=lambda r, s=s: r["sets"][s]["val_ari"] - r["sets"][s]["kmeans_val_ari"])
            for s in UCR}
    doc = {
        "benchmark": "random search of the UCR default on validation splits (issue 13)",
        "command": "benchmarks/bench_ucr_search.py " + " ".join(argv or sys.argv[1:]),
        "machine": {"python": platform.python_version(), "cores": os.cpu_count()},
        "config": UCR_BASE, "code": a.code, "code_keys": CODES[a.code], "validation": VAL,
        "seeds": seeds, "fresh_seeds": fresh, "fresh_min_wins": a.fresh_min_wins,
        "space": space, "wall_s": round(time.monotonic() - t0, 1),
        "summary": {
            "configurations": len(rows),
            "sets_won": dict(sorted(Counter(r["wins"] for r in rows).items())),
            "base_wins": rows[0]["wins"],
            "most_wins": max(r["wins"] for r in rows),
            "best_margin_per_set": {s: {"config": b["name"], "margin": round(
                b["sets"][s]["val_ari"] - b["sets"][s]["kmeans_val_ari"], 4)}
                for s, b in best.items()},
            "fresh": {"rescored": len(rescored), "sets_won": dict(sorted(Counter(
                r["fresh"]["wins"] for r in rescored).items())),
                "best": max(rescored, key=lambda r: (r["fresh"]["wins"], min(
                    v["val_ari"] - v["kmeans_val_ari"] for v in r["fresh"]["sets"].values()))
                )["name"] if rescored else None},
        },
        "rows": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
