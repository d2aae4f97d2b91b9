"""The ``pipelined`` layer architecture (every step of every synapse at once, a new wave every
cycle): Amaranth's simulator against the reference interpreter on the hand-built networks of
the serial and parallel tiers, throughput and latency as planned, backpressure, the
generated Verilog under cocotb, and the options' errors."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from test_hdl import (
    gated_two_layers,
    gunpoint_column,
    kernel_net,
    one_layer,
    rand_column,
    rand_volleys,
    ref,
)

from neutnngen.errors import ConfigError
from neutnngen.hdl import build_top, emit, simulate
from neutnngen.hdl.plan import pipelined_latency, prefix_levels
from neutnngen.ir import Interpreter
from neutnngen.ir.nodes import NONE, Layer, Network, Retime, TimeSpec

PIPE = "pipelined"


def same(net, X, weights="hardwired", prox=None, **kw) -> np.ndarray:
    top = build_top(net, weights=weights, architecture=PIPE)
    y = simulate(net, X, prox=prox, top=top, **kw)
    r = ref(net, X, prox)
    np.testing.assert_array_equal(y, r)
    return r


def test_prefix_levels_and_latency():
    assert [prefix_levels(t) for t in (1, 2, 3, 4, 5, 8, 9, 14, 16, 17)] == \
        [0, 1, 2, 2, 3, 3, 4, 4, 4, 5]
    assert pipelined_latency(14) == 2 + 4 + 3


@pytest.mark.parametrize("inh", ["wta1", "kwta(2)", "twta", "none"])
def test_column_inhibition_with_ties(inh):
    rng = np.random.default_rng(200 + len(inh))
    col = rand_column(rng, 6, 4, wres=2, frac=(0.3, 0.5), inh=inh)
    r = same(one_layer(col), rand_volleys(rng, 40, 6))
    assert (r >= 0).any() and (r < 0).any()


@pytest.mark.parametrize("timeres,wres,response", [
    (3, 3, "rnl"), (3, 3, "snl"), (1, 1, "rnl"), (2, 5, "rnl"), (4, 2, "snl"), (1, 8, "snl"),
    (5, 1, "rnl"),
])
@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_responses_and_resolutions(timeres, wres, response, weights):
    rng = np.random.default_rng(timeres * 10 + wres)
    col = rand_column(rng, 9, 3, wres=wres, frac=(0.2, 0.6))
    net = one_layer(col, TimeSpec(timeres, response))
    r = same(net, rand_volleys(rng, 12, 9, timeres), weights)
    assert (r >= 0).any()
    T = net.layers[0].columns[0].wave_length(net.time)
    info = build_top(net, architecture=PIPE).info
    assert info["WAVE_CYCLES"] == 1 and info["LATENCY"] == pipelined_latency(T)


@pytest.mark.parametrize("mode", ["sum", "enable", "gate"])
@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_proximal_modes(mode, weights):
    rng = np.random.default_rng({"sum": 11, "enable": 12, "gate": 13}[mode])
    P = 4 if mode != "enable" else 3
    col = rand_column(rng, 10, 3, mode=mode, P=P, frac=(0.2, 0.4), inh="none")
    X = rand_volleys(rng, 30, 10)
    prox = ({0: rng.integers(0, 2, size=(30, 3))} if mode == "enable"
            else {0: rand_volleys(rng, 30, P, silent=0.3)})
    # backpressure stalls the pipeline: the enable bits travelling with each wave must
    # stay with it
    r = same(one_layer(col), X, weights, prox=prox, backpressure=0.4, seed=2)
    assert (r >= 0).any()
    if mode != "sum":
        assert (r < 0).any()


@pytest.mark.parametrize("seg_inh", ["wta1", "kwta(2)", "twta", "none"])
def test_multi_dendrite_neurons(seg_inh):
    rng = np.random.default_rng(17)
    col = rand_column(rng, 8, 3, D=2, S=3, wres=2, frac=(0.3, 0.7), seg_inh=seg_inh,
                      inh="kwta(2)")
    assert (same(one_layer(col), rand_volleys(rng, 16, 8)) >= 0).any()


@pytest.mark.parametrize("inh", ["wta1", "kwta(2)"])
def test_overshoot_ties(inh):
    rng = np.random.default_rng(27)
    col = replace(rand_column(rng, 8, 4, D=2, S=2, wres=2, frac=(0.1, 0.3), inh=inh),
                  tie="overshoot")
    X = rand_volleys(rng, 40, 8, timeres=2)
    r = same(one_layer(col), X, "register")
    low = one_layer(replace(col, tie="lowest"))
    if inh == "wta1":
        assert (ref(low, X) != r).any()


def test_kernel_retime_two_layers_and_bubbles():
    net = kernel_net()
    X = rand_volleys(np.random.default_rng(9), 20, net.inputs)
    r = same(net, X, bubbles={0, 3, 4, 11})
    assert (r >= 0).any()


def test_retime_before_and_between_layers_and_side_by_side_columns():
    rng = np.random.default_rng(19)
    a = rand_column(rng, 6, 4, wres=4, name="a", inh="none")  # times up to 21
    b = rand_column(rng, 4, 2, name="b")
    c = rand_column(rng, 4, 3, name="c", inh="twta", S=2, wres=2)
    net = Network("rt", TimeSpec(3), 6, (Retime("pre", 1, 7), Layer("l0", 6, (a,)),
                                         Retime("mid", 2, 7), Layer("l1", 4, (b, c))))
    assert (same(net, rand_volleys(rng, 16, 6)) >= 0).any()


@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_backpressure_and_gaps_keep_the_outputs(weights):
    """Two layers, the second's proximal lines travelling through the first's pipeline."""
    net = gated_two_layers()
    rng = np.random.default_rng(23)
    X = rand_volleys(rng, 40, 8)
    prox = {1: rand_volleys(rng, 40, 5, silent=0.3)}
    r = same(net, X, weights, prox=prox, backpressure=0.5, seed=3, bubbles={2, 3, 9, 30})
    assert (r >= 0).any() and (r < 0).any()
    # full rate, no backpressure: one beat per cycle after the latency (simulate checks it)
    same(net, X, weights, prox=prox)


def test_register_mode_loads_other_weights():
    rng = np.random.default_rng(15)
    col = rand_column(rng, 8, 2, absent=0.25, frac=(0.3, 0.5), inh="none")
    net = one_layer(col)
    X = rand_volleys(rng, 12, 8, silent=0.0)
    top = build_top(net, weights="register", architecture=PIPE)
    w = np.array(col.distal.weights)
    loads = []
    for seg in top.plan.segments:
        i = int(seg.path.split("/")[2][1:])
        for syn in seg.synapses:
            v = int(rng.integers(0, 8))
            loads.append((top.plan.address(seg, syn), v))
            w[i, 0, 0, syn.j] = v
    expect = Interpreter(one_layer(col.with_weights(w)), validate=False).forward(X)
    assert not np.array_equal(expect, ref(net, X))
    np.testing.assert_array_equal(simulate(net, X, loads=loads, top=top), expect)
    y = simulate(net, X, loads=loads, reset_after_loads=True,
                 top=build_top(net, "register", architecture=PIPE))
    np.testing.assert_array_equal(y, ref(net, X))


def test_gunpoint_sized_column_one_wave_per_cycle():
    net = gunpoint_column()
    X = rand_volleys(np.random.default_rng(14), 24, 150, silent=0.05)
    same(net, X)
    pipe = build_top(net, architecture=PIPE).info
    par = build_top(net, architecture="parallel").info
    assert pipe["WAVE_CYCLES"] == 1 and pipe["LATENCY"] == 2 + 4 + 3  # T = 14
    assert par["WAVE_CYCLES"] == 18
    assert pipe["arch"]["kind"] == PIPE and pipe["arch"]["prefix_levels"] == 4


def test_options_that_do_not_apply_are_errors():
    net = kernel_net()
    with pytest.raises(ConfigError, match="architecture='pipelined'.*weights='learn'"):
        build_top(net, weights="learn", architecture=PIPE)
    with pytest.raises(ConfigError, match="lanes=2 is a knob of the serial"):
        build_top(net, architecture=PIPE, lanes=2)
    with pytest.raises(ConfigError, match="accepted: serial, parallel, pipelined"):
        build_top(net, architecture="systolic")


def test_emit_is_deterministic(tmp_path):
    net = kernel_net()
    a = emit(net, tmp_path / "a", architecture=PIPE)
    b = emit(net, tmp_path / "b", architecture=PIPE)
    assert a.verilog.read_bytes() == b.verilog.read_bytes()
    assert a.verilog.read_bytes() != emit(net, tmp_path / "p",
                                          architecture="parallel").verilog.read_bytes()


def test_config_key_and_cli(tmp_path, capsys):
    from neutnngen import config
    from neutnngen.cli import main
    from neutnngen.ir import save

    assert config.load(None, ["hdl.architecture=pipelined"]).hdl.architecture == PIPE
    with pytest.raises(ConfigError, match="on-chip learning.*needs hdl.architecture='serial'"):
        config.load(None, ["hdl.architecture=pipelined", "hdl.weights=learn"])
    save(kernel_net(), tmp_path / "net.json")
    assert main(["compile", str(tmp_path / "net.json"), "--out", str(tmp_path / "o"),
                 "--architecture", PIPE, "--weights", "register"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"]["kind"] == PIPE and info["WAVE_CYCLES"] == 1
    names = json.loads((tmp_path / "o" / "names.json").read_text())
    assert names["top"]["arch"]["kind"] == PIPE


@pytest.mark.requires_sim
@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_generated_verilog_verified_in_cocotb(weights, tmp_path):
    from neutnngen.flows import sim as flows_sim
    from neutnngen.verify import run_verification

    if not flows_sim.simulator_available("icarus"):
        pytest.skip("icarus is not installed")
    net = gated_two_layers()
    rng = np.random.default_rng(31)
    X = rand_volleys(rng, 80, 8)
    prox = {1: rand_volleys(rng, 80, 5, silent=0.3)}
    res = emit(net, tmp_path / "rtl", weights=weights, architecture=PIPE)
    r = run_verification(net, res.verilog, res.names, X, prox=prox, simulator="icarus",
                         workdir=tmp_path / "w")
    assert r.passed and r.waves == 80, r.first_mismatch
    r = run_verification(net, res.verilog, res.names, X, prox=prox, simulator="icarus",
                         workdir=tmp_path / "w2", backpressure=0.4, gaps=0.3, seed=5)
    assert r.passed, r.first_mismatch
    wrong = Interpreter(net).forward(X, proximal=prox)
    wrong[wrong == NONE] = 0
    r = run_verification(net, res.verilog, res.names, X, prox=prox, simulator="icarus",
                         workdir=tmp_path / "w3", expected=wrong)
    assert r.mismatches > 0
