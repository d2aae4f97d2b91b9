"""The clustering scores come from scikit-learn and give exactly the pair-count numbers that
neutnngen reported before (docs/model.md §8): checked here against a brute-force count over
every sample pair, with the old exact-integer formulas."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from neutnngen.data.metrics import (
    adjusted_rand_index,
    clustering_metrics,
    normalized_mutual_info,
    purity,
    rand_index,
)
from neutnngen.errors import ConfigError


def _pairs(t, p) -> tuple[int, int, int, int]:
    tp = fp = fn = tn = 0
    for i, j in itertools.combinations(range(len(t)), 2):
        same_t, same_p = t[i] == t[j], p[i] == p[j]
        tp += same_t and same_p
        fn += same_t and not same_p
        fp += same_p and not same_t
        tn += not same_t and not same_p
    return tp, fp, fn, tn


def _oracle(t, p) -> tuple[float, float, float]:
    """(RI, ARI, purity) as the hand-written pair counting computed them: exact integers,
    one division."""
    tp, fp, fn, tn = _pairs(t, p)
    total = tp + fp + fn + tn
    ri = 1.0 if total == 0 else (tp + tn) / total
    ari = 1.0 if fn == 0 and fp == 0 else \
        2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
    per_cluster = {c: Counter(x for x, y in zip(t, p, strict=True) if y == c) for c in set(p)}
    pur = sum(max(v.values()) for v in per_cluster.values()) / len(t)
    return ri, ari, pur


def test_scores_equal_the_exact_pair_counts_bit_for_bit():
    rng = np.random.default_rng(7)
    cases = [([0, 0, 1, 1, 2], [1, 1, -1, 0, 0]), ([3], [-1]), ([0, 1], [-1, -1]),
             ([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 0, 0])]
    for n, kt, kp in [(2, 2, 2), (9, 3, 4), (40, 2, 6), (150, 2, 3), (300, 5, 8)]:
        for _ in range(4):
            cases.append((rng.integers(0, kt, n).tolist(), rng.integers(-1, kp - 1, n).tolist()))
    for t, p in cases:
        ri, ari, pur = _oracle(t, p)
        # ==, not approx: the same numbers as before, to the last bit
        assert (rand_index(t, p), adjusted_rand_index(t, p), purity(t, p)) == (ri, ari, pur)
        m = clustering_metrics(t, p)
        assert (m["rand_index"], m["adjusted_rand_index"], m["purity"]) == (ri, ari, pur)
        assert all(type(f(t, p)) is float for f in (rand_index, adjusted_rand_index, purity))


def test_hand_example_values():
    # 10 pairs: tp=1, fn=1, fp=1, tn=7 -> RI 8/10, ARI 12/32; purity 4/5
    t, p = [0, 0, 1, 1, 2], [1, 1, -1, 0, 0]
    assert (rand_index(t, p), adjusted_rand_index(t, p), purity(t, p)) == (0.8, 0.375, 0.8)
    assert set(clustering_metrics(t, p)) == {"rand_index", "adjusted_rand_index", "purity",
                                             "normalized_mutual_info", "coverage",
                                             "n"}  # what the reports show


def test_large_n_stays_within_one_rounding():
    # scikit-learn turns the ARI numerator into a float before dividing; past ~13k samples
    # (pair products beyond 2**53) that can move the last bit. RI and purity stay exact.
    rng = np.random.default_rng(3)
    t = rng.integers(0, 3, 50_000)
    p = np.where(rng.random(50_000) < 0.7, t, rng.integers(-1, 4, 50_000))
    cont = Counter(zip(t.tolist(), p.tolist(), strict=True))
    c2 = lambda c: c * (c - 1) // 2  # noqa: E731
    both = sum(c2(c) for c in cont.values())
    st = sum(c2(c) for c in Counter(t.tolist()).values())
    sp = sum(c2(c) for c in Counter(p.tolist()).values())
    total = c2(len(t))
    tp, fn, fp = both, st - both, sp - both
    tn = total - tp - fn - fp
    assert rand_index(t, p) == (tp + tn) / total
    exact = 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
    assert math.isclose(adjusted_rand_index(t, p), exact, rel_tol=4e-16)


def test_normalized_mutual_info():
    # identical partitions up to renaming, the silent cluster included
    assert normalized_mutual_info([0, 0, 1, 1, 2], [-1, -1, 4, 4, 0]) == pytest.approx(1.0)
    # independent: every cluster holds each class equally often
    assert normalized_mutual_info([0, 1, 0, 1], [0, 0, 1, 1]) == pytest.approx(0.0, abs=1e-12)
    # hand value: T = (0,0,1,1), P = (0,0,0,1): I = H(T) + H(P) - H(T,P)
    h = lambda *ps: -sum(q * math.log(q) for q in ps)  # noqa: E731
    i = h(.5, .5) + h(.75, .25) - h(.5, .25, .25)
    assert normalized_mutual_info([0, 0, 1, 1], [0, 0, 0, 1]) == pytest.approx(
        i / ((h(.5, .5) + h(.75, .25)) / 2), rel=1e-12)
    with pytest.raises(ConfigError, match="normalized_mutual_info: labels_true has 3 samples"):
        normalized_mutual_info([0, 1, 1], [0, 1])


def test_bad_input_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match="purity: labels_pred holds non-integer floats"):
        purity([0, 1], [0.5, 1.0])
    with pytest.raises(ConfigError, match=r"rand_index: labels_true has shape \(2, 1\)"):
        rand_index([[0], [1]], [0, 1])
    with pytest.raises(ConfigError, match="0 samples"):
        adjusted_rand_index([], [])
