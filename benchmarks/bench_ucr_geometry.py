"""Why the UCR default misses k-means on two sets (issue 13): the distance it clusters by.

    .venv/bin/python benchmarks/bench_ucr_geometry.py [--seeds 10]
        [--out benchmarks/results/ucr_geometry.json]

With the targeted rule a column's winner is the segment whose weights are nearest, in L1,
to the volley's intensities (docs/model.md §5, relative thresholds), and the rule steps
each weight toward the intensities it wins: an online k-medians. This benchmark clusters the same
encoded spike times of ``examples/ucr_cluster.toml`` (bipolar code, one cluster per class;
silent lines as ``2**timeres``) four ways, without any network, and scores each on the test
split by ARI, mean over ``--seeds``:

* ``kmeans_1``: k-means (squared L2), one k-means++ start per seed;
* ``kmeans_10``: k-means with 10 starts (the pipeline's baseline);
* ``kmedians_l1``: Lloyd iterations in L1 (assign to the nearest median, update medians)
  from a seeded k-means++ start: what the column approximates;
* ``kmeans_raw_10``: k-means with 10 starts on the raw normalised series.

``network``: the shipped default's mean test ARI from ``benchmarks/results/learning_ucr.json``
when it is there (not recomputed). A set where even the exact L1 clustering stays below the
better k-means baseline is short by its geometry, not by the column's approximation of it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen import config  # noqa: E402
from neutnngen._io import atomic_write_text  # noqa: E402
from neutnngen.errors import NeutnngenError  # noqa: E402
from neutnngen.pipeline import get_task  # noqa: E402

SETS = ["GunPoint", "ArrowHead", "ItalyPowerDemand", "ACSF1", "OSULeaf",
        "PickupGestureWiimoteZ_eq"]
BASE = "examples/ucr_cluster.toml"


def kmedians(X: np.ndarray, k: int, seed: int, iters: int = 50) -> np.ndarray:
    """Medians of an L1 Lloyd clustering of ``X`` from a seeded k-means++ start."""
    rng = np.random.default_rng(seed)
    idx = [int(rng.integers(len(X)))]
    d = ((X - X[idx[0]]) ** 2).sum(1)
    for _ in range(k - 1):
        i = int(rng.choice(len(X), p=d / d.sum())) if d.sum() > 0 else int(rng.integers(len(X)))
        idx.append(i)
        d = np.minimum(d, ((X - X[i]) ** 2).sum(1))
    C = X[idx].astype(float)
    for _ in range(iters):
        a = np.abs(X[:, None] - C[None]).sum(-1).argmin(1)
        new = np.array([np.median(X[a == j], 0) if (a == j).any() else C[j] for j in range(k)])
        if np.array_equal(new, C):
            break
        C = new
    return C


def geometry(name: str, seeds: int) -> dict:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score as ari

    cfg = config.load(ROOT / BASE, [f"data.name={name}", "network.neurons=0"])
    d = get_task(cfg).prepare(cfg)
    silent = 1 << cfg.network.timeres
    X = np.where(d.X_train < 0, silent, d.X_train).astype(float)
    Xt = np.where(d.X_test < 0, silent, d.X_test).astype(float)
    R = np.asarray(d.extra["raw_train"]).reshape(len(X), -1)
    Rt = np.asarray(d.extra["raw_test"]).reshape(len(Xt), -1)
    k, y = d.n_classes, d.y_test

    def mean(vals):
        return round(float(np.mean(vals)), 4)

    out = {"classes": k, "n_train": len(X), "n_test": len(Xt), "lines": int(X.shape[1])}
    out["kmeans_1"] = mean([ari(y, KMeans(k, n_init=1, random_state=s).fit(X).predict(Xt))
                            for s in range(seeds)])
    out["kmeans_10"] = mean([ari(y, KMeans(k, n_init=10, random_state=s).fit(X).predict(Xt))
                             for s in range(seeds)])
    out["kmedians_l1"] = mean([ari(y, np.abs(Xt[:, None] - kmedians(X, k, s)[None]).sum(-1)
                                   .argmin(1)) for s in range(seeds)])
    out["kmeans_raw_10"] = mean([ari(y, KMeans(k, n_init=10, random_state=s).fit(R).predict(Rt))
                                 for s in range(seeds)])
    return out


def network_means(path: Path) -> dict:
    """Mean test ARI of the shipped default (``new`` / bipolar) per set, if recorded."""
    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    acc: dict[str, list[float]] = {}
    for r in doc.get("ucr", []):
        if r.get("config") == "new" and r.get("encoding") == "bipolar":
            acc.setdefault(r["dataset"], []).append(r["test"]["adjusted_rand_index"])
    return {k: round(float(np.mean(v)), 4) for k, v in acc.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="seeds per method (>= 1)")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated UCR set names")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ucr_geometry.json")
    a = ap.parse_args(argv)
    if a.seeds < 1:
        ap.error(f"--seeds {a.seeds}: expected an integer >= 1")
    sets = [s for s in a.sets.split(",") if s]
    if not sets:
        ap.error(f"--sets {a.sets!r}: expected at least one set name")
    warnings.simplefilter("ignore")
    t0 = time.monotonic()
    net = network_means(ROOT / "benchmarks/results/learning_ucr.json")
    rows = {}
    for name in sets:
        try:
            r = geometry(name, a.seeds)
        except NeutnngenError as e:
            ap.error(f"--sets {name!r}: {e}; expected a UCR set name")
        if name in net:
            r["network"] = net[name]
        r["better_kmeans"] = max(r["kmeans_10"], r["kmeans_raw_10"])
        r["kmedians_reaches_kmeans"] = r["kmedians_l1"] >= r["better_kmeans"]
        rows[name] = r
        print(f"{name}: k-medians L1 {r['kmedians_l1']:.3f}, k-means {r['kmeans_10']:.3f} "
              f"(1 start {r['kmeans_1']:.3f}), raw {r['kmeans_raw_10']:.3f}, network "
              f"{r.get('network', float('nan')):.3f}", flush=True)
    doc = {"benchmark": "UCR: the clustering geometry of the targeted rule against k-means "
                        "(issue 13)",
           "command": "benchmarks/bench_ucr_geometry.py " + " ".join(argv or sys.argv[1:]),
           "config": BASE, "code": "bipolar", "metric": "test ARI, mean over seeds",
           "seeds": a.seeds, "wall_s": round(time.monotonic() - t0, 1), "sets": rows}
    atomic_write_text(a.out, json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
