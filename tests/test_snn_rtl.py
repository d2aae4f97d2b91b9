"""RTL of the clock-driven SNN stages (neutnngen.hdl.snn) against the interpreter.

Random integer networks cover every encoder (direct, latency, times, rate), every leak
(none, shift, mul), both resets, refractory steps, the synaptic current, conv2d and sumpool
composed into the next synapses, saturating membranes; the bench (neutnngen.verify.snn)
compares every layer's membrane, spike and synaptic current at every step, and the output
beats, under seeded source gaps and output backpressure. A changed constant in the Verilog
and wrong loaded weights are caught and named (sample, step, layer, neuron, field).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from neutnngen.errors import ConfigError
from neutnngen.hdl.snn import emit_snn, plan_snn
from neutnngen.ir import Network
from neutnngen.ir.common import TimeSpec
from neutnngen.ir.stages.snn import LIF, Conv2d, Dense, Encoder, Flatten, MaxPool, SumPool
from neutnngen.verify.snn import reference, register_writes, verify_snn

SIM = "icarus"


def rand_net(seed: int, conv: bool = False, mode: str | None = None,
             maxpool: bool = False) -> Network:
    rng = np.random.default_rng(seed)
    mode = mode or ["direct", "latency", "times", "rate"][seed % 4]
    steps = 8 if mode == "times" else int(rng.integers(4, 9))  # times: inputs reach 7
    leak = ["none", "shift", "mul"][seed % 3]
    reset = ["zero", "subtract"][(seed // 3) % 2]
    out = ["count", "first", "membrane", "spikes"][(seed // 2) % 4]
    mb = int(rng.integers(7, 12))
    th = int(rng.integers(2, 12))
    lif = dict(mem_bits=mb, leak=leak, leak_shift=int(rng.integers(1, 5)),
               beta_q=int(rng.integers(100, 257)), frac_bits=8, reset=reset,
               refractory=int(rng.integers(0, 3)))
    in_bits = 3 if mode == "times" else 4
    st: list = [Encoder("enc", mode, steps, in_bits, seed + 3)]
    if conv:
        st += [Conv2d("c1", (1, 6, 6), rng.integers(-3, 8, (2, 1, 3, 3)), rng.integers(-2, 9, 2),
                      1, int(rng.integers(0, 2)), 4, int(rng.integers(0, 3)))]
        co, ho, wo = st[-1].out_shape
        if maxpool:  # snnTorch's conv -> MaxPool2d -> Leaky: a max of currents
            mp = MaxPool("mp", (co, ho, wo), 2, 2)
            co, ho, wo = mp.out_shape
            st += [mp, Flatten("fm")]
        st += [LIF("l1", co * ho * wo, th, **lif), SumPool("p", (co, ho, wo), 2, 2), Flatten("f")]
        n_in = int(np.prod(st[-2].out_shape))
    else:
        st += [Flatten("f0"), Dense("d0", rng.integers(-7, 16, (12, 36)), rng.integers(-20, 40, 12),
                                    5, int(rng.integers(0, 4))), LIF("l1", 12, th, **lif)]
        n_in = 12
    out_lif = {**lif, "output": out}
    if seed % 3 == 2:  # a synaptic current (needs the multiply leak)
        out_lif.update(leak="mul", alpha_q=int(rng.integers(0, 257)))
    W1 = rng.integers(-31, 32, (5, n_in))
    W1[:, ::3] = 0  # pruned synapses: no entries in a hardwired design
    st += [Dense("d1", W1, rng.integers(-9, 9, 5), 6, 0),
           LIF("out", 5, max(th // 2, 1), **out_lif)]
    return Network("rand", TimeSpec(), 36, tuple(st))


def stimulus(net: Network, n: int, seed: int) -> np.ndarray:
    enc = net.stages[0]
    rng = np.random.default_rng(seed + 100)
    if enc.mode == "times":
        X = rng.integers(-1, enc.steps, (n, net.inputs))
    else:
        X = rng.integers(0, 1 << enc.in_bits, (n, net.inputs))
        X[0] = 0  # an all-silent sample
    return X


@pytest.mark.parametrize("seed,conv", [(0, False), (1, False), (2, False), (3, False),
                                       (4, False), (5, False), (6, True), (7, True)])
def test_random_networks_equal_the_interpreter_every_layer_and_step(seed, conv, tmp_path):
    net = rand_net(seed, conv)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    X = stimulus(net, 5, seed)
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert r["mismatches"] == 0, r["message"]
    ref = reference(net, X)
    rows = sum(sg["v"].size for sg in ref["segments"])
    assert r["trace_rows"] == rows  # every neuron of every layer at every step
    spikes = [int(sg["s"].sum()) for sg in ref["segments"]]
    sizes = [sg["s"].size for sg in ref["segments"]]
    assert all(0 < s < n for s, n in zip(spikes, sizes, strict=True))  # a live network
    assert r["backpressure"]["stalled_output_cycles"] > 0
    # the RTL's own classifications are the integer model's
    from neutnngen.frontend.snn_quant import predict_int

    if net.stages[-1].output != "spikes":  # a spike-train output has no class readout
        assert r["rtl_predictions"] == predict_int(net, X)[0].tolist()


def test_hardwired_design_drops_pruned_synapses_and_times_as_planned(tmp_path):
    net = rand_net(0)
    hw, rg = plan_snn(net, "hardwired"), plan_snn(net, "register")
    W1 = net.stages[4].weights
    assert hw.segments[1].entries == int((W1 != 0).sum())
    assert rg.segments[1].entries == W1.size  # register: every structural synapse
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    X = stimulus(net, 3, 0)
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v",
                   backpressure=False)
    assert r["mismatches"] == 0
    # without stalls a sample takes the documented cycles: load, steps, output beats
    per = hw.n_in + hw.cycles_per_sample + 2 * hw.n_out
    assert r["cycles"] - 3 * per in range(0, 8)  # + reset cycles


def test_register_weights_load_and_wrong_weights_are_named(tmp_path):
    net = rand_net(2)
    res = emit_snn(net, tmp_path / "rtl", weights="register", name="snn_top")
    X = stimulus(net, 3, 2)
    r = verify_snn(net, res.verilog, X, weights="register", simulator=SIM,
                   workdir=tmp_path / "v")
    assert r["mismatches"] == 0, r["message"]
    plan = plan_snn(net, "register")
    writes = register_writes(plan)
    # one weight of layer d0 / neuron 3 loaded as 0: the bench names that layer and neuron
    seg = plan.segments[0]
    j = int(seg.ends[2]) + int(np.flatnonzero(seg.w[seg.ends[2]:seg.ends[3]])[0])
    bad = [(a, 0 if a == seg.wbase + j else d) for a, d in writes]
    r2 = verify_snn(net, res.verilog, X, weights="register", simulator=SIM,
                    workdir=tmp_path / "v2", writes=bad)
    assert r2["mismatches"] > 0
    f = r2["first_mismatch"]
    assert f["layer"] == "l1" and f["neuron"] == 3 and f["field"] in ("v", "s")


def test_a_changed_constant_in_the_verilog_is_caught_and_located(tmp_path):
    net = rand_net(4)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    text = res.verilog.read_text()
    line = next(ln for ln in text.splitlines() if "seg0_bias[7] = " in ln)
    val = line.split("'h")[1].rstrip(";")
    bits = int(line.split("= ")[1].split("'")[0])
    new = format((int(val, 16) + (1 << (net.stages[2].shift + 2))) % (1 << bits), "x")
    (tmp_path / "rtl" / "snn_top.v").write_text(text.replace(line, line.replace(val, new)))
    r = verify_snn(net, res.verilog, stimulus(net, 3, 4), simulator=SIM, workdir=tmp_path / "v")
    assert r["mismatches"] > 0
    f = r["first_mismatch"]
    assert f["layer"] == "l1" and f["neuron"] == 7 and f["step"] == 0
    assert "layer 'l1' neuron 7" in r["message"]


def test_emit_is_deterministic(tmp_path):
    net = rand_net(6, conv=True)
    a = emit_snn(net, tmp_path / "a", name="snn_top")
    b = emit_snn(net, tmp_path / "b", name="snn_top")
    for x, y in ((a.verilog, b.verilog), (a.names, b.names)):
        assert x.read_bytes() == y.read_bytes()


def _net(*stages, inputs=4):
    return Network("n", TimeSpec(), inputs, tuple(stages))


@pytest.mark.parametrize("stages,weights,msg", [
    ((Encoder("e", "direct", 4, 4), Dense("d", np.ones((4, 4)), np.zeros(4), 4, 0),
      LIF("l", 4, 3, output="count")), "learn", "accepted: hardwired, register"),
    ((Encoder("e", "direct", 4, 4), Dense("d", np.ones((4, 4)), np.zeros(4), 4, 0),
      LIF("l", 4, 3), Flatten("f"), Dense("d2", np.ones((2, 4)), np.zeros(2), 4, 0)),
     "hardwired", "needs a lif or act as the last stage"),
    ((Encoder("e", "direct", 4, 4), Dense("d", np.ones((4, 4)), np.zeros(4), 4, 0),
      LIF("l", 4, 3), MaxPool("m", (1, 2, 2), 2, 2), Flatten("f"),
      Dense("d2", np.ones((1, 1)), np.zeros(1), 4, 0), LIF("o", 1, 3)),
     "hardwired", "stage 'm' (maxpool) is not directly after the one dense/conv2d"),
    ((Encoder("e", "direct", 4, 4), Dense("d", np.ones((4, 4)), np.zeros(4), 4, 1),
      SumPool("s", (1, 2, 2), 2, 2), LIF("l", 1, 3)),
     "hardwired", "follows the shifting stage 'd'"),
    ((Encoder("e", "direct", 4, 4), Dense("d", np.ones((4, 4)), np.zeros(4), 4, 0),
      LIF("l", 4, 3, output="count"), Dense("d2", np.ones((2, 4)), np.zeros(2), 4, 0),
      LIF("o", 2, 3)), "hardwired", "lif 'l' has output=count"),
])
def test_unsupported_networks_are_one_line_errors(stages, weights, msg):
    with pytest.raises(ConfigError) as e:
        plan_snn(_net(*stages), weights)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_single_neuron_by_hand(tmp_path):
    """IF neuron, threshold 5, weight 2 on a direct input of 2: V = 4, 8 -> spike, 8-5+4=7
    -> spike, 6 -> spike, 5, 9 -> spike: counts and first step by hand."""
    net = _net(Encoder("e", "direct", 6, 2), Dense("d", np.array([[2]]), np.array([0]), 4, 0),
               LIF("l", 1, 5, mem_bits=8, leak="none", reset="subtract", output="count"),
               inputs=1)
    ref = reference(net, np.array([[2]]))
    assert ref["segments"][0]["v"][0, :, 0].tolist() == [4, 8, 7, 6, 5, 9]
    assert ref["count"].tolist() == [[4]] and ref["first"].tolist() == [[1]]
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    r = verify_snn(net, res.verilog, np.array([[2], [0], [3]]), simulator=SIM,
                   workdir=tmp_path / "v")
    assert r["mismatches"] == 0 and r["trace_rows"] == 18
    assert r["rtl_predictions"] == [0, 0, 0]


def test_other_simulator_agrees(tmp_path):
    from neutnngen.verify.simulators import available_simulators

    if "verilator" not in available_simulators():
        pytest.skip("verilator is not installed")
    net = rand_net(9, conv=True, maxpool=True)  # lanes and negative membranes
    res = emit_snn(net, tmp_path / "rtl", name="snn_top", lanes=4)
    r = verify_snn(net, res.verilog, stimulus(net, 4, 5), simulator="verilator",
                   workdir=tmp_path / "v")
    assert r["mismatches"] == 0 and r["simulator"] == "verilator", r["message"]
    assert (reference(net, stimulus(net, 4, 5))["segments"][0]["v"] < 0).any()


def test_register_plan_addresses_are_disjoint():
    plan = plan_snn(rand_net(1), "register")
    spans = []
    for s in plan.segments:
        spans += [(s.wbase, s.wbase + s.entries), (s.bbase, s.bbase + s.n_out)]
    spans.sort()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert (1 << plan.wa) >= spans[-1][1]


@pytest.mark.parametrize("seed,conv,lanes,weights", [
    (0, False, 2, "hardwired"), (1, False, 4, "hardwired"), (2, False, 8, "register"),
    (3, False, 4, "register"), (6, True, 4, "hardwired"), (7, True, 2, "register"),
    (5, False, 16, "hardwired"),
])
def test_lanes_update_neuron_groups_bit_exactly_and_cut_cycles(seed, conv, lanes, weights,
                                                               tmp_path):
    net = rand_net(seed, conv)
    res = emit_snn(net, tmp_path / "rtl", weights=weights, name="snn_top", lanes=lanes)
    X = stimulus(net, 4, seed)
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert r["mismatches"] == 0, r["message"]
    assert r["weights"] == weights  # read from names.json
    one = plan_snn(net, weights)
    assert res.info["lanes"] == lanes
    assert res.info["cycles_per_sample"] < one.cycles_per_sample
    assert res.info["synapses"] == one.info()["synapses"] or weights == "register"


def test_lanes_other_than_powers_of_two_are_refused():
    with pytest.raises(ConfigError, match="lanes=3; the SNN RTL accepts 1, 2, 4"):
        plan_snn(rand_net(0), lanes=3)


def test_rtl_spike_trains_are_returned_and_written_as_nir_data(tmp_path):
    nir = pytest.importorskip("nir")
    from neutnngen.frontend.snn_import import spike_trains_nirdata

    net = rand_net(1)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top", lanes=2)
    X = stimulus(net, 3, 1)
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    ref = reference(net, X)
    assert len(r["rtl_spikes"]) == 2
    for got, sg in zip(r["rtl_spikes"], ref["segments"], strict=True):
        assert np.array_equal(got, sg["s"])
    path = tmp_path / "rtl.nir"
    nir.write_data(str(path), spike_trains_nirdata(net, X, spikes=r["rtl_spikes"]))
    back = nir.read_data(str(path))
    lif_ids = [str(i) for i, st in enumerate(net.stages) if type(st).__name__ == "LIF"]
    for key, sg in zip(lif_ids, ref["segments"], strict=True):
        assert np.array_equal(np.asarray(back.nodes[key].observables["spikes"].data),
                              sg["s"].astype(bool))


def test_mutation_campaign_kills_changed_weights_and_logic(tmp_path):
    from neutnngen.verify.snn import mutation_campaign

    net = rand_net(1)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top", lanes=2)
    rep = mutation_campaign(net, res.verilog, stimulus(net, 12, 1), n=16, seed=0,
                            simulator=SIM, workdir=tmp_path / "m").to_dict()
    assert rep["mutants"] == 16 and rep["invalid"] == 0
    assert rep["by_kind"]["rom"][0] >= 1  # a changed weight/bias/index word is caught
    assert rep["killed"] >= 10, rep["survivors"]
    assert (tmp_path / "m" / "report.json").is_file()
    # RAM initial words (always written before read) are never drawn: no equivalent mutants
    from neutnngen.verify.mutate import choose

    text = res.verilog.read_text()
    lines = text.split("\n")
    drawn = [lines[s.line].strip().split("[")[0] for s in choose(text, 400, 0)
             if s.kind == "rom"]
    assert any(d.startswith("seg0_state") or d.startswith("xin") for d in drawn)  # unfiltered
    roms = [r["change"] for r in rep["results"] if r["kind"] == "rom"]
    assert roms and all(("_index[" in c or "_ends[" in c or "_weights[" in c or "_bias[" in c)
                        for c in roms)


@pytest.mark.parametrize("seed,lanes,weights", [(8, 1, "hardwired"), (9, 4, "hardwired"),
                                                (10, 2, "register"), (11, 8, "hardwired")])
def test_max_pooled_currents_conv_maxpool_lif(seed, lanes, weights, tmp_path):
    net = rand_net(seed, conv=True, maxpool=True)
    plan = plan_snn(net, weights, lanes=lanes)
    assert plan.segments[0].windows == 4 and plan.segments[0].linear == ("c1", "mp", "fm")
    res = emit_snn(net, tmp_path / "rtl", weights=weights, name="snn_top", lanes=lanes)
    X = stimulus(net, 5, seed)
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert r["mismatches"] == 0, r["message"]
    ref = reference(net, X)
    s0 = ref["segments"][0]["s"]
    assert 0 < s0.sum() < s0.size


def test_corner_inputs_reach_saturation_and_match(tmp_path):
    from neutnngen.verify.snn import corner_inputs

    net = rand_net(4)
    X, info = corner_inputs(net, 12, seed=3, real=stimulus(net, 5, 4))
    Y, _ = corner_inputs(net, 12, seed=3, real=stimulus(net, 5, 4))
    assert np.array_equal(X, Y) and X.shape == (12, 36)  # seeded
    assert info["kinds"]["all max"] == 1 and info["kinds"]["one line"] == 3
    assert X.min() >= 0 and X.max() == (1 << net.stages[0].in_bits) - 1
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert r["mismatches"] == 0, r["message"]
    assert sum(r["saturations"]) > 0  # the clamps are exercised and equal
    with pytest.raises(ConfigError, match="--corner -1"):
        corner_inputs(net, -1)


def deep_net(seed: int, mode: str = "direct", sizes=(6, 24, 4, 5)) -> Network:
    """Four lif layers of unequal cost (the second the slowest), so a pipelined design's
    faster stages wait on both their producer and their consumer."""
    rng = np.random.default_rng(seed)
    steps = 8 if mode == "times" else 7
    st: list = [Encoder("enc", mode, steps, 3 if mode == "times" else 4, seed + 1),
                Flatten("f0")]
    n_in = 16
    for i, n in enumerate(sizes):
        W = rng.integers(-7, 16, (n, n_in))
        W[:, ::4] = 0
        st += [Dense(f"d{i}", W, rng.integers(-9, 20, n), 5, int(i == 0)),
               LIF(f"l{i}", n, 3, mem_bits=9, leak=["none", "shift", "mul"][i % 3],
                   leak_shift=2, beta_q=200, frac_bits=8, reset=["zero", "subtract"][i % 2],
                   refractory=i % 2, output="count" if i == len(sizes) - 1 else "spikes")]
        n_in = n
    return Network("deep", TimeSpec(), 16, tuple(st))


@pytest.mark.parametrize("net_fn,lanes,weights", [
    (lambda: deep_net(0), 1, "hardwired"),
    (lambda: deep_net(0), [1, 8, 2, 4], "hardwired"),  # lanes per layer
    (lambda: deep_net(1, "rate"), [4, 1, 2, 1], "register"),
    (lambda: deep_net(2, "latency", (12, 3, 20, 6)), 4, "hardwired"),
    (lambda: rand_net(6, conv=True, maxpool=True), 2, "hardwired"),
    (lambda: rand_net(2, mode="times"), 1, "register"),
])
def test_pipelined_layers_equal_the_interpreter_and_take_the_planned_cycles(
        net_fn, lanes, weights, tmp_path):
    """hdl.architecture = pipelined: every stage works on its own step, joined by double
    buffers; the result is the interpreter's at every layer, step and neuron (with and
    without backpressure), and the cycle count is the plan's, below the serial one."""
    net = net_fn()
    X = stimulus(net, 4, 3)
    cycles = {}
    for arch in ("serial", "pipelined"):
        res = emit_snn(net, tmp_path / arch, weights=weights, name="snn_top", lanes=lanes,
                       architecture=arch)
        assert res.info["architecture"] == arch
        r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / f"v{arch}",
                       backpressure=False)
        assert r["mismatches"] == 0, r["message"]
        i = res.info
        # reset (4 cycles), the weight loads (one a cycle), then per sample: load, steps,
        # two cycles per output beat
        plan = plan_snn(net, weights, lanes=lanes, architecture=arch)
        loads = len(register_writes(plan)) if weights == "register" else 0
        assert r["cycles"] == 4 + loads + len(X) * (i["load_cycles"] + i["cycles_per_sample"]
                                                    + 2 * i["outputs"])
        cycles[arch] = i["cycles_per_sample"]
        if arch == "pipelined":
            assert i["step_interval"] == max(plan.stage_cycles())
            r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "vbp")
            assert r["mismatches"] == 0 and r["backpressure"]["stalled_output_cycles"] > 0
            if net.stages[-1].output != "spikes":  # a spike train has no class readout
                assert r["rtl_predictions"] == reference_predictions(net, X)
    assert cycles["pipelined"] < cycles["serial"]


def reference_predictions(net, X):
    from neutnngen.frontend.snn_quant import predict_int

    return predict_int(net, X)[0].tolist()


def test_pipelined_cycles_reach_the_slowest_stage_per_step():
    """At many steps a pipelined sample costs about steps x the slowest stage."""
    from dataclasses import replace

    net = deep_net(0)
    enc = replace(net.stages[0], steps=400)
    net = Network("deep", TimeSpec(), 16, (enc, *net.stages[1:]))
    ser = plan_snn(net)
    pip = plan_snn(net, architecture="pipelined")
    d = pip.stage_cycles()
    assert ser.cycles_per_sample == 400 * (1 + sum(d))
    assert 400 * max(d) <= pip.cycles_per_sample <= 400 * max(d) + sum(d) + 1


def test_a_wrong_step_parity_in_the_pipelined_design_is_named(tmp_path):
    """The double buffer's half is the step's parity: reading the other half gives another
    step's spikes, which the bench names (the reading layer, step, neuron, field)."""
    net = deep_net(0)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top", architecture="pipelined")
    v = res.verilog.read_text()
    # the second segment's read of the first one's spike buffer: flip its half
    read = "seg0_spikes[{ seg1_step[0],"
    assert v.count(read) == 1
    res.verilog.write_text(v.replace(read, "seg0_spikes[{ ~seg1_step[0],"))
    r = verify_snn(net, res.verilog, stimulus(net, 3, 0), simulator=SIM,
                   workdir=tmp_path / "v")
    assert r["mismatches"] > 0
    f = r["first_mismatch"]
    assert f["layer"] == "l1" and f["field"] in ("v", "s") and 0 <= f["neuron"] < 24
    assert r["message"].startswith(f"{r['mismatches']} mismatching rows; first at sample")


def test_lanes_per_layer_balance_a_pipelined_design():
    """One lane count per lif stage: the slow layer gets lanes, the fast ones few; a uniform
    list is the plain number; a wrong count or value is refused naming it."""
    net = deep_net(0)  # its second layer (24 neurons x 12 inputs) costs the most
    uni = plan_snn(net, lanes=1, architecture="pipelined")
    bal = plan_snn(net, lanes=[1, 4, 1, 1], architecture="pipelined")
    assert [s.lanes for s in bal.segments] == [1, 4, 1, 1] and bal.info()["lanes"] == [1, 4, 1, 1]
    assert bal.interval < uni.interval and bal.cycles_per_sample < uni.cycles_per_sample
    assert plan_snn(net, lanes=[2, 2, 2, 2]).lanes == 2
    with pytest.raises(ConfigError, match=r"lanes=\[1, 4\] gives 2 lane counts; network 'deep' "
                                          r"has 4 lif/act stages"):
        plan_snn(net, lanes=[1, 4])
    with pytest.raises(ConfigError, match=r"lanes=\[1, 4, 3, 1\]; the SNN RTL accepts 1, 2, 4"):
        plan_snn(net, lanes=[1, 4, 3, 1])


def test_snn_architectures_other_than_serial_and_pipelined_are_refused():
    with pytest.raises(ConfigError, match="architecture='parallel' for an SNN network; "
                                          "accepted: serial, pipelined"):
        plan_snn(rand_net(0), architecture="parallel")


def mixed_net(seed: int = 3, q: int = 4, lif_out: str = "first") -> Network:
    """A TNN column (12 lines, 3-bit times) -> times encoder -> dense -> LIF: docs/model.md
    §11's TNN -> SNN interface."""
    from conftest import make_column_net

    from neutnngen.ir.kinds import kind_of

    tnn = make_column_net(p=12, q=q, seed=seed, learning=False)
    layer = tnn.layers[0]
    top = kind_of(layer).max_time(layer, tnn.time, tnn.time.t_max_in)
    rng = np.random.default_rng(seed)
    return Network("mix", tnn.time, 12, (
        layer, Encoder("enc", "times", top + 1, 4),
        Dense("fc", rng.integers(-2, 8, (6, q)), rng.integers(-2, 3, 6), 4),
        LIF("hid", 6, 3, 8, "shift", leak_shift=2),
        Dense("fc2", rng.integers(-3, 8, (3, 6)), np.zeros(3, np.int64), 4),
        LIF("out", 3, 2, 8, "none", output=lif_out)))


@pytest.mark.parametrize("arch", ["serial", "pipelined"])
def test_tnn_front_into_snn_rtl_equals_the_interpreter(arch, tmp_path):
    """One design: the TNN column's output volleys enter the SNN as one spike per line at
    its time (-1: none); every volley handed over, every SNN layer, step and neuron and the
    readout equal the interpreter's on the whole network."""
    from neutnngen.ir.interp import Interpreter
    from neutnngen.ir.snn_plan import split_mixed

    net = mixed_net()
    rng = np.random.default_rng(1)
    X = rng.integers(-1, 8, (24, 12))
    X[0] = -1  # a silent volley
    res = emit_snn(net, tmp_path / "rtl", name="mix_top", architecture=arch)
    assert res.info["front"]["N_IN"] == 12 and res.info["inputs"] == 4
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert r["mismatches"] == 0 and r["bridge_mismatches"] == 0, r["message"]
    mix = split_mixed(net)
    assert mix.back is None
    V = Interpreter(mix.front).forward(X)
    assert (V >= 0).any() and (V < 0).any()  # the front fires and stays silent
    ref = reference(mix.snn, V)
    assert r["trace_rows"] == sum(sg["v"].size for sg in ref["segments"])
    assert all(sg["s"].any() for sg in ref["segments"])  # spikes in every SNN layer
    whole = Interpreter(net).forward(X)  # the SNN's readout of the whole network
    from neutnngen.frontend.snn_quant import predict_int

    assert r["rtl_predictions"] == predict_int(mix.snn, V)[0].tolist()
    assert np.array_equal(np.where(ref["first"] < 0, -1, ref["first"]), whole)


def test_a_wrong_tnn_to_snn_hand_over_is_named(tmp_path):
    """The front's volley released one line early: the beats the SNN takes differ and the
    first divergence names the sample and the front's output line."""
    net = mixed_net()
    res = emit_snn(net, tmp_path / "rtl", name="mix_top")
    v = res.verilog.read_text()
    pat = re.compile(r"bridge_line == 2'h3")  # the last of the front's 4 output lines
    assert pat.search(v)
    res.verilog.write_text(pat.sub("bridge_line == 2'h2", v))
    X = np.random.default_rng(2).integers(-1, 8, (6, 12))
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert r["bridge_mismatches"] > 0 and r["mismatches"] > 0
    f = r["first_mismatch"]
    assert f["layer"] == "TNN front" and 0 <= f["line"] < 4
    assert "TNN front output line" in r["message"]


@pytest.mark.parametrize("stages,msg", [
    (lambda n: (n.stages[0], *n.stages[1:4], n.stages[0], *n.stages[4:]),
     "the RTL builds at most one SNN run, between a TNN front and a TNN back"),
    (lambda n: n.stages[:4] + (n.stages[0],),
     "stage 'hid' (lif) feeds the TNN stage 'layer0'; the RTL joins SNN stages to a TNN "
     "back through a lif with output=first"),
    (lambda n: (n.stages[0], Encoder("enc", "direct", 8, 4), *n.stages[2:]),
     "mode=direct) follows the TNN stages; the RTL joins a TNN front to SNN stages through "
     "an encoder with mode=times"),
    (lambda n: (n.stages[0], Encoder("enc", "times", 8, 2), *n.stages[2:]),
     "in_bits=2 holds times up to 3, the TNN front emits times up to"),
])
def test_mixtures_the_rtl_does_not_build_are_named(stages, msg):
    from neutnngen.ir.snn_plan import split_mixed

    net = mixed_net()
    bad = Network("mix", net.time, 12, tuple(stages(net)))
    with pytest.raises(ConfigError, match=re.escape(msg)):
        split_mixed(bad)


def test_compile_and_verify_commands_take_a_tnn_to_snn_ir(tmp_path, capsys):
    """compile writes the mixed design (hardwired only), verify drives it with the test
    volleys of a TNN config (here a files task of 12 series) plus corner volleys."""
    import json

    from neutnngen.cli import main
    from neutnngen.ir import save

    save(mixed_net(), tmp_path / "mix.json")
    ir = str(tmp_path / "mix.json")
    assert main(["compile", ir, "--out", str(tmp_path / "rtl"), "--top", "mix_top",
                 "--architecture", "pipelined"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["front"]["N_IN"] == 12 and info["architecture"] == "pipelined"
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(30, 12)), y=rng.integers(0, 2, 30))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nkind = "files"\ntrain = "d.npz"\ntest = ""\n'
                   'test_fraction = 0.3\n[network]\ntimeres = 3\n')
    assert main(["verify", ir, "--rtl", str(tmp_path / "rtl"), "--config", str(cfg),
                 "--corner", "5", "--simulator", "icarus", "--out", str(tmp_path / "v")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mismatches"] == 0 and d["samples"] == 9 + 5 and d["corner"]["volleys"] == 5
    assert main(["compile", ir, "--out", str(tmp_path / "rtl2"), "--weights", "register"]) == 2
    err = capsys.readouterr().err
    assert "a mixed design is built with hardwired weights" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "rtl2").exists()
    assert main(["verify", ir, "--rtl", str(tmp_path / "rtl"), "--config", str(cfg),
                 "--gate-level", "--out", str(tmp_path / "v2")]) == 2
    assert "--gate-level is not available for TNN -> SNN designs" in capsys.readouterr().err


def snn_to_tnn_net(seed: int = 0) -> Network:
    """An SNN (direct encoder, 7 steps) whose first-spike volley feeds a TNN column
    (docs/model.md §11's SNN -> TNN interface)."""
    from conftest import make_column_net

    rng = np.random.default_rng(seed)
    back = make_column_net(p=5, q=3, theta=4, seed=seed, learning=False)
    st = (Encoder("enc", "direct", 7, 3), Flatten("f0"),
          Dense("d0", rng.integers(-2, 8, (5, 10)), rng.integers(0, 6, 5), 5),
          LIF("first", 5, 6, 9, "shift", leak_shift=3, output="first"), back.layers[0])
    return Network("s2t", back.time, 10, st)


@pytest.mark.parametrize("arch", ["serial", "pipelined"])
def test_snn_into_tnn_back_equals_the_interpreter(arch, tmp_path):
    """The last lif's first-spike volley is collected and handed to a TNN column whose
    output volleys are the design's; both equal the interpreter's on the whole network,
    with every SNN layer, step and neuron, under output backpressure."""
    from neutnngen.ir.interp import Interpreter
    from neutnngen.ir.snn_plan import split_mixed

    net = snn_to_tnn_net()
    X = np.random.default_rng(4).integers(0, 8, (20, 10))
    X[0] = 0
    res = emit_snn(net, tmp_path / "rtl", name="s2t_top", architecture=arch)
    assert res.info["back"]["N_IN"] == 5 and "front" not in res.info
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert r["mismatches"] == 0 and r["output_mismatches"] == 0, r["message"]
    assert r["backpressure"]["stalled_output_cycles"] > 0
    out = Interpreter(net).forward(X)
    assert (out >= 0).any() and (out < 0).any()  # the back fires and stays silent
    first = reference(split_mixed(net).snn, X)["first"]
    assert (first >= 0).any() and (first < 0).any()  # silent SNN neurons cross the bridge


def test_a_wrong_snn_to_tnn_collector_is_named(tmp_path):
    """The collector's silent-line test inverted (silent SNN neurons handed over as spikes
    and the others as silent): the back's output volleys differ and the first divergence
    names the TNN back."""
    net = snn_to_tnn_net()
    res = emit_snn(net, tmp_path / "rtl", name="s2t_top")
    v = res.verilog.read_text()
    assert v.count("out_first != 3'h7") == 1
    res.verilog.write_text(v.replace("out_first != 3'h7", "out_first == 3'h7"))
    X = np.random.default_rng(4).integers(0, 8, (12, 10))
    r = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert r["output_mismatches"] > 0 and r["first_mismatch"]["layer"] == "TNN back"


def test_tnn_snn_tnn_sandwich_is_refused_when_times_cannot_fit(tmp_path):
    """A TNN front, the SNN, a TNN back in one time spec: the SNN needs more steps than the
    front's latest time, so its first-spike steps can exceed the back's input times; the
    RTL refuses it naming both numbers (the interpreter still runs it)."""
    from conftest import make_column_net

    from neutnngen.ir.kinds import kind_of
    from neutnngen.ir.snn_plan import split_mixed

    tnn = make_column_net(p=10, q=4, seed=5, learning=False)
    layer = tnn.layers[0]
    top = kind_of(layer).max_time(layer, tnn.time, tnn.time.t_max_in)
    back = make_column_net(p=3, q=2, theta=3, seed=6, learning=False)
    rng = np.random.default_rng(5)
    net = Network("sand", tnn.time, 10, (
        layer, Encoder("enc", "times", top + 1, 4),
        Dense("fc", rng.integers(0, 8, (3, 4)), rng.integers(0, 3, 3), 4),
        LIF("mid", 3, 3, 8, "none", output="first"), back.layers[0]))
    with pytest.raises(ConfigError, match=f"the SNN's {top + 1} steps give first-spike times "
                                          f"up to {top}; the TNN back takes times up to 7"):
        split_mixed(net)
    with pytest.raises(ConfigError, match="first-spike times"):
        emit_snn(net, tmp_path / "rtl", name="sand_top")
    assert not (tmp_path / "rtl").exists()
