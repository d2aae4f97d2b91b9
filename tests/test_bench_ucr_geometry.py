"""benchmarks/bench_ucr_geometry.py: the L1 k-medians it compares with is a real Lloyd
clustering (medians of its clusters, nearest-median assignment), and the benchmark writes
one row per set with the baselines; bad arguments are refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ucr_geometry as B  # noqa: E402


def test_kmedians_finds_separated_groups_and_is_a_fixed_point():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.integers(0, 2, (20, 4)), rng.integers(6, 8, (20, 4))]).astype(float)
    C = B.kmedians(X, 2, seed=1)
    a = np.abs(X[:, None] - C[None]).sum(-1).argmin(1)
    assert len(set(a[:20])) == 1 and len(set(a[20:])) == 1 and a[0] != a[20]
    # every centre is the median of the points nearest to it
    for j in range(2):
        assert np.array_equal(C[j], np.median(X[a == j], 0))


def test_online_learners_seek_the_median_and_the_mean():
    # one prototype, one line, intensities 0, 0, 7: median 0, mean 7/3. Each run ends in a
    # random walk around its fixed point (steady state: mean about 1 for the sign steps,
    # about 7/3 for the proportional ones), so compare the means over 30 seeds.
    X = np.repeat(np.array([[7], [7], [0]]), 60, axis=0)
    l1 = [B.online(X, 1, s, 7, 7, "l1", epochs=6)[0, 0] for s in range(30)]
    l2 = [B.online(X, 1, s, 7, 7, "l2", epochs=6)[0, 0] for s in range(30)]
    assert np.mean(l1) < 1.5 < 2 < np.mean(l2) < 3, (np.mean(l1), np.mean(l2))
    assert min(l1 + l2) >= 0 and max(l1 + l2) <= 7


def test_online_learners_separate_two_groups_and_best_of_picks_least_distortion():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.integers(0, 2, (30, 6)), rng.integers(6, 8, (30, 6))])
    A = B.kernels.targeted_target(X, 7, 7)
    for norm in ("l1", "l2"):
        W = B.online(X, 2, 3, 7, 7, norm)
        a = B.nearest(A, W, norm)
        assert len(set(a[:30])) == 1 and len(set(a[30:])) == 1 and a[0] != a[30]
    best = B.best_online_l2(X, 2, 0, 7, 7, starts=3)
    dist = lambda W: int(((A - W[B.nearest(A, W, "l2")]) ** 2).sum())  # noqa: E731
    cands = [B.online(X, 2, np.random.SeedSequence([0, r]).generate_state(1)[0], 7, 7, "l2")
             for r in range(3)]
    assert dist(best) == min(dist(W) for W in cands)


def test_benchmark_writes_rows(tmp_path):
    out = tmp_path / "g.json"
    assert B.main(["--seeds", "2", "--sets", "GunPoint", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    r = doc["sets"]["GunPoint"]
    assert r["classes"] == 2 and r["n_train"] == 50 and r["n_test"] == 150
    for k in ("kmeans_1", "kmeans_10", "kmedians_l1", "kmeans_raw_10", "online_l1",
              "online_l2", "online_l2_best_of_10"):
        assert -1 <= r[k] <= 1
    assert r["online_reaches_kmeans"]["online_l2"] == (r["online_l2"] >= r["better_kmeans"])
    assert r["better_kmeans"] == max(r["kmeans_10"], r["kmeans_raw_10"])
    assert r["kmedians_reaches_kmeans"] == (r["kmedians_l1"] >= r["better_kmeans"])
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


@pytest.mark.parametrize("args", [["--seeds", "0"], ["--sets", ","], ["--sets", "NoSuchSet"]])
def test_bad_arguments_are_refused(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        B.main([*args, "--out", str(tmp_path / "x.json")])
    assert e.value.code == 2
    assert "expected" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
