"""benchmarks/bench_mnist_geometry.py: the two time-domain sketches rank segments by the
distances their docstring claims (L1 for the ramp, squared L2 for the linear ramp), the
winner rule is the model's (earliest, then larger overshoot), and a reduced run writes its
result without touching the test digits; bad overrides are refused without an output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_mnist_geometry as B  # noqa: E402


def _heights(X: np.ndarray, t: int) -> np.ndarray:
    return np.where((X >= 0) & (t >= X), t - X + 1, 0)


@pytest.mark.parametrize("seed", range(5))
def test_overshoots_rank_by_l1_for_the_ramp_and_l2_for_the_linear_ramp(seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(-1, 8, size=(40, 12))  # -1: silent line
    W = rng.integers(0, 8, size=(6, 12))
    T = 8
    a = _heights(X, T - 1)
    # ramp: sum_j min(a_j, w_j) - sum_j w_j / 2 = (sum_j a_j - |a - w|_1) / 2
    V = B.potentials(X, W, "rnl", T)[:, :, -1]
    assert np.array_equal(2 * V - W.sum(1)[None], a.sum(1)[:, None]
                          - np.abs(a[:, None] - W[None]).sum(2))
    # linear ramp: sum_j w_j a_j - |w|^2 / 2 = (|a|^2 - |a - w|^2) / 2
    V = B.potentials(X, W, "lin", T)[:, :, -1]
    assert np.array_equal(2 * V - (W * W).sum(1)[None], (a * a).sum(1)[:, None]
                          - ((a[:, None] - W[None]) ** 2).sum(2))
    assert np.array_equal(V, a @ W.T)


def test_winner_is_the_earliest_then_the_larger_overshoot_and_silence_is_minus_one():
    # three segments, four steps; thresholds 3
    V = np.array([[[0, 3, 4, 4], [0, 5, 5, 5], [4, 4, 4, 4]],   # seg 2 fires first
                  [[0, 3, 9, 9], [0, 5, 5, 5], [0, 0, 1, 2]],   # 0 and 1 tie at t=1: 1 overshoots
                  [[0, 0, 3, 3], [0, 0, 3, 3], [0, 0, 0, 0]],   # equal time and overshoot: 0
                  [[0, 1, 2, 2], [0, 0, 0, 0], [1, 1, 1, 2]]])  # nobody reaches 3
    assert B.winners(V, np.array([3, 3, 3])).tolist() == [2, 1, 0, -1]
    with pytest.raises(ValueError, match="expected 'rnl' or 'lin'"):
        B.potentials(np.zeros((1, 2), dtype=int), np.zeros((1, 2), dtype=int), "snl", 3)


def test_prototypes_are_the_targeted_rules_targets():
    # the sketch's weights are the rule's targets ((t_max - x) * w_max) // t_max, which round
    # down (not w_max - x * w_max // t_max, the M6 initialisation, which rounds up: 9 below)
    X = np.array([[0, 7, 3, -1]])
    assert B.kernels.targeted_target(X, 7, 7).tolist() == [[7, 0, 4, 0]]
    assert B.kernels.targeted_target(X, 15, 7).tolist() == [[15, 0, 8, 0]]
    # one volley per class: the class median and mean are that volley's targets, so the
    # sketch classifies its own fit volleys without error
    Xf = np.array([[0, 7, 3, -1], [7, 0, -1, 3]] * 3)
    yf = np.array([0, 1] * 3)
    for proto in ("median", "mean"):
        for response in ("rnl", "lin"):
            r = B.sketch(Xf, yf, Xf, yf, 2, proto, response, 7, 15)
            assert r["fit_error"] == 0 and r["val_error"] == 0, (proto, response, r)


def test_reduced_run_writes_the_comparison(tmp_path):
    out = tmp_path / "g.json"
    assert B.main(["--set", "data.n_train=400", "--set", "data.n_test=50",
                   "--set", "layers.0.epochs=1", "--set", "layers.1.epochs=1",
                   "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["n_fit"] + d["n_val"] == 400 and d["n_val"] == 100  # a quarter held out
    assert d["t_max_in"] == 15 and d["w_max"] == 15 and d["lines"] == 128
    assert sorted(d["sketches"]) == ["mean_lin", "mean_rnl", "median_lin", "median_rnl"]
    for s in d["sketches"].values():
        assert 0 <= s["val_error"] <= 1 and 0 <= s["val_coverage"] <= 1
        assert s["steps"] in (16, 30)
    for k in ("example_val_error", "centroid_l1_val_error", "centroid_l2_val_error"):
        assert 0 <= d[k] < 0.9, k  # ten classes: chance is 0.9
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_bad_override_is_refused_without_an_output(tmp_path, capsys):
    out = tmp_path / "g.json"
    with pytest.raises(SystemExit) as e:
        B.main(["--set", "data.n_trian=400", "--out", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "n_trian" in err and "accepted" in err
    assert not out.exists()
