"""The ``pipelined`` layer architecture (every step of every synapse at once, a new wave every
cycle). The hand-built networks of the parallel tier, its cocotb run and its register loads
run on it too (``test_parallel.py``'s ``arch`` fixture); here: throughput and latency as
planned, every response and resolution, proximal modes and sidebands under backpressure,
overshoot ties, the GunPoint-sized column, and the options' errors."""

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
from neutnngen.hdl import build_top, simulate
from neutnngen.hdl.plan import pipelined_latency, prefix_levels
from neutnngen.ir.nodes import Column, SynapseBank, TimeSpec

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
    # segments that count arrivals per weight class: two more levels
    assert pipelined_latency(14, 4) == 4 + 4 + 3


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
    assert info["WAVE_CYCLES"] == 1
    assert info["LATENCY"] == pipelined_latency(T, info["arch"]["adder_stages"])


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


def test_gunpoint_sized_column_one_wave_per_cycle():
    net = gunpoint_column()
    X = rand_volleys(np.random.default_rng(14), 24, 150, silent=0.05)
    same(net, X)
    pipe = build_top(net, architecture=PIPE).info
    par = build_top(net, architecture="parallel").info
    # random weights 0..7 (seven classes): one term per (step, synapse), T = 14
    assert pipe["WAVE_CYCLES"] == 1 and pipe["LATENCY"] == 2 + 4 + 3
    assert pipe["arch"]["adder_stages"] == 2
    # trained STDP weights sit at 0 and w_max: one class, arrivals counted (two more levels)
    w = np.where(net.layers[0].columns[0].distal.weights > 3, 7, 0)
    sat = one_layer(net.layers[0].columns[0].with_weights(w), net.time)
    assert build_top(sat, architecture=PIPE).info["LATENCY"] == 4 + 4 + 3
    same(sat, X)
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


def test_config_key_and_cli(tmp_path, capsys):
    from neutnngen import config
    from neutnngen.cli import main
    from neutnngen.ir import save

    assert config.load(None, ["hdl.architecture=pipelined"]).hdl.architecture == PIPE
    with pytest.raises(ConfigError, match="on-chip learning.*needs hdl.architecture='serial' "
                                          "or 'parallel'"):
        config.load(None, ["hdl.architecture=pipelined", "hdl.weights=learn"])
    save(kernel_net(), tmp_path / "net.json")
    assert main(["compile", str(tmp_path / "net.json"), "--out", str(tmp_path / "o"),
                 "--architecture", PIPE, "--weights", "register"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"]["kind"] == PIPE and info["WAVE_CYCLES"] == 1
    names = json.loads((tmp_path / "o" / "names.json").read_text())
    assert names["top"]["arch"]["kind"] == PIPE


@pytest.mark.parametrize("weights, classes, counted", [
    ("hardwired", (7,), True), ("hardwired", (1, 2, 3, 4, 5, 6, 7), False),
    ("register", (7,), False),
])
def test_counted_increments_only_where_cheaper(weights, classes, counted):
    """Hardwired rnl designs count arrivals per weight class when that needs fewer adder
    inputs (one class: trained STDP weights at 0 and w_max); many classes (random weights)
    and register weights sum one term per (step, synapse). Both verify."""
    rng = np.random.default_rng(17)
    w = rng.choice((0,) + classes, size=(2, 1, 1, 48))
    theta = np.maximum(1, w.sum(-1) // 3).astype(np.int64)
    col = Column("col0", 48, SynapseBank.dense(w, 3), theta)
    net = one_layer(col, TimeSpec())
    info = build_top(net, weights=weights, architecture=PIPE).info
    assert info["arch"]["adder_stages"] == (4 if counted else 2)
    r = same(net, rand_volleys(rng, 16, 48), weights)
    assert (r >= 0).any()

