"""M1 overshoot ties in the RTL (``tie = overshoot``, docs/model.md §4): the serial and the
parallel architectures, every weight mode, equal the reference interpreter bit for bit on
networks where ties are frequent, and the on-chip learning RTL equals the interpreter's
learning (the credit of tied segments and dendrites follows the overshoot). Tiers:
Amaranth's simulator, then the generated Verilog under cocotb on Icarus."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_hdl import rand_column, rand_volleys, ref
from test_learn import RULE, check_learning, learning
from test_learn import one_layer as layer_of

from neutnngen.hdl import build_top, emit, simulate
from neutnngen.ir import Interpreter
from neutnngen.ir.nodes import (
    NONE,
    Column,
    Inhibition,
    Layer,
    Network,
    Retime,
    SynapseBank,
    TimeSpec,
)

ARCHS = ("serial", "parallel")


def tie(col: Column, t: str = "overshoot") -> Column:
    return replace(col, tie=t)


def one_layer(col: Column, time: TimeSpec | None = None) -> Network:
    return layer_of(col, time=time)


def lowest(net: Network) -> Network:
    """The same network with ties to the lowest index."""
    for k, la in enumerate(net.layers):
        net = net.replace_layer(k, replace(la, columns=tuple(tie(c, "lowest")
                                                              for c in la.columns)))
    return net


def same(net: Network, X, weights="hardwired", arch="serial", prox=None, **kw) -> np.ndarray:
    top = build_top(net, weights=weights, architecture=arch)
    y = simulate(net, X, weights=weights, prox=prox, top=top, **kw)
    r = ref(net, X, prox)
    np.testing.assert_array_equal(y, r)
    return r


def tied(q: int = 2, weights=(2, 5), theta: int = 1) -> Network:
    """``q`` one-synapse neurons on one line: every neuron crosses at the line's spike time
    (SNL, ``V = w``), so the overshoot ``w - theta`` decides the tie."""
    w = np.asarray(weights, dtype=np.int64).reshape(q, 1, 1, 1)
    col = Column("c", 1, SynapseBank(w, np.ones_like(w, dtype=bool), 3),
                 np.full((q, 1, 1), theta, dtype=np.int64),
                 Inhibition.parse("wta1"), Inhibition.parse("wta1"))
    return one_layer(tie(col), TimeSpec(3, "snl"))


# ----------------------------------------------------------------------------- exact cases
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_the_larger_overshoot_wins_a_tie(arch, weights):
    X = np.array([[0], [3], [7], [NONE]])
    r = same(tied(), X, weights, arch)
    assert r.tolist() == [[NONE, 0], [NONE, 3], [NONE, 7], [NONE, NONE]]
    # equal overshoots: the lower index, as before
    r = same(tied(3, (4, 6, 6)), X, weights, arch)
    assert r.tolist() == [[NONE, 0, NONE], [NONE, 3, NONE], [NONE, 7, NONE],
                          [NONE, NONE, NONE]]
    # the lowest-index design loses exactly these waves
    low = simulate(lowest(tied()), X, weights=weights,
                   top=build_top(lowest(tied()), weights=weights, architecture=arch))
    assert low.tolist() == [[0, NONE], [3, NONE], [7, NONE], [NONE, NONE]]


@pytest.mark.parametrize("arch", ARCHS)
def test_time_still_comes_first(arch):
    """An earlier spike beats any overshoot: neuron 0 (small weight) on an early line,
    neuron 1 (large weight) on a later one."""
    w = np.array([[[[1, 0]]], [[[0, 7]]]])
    col = Column("c", 2, SynapseBank(w, np.ones_like(w, dtype=bool), 3),
                 np.ones((2, 1, 1), dtype=np.int64),
                 Inhibition.parse("wta1"), Inhibition.parse("wta1"))
    net = one_layer(tie(col), TimeSpec(3, "snl"))
    r = same(net, np.array([[2, 3], [3, 2], [4, 4]]), arch=arch)
    assert r.tolist() == [[2, NONE], [NONE, 2], [NONE, 4]]


# ----------------------------------------------------------------------------- random networks
def tie_heavy(rng, inh="wta1", seg_inh="wta1", D=1, S=1, mode="sum", P=0, p=8, q=4):
    """Small weights and early thresholds on 2-bit times: most waves tie somewhere."""
    return tie(rand_column(rng, p, q, D=D, S=S, wres=2, frac=(0.1, 0.3), inh=inh,
                           seg_inh=seg_inh, mode=mode, P=P))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("weights", ["hardwired", "register"])
@pytest.mark.parametrize("inh", ["wta1", "kwta(2)", "twta", "none"])
def test_random_columns_equal_the_interpreter(arch, weights, inh):
    rng = np.random.default_rng(7 + len(inh))
    net = one_layer(tie_heavy(rng, inh=inh, seg_inh="wta1", D=2, S=2))
    X = rand_volleys(rng, 40, 8, timeres=2)
    r = same(net, X, weights, arch)
    assert (r >= 0).any()
    if inh in ("wta1", "kwta(2)"):
        # the tie rule is visible in the outputs: lowest index would differ somewhere
        # (wta1 always; kwta(2) only on three-way ties, so not asserted there)
        if inh == "wta1":
            assert (ref(lowest(net), X) != r).any()


@pytest.mark.parametrize("arch", ARCHS)
def test_the_lowest_index_design_is_caught(arch):
    """The overshoot interpreter's volleys differ from a lowest-index design's on random
    tie-heavy data, so the equality above is not vacuous."""
    rng = np.random.default_rng(8)
    net = one_layer(tie_heavy(rng, q=5))
    X = rand_volleys(rng, 40, 8, timeres=2)
    low = lowest(net)
    y = simulate(low, X, top=build_top(low, architecture=arch))
    assert (y != ref(net, X)).any(axis=1).sum() >= 3


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("mode", ["sum", "enable"])
def test_proximal_sum_and_enable(arch, mode):
    rng = np.random.default_rng(21)
    col = tie_heavy(rng, mode=mode, P=3 if mode == "sum" else 0, D=2, S=1)
    net = one_layer(col)
    X = rand_volleys(rng, 40, 8, timeres=2)
    P = col.proximal_inputs
    prox = {0: (rng.integers(0, 2, (40, P)) if mode == "enable"
                else rand_volleys(rng, 40, P, timeres=2))}
    r = same(net, X, "register", arch, prox=prox)
    assert (r >= 0).any()


@pytest.mark.parametrize("arch", ARCHS)
def test_two_layers_with_a_retime(arch):
    rng = np.random.default_rng(33)
    c0 = tie_heavy(rng, p=8, q=4, inh="none")
    c1 = tie_heavy(rng, p=4, q=3)
    net = Network("two", TimeSpec(2), 8, (Layer("l0", 8, (c0,)), Retime("rt", 1, 3),
                                          Layer("l1", 4, (c1,))))
    X = rand_volleys(rng, 30, 8, timeres=2)
    same(net, X, "hardwired", arch, backpressure=0.3, seed=3)


@pytest.mark.parametrize("arch", ARCHS)
def test_snl_and_eight_bit_weights(arch):
    """Wide overshoots (8-bit weights, many lines, SNL): the accumulator and the overshoot
    are wide enough that no large potential wraps."""
    rng = np.random.default_rng(44)
    col = tie(rand_column(rng, 24, 3, wres=8, frac=(0.05, 0.2)))
    net = one_layer(col, TimeSpec(2, "snl"))
    same(net, rand_volleys(rng, 30, 24, timeres=2), "register", arch)


def test_lowest_tie_builds_the_v1_logic():
    """tie = lowest has no overshoot at all (the checked-in designs stay unchanged: see
    test_hdl's regeneration check); tie = overshoot adds it."""
    from neutnngen.hdl.plan import make_plan

    net = tied()
    for t, has in (("lowest", False), ("overshoot", True)):
        n = net if t == "overshoot" else lowest(net)
        spec = make_plan(n).layers[0].columns[0]
        assert (spec.overshoot_bits("hardwired") > 0) is has
        assert (spec.overshoot_bits("register") > 0) is has


# ----------------------------------------------------------------------------- learning
@pytest.mark.parametrize("case", ["winner_dendrites", "dendrite_credit", "rstdp"])
def test_on_chip_learning_follows_the_overshoot(case):
    rng = np.random.default_rng(101)
    kw = {"winner_dendrites": dict(D=2, S=2, inh="kwta(2)"),
          "dendrite_credit": dict(S=3, wres=2), "rstdp": dict(D=2, S=2, mode="enable")}[case]
    rule = {"winner_dendrites": RULE, "dendrite_credit": replace(RULE, credit="dendrite"),
            "rstdp": replace(RULE, kind="rstdp")}[case]
    col = tie(rand_column(rng, 9, 3, **kw))
    net = learning(one_layer(col), rule)
    X = rand_volleys(rng, 30, 9)
    labels = rng.integers(0, 3, 30) if case == "rstdp" else None
    changed = check_learning(net, X, labels=labels)
    assert changed["capture"] > 0 and changed["minus"] > 0
    # the tie rule changed what was learned: the lowest-index network ends elsewhere
    a, b = Interpreter(net), Interpreter(lowest(net))
    for n in range(len(X)):
        lab = None if labels is None else int(labels[n])
        a.step(X[n], learn=True, label=lab)
        b.step(X[n], learn=True, label=lab)
    assert any((x != y).any() for x, y in zip(a.distal[0], b.distal[0], strict=True))


# ----------------------------------------------------------------------------- cocotb
@pytest.mark.requires_sim
@pytest.mark.parametrize("arch", ARCHS)
def test_generated_verilog_verified_in_cocotb(arch, tmp_path):
    from neutnngen.flows import sim as flows_sim
    from neutnngen.verify import run_verification

    if not flows_sim.simulator_available("icarus"):
        pytest.skip("icarus is not installed")
    rng = np.random.default_rng(55)
    net = one_layer(tie_heavy(rng, q=5, D=2, S=2))
    X = rand_volleys(rng, 60, 8, timeres=2)
    res = emit(net, tmp_path / "rtl", weights="register", architecture=arch)
    r = run_verification(net, res.verilog, res.names, X, simulator="icarus",
                         workdir=tmp_path / "w", backpressure=0.3, gaps=0.2, seed=4)
    assert r.passed and r.waves == 60, r.first_mismatch
    # the lowest-index expectation is caught on the waves where the overshoot decides
    wrong = Interpreter(lowest(net)).forward(X)
    assert (wrong != Interpreter(net).forward(X)).any()
    r = run_verification(net, res.verilog, res.names, X, simulator="icarus",
                         workdir=tmp_path / "w2", expected=wrong)
    assert r.mismatches > 0
