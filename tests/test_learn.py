"""On-chip STDP learning (``weights="learn"``): the RTL's weights and LFSR states after
every wave equal :meth:`Interpreter.step(x, learn=True)` bit for bit.

Tiers: Amaranth's simulator (``simulate(..., trace=True)``) on small random columns; cocotb
(``run_learning_verification``) on Icarus and Verilator; real GunPoint data on the 150x2
column; mutation tests; the cost of the GunPoint column (Yosys)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_hdl import rand_column, rand_volleys

from neutnngen.errors import ConfigError
from neutnngen.flows import sim as flows_sim
from neutnngen.hdl import build_top, emit, simulate
from neutnngen.ir import Interpreter
from neutnngen.ir.interp import credited
from neutnngen.ir.nodes import (
    Column,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    Retime,
    TimeSpec,
    default_seeds,
)
from neutnngen.verify import run_learning_verification, trained_network
from neutnngen.verify.learn_check import _wave_args

ROOT = Path(__file__).resolve().parents[1]
CASES = ("capture", "minus", "search", "backoff")
# larger search / min probabilities than the defaults so that short runs hit every path
RULE = LearningRule(mu_search=300, mu_min=200)


# ----------------------------------------------------------------------------- builders
def learning(net: Network, rule: LearningRule = RULE, sharing: str = "segment",
             layers: set[int] | None = None, seed: int = 0) -> Network:
    """``net`` with ``rule`` on its layers (or ``layers``) and a RandomSource per column."""
    for k, layer in enumerate(net.layers):
        if layers is not None and k not in layers:
            continue
        cols = []
        for c, col in enumerate(layer.columns):
            n = 1 if sharing == "column" else col.n_generators()
            rs = RandomSource(default_seeds(n, seed + 7 * c + k), sharing=sharing)
            cols.append(replace(col, random=rs))
        net = net.replace_layer(k, replace(layer, columns=tuple(cols), learning=rule))
    return net


def one_layer(*cols: Column, time: TimeSpec | None = None) -> Network:
    p = cols[0].inputs
    return Network("net", time or TimeSpec(), p, (Layer("l0", p, tuple(cols)),))


def check_learning(net: Network, X, *, labels=None, learn=True, prox=None,
                   top=None, mu_shift=None, **kw) -> dict[str, int]:
    """Simulate with learning and compare outputs, weights and LFSR states after every wave
    (and the final read-out) with the interpreter; return how many weights each STDP case
    changed. ``kw``: more :func:`simulate` options (``backpressure``, ``bubbles``)."""
    tr = simulate(net, X, weights="learn", trace=True, labels=labels, learn=learn, prox=prox,
                  top=top, mu_shift=mu_shift, **kw)
    N = len(X)
    lv = np.broadcast_to(np.asarray(learn, bool), (N,))
    lab = None if labels is None else np.asarray(labels)
    pf = {} if prox is None else dict(prox)
    it = Interpreter(net)
    changed = dict.fromkeys(CASES + ("rstdp-capture", "proximal"), 0)
    for n in range(N):
        before = [[d.copy() for d in layer] for layer in it.distal]
        pbefore = [[None if p is None else p.copy() for p in layer] for layer in it.proximal]
        a = _wave_args(net, n, lv, lab, pf, None if mu_shift is None
                       else np.broadcast_to(mu_shift, (N,)))
        res = it.step(X[n], learn=a.learn, label=a.label, proximal=a.proximal, layers=a.layers,
                      mu_shift=a.mu_shift)
        np.testing.assert_array_equal(tr.outputs[n], res.outputs[-1][0], err_msg=f"wave {n}")
        for k, layer in enumerate(net.layers):
            for c, col in enumerate(layer.columns):
                dw, pw = tr.weights[n][k][c]
                np.testing.assert_array_equal(dw, it.distal[k][c],
                                              err_msg=f"wave {n} layer {k} col {c}")
                if pw is not None:
                    np.testing.assert_array_equal(pw, it.proximal[k][c],
                                                  err_msg=f"wave {n} layer {k} col {c} prox")
                    changed["proximal"] += int((pw != pbefore[k][c]).sum())
                if it.rng[k][c] is not None:
                    np.testing.assert_array_equal(tr.rng[n][k][c], it.rng[k][c],
                                                  err_msg=f"wave {n} LFSR")
                if layer.learning is None or not a.learn or k not in (a.layers or ()):
                    continue
                # which STDP case changed which weight
                x = res.inputs[k][0, layer.column_inputs(c)]
                zs, _ = credited(res.traces[k][c], layer.learning, col.proximal_mode)
                z = zs[0][..., None]
                diff = it.distal[k][c] != before[k][c]
                on = col.distal.mask
                cases = {"capture": (x >= 0) & (z >= 0) & (x <= z),
                         "minus": (x >= 0) & (z >= 0) & (x > z),
                         "search": (x >= 0) & (z < 0), "backoff": (x < 0) & (z >= 0)}
                for name, mk in cases.items():
                    changed[name] += int((diff & mk & on).sum())
                if layer.learning.kind == "rstdp":
                    dec = it.distal[k][c] < before[k][c]
                    changed["rstdp-capture"] += int((dec & cases["capture"] & on).sum())
    for k, layer in enumerate(net.layers):
        for c in range(len(layer.columns)):
            np.testing.assert_array_equal(tr.readout[k][c][0], it.distal[k][c],
                                          err_msg="wread read-out")
    return changed


def arch_top(net: Network, arch: str):
    """The learn-mode design of ``net`` in architecture ``arch`` (the scenarios below run on
    the serial and the parallel learning designs)."""
    return build_top(net, weights="learn", architecture=arch)


# ----------------------------------------------------------------------------- Amaranth tier
@pytest.mark.parametrize("arch", ["serial", "parallel"])
def test_dendritic_column_winner_credit_kwta_every_case(arch):
    rng = np.random.default_rng(101)
    col = rand_column(rng, 9, 3, D=2, S=2, absent=0.2, inh="kwta(2)", seg_inh="wta1")
    net = learning(one_layer(col))
    changed = check_learning(net, rand_volleys(rng, 30, 9), top=arch_top(net, arch))
    assert all(changed[c] > 0 for c in CASES), changed


@pytest.mark.parametrize("arch", ["serial", "parallel"])
@pytest.mark.parametrize("case", ["dendrites_overshoot", "sum_proximal_column_sharing"])
def test_targeted_rule_on_chip(arch, case):
    """M3 (docs/model.md §5) on chip: credited segments step each weight toward tau(x), the
    others search; weights, LFSRs and outputs equal the interpreter's after every wave."""
    rng = np.random.default_rng(111)
    rule = LearningRule(kind="targeted", mu_capture=600, mu_minus=600, mu_search=300,
                        mu_backoff=600)
    if case == "dendrites_overshoot":
        col = replace(rand_column(rng, 9, 3, D=2, S=2, absent=0.2, inh="wta1"),
                      tie="overshoot")
        net, prox, sharing = one_layer(col), None, "segment"
    else:
        # 2-bit weights under 3-bit times: tau(x) = ((7 - x) * 3) // 7 is not 7 - x
        col = rand_column(rng, 8, 3, S=2, mode="sum", P=3, wres=2, pwres=2)
        net, sharing = one_layer(col), "column"
        prox = {0: rand_volleys(rng, 30, 3)}
    net = learning(net, rule, sharing=sharing)
    X = rand_volleys(rng, 30, net.inputs)
    it = Interpreter(net)
    changed = check_learning(net, X, prox=prox, top=arch_top(net, arch))
    assert changed["search"] > 0 and changed["capture"] + changed["minus"] > 0, changed
    # the waves stepped weights both ways (so both decision paths were compared)
    ups = downs = 0
    for n in range(len(X)):
        before = it.distal[0][0].copy()
        it.step(X[n], learn=True, proximal=None if prox is None else {0: prox[0][n:n + 1]})
        ups += int((it.distal[0][0] > before).sum())
        downs += int((it.distal[0][0] < before).sum())
    assert ups > 0 and downs > 0, (ups, downs)


@pytest.mark.parametrize("arch", ["serial", "parallel"])
@pytest.mark.parametrize("case", ["relative_winrate_dendrites", "relative_targeted_sum_proximal",
                                  "winrate_gate"])
def test_relative_thresholds_and_winrate_on_chip(arch, case):
    """M2 relative thresholds and M5 win-rate counters (docs/model.md §5) on chip: every
    wave's outputs (so the thresholds the chip used), weights and LFSRs equal the
    interpreter's, whose thresholds move; the proximal lines and the gate-mode proximal
    segment stay out of the weight sums and keep their thresholds."""
    rng = np.random.default_rng(121)
    if case == "relative_winrate_dendrites":
        col = replace(rand_column(rng, 9, 3, D=2, S=2, absent=0.2, inh="wta1"),
                      tie="overshoot")
        rule = replace(RULE, theta="relative", theta_shift=1, homeostasis="winrate",
                       h_step=3, h_shift=2)
        prox = None
    elif case == "relative_targeted_sum_proximal":
        col = rand_column(rng, 8, 3, S=2, mode="sum", P=3, absent=0.3)
        rule = LearningRule(kind="targeted", mu_capture=600, mu_minus=600, mu_search=300,
                            mu_backoff=600, theta="relative", theta_shift=2)
        prox = {0: rand_volleys(rng, 40, 3)}
    else:
        col = rand_column(rng, 8, 3, D=2, mode="gate", P=3, inh="kwta(2)")
        rule = replace(RULE, homeostasis="winrate", h_step=2, h_shift=1)
        prox = {0: rand_volleys(rng, 40, 3)}
    net = learning(one_layer(col), rule)
    X = rand_volleys(rng, 40, net.inputs)
    top = arch_top(net, arch)
    check_learning(net, X, prox=prox, top=top)
    if arch == "serial":  # and from the memory weight store
        check_learning(net, X, prox=prox,
                       top=build_top(net, weights="learn", weight_store="memory"))
    # the thresholds did move, so the comparison above covered the dynamic path
    it = Interpreter(net)
    seen = set()
    for n in range(len(X)):
        it.step(X[n], learn=True, proximal=None if prox is None else {0: prox[0][n:n + 1]})
        seen.add(it._layer_states[0].current_theta(0).tobytes())
    assert len(seen) > 3, len(seen)


@pytest.mark.parametrize("arch", ["serial", "parallel"])
def test_threshold_above_every_potential_on_chip(arch):
    """An IR trained with M2 + M5 whose thresholds ended above the largest possible potential
    (valid while learning, docs/model.md §5) compiles: the hardwired designs of every
    architecture never fire those segments, as the interpreter, and on-chip learning from
    it equals the interpreter wave by wave."""
    from test_model import one_layer as model_layer
    from test_model import rand_column as model_column
    from test_model import rand_times

    from neutnngen.model import train

    rng = np.random.default_rng(34)
    rule = LearningRule(kind="stdp", mu_capture=800, mu_minus=300, mu_search=200,
                        mu_backoff=800, theta="relative", theta_shift=0,
                        homeostasis="winrate", h_step=1, h_shift=0)
    net = model_layer(model_column(rng, "c", 8, 3, S=2, seed=9), rule)
    X = rand_times(rng, 30, 8, silent=0.2)
    trained = train(net, X, epochs=2).network
    c = trained.layers[0].columns[0]
    assert (c.theta > c.distal.mask.sum(axis=-1) * c.distal.w_max).any()
    Xt = rand_times(rng, 40, 8, silent=0.1)
    ref = Interpreter(trained).forward(Xt)
    for a in (arch, "pipelined") if arch == "parallel" else (arch,):
        got = simulate(trained, Xt, "hardwired",
                       top=build_top(trained, weights="hardwired", architecture=a))
        np.testing.assert_array_equal(got, ref, err_msg=a)
    check_learning(trained, X, top=arch_top(trained, arch))


@pytest.mark.parametrize("arch", ["serial", "parallel"])
@pytest.mark.parametrize("case", ["stdp_dendrites", "targeted_relative_winrate_memory",
                                  "two_layers_one_budget"])
def test_weight_budget_on_chip(case, arch):
    """M8 (docs/model.md §5) on chip: after the weight updates (serial: a norm pass after
    the learn pass; parallel: a level sweep after the update cycle) every distal weight of
    a segment over its budget becomes ``(w * B) // s``; outputs, weights, LFSRs (and
    counters) equal the interpreter after every wave. In a design where only one layer has
    a budget, the other layer learns once per wave (serial) or has no sweep (parallel)."""
    rng = np.random.default_rng(141)
    top_kw: dict = {}
    if case == "stdp_dendrites":
        col = rand_column(rng, 9, 3, D=2, S=2, absent=0.2)
        net = learning(one_layer(col), replace(RULE, w_norm=100))
    elif case == "targeted_relative_winrate_memory":
        col = replace(rand_column(rng, 8, 3, S=2, mode="sum", P=3, absent=0.1),
                      tie="overshoot")
        rule = LearningRule(kind="targeted", mu_capture=700, mu_minus=300, mu_search=300,
                            mu_backoff=300, theta="relative", homeostasis="winrate",
                            h_shift=2, w_norm=120)
        net = learning(one_layer(col), rule)
        top_kw["weight_store"] = "memory"
    else:
        c0 = rand_column(rng, 8, 4, absent=0.1, inh="none")
        c1 = rand_column(rng, 4, 2, name="col1")
        net = Network("net", TimeSpec(), 8, (Layer("l0", 8, (c0,)), Retime("rt", 1, 7),
                                             Layer("l1", 4, (c1,))))
        net = learning(net, replace(RULE, w_norm=90), layers={0})
        net = learning(net, RULE, layers={1}, seed=5)
    X = rand_volleys(rng, 40, net.inputs)
    prox = {0: rand_volleys(rng, 40, 3)} if case.startswith("targeted") else None
    top = build_top(net, weights="learn", architecture=arch, **top_kw)
    info = top.plan.info()
    assert top.plan.learn.NORM and info["learn"]["norm_pass_cycles"] > 0
    if arch == "parallel":  # the sweep: a cycle to latch the sums, one per level 1 .. 7
        assert info["learn"]["norm_pass_cycles"] == 8
        unbudgeted = replace(net.layers[0], learning=replace(net.layers[0].learning,
                                                             w_norm=0))
        plain = build_top(net.replace_layer(0, unbudgeted), weights="learn",
                          architecture=arch)
        assert info["WAVE_CYCLES"] == plain.plan.info()["WAVE_CYCLES"] + 8
    # waves 0, 5, 10, ... do not learn (the random weights start over budget, and only a
    # learning wave is normalised)
    lv = np.arange(len(X)) % 5 != 0
    check_learning(net, X, prox=prox, top=top, learn=lv)
    # the budget did scale weights: the interpreter without it ends elsewhere
    free = net.replace_layer(0, replace(net.layers[0], learning=replace(
        net.layers[0].learning, w_norm=0)))
    a, b = Interpreter(net), Interpreter(free)
    for n in range(len(X)):
        pv = None if prox is None else {0: prox[0][n:n + 1]}
        a.step(X[n], learn=bool(lv[n]), proximal=pv)
        b.step(X[n], learn=bool(lv[n]), proximal=pv)
    assert not np.array_equal(a.distal[0][0], b.distal[0][0])


@pytest.mark.parametrize("arch", ["serial", "parallel"])
def test_mu_schedule_on_chip(arch):
    """M4 on chip: a ``mu_shift`` port travels with every wave; a wave learns with capture,
    minus, search and backoff ``mu >> mu_shift`` (mu_min unchanged), like
    Interpreter.step(mu_shift=...), here with win-rate counters and relative thresholds
    that carry on across the shifts. Shift 3 of a 2-bit port (every mu / 8) changes fewer
    weights than shift 0, and a shift the port cannot hold is refused."""
    rng = np.random.default_rng(131)
    col = replace(rand_column(rng, 9, 3, D=1, S=2, absent=0.1), tie="overshoot")
    rule = replace(RULE, mu_capture=900, mu_minus=900, mu_backoff=900, theta="relative",
                   homeostasis="winrate", h_shift=2)
    net = learning(one_layer(col), rule)
    X = rand_volleys(rng, 48, net.inputs)
    top = build_top(net, weights="learn", architecture=arch, mu_shift_bits=2)
    assert top.plan.info()["ports"]["mu_shift"] == ["in", 2]
    shifts = np.repeat([0, 1, 2, 3], 12)
    changed = check_learning(net, X, top=top, mu_shift=shifts)
    assert sum(changed.values()) > 0
    # the shifted waves change fewer weights: count per quarter in the interpreter
    it = Interpreter(net)
    moved = []
    for n in range(len(X)):
        before = it.distal[0][0].copy()
        it.step(X[n], learn=True, mu_shift=int(shifts[n]))
        moved.append(int((it.distal[0][0] != before).sum()))
    q = np.add.reduceat(moved, [0, 12, 24, 36])
    assert q[0] > q[3], q
    with pytest.raises(ConfigError, match="mu_shift"):
        simulate(net, X[:2], weights="learn", top=top, mu_shift=4)
    with pytest.raises(ConfigError, match="mu_shift"):
        build_top(net, weights="register", mu_shift_bits=2)


@pytest.mark.parametrize("arch", ["serial", "parallel"])
def test_dendrite_credit_twta_column_sharing(arch):
    rng = np.random.default_rng(102)
    col = rand_column(rng, 8, 3, D=2, S=2, inh="twta", seg_inh="twta")
    net = learning(one_layer(col), replace(RULE, credit="dendrite"), sharing="column")
    changed = check_learning(net, rand_volleys(rng, 25, 8), top=arch_top(net, arch))
    assert all(changed[c] > 0 for c in CASES), changed


@pytest.mark.parametrize("arch", ["serial", "parallel"])
@pytest.mark.parametrize("credit", ["winner", "dendrite"])
def test_proximal_learning_gate_and_sum(credit, arch):
    rng = np.random.default_rng(103)
    gate = rand_column(rng, 7, 2, D=2, S=1, mode="gate", P=3, inh="none", name="g")
    net = learning(one_layer(gate), replace(RULE, credit=credit))
    X = rand_volleys(rng, 20, 7)
    prox = {0: rand_volleys(rng, 20, 3)}
    assert check_learning(net, X, prox=prox, top=arch_top(net, arch))["proximal"] > 0
    ssum = rand_column(rng, 7, 2, S=2, mode="sum", P=3, name="s")
    net = learning(one_layer(ssum), replace(RULE, credit=credit), sharing="column")
    assert check_learning(net, X, prox=prox, top=arch_top(net, arch))["proximal"] > 0


@pytest.mark.parametrize("arch", ["serial", "parallel"])
def test_rstdp_with_labels_enable_gating_and_learn_en(arch):
    """One layer, R-STDP, an enable column beside a sum column with proximal synapses: the
    label gates the enable lines and silences the others; waves without a label (or with
    learn_en low) do not learn."""
    rng = np.random.default_rng(104)
    a = rand_column(rng, 8, 3, mode="enable", name="a")
    b = rand_column(rng, 8, 2, mode="sum", P=2, name="b")
    net = learning(one_layer(a, b), replace(RULE, kind="rstdp"))
    N = 30
    labels = rng.integers(0, 3, N)
    labels[::7] = -1
    learn = rng.random(N) < 0.85
    prox = {0: np.concatenate([np.ones((N, 3), np.int64), rand_volleys(rng, N, 2)], axis=1)}
    changed = check_learning(net, rand_volleys(rng, N, 8), labels=labels, learn=learn,
                             prox=prox, top=arch_top(net, arch))
    assert changed["rstdp-capture"] > 0 and changed["search"] > 0, changed
    info = build_top(net, weights="learn").info
    assert info["LABEL_BITS"] == 2 and info["learn"]["label_layers"] == [0]


@pytest.mark.parametrize("arch", ["serial", "parallel"])
def test_two_layers_only_the_second_learns_with_labels(arch):
    rng = np.random.default_rng(105)
    c0 = rand_column(rng, 8, 3, name="c0", inh="none")
    c1 = rand_column(rng, 8, 3, name="c1", inh="none")
    l0 = Layer("l0", 8, (c0, c1))
    out = rand_column(rng, 6, 2, name="out", frac=(0.1, 0.3))
    net = Network("two", TimeSpec(), 8, (l0, Retime("rt", 1, 7), Layer("l1", 6, (out,))))
    net = learning(net, replace(RULE, kind="rstdp"), layers={1})
    N = 16
    changed = check_learning(net, rand_volleys(rng, N, 8), labels=rng.integers(0, 2, N),
                             top=arch_top(net, arch))
    assert sum(changed.values()) > 0


def two_learning_layers(seed: int) -> Network:
    """Two R-STDP layers (a retime between them): both learn every labelled wave."""
    rng = np.random.default_rng(seed)
    c0 = rand_column(rng, 8, 3, name="c0", inh="none")
    out = rand_column(rng, 3, 2, name="out", frac=(0.1, 0.3))
    net = Network("two", TimeSpec(), 8, (Layer("l0", 8, (c0,)), Retime("rt", 1, 7),
                                         Layer("l1", 3, (out,))))
    return learning(net, replace(RULE, kind="rstdp"))


@pytest.mark.parametrize("arch", ["serial", "parallel"])
def test_two_learning_layers_under_backpressure_and_gaps(arch):
    """out_ready low in random runs (stages wait in their last cycle with the update done)
    and idle cycles in the source: every layer learns every wave exactly once."""
    net = two_learning_layers(111)
    rng = np.random.default_rng(112)
    X = rand_volleys(rng, 20, 8)
    labels = rng.integers(0, 2, 20)
    changed = check_learning(net, X, labels=labels, backpressure=0.6, bubbles={1, 4, 9},
                             top=arch_top(net, arch))
    assert sum(changed.values()) > 0


@pytest.mark.parametrize("arch", ["serial", "parallel"])
def test_learn_en_low_freezes_weights_and_generators(arch):
    rng = np.random.default_rng(106)
    col = rand_column(rng, 6, 2, absent=0.3)
    net = learning(one_layer(col))
    X = rand_volleys(rng, 8, 6)
    tr = simulate(net, X, weights="learn", learn=False, trace=True, top=arch_top(net, arch))
    for n in range(len(X)):
        np.testing.assert_array_equal(tr.weights[n][0][0][0], col.distal.weights)
        np.testing.assert_array_equal(tr.rng[n][0][0], net.layers[0].columns[0].random.seeds)
    np.testing.assert_array_equal(tr.outputs, Interpreter(net).forward(X))


def test_wait_cycles_snl_and_loaded_weights():
    """Two lines and 5-bit weights: the random phase (38 draws) outlasts the search, so the
    slot waits before the learn pass. SNL, 2-bit times. Weights loaded through wload become
    the starting point of learning."""
    rng = np.random.default_rng(107)
    col = rand_column(rng, 2, 2, wres=5, frac=(0.3, 0.5))
    net = learning(one_layer(col, time=TimeSpec(2, "snl")))
    top = build_top(net, weights="learn")
    assert top.info["learn"]["wait_cycles"] > 0
    X = rand_volleys(rng, 12, 2, timeres=2, silent=0.2)
    check_learning(net, X, top=top)
    # loads: every present weight of neuron 0 set to 9, then learning from there
    w = np.array(col.distal.weights)
    loads = []
    for seg in top.plan.segments:
        for syn in seg.synapses:
            if seg.path.startswith("layer0/col0/n0/"):
                loads.append((top.plan.address(seg, syn), 9))
                w[0, 0, 0, syn.j] = 9
    tr = simulate(net, X, weights="learn", loads=loads, trace=True,
                  top=build_top(net, weights="learn"))
    it = Interpreter(learning(one_layer(col.with_weights(w), time=TimeSpec(2, "snl"))))
    np.testing.assert_array_equal(tr.outputs, it.run(X, learn=True))
    np.testing.assert_array_equal(tr.weights[-1][0][0][0], it.distal[0][0])


def test_learn_mode_names_and_ports(tmp_path):
    rng = np.random.default_rng(108)
    col = rand_column(rng, 5, 2, mode="enable")
    net = learning(one_layer(col), replace(RULE, kind="rstdp"))
    r = emit(net, tmp_path, weights="learn", name="lrn")
    doc = json.loads(r.names.read_text())
    top = doc["top"]
    assert top["weights"] == "learn" and top["LABEL_BITS"] == 1
    assert top["WREAD_LATENCY"] >= 2 and top["A"] >= 1
    assert set(doc["rng"]) == {"layer0/col0/g0", "layer0/col0/g1"}
    assert doc["rng"]["layer0/col0/g1"]["seed"] == int(net.layers[0].columns[0].random.seeds[1])
    assert len(doc["weights"]) == col.distal.synapses
    text = r.verilog.read_text()
    for port in ("learn_en", "label", "label_valid", "wread_en", "wread_addr", "wread_data",
                 "wread_valid", "wload_en"):
        assert f" {port}" in text.split(");", 1)[0]
    ports = build_top(net, weights="learn").signature.members
    assert "label" in ports and "wread_valid" in ports
    plain = learning(one_layer(rand_column(rng, 5, 2)))
    assert "label" not in build_top(plain, weights="learn").signature.members


def test_learn_mode_config_errors():
    rng = np.random.default_rng(109)
    frozen = one_layer(rand_column(rng, 4, 2))
    with pytest.raises(ConfigError, match="learning rule"):
        build_top(frozen, weights="learn")
    net = learning(one_layer(rand_column(rng, 4, 2)))
    with pytest.raises(ConfigError, match="lanes"):
        build_top(net, weights="learn", lanes=2)
    mixed = learning(one_layer(rand_column(rng, 4, 2, mode="sum", P=2, pwres=2)))
    with pytest.raises(ConfigError, match="wres"):
        build_top(mixed, weights="learn")
    with pytest.raises(ConfigError, match="labels"):
        simulate(net, np.zeros((1, 4), np.int64), weights="learn", labels=[0])


# ----------------------------------------------------------------------------- cocotb tier
def small_learning_column(waves: int):
    """A 12x3 learning column (seed 110) and ``waves`` random volleys for it."""
    rng = np.random.default_rng(110)
    col = rand_column(rng, 12, 3, D=1, S=2, absent=0.15, inh="wta1")
    return learning(one_layer(col)), rand_volleys(rng, waves, 12)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    net, X = small_learning_column(100)
    d = tmp_path_factory.mktemp("small_learn")
    r = emit(net, d, weights="learn", name="small_learn")
    return net, r, X


@pytest.mark.requires_sim
def test_cocotb_small_column_100_waves(sim, small, tmp_path, build_root):
    net, r, X = small
    res = run_learning_verification(net, r.verilog, r.names, X, simulator=sim,
                                    workdir=tmp_path, build_dir=build_root)
    assert res.passed, (res.first_mismatch, res.first_weight_mismatch)
    assert res.waves == 100 and res.weight_mismatches == 0 and res.rng_mismatches == 0
    it = Interpreter(net)
    it.run(X, learn=True)
    np.testing.assert_array_equal(np.array(res.final_weights[0][0]["distal"]), it.distal[0][0])
    assert res.final_rng[0][0] == it.rng[0][0].tolist()
    chip = trained_network(net, res.final_weights, res.final_rng)
    np.testing.assert_array_equal(chip.layers[0].columns[0].random.seeds, it.rng[0][0])
    assert Path(res.final_weights_path).is_file()


@pytest.mark.requires_sim
def test_cocotb_two_learning_layers_under_backpressure(sim, tmp_path, build_root):
    """Weights and LFSR states of both layers after every wave, sampled after each stage's
    done pulse, with random out_ready runs and gaps in the input."""
    net = two_learning_layers(113)
    rng = np.random.default_rng(114)
    X = rand_volleys(rng, 40, 8)
    labels = rng.integers(0, 2, 40)
    r = emit(net, tmp_path / "rtl", weights="learn", name="two_learn")
    kw = dict(labels=labels, simulator=sim, build_dir=build_root / "two_learn")
    free = run_learning_verification(net, r.verilog, r.names, X, workdir=tmp_path / "a", **kw)
    res = run_learning_verification(net, r.verilog, r.names, X, workdir=tmp_path / "b",
                                    backpressure=0.5, gaps=0.3, seed=2, **kw)
    for x in (free, res):
        assert x.passed, (x.first_mismatch, x.first_weight_mismatch)
        assert x.weight_mismatches == 0 and x.rng_mismatches == 0
        assert x.readout_mismatches == 0
    assert res.cycles > free.cycles
    it = Interpreter(net)
    for n in range(40):
        a = _wave_args(net, n, np.ones(40, bool), labels, {})
        it.step(X[n], learn=a.learn, label=a.label, proximal=a.proximal, layers=a.layers)
    for k in range(2):
        np.testing.assert_array_equal(np.array(res.final_weights[k][0]["distal"]),
                                      it.distal[k][0])
    assert (it.distal[1][0] != net.layers[1].columns[0].distal.weights).any()


@pytest.mark.requires_sim
def test_cocotb_parallel_weight_budget_under_backpressure(sim, tmp_path, build_root):
    """M8 in the parallel architecture through the cocotb learning bench: the bench samples
    each wave's registers after the stage's ``done`` tap, which for a budgeted parallel
    stage is the end of its level sweep; with random out_ready runs, input gaps and waves
    that do not learn, every weight, LFSR state and output equals the interpreter."""
    net0, X = small_learning_column(40)
    col = net0.layers[0].columns[0]
    net = learning(one_layer(col), replace(RULE, w_norm=100))
    learn = np.arange(40) % 4 != 0
    r = emit(net, tmp_path / "rtl", weights="learn", architecture="parallel", name="pnorm")
    names = json.loads(Path(r.names).read_text())
    assert names["top"]["learn"]["norm_pass_cycles"] == 8
    assert names["stages"][0]["done"].endswith(".done")
    res = run_learning_verification(net, r.verilog, r.names, X, learn=learn, simulator=sim,
                                    workdir=tmp_path / "w", build_dir=build_root / "pnorm",
                                    backpressure=0.5, gaps=0.3, seed=3)
    assert res.passed, (res.first_mismatch, res.first_weight_mismatch)
    it = Interpreter(net)
    for n in range(40):
        it.step(X[n], learn=bool(learn[n]))
    np.testing.assert_array_equal(np.array(res.final_weights[0][0]["distal"]), it.distal[0][0])
    free = Interpreter(learning(one_layer(col), RULE))
    for n in range(40):
        free.step(X[n], learn=bool(learn[n]))
    assert not np.array_equal(free.distal[0][0], it.distal[0][0])  # the budget acted


@pytest.mark.requires_sim
def test_mutated_mu_capture_is_reported(small, tmp_path, build_root):
    """RTL emitted from an IR whose mu_capture differs: the weight mismatch names the wave,
    the synapse and the STDP case."""
    net, _, X = small
    layer = net.layers[0]
    mutant = net.replace_layer(0, replace(layer, learning=replace(layer.learning,
                                                                  mu_capture=200)))
    r = emit(mutant, tmp_path / "rtl", weights="learn", name="mut_mu")
    res = run_learning_verification(net, r.verilog, r.names, X[:40], simulator="icarus",
                                    workdir=tmp_path / "work", build_dir=build_root)
    assert not res.passed and res.weight_mismatches > 0
    f = res.first_weight_mismatch
    assert f["case"] == "capture" and f["synapse"].startswith("layer0/col0/n")
    assert f["wave"] >= 0 and f["expected"] != f["got"]
    assert res.waveform is not None


@pytest.mark.requires_sim
def test_mutated_case_condition_is_reported(small, tmp_path, build_root, monkeypatch):
    """Capture on ``x < z`` instead of ``x <= z``: a synapse whose input spiked exactly at
    the segment's firing time is treated as minus."""
    import neutnngen.hdl.segment as segmod

    monkeypatch.setattr(segmod, "capture_condition", lambda x, z: x < z)
    net, _, X = small
    r = emit(net, tmp_path / "rtl", weights="learn", name="mut_le")
    monkeypatch.undo()
    with pytest.raises(Exception) as exc:
        run_learning_verification(net, r.verilog, r.names, X[:40], simulator="icarus",
                                  workdir=tmp_path / "work", build_dir=build_root,
                                  raise_on_mismatch=True)
    msg = str(exc.value)
    assert "after wave" in msg and "layer0/col0/n" in msg and "case" in msg
    assert exc.value.first["case"] in ("capture", "minus")
    assert exc.value.first["x"] == exc.value.first["z"]


@pytest.mark.requires_sim
def test_gunpoint_one_epoch_on_verilator(tmp_path, build_root):
    if not flows_sim.simulator_available("verilator"):
        pytest.skip("verilator is not installed")
    from neutnngen.data import encode_timeseries, load_ucr
    from neutnngen.frontend import init_column_network

    try:
        d = load_ucr("GunPoint")
    except Exception as exc:  # pragma: no cover - offline without aeon's copy
        pytest.skip(f"GunPoint not available: {exc}")
    Xtr = encode_timeseries(d.X_train).astype(np.int64)
    net = init_column_network(150, 2, X=Xtr, seed=0)
    r = emit(net, tmp_path / "rtl", weights="learn", name="gp_learn")
    res = run_learning_verification(net, r.verilog, r.names, Xtr, simulator="verilator",
                                    workdir=tmp_path / "work", build_dir=build_root)
    assert res.waves == len(Xtr) == 50
    assert res.mismatches == 0 and res.weight_mismatches == 0 and res.rng_mismatches == 0
    assert res.readout_mismatches == 0
    it = Interpreter(net)
    it.run(Xtr, learn=True)
    final = np.array(res.final_weights[0][0]["distal"])
    np.testing.assert_array_equal(final, it.distal[0][0])
    assert (final != net.layers[0].columns[0].distal.weights).sum() > 10  # it did learn


# ----------------------------------------------------------------------------- cost
@pytest.mark.requires_yosys
def test_gunpoint_learn_column_transistors():
    from neutnngen import flows
    from neutnngen.frontend import init_column_network

    rng = np.random.default_rng(0)
    X = rand_volleys(rng, 50, 150, silent=0.0)
    net = init_column_network(150, 2, X=X, seed=0)
    out = ROOT / "out" / "test_learn_area"
    r = emit(net, out, weights="learn", name="gp_learn")
    g = flows.synth_generic(r.verilog.read_text(), "gp_learn")
    assert g.transistors <= 72_000, g
