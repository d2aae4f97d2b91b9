"""Corner-case stimulus (neutnngen.verify.corner, `verify --corner N`): seeded, in range, and
it tells a network from its one-weight / one-threshold neighbours where real data does not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neutnngen.ir import Column, Interpreter, Layer, Network, SynapseBank, TimeSpec
from neutnngen.verify import run_verification
from neutnngen.verify.corner import corner_volleys, learn_streams, sensitivity_goals


def small_net(seed: int = 3, p: int = 10, q: int = 3) -> Network:
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 4, size=(q, 1, 1, p))
    theta = np.maximum(1, (w.sum(-1) * 0.4).astype(np.int64))
    col = Column("col0", p, SynapseBank.dense(w, wres=2), theta)
    return Network("corner", TimeSpec(2, "rnl"), p, (Layer("layer0", p, (col,)),))


def real_volleys(n: int, p: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, size=(n, p))  # "real" data: early spikes only, few patterns
    X[rng.random(X.shape) < 0.2] = -1
    return X


def neighbour(net: Network, goal) -> Network:
    kind, ci, g, *rest = goal
    col = net.layers[0].columns[ci]
    q, D, S = col.neurons, col.dendrites, col.segments
    if kind == "theta":
        th = np.array(col.theta).reshape(-1)
        th[g] += rest[0]
        ncol = replace(col, theta=th.reshape(q, D, S))
    else:
        j, dw = rest
        w = np.array(col.distal.weights).reshape(q * D * S, -1)
        w[g, j] += dw
        ncol = col.with_weights(w.reshape(col.distal.weights.shape))
    return net.replace_layer(0, Layer("layer0", net.inputs, (ncol,)))


def test_corner_volleys_are_seeded_and_in_range():
    net = small_net()
    R = real_volleys(20, net.inputs)
    a, sa = corner_volleys(net, 12, seed=5, real=R, pool_size=600)
    b, _ = corner_volleys(net, 12, seed=5, real=R, pool_size=600)
    c, _ = corner_volleys(net, 12, seed=6, real=R, pool_size=600)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0 < len(a) <= 12 and a.shape[1] == net.inputs
    assert a.min() >= -1 and a.max() <= 3
    assert sa["seed"] == 5 and sa["volleys"] == len(a)
    assert sa["sensitivity_covered"] > sa["sensitivity_by_real"]
    with pytest.raises(ValueError, match="corner=-1"):
        corner_volleys(net, -1)


def test_sensitivity_goals_are_real_differences():
    """Every neighbour a volley is said to tell apart gives another output on that volley
    in the reference interpreter (and none is claimed where the outputs agree)."""
    net = small_net()
    X, _ = corner_volleys(net, 10, seed=1, pool_size=400)
    goals, total = sensitivity_goals(net, X)
    assert total > 0
    base = Interpreter(net).forward(X)
    claimed = sorted(set().union(*goals))
    assert claimed
    for goal in claimed[:: max(1, len(claimed) // 25)]:
        other = Interpreter(neighbour(net, goal)).forward(X)
        differs = (other != base).any(axis=1)
        marked = np.array([goal in g for g in goals])
        assert np.array_equal(differs, marked), goal


def test_learn_streams_repeat_blocks():
    net = small_net()
    S = learn_streams(net, 30, seed=0, block=5)
    assert S.shape == (30, net.inputs)
    assert (S[:5] == S[0]).all() and not (S[5] == S[0]).all()


@pytest.mark.requires_sim
def test_corner_volleys_catch_a_neighbour_real_data_misses(tmp_path):
    from neutnngen.flows.sim import simulator_available
    from neutnngen.hdl import emit

    if not simulator_available("icarus"):
        pytest.skip("icarus is not installed")
    net = small_net()
    R = real_volleys(16, net.inputs)
    C, _ = corner_volleys(net, 16, seed=0, real=R, pool_size=600)
    base_r = Interpreter(net).forward(R)
    base_c = Interpreter(net).forward(C)
    sens_r = set().union(*sensitivity_goals(net, R)[0])
    goal = next(g for g in sorted(set().union(*sensitivity_goals(net, C)[0]))
                if g not in sens_r and g[0] == "w")
    bad = neighbour(net, goal)
    assert np.array_equal(Interpreter(bad).forward(R), base_r)
    assert not np.array_equal(Interpreter(bad).forward(C), base_c)
    res = emit(bad, tmp_path / "rtl")
    real = run_verification(net, res.verilog, res.names, R, simulator="icarus",
                            workdir=tmp_path / "r")
    assert real.passed  # the real data cannot see the wrong weight
    both = run_verification(net, res.verilog, res.names, np.concatenate([R, C]),
                            simulator="icarus", workdir=tmp_path / "c",
                            build_dir=tmp_path / "r" / "sim_build")
    assert both.mismatches > 0 and both.first_mismatch["wave"] >= len(R)
    # the mismatch names the neuron's segment signals to look at in the waveform
    f = both.first_mismatch
    assert f["internal_signals"], f
    assert all(k.startswith(f["neuron"] + "/") for k in f["internal_signals"])
    assert any(v.endswith(".z") for v in f["internal_signals"].values())


def test_internal_signals_of_a_neuron():
    from neutnngen.verify.run import internal_signals

    names = {"times": {"layer0/col0/n1/d0/s0": "a.z", "layer0/col0/n10/d0/s0": "b.z"},
             "signals": {"layer0/col0/n1/d0/s0": "a.acc"}}
    assert internal_signals(names, "layer0/col0/n1") == {
        "layer0/col0/n1/d0/s0 time": "a.z", "layer0/col0/n1/d0/s0 potential": "a.acc"}
    assert internal_signals({}, "layer0/col0/n1") == {}


def gunpoint_like(seed: int = 1, p: int = 40, q: int = 3) -> Network:
    """Weights 0 / w_max in overlapping blocks and high thresholds (as trained GunPoint):
    random volleys rarely put a segment on its threshold."""
    rng = np.random.default_rng(seed)
    w = np.where(rng.random((q, 1, 1, p)) < 0.6, 7, 0)
    theta = (w.sum(-1) * 0.7).astype(np.int64)
    col = Column("col0", p, SynapseBank.dense(w, wres=3), theta)
    return Network("corner", TimeSpec(3, "rnl"), p, (Layer("layer0", p, (col,)),))


def test_threshold_volleys_hit_each_threshold_exactly():
    from neutnngen.ir.stages.layer.kernels import potentials
    from neutnngen.verify.corner import threshold_volleys

    net = gunpoint_like()
    col = net.layers[0].columns[0]
    E = threshold_volleys(net, seed=2)
    assert len(E) and E.min() >= -1 and E.max() <= 7
    assert np.array_equal(E, threshold_volleys(net, seed=2))
    G = col.neurons
    W = col.distal.weights.reshape(G, -1)
    V = potentials(E, W, col.distal.mask.reshape(G, -1), "rnl", col.wave_length(net.time))
    theta = col.theta.reshape(-1)
    for g in range(G):
        # V_g reaches theta_g exactly at some step t1 and is below it one step before
        exact = (V[:, g, 1:] == theta[g]) & (V[:, g, :-1] < theta[g])
        assert exact.any(), g
        # ... and one below it (the near miss a threshold - 1 turns into a firing)
        assert (V[:, g, :] == theta[g] - 1).any(), g
    # every one-weight / one-threshold neighbour is told apart by some threshold volley,
    # while the seeded random pool alone misses some
    sens, n = sensitivity_goals(net, E)
    assert len(set().union(*sens)) == n
    _, st = corner_volleys(net, 200, seed=2, exact=False, pool_size=600)
    _, st2 = corner_volleys(net, 200, seed=2, pool_size=600)
    assert st["sensitivity_covered"] < n == st2["sensitivity_covered"]
    assert st2["threshold_pool"] == len(E)
