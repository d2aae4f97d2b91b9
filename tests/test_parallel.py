"""The ``parallel`` layer architecture (every synapse every time step, ``T + 4`` cycles a
wave) and, through the ``arch`` fixture, the ``pipelined`` one (a wave every cycle; its own
checks in ``test_pipelined.py``): Amaranth's simulator against the reference interpreter on
the same hand-built networks as the serial tier (``test_hdl.py``), the generated Verilog
under cocotb, and the options' errors."""

from __future__ import annotations

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
from neutnngen.ir import Interpreter
from neutnngen.ir.nodes import NONE, Layer, Network, Retime, TimeSpec

PAR = "parallel"


@pytest.fixture(params=[PAR, "pipelined"])
def arch(request) -> str:
    """Both architectures whose columns read every line at once."""
    return request.param


def same(net, X, weights="hardwired", prox=None, arch=PAR, **kw) -> np.ndarray:
    top = build_top(net, weights=weights, architecture=arch)
    y = simulate(net, X, prox=prox, top=top, **kw)
    r = ref(net, X, prox)
    np.testing.assert_array_equal(y, r)
    return r


@pytest.mark.parametrize("inh", ["wta1", "kwta(2)", "twta", "none"])
def test_column_inhibition_with_ties(inh, arch):
    rng = np.random.default_rng(100 + len(inh))
    col = rand_column(rng, 6, 4, wres=2, frac=(0.3, 0.5), inh=inh)
    r = same(one_layer(col), rand_volleys(rng, 40, 6), arch=arch)
    assert (r >= 0).any() and (r < 0).any()


@pytest.mark.parametrize("timeres,wres,response", [
    (3, 3, "rnl"), (3, 3, "snl"), (1, 1, "rnl"), (2, 5, "rnl"), (4, 2, "snl"), (1, 8, "snl"),
    (5, 1, "rnl"), (8, 8, "rnl"),
])
def test_responses_and_resolutions(timeres, wres, response):
    rng = np.random.default_rng(timeres * 10 + wres)
    col = rand_column(rng, 9, 3, wres=wres, frac=(0.2, 0.6))
    net = one_layer(col, TimeSpec(timeres, response))
    r = same(net, rand_volleys(rng, 12, 9, timeres))
    assert (r >= 0).any()
    T = net.layers[0].columns[0].wave_length(net.time)
    assert build_top(net, architecture=PAR).info["WAVE_CYCLES"] == T + 4


@pytest.mark.parametrize("mode", ["sum", "enable", "gate"])
@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_proximal_modes(mode, weights, arch):
    rng = np.random.default_rng({"sum": 1, "enable": 2, "gate": 3}[mode])
    P = 4 if mode != "enable" else 3
    col = rand_column(rng, 10, 3, mode=mode, P=P, frac=(0.2, 0.4), inh="none")
    X = rand_volleys(rng, 16, 10)
    prox = ({0: rng.integers(0, 2, size=(16, 3))} if mode == "enable"
            else {0: rand_volleys(rng, 16, P, silent=0.3)})
    r = same(one_layer(col), X, weights, prox=prox, arch=arch)
    assert (r >= 0).any()
    if mode != "sum":
        assert (r < 0).any()


@pytest.mark.parametrize("seg_inh", ["wta1", "kwta(2)", "twta", "none"])
def test_multi_dendrite_neurons(seg_inh, arch):
    rng = np.random.default_rng(7)
    col = rand_column(rng, 8, 3, D=2, S=3, wres=2, frac=(0.3, 0.7), seg_inh=seg_inh,
                      inh="kwta(2)")
    assert (same(one_layer(col), rand_volleys(rng, 16, 8), arch=arch) >= 0).any()


def test_dendritic_gate_column_with_absent_synapses(arch):
    rng = np.random.default_rng(8)
    col = rand_column(rng, 12, 2, D=2, S=2, mode="gate", P=3, absent=0.4, inh="twta")
    X = rand_volleys(rng, 12, 12)
    prox = {0: rand_volleys(rng, 12, 3)}
    for weights in ("hardwired", "register"):
        same(one_layer(col), X, weights, prox=prox, arch=arch)


def test_kernel_retime_two_layers_and_bubbles(arch):
    net = kernel_net()
    X = rand_volleys(np.random.default_rng(9), 10, net.inputs)
    r = same(net, X, bubbles={0, 3, 4}, arch=arch)
    assert (r >= 0).any()


def test_retime_before_and_between_layers_and_side_by_side_columns(arch):
    rng = np.random.default_rng(19)
    a = rand_column(rng, 6, 4, wres=4, name="a", inh="none")  # times up to 21
    b = rand_column(rng, 4, 2, name="b")
    c = rand_column(rng, 4, 3, name="c", inh="twta", S=2, wres=2)
    net = Network("rt", TimeSpec(3), 6, (Retime("pre", 1, 7), Layer("l0", 6, (a,)),
                                         Retime("mid", 2, 7), Layer("l1", 4, (b, c))))
    assert (same(net, rand_volleys(rng, 8, 6), arch=arch) >= 0).any()


def slow_second_layer() -> Network:
    """Two layers whose second is the slower one in the parallel architecture: 2-bit
    weights in layer 0, 4-bit weights (ramps 15 steps long) in layer 1."""
    rng = np.random.default_rng(29)
    a = rand_column(rng, 6, 3, wres=2, name="a", inh="none")
    b = rand_column(rng, 3, 2, wres=4, name="b", frac=(0.05, 0.2))
    return Network("slow2", TimeSpec(2), 6, (Layer("l0", 6, (a,)), Retime("rt", 1, 3),
                                             Layer("l1", 3, (b,))))


@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_a_slower_later_layer_keeps_the_timing_rule(weights):
    """Found by the differential campaign (benchmarks/bench_differential.py): when a later
    stage is the slowest, a wave offered while it is busy waits between the stages, so its
    beat comes WAVE_CYCLES after the previous one, later than LATENCY after its offer
    (docs/rtl-contract.md stream rule 8). The harness used to call that a latency mismatch."""
    net = slow_second_layer()
    top = build_top(net, weights=weights, architecture=PAR)
    (ii0, lat0), (ii1, lat1) = top.plan._timings()
    assert ii0 < ii1 == top.plan.WAVE_CYCLES and top.plan.LATENCY == lat0 + lat1
    rng = np.random.default_rng(30)
    X = rand_volleys(rng, 12, 6, timeres=2)
    r = same(net, X, weights)
    assert (r >= 0).any()
    same(net, X, weights, bubbles={1, 4, 5, 9})


@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_backpressure_and_gaps_keep_the_outputs(weights, arch):
    net = gated_two_layers()
    rng = np.random.default_rng(23)
    X = rand_volleys(rng, 14, 8)
    prox = {1: rand_volleys(rng, 14, 5, silent=0.3)}
    r = same(net, X, weights, prox=prox, backpressure=0.5, seed=3, bubbles={2, 3, 9},
             arch=arch)
    assert (r >= 0).any() and (r < 0).any()


def test_register_mode_loads_other_weights(arch):
    check_register_loads(arch)


def check_register_loads(arch: str) -> None:
    """Weights written through ``wload`` replace the trained ones; a reset restores them."""
    rng = np.random.default_rng(15)
    col = rand_column(rng, 8, 2, absent=0.25, frac=(0.3, 0.5), inh="none")
    net = one_layer(col)
    X = rand_volleys(rng, 12, 8, silent=0.0)
    top = build_top(net, weights="register", architecture=arch)
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
    # a reset restores the trained weights through the same write path
    y = simulate(net, X, loads=loads, reset_after_loads=True,
                 top=build_top(net, "register", architecture=arch))
    np.testing.assert_array_equal(y, ref(net, X))


def test_gunpoint_sized_column_is_fast():
    net = gunpoint_column()
    X = rand_volleys(np.random.default_rng(14), 8, 150, silent=0.05)
    same(net, X)
    par = build_top(net, architecture=PAR).info
    ser = build_top(net).info
    assert par["WAVE_CYCLES"] == par["LATENCY"] == 14 + 4  # T = 7 + 7 steps, 4 more
    assert ser["WAVE_CYCLES"] > 30 * par["WAVE_CYCLES"]
    assert par["arch"]["kind"] == "parallel" and ser["arch"]["kind"] == "sar-serial"


def test_options_that_do_not_apply_are_errors():
    net = kernel_net()
    with pytest.raises(ConfigError, match="architecture='pipelined'.*weights='learn'"):
        build_top(net, weights="learn", architecture="pipelined")
    with pytest.raises(ConfigError, match="learning rule"):  # parallel learns (if a layer does)
        build_top(net, weights="learn", architecture=PAR)
    with pytest.raises(ConfigError, match="lanes=2 is a knob of the serial"):
        build_top(net, architecture=PAR, lanes=2)
    with pytest.raises(ConfigError, match="unknown architecture='systolic'; accepted: serial, "
                                          "parallel"):
        build_top(net, architecture="systolic")


def test_emit_is_deterministic(tmp_path, arch):
    net = kernel_net()
    a = emit(net, tmp_path / "a", architecture=arch)
    b = emit(net, tmp_path / "b", architecture=arch)
    assert a.verilog.read_bytes() == b.verilog.read_bytes()
    assert a.verilog.read_bytes() != emit(net, tmp_path / "s").verilog.read_bytes()


@pytest.mark.requires_sim
@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_generated_verilog_verified_in_cocotb(weights, tmp_path, arch):
    from neutnngen.verify import run_verification

    net = gated_two_layers()
    rng = np.random.default_rng(31)
    X = rand_volleys(rng, 80, 8)
    prox = {1: rand_volleys(rng, 80, 5, silent=0.3)}
    res = emit(net, tmp_path / "rtl", weights=weights, architecture=arch)
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


@pytest.mark.requires_sim
def test_slower_later_layer_verified_in_cocotb(tmp_path):
    """The cocotb bench checks the same timing rule (verify.protocol.expected_beat) at full
    rate and with gaps."""
    from neutnngen.verify import run_verification

    net = slow_second_layer()
    X = rand_volleys(np.random.default_rng(32), 30, 6, timeres=2)
    res = emit(net, tmp_path / "rtl", architecture=PAR)
    for k, kw in enumerate(({}, {"gaps": 0.4, "seed": 3})):
        r = run_verification(net, res.verilog, res.names, X, simulator="icarus",
                             workdir=tmp_path / f"w{k}", **kw)
        assert r.passed and r.waves == 30, r.first_mismatch


# ----------------------------------------------------------------------------- config and CLI
def test_config_key_and_its_cross_check():
    from neutnngen import config

    assert config.load(None, ["hdl.architecture=parallel"]).hdl.architecture == "parallel"
    assert config.load(None).hdl.architecture == "serial"
    with pytest.raises(ConfigError, match="hdl.architecture.*'systolic'|'systolic'.*serial"):
        config.load(None, ["hdl.architecture=systolic"])
    both = config.load(None, ["hdl.architecture=parallel", "hdl.weights=learn"])
    assert (both.hdl.architecture, both.hdl.weights) == ("parallel", "learn")


def test_cli_compile_builds_the_architecture(tmp_path, capsys):
    import json

    from neutnngen.cli import main
    from neutnngen.ir import save

    save(kernel_net(), tmp_path / "net.json")
    assert main(["compile", str(tmp_path / "net.json"), "--out", str(tmp_path / "o"),
                 "--architecture", "parallel", "--weights", "register"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"]["kind"] == "parallel" and info["weights"] == "register"
    names = json.loads((tmp_path / "o" / "names.json").read_text())
    assert names["top"]["arch"]["kind"] == "parallel"


def test_dse_cost_models_keep_architectures_apart():
    from neutnngen.dse.forecast import features

    net = kernel_net()
    s, p = features(net, "hardwired"), features(net, "hardwired", "parallel")
    assert s["weights"] == "hardwired" and p["weights"] == "hardwired+parallel"
    assert p["wave_cycles"] < s["wave_cycles"]


@pytest.mark.requires_yosys
@pytest.mark.requires_sim
def test_run_reports_both_architectures(tmp_path):
    """``synth.compare_architectures``: the report places the same IR in both architectures
    (cycles from the plan, cost from generic synthesis); the built one is marked and its
    numbers are the run's own; a parallel build verifies like a serial one."""
    import json
    from pathlib import Path

    from neutnngen.cli import main

    ex = Path(__file__).resolve().parents[1] / "examples" / "ucr_italypowerdemand.toml"
    out = tmp_path / "run"
    assert main(["run", str(ex), "--out", str(out), "-q", "--set", "train.epochs=1",
                 "--set", "verify.samples=40", "--set", "synth.targets=[\"generic\"]",
                 "--set", "synth.compare_architectures=true",
                 "--set", "hdl.architecture=parallel"]) == 0
    rep = json.loads((out / "report.json").read_text())
    a = rep["architectures"]
    assert set(a) == {"serial", "parallel", "pipelined"}
    assert a["parallel"]["built"] and not a["serial"]["built"] and not a["pipelined"]["built"]
    assert a["pipelined"]["wave_cycles"] == 1
    assert a["parallel"]["transistors"] == rep["synth"]["generic"]["transistors"]
    assert a["parallel"]["wave_cycles"] == rep["hdl"]["wave_cycles"] < a["serial"]["wave_cycles"]
    assert a["serial"]["transistors"] > 0 and a["serial"]["transistor_cycles"] > 0
    assert rep["verify"]["mismatches"] == 0 and rep["verify"]["waves"] == 40
    assert "Area and throughput by architecture" in (out / "report.md").read_text()
